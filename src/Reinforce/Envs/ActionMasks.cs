using Reinforce.Envs.Wrappers;
using Reinforce.Spaces;

namespace Reinforce.Envs;

/// <summary>
/// An environment that knows which actions are legal in its current state (sb3-contrib's <c>action_masks()</c>):
/// board games, card games, any problem with illegal moves. Masked PPO never samples a masked action and computes
/// log-probabilities and entropy over the legal ones. Wrappers pass the mask through (see
/// <see cref="ActionMasks.Find"/>), and vector environments batch it (<see cref="Vector.IVectorEnv.ActionMasks"/>).
/// </summary>
public interface IActionMaskEnv : IEnvironment
{
    /// <summary>
    /// Writes the legal actions of the current state into <paramref name="mask"/> (true = legal): one flag per action
    /// of a <see cref="Discrete"/> space (index <c>action − Start</c>), or the concatenated flags of each branch of a
    /// <see cref="MultiDiscrete"/> space. At least one action must be legal in every state an episode can reach.
    /// </summary>
    void WriteActionMask(Span<bool> mask);
}

/// <summary>Helpers for environments with action masks.</summary>
public static class ActionMasks
{
    /// <summary>The number of flags in a mask for <paramref name="actionSpace"/>: N for Discrete, the sum of Nvec for MultiDiscrete.</summary>
    public static int MaskSize(Space actionSpace) => actionSpace switch
    {
        Discrete d => d.N,
        MultiDiscrete m => m.FlatSize,
        null => throw new ArgumentNullException(nameof(actionSpace)),
        _ => throw new ArgumentException($"Action masks need a Discrete or MultiDiscrete action space, not {actionSpace}."),
    };

    /// <summary>The environment under any wrappers that provides action masks, or null when none does.</summary>
    public static IActionMaskEnv? Find(IEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(env);
        while (true)
        {
            if (env is IActionMaskEnv masked) return masked;
            if (env is IWrapper wrapper) env = wrapper.InnerEnvironment;
            else return null;
        }
    }

    /// <summary>Whether <paramref name="env"/> (or an environment it wraps) provides action masks.</summary>
    public static bool Supports(IEnvironment env) => Find(env) is not null;

    /// <summary>
    /// The legal actions of <paramref name="env"/>'s current state (sb3-contrib's <c>get_action_masks(env)</c>); allocates.
    /// Throws when the environment does not provide masks or when no action is legal.
    /// </summary>
    public static bool[] ActionMask(this IEnvironment env)
    {
        var masked = Find(env) ?? throw new InvalidOperationException($"{env.Name} does not provide action masks: implement IActionMaskEnv (WriteActionMask) on the environment to use masked PPO.");
        var mask = new bool[MaskSize(env.ActionSpace)];
        masked.WriteActionMask(mask);
        Check(env.Name, env.ActionSpace, mask, stepDescription: "in its current state");
        return mask;
    }

    /// <summary>Throws when <paramref name="mask"/> leaves no legal action (in any branch of a MultiDiscrete space).</summary>
    /// <param name="envName">The environment, for the message.</param>
    /// <param name="actionSpace">The action space the mask is for.</param>
    /// <param name="mask">The flags.</param>
    /// <param name="stepDescription">Where the episode is, e.g. "at step 12 of its episode".</param>
    internal static void Check(string envName, Space actionSpace, ReadOnlySpan<bool> mask, string stepDescription)
    {
        if (actionSpace is MultiDiscrete m)
        {
            int offset = 0;
            for (int b = 0; b < m.Branches; b++)
            {
                if (!mask.Slice(offset, m.Choices(b)).Contains(true)) ThrowNoLegalAction(envName, stepDescription, $" in branch {b}");
                offset += m.Choices(b);
            }
            return;
        }
        if (!mask.Contains(true)) ThrowNoLegalAction(envName, stepDescription, "");
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowNoLegalAction(string envName, string stepDescription, string branch) =>
        throw new InvalidOperationException(
            $"{envName}: the action mask allows no action{branch} {stepDescription}. Every state an episode can reach needs at least one legal action: " +
            "end the episode (terminated) when the player has no move, or add a pass action.");
}
