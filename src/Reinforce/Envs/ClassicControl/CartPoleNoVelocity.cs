using Reinforce.Envs.Vector;
using Reinforce.Spaces;

namespace Reinforce.Envs.ClassicControl;

/// <summary>
/// sb3-contrib's <c>CartPoleNoVelEnv</c> (registered as <c>CartPoleNoVel-v1</c>): <see cref="CartPole"/> with the two
/// velocities removed from the observation, which becomes <c>[x, θ]</c> with bounds twice the termination thresholds.
/// The dynamics, rewards, termination and seeding are CartPole's; a feed-forward policy cannot tell which way the pole
/// is falling, so the task needs memory (recurrent PPO) to be solved.
/// </summary>
public sealed class CartPoleNoVelocity : IEnvironment<float[], int>, IDiscreteActionEnv
{
    private readonly CartPole _cartPole = new() { Name = "CartPoleNoVel-v1" };
    private readonly float[] _full = new float[4];

    /// <inheritdoc/>
    public string Name
    {
        get => _cartPole.Name;
        set => _cartPole.Name = value;
    }

    /// <inheritdoc/>
    public Space ObservationSpace { get; } = new Box(
        [(float)(-CartPole.XThreshold * 2), (float)(-CartPole.ThetaThresholdRadians * 2)],
        [(float)(CartPole.XThreshold * 2), (float)(CartPole.ThetaThresholdRadians * 2)]);

    /// <inheritdoc/>
    public Space ActionSpace => _cartPole.ActionSpace;

    /// <inheritdoc/>
    public int ObservationSize => 2;

    /// <summary>The full physical state <c>[x, ẋ, θ, θ̇]</c> (for tests; the agent does not see the velocities).</summary>
    public double[] State => _cartPole.State;

    /// <inheritdoc/>
    public (float[] Observation, StepInfo Info) Reset(int? seed = null)
    {
        var observation = new float[2];
        ResetInto(seed is int s ? Seeding.ToUInt64(s) : null, observation);
        return (observation, StepInfo.Empty);
    }

    /// <inheritdoc/>
    public void ResetInto(ulong? seed, Span<float> observation)
    {
        _cartPole.ResetInto(seed, _full);
        Positions(observation);
    }

    /// <inheritdoc/>
    public Step<float[]> Step(int action)
    {
        var observation = new float[2];
        var outcome = StepInto(action, observation);
        return new Step<float[]>(observation, outcome.Reward, outcome.Terminated, outcome.Truncated, StepInfo.Empty);
    }

    /// <inheritdoc/>
    public StepOutcome StepInto(int action, Span<float> observation)
    {
        var outcome = _cartPole.StepInto(action, _full);
        Positions(observation);
        return outcome;
    }

    private void Positions(Span<float> observation)
    {
        if (observation.Length < 2) EnvironmentErrors.ThrowObservationBuffer(Name, observation.Length, 2);
        observation[0] = _full[0];
        observation[1] = _full[2];
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
