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
    public const double MinPosition = MountainCarTrack.MinPosition;

    /// <summary>The right end of the track.</summary>
    public const double MaxPosition = MountainCarTrack.MaxPosition;

    /// <summary>The speed limit.</summary>
    public const double MaxSpeed = MountainCarTrack.MaxSpeed;

    /// <summary>The position at which the episode terminates.</summary>
    public const double GoalPosition = 0.45;

    private const double Power = 0.0015;

    private MountainCarTrack _car;

    /// <summary>Creates the environment; call Reset before stepping.</summary>
    public MountainCarContinuous()
        : base("MountainCarContinuous-v0", MountainCarTrack.ObservationSpace(), new Box(-1f, 1f, [1])) { }

    /// <summary>The physical state <c>[position, velocity]</c>.</summary>
    public double[] State => _car.State;

    /// <summary>Sets the physical state <c>[position, velocity]</c> (float64, as Gymnasium's reset leaves it) and allows stepping from it.</summary>
    public void SetState(ReadOnlySpan<double> state)
    {
        _car.Set(state, Name);
        MarkStarted();
    }

    /// <inheritdoc/>
    protected override void OnSaveState(EnvironmentStateWriter writer) => _car.Save(writer);

    /// <inheritdoc/>
    protected override void OnLoadState(EnvironmentStateReader reader) => _car.Load(reader);

    /// <inheritdoc/>
    protected override void OnReset(Span<float> observation)
    {
        _car.Reset(Rng);
        _car.Observe(observation);
    }

    /// <inheritdoc/>
    protected override StepOutcome OnStep(ReadOnlySpan<float> action, Span<float> observation)
    {
        double a = action[0];
        _car.Step(Math.Min(Math.Max(a, -1.0), 1.0) * Power);
        bool terminated = _car.Reached(GoalPosition);
        // reward -= math.pow(action[0], 2) * 0.1: the unclipped action.
        double reward = (terminated ? 100.0 : 0.0) - a * a * 0.1;

        // Gymnasium stores this environment's state as float32 after every step.
        _car.Position = (float)_car.Position;
        _car.Velocity = (float)_car.Velocity;
        _car.Observe(observation);
        return new StepOutcome(reward, terminated);
    }

    /// <summary>The current state drawn as Gymnasium draws it (see <see cref="ClassicControlScenes"/>).</summary>
    public Scene Render() => ClassicControlScenes.MountainCar(_car.State, GoalPosition);
}
