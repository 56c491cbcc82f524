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
    public const double MinPosition = MountainCarTrack.MinPosition;

    /// <summary>The right end of the track.</summary>
    public const double MaxPosition = MountainCarTrack.MaxPosition;

    /// <summary>The speed limit.</summary>
    public const double MaxSpeed = MountainCarTrack.MaxSpeed;

    /// <summary>The position of the flag.</summary>
    public const double GoalPosition = 0.5;

    private const double Force = 0.001;

    private MountainCarTrack _car;

    /// <summary>Creates the environment; call Reset before stepping.</summary>
    public MountainCar()
        : base("MountainCar-v0", MountainCarTrack.ObservationSpace(), new Discrete(3)) { }

    /// <summary>The physical state <c>[position, velocity]</c>.</summary>
    public double[] State => _car.State;

    /// <summary>Sets the physical state <c>[position, velocity]</c> and allows stepping from it.</summary>
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
    protected override StepOutcome OnStep(int action, Span<float> observation)
    {
        _car.Step((action - 1) * Force);
        _car.Observe(observation);
        return new StepOutcome(-1.0, _car.Reached(GoalPosition));
    }

    /// <summary>The current state drawn as Gymnasium draws it (see <see cref="ClassicControlScenes"/>).</summary>
    public Scene Render() => ClassicControlScenes.MountainCar(_car.State, GoalPosition);
}
