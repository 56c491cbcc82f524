using Reinforce.Envs.Rendering;
using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace Reinforce.Envs.Textbook;

/// <summary>
/// Sutton and Barto's short corridor with switched actions (Example 13.1): three non-terminal states in a row and
/// a terminal state on the right; action 0 moves left and 1 moves right, except in the second state, where they
/// are reversed; moving left from the first state stays put. Reward −1 per step. The states look identical to the
/// agent: the observation is the constant feature <c>[1]</c> (a <see cref="Box"/> [1, 1] of shape [1]), as the book
/// uses the same features in every state, so the best a policy can do is a fixed probability p of going right:
/// v(start) = (2p − 4) / (p(1 − p)), best at p = 2 − √2 ≈ 0.586 with value ≈ −11.66.
/// </summary>
public sealed class ShortCorridor : DiscreteEnvironment, IRenderable, IStatefulEnv
{
    /// <summary>Action "left".</summary>
    public const int Left = 0;

    /// <summary>Action "right".</summary>
    public const int Right = 1;

    /// <summary>The index of the terminal state.</summary>
    public const int TerminalState = 3;

    /// <summary>Creates the environment; call Reset before stepping.</summary>
    public ShortCorridor() : base("ShortCorridor", new Box(1f, 1f, [1]), new Discrete(2)) { }

    /// <summary>The current state: 0, 1 (the reversed one), 2, or 3 (terminal). Hidden from the agent.</summary>
    public int State { get; private set; }

    /// <summary>The value of the start state under the policy that goes right with probability <paramref name="p"/>.</summary>
    public static double StartValue(double p) => (2 * p - 4) / (p * (1 - p));

    /// <inheritdoc/>
    protected override void OnSaveState(EnvironmentStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(State);
    }

    /// <inheritdoc/>
    protected override void OnLoadState(EnvironmentStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        State = reader.ReadInt32();
    }

    /// <inheritdoc/>
    protected override void OnReset(Span<float> observation)
    {
        State = 0;
        observation[0] = 1f;
    }

    /// <inheritdoc/>
    protected override StepOutcome OnStep(int action, Span<float> observation)
    {
        int move = action == Right ? 1 : -1;
        if (State == 1) move = -move;
        State = Math.Max(0, State + move);
        observation[0] = 1f;
        return new StepOutcome(-1.0, State == TerminalState);
    }

    /// <summary>The current state drawn as Gymnasium draws it (see <see cref="ClassicControlScenes"/>).</summary>
    public Scene Render() => ClassicControlScenes.ShortCorridor(State);
}
