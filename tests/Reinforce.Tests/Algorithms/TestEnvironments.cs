using Reinforce.Envs;
using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace Reinforce.Tests.Algorithms;

/// <summary>
/// A deterministic environment for checking bookkeeping: the observation is [step / 10, id]; every step pays 1;
/// the episode terminates after <c>terminateAfter</c> steps (never when null), so a time limit shorter than that
/// truncates it instead.
/// </summary>
internal sealed class CounterEnv(int id, int? terminateAfter) : DiscreteEnvironment($"Counter{id}", new Box(-10f, 10f, [2]), new Discrete(2))
{
    private int _t;

    protected override void OnReset(Span<float> observation)
    {
        _t = 0;
        Write(observation);
    }

    protected override StepOutcome OnStep(int action, Span<float> observation)
    {
        _t++;
        Write(observation);
        return new StepOutcome(1.0, terminateAfter is int limit && _t >= limit);
    }

    private void Write(Span<float> observation)
    {
        observation[0] = _t / 10f;
        observation[1] = id;
    }

    /// <summary>Copy 0 terminates after 3 steps, copy 1 runs into the time limit of 5 steps.</summary>
    public static IVectorEnv TerminatingAndTruncating() =>
        new SyncVectorEnv([new CounterEnv(0, 3), new CounterEnv(1, null)], maxEpisodeSteps: 5);
}
