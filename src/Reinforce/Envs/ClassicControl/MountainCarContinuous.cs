using Reinforce.Envs.Rendering;
using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace Reinforce.Envs.ClassicControl;

/// <summary>
/// MountainCarContinuous-v0 as in Gymnasium 1.x: a force a ∈ [−1, 1] (clipped) with power 0.0015,
/// <c>v ← clip(v + a·0.0015 − 0.0025·cos 3x, ±0.07)</c>, <c>x ← clip(x + v, [−1.2, 0.6])</c>; reward
/// <c>−0.1·a²</c> on the action as given (unclipped, so an agent pays for asking too much) plus 100 on reaching
/// x ≥ 0.45 (terminated). Gymnasium keeps this environment's state in float32 between steps and mixes float32 and
/// float64 arithmetic by NumPy's promotion rules; the step reproduces those roundings so trajectories agree.
/// The start position is uniform on [−0.6, −0.4) with zero velocity. The registry adds the 999-step limit and the
/// reward threshold 90.
/// </summary>
public sealed class MountainCarContinuous : ContinuousEnvironment, IRenderable, IStatefulEnv
{
    /// <summary>The left end of the track.</summary>
    public const double MinPosition = -1.2;

    /// <summary>The right end of the track.</summary>
    public const double MaxPosition = 0.6;

    /// <summary>The speed limit.</summary>
    public const double MaxSpeed = 0.07;

    /// <summary>The position at which the episode terminates.</summary>
    public const double GoalPosition = 0.45;

    private const double Power = 0.0015;

    private double _position, _velocity;



    /// <summary>Creates the environment; call Reset before stepping.</summary>
    public MountainCarContinuous()
        : base("MountainCarContinuous-v0",
            new Box([(float)MinPosition, -(float)MaxSpeed], [(float)MaxPosition, (float)MaxSpeed]),
            new Box(-1f, 1f, [1])) { }

    /// <summary>The physical state <c>[position, velocity]</c>.</summary>
    public double[] State => [_position, _velocity];

    /// <summary>Sets the physical state <c>[position, velocity]</c> (float64, as Gymnasium's reset leaves it) and allows stepping from it.</summary>
    public void SetState(ReadOnlySpan<double> state)
    {
        if (state.Length != 2) throw new ArgumentException($"{Name}: the state is [position, velocity], 2 values; got {state.Length}.", nameof(state));
        _position = state[0];
        _velocity = state[1];
        MarkStarted();
    }

    /// <inheritdoc/>
    protected override void OnSaveState(EnvironmentStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_position);
        writer.Write(_velocity);
    }

    /// <inheritdoc/>
    protected override void OnLoadState(EnvironmentStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        _position = reader.ReadDouble();
        _velocity = reader.ReadDouble();
    }

    /// <inheritdoc/>
    protected override void OnReset(Span<float> observation)
    {
        _position = Rng.Uniform(-0.6, -0.4);
        _velocity = 0;
        observation[0] = (float)_position;
        observation[1] = (float)_velocity;
    }

    /// <inheritdoc/>
    protected override StepOutcome OnStep(ReadOnlySpan<float> action, Span<float> observation)
    {
        double a = action[0];
        double force = Math.Min(Math.Max(a, -1.0), 1.0);
        double velocity = _velocity + (force * Power - 0.0025 * Math.Cos(3 * _position));
        if (velocity > MaxSpeed) velocity = MaxSpeed;
        if (velocity < -MaxSpeed) velocity = -MaxSpeed;
        double position = _position + velocity;
        if (position > MaxPosition) position = MaxPosition;
        if (position < MinPosition) position = MinPosition;
        if (position == MinPosition && velocity < 0) velocity = 0;

        bool terminated = position >= GoalPosition && velocity >= 0;
        // reward -= math.pow(action[0], 2) * 0.1: the unclipped action.
        double reward = (terminated ? 100.0 : 0.0) - a * a * 0.1;

        // Gymnasium stores this environment's state as float32 after every step.
        _position = (float)position;
        _velocity = (float)velocity;
        observation[0] = (float)_position;
        observation[1] = (float)_velocity;
        return new StepOutcome(reward, terminated);
    }

    /// <summary>The current state drawn as Gymnasium draws it (see <see cref="ClassicControlScenes"/>).</summary>
    public Scene Render() => ClassicControlScenes.MountainCar([_position, _velocity], GoalPosition);
}
