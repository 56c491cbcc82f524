namespace Reinforce.Envs.ClassicControl;

/// <summary>
/// The car, track and hill that <see cref="MountainCar"/> and <see cref="MountainCarContinuous"/> share (Gymnasium's
/// two mountain cars differ only in the push, the goal, the reward and MountainCarContinuous's float32 state):
/// <c>v ← clip(v + push − 0.0025·cos 3x, ±0.07)</c>, <c>x ← clip(x + v, [−1.2, 0.6])</c>, the velocity zeroed at the
/// left wall; the start uniform on [−0.6, −0.4) at rest.
/// </summary>
internal struct MountainCarTrack
{
    public const double MinPosition = -1.2;
    public const double MaxPosition = 0.6;
    public const double MaxSpeed = 0.07;
    private const double Gravity = 0.0025;

    public double Position;
    public double Velocity;

    /// <summary>The observation space: position and velocity within their limits.</summary>
    public static Spaces.Box ObservationSpace() => new([(float)MinPosition, -(float)MaxSpeed], [(float)MaxPosition, (float)MaxSpeed]);

    /// <summary>The physical state <c>[position, velocity]</c>.</summary>
    public readonly double[] State => [Position, Velocity];

    /// <summary>Sets <c>[position, velocity]</c>; <paramref name="name"/> names the environment in the error.</summary>
    public void Set(ReadOnlySpan<double> state, string name)
    {
        if (state.Length != 2) throw new ArgumentException($"{name}: the state is [position, velocity], 2 values; got {state.Length}.", nameof(state));
        Position = state[0];
        Velocity = state[1];
    }

    /// <summary>A new episode's start.</summary>
    public void Reset(Rng rng)
    {
        Position = rng.Uniform(-0.6, -0.4);
        Velocity = 0;
    }

    /// <summary>One step of the physics with the engine's <paramref name="push"/> (already scaled by its power).</summary>
    public void Step(double push)
    {
        double velocity = Math.Clamp(Velocity + (push - Gravity * Math.Cos(3 * Position)), -MaxSpeed, MaxSpeed);
        double position = Math.Clamp(Position + velocity, MinPosition, MaxPosition);
        if (position == MinPosition && velocity < 0) velocity = 0;
        Position = position;
        Velocity = velocity;
    }

    /// <summary>Whether the car is at or past <paramref name="goal"/> and not rolling back.</summary>
    public readonly bool Reached(double goal) => Position >= goal && Velocity >= 0;

    /// <summary>Writes <c>[x, v]</c> as float32.</summary>
    public readonly void Observe(Span<float> observation)
    {
        observation[0] = (float)Position;
        observation[1] = (float)Velocity;
    }

    public readonly void Save(EnvironmentStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Position);
        writer.Write(Velocity);
    }

    public void Load(EnvironmentStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        Position = reader.ReadDouble();
        Velocity = reader.ReadDouble();
    }
}
