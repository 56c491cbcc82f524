using Reinforce.Envs.Rendering;
using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace Reinforce.Envs.ClassicControl;

/// <summary>
/// MountainCar-v0 as in Gymnasium 1.x (Moore's mountain car): accelerate left (0), not at all (1) or right (2) to
/// drive an underpowered car out of a valley. <c>v ← clip(v + (a − 1)·0.001 − 0.0025·cos 3x, ±0.07)</c>,
/// <c>x ← clip(x + v, [−1.2, 0.6])</c>, the velocity zeroed at the left wall; double precision, observation
/// <c>[x, v]</c> as float32; reward −1 per step; terminated when x ≥ 0.5 (and v ≥ 0). The start position is
/// uniform on [−0.6, −0.4) with zero velocity. The registry adds the 200-step limit and threshold −110.
/// </summary>
public sealed class MountainCar : DiscreteEnvironment, IRenderable, IStatefulEnv
{
    /// <summary>The left end of the track.</summary>
    public const double MinPosition = -1.2;

    /// <summary>The right end of the track.</summary>
    public const double MaxPosition = 0.6;

    /// <summary>The speed limit.</summary>
    public const double MaxSpeed = 0.07;

    /// <summary>The position of the flag.</summary>
    public const double GoalPosition = 0.5;

    private const double Force = 0.001;
    private const double Gravity = 0.0025;

    private double _position, _velocity;

    /// <summary>Creates the environment; call Reset before stepping.</summary>
    public MountainCar()
        : base("MountainCar-v0", new Box([(float)MinPosition, -(float)MaxSpeed], [(float)MaxPosition, (float)MaxSpeed]), new Discrete(3)) { }

    /// <summary>The physical state <c>[position, velocity]</c>.</summary>
    public double[] State => [_position, _velocity];

    /// <summary>Sets the physical state <c>[position, velocity]</c> and allows stepping from it.</summary>
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
        WriteObservation(observation);
    }

    /// <inheritdoc/>
    protected override StepOutcome OnStep(int action, Span<float> observation)
    {
        double velocity = _velocity + ((action - 1) * Force + Math.Cos(3 * _position) * -Gravity);
        velocity = Math.Clamp(velocity, -MaxSpeed, MaxSpeed);
        double position = Math.Clamp(_position + velocity, MinPosition, MaxPosition);
        if (position == MinPosition && velocity < 0) velocity = 0;

        _position = position;
        _velocity = velocity;
        bool terminated = position >= GoalPosition && velocity >= 0;
        WriteObservation(observation);
        return new StepOutcome(-1.0, terminated);
    }

    private void WriteObservation(Span<float> observation)
    {
        observation = observation[..2];
        observation[0] = (float)_position;
        observation[1] = (float)_velocity;
    }

    /// <summary>The current state drawn as Gymnasium draws it (see <see cref="ClassicControlScenes"/>).</summary>
    public Scene Render() => ClassicControlScenes.MountainCar([_position, _velocity], GoalPosition);
}
