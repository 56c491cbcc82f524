using Reinforce.Spaces;

namespace Reinforce.Envs.Vector;

/// <summary>
/// Many copies of an environment stepped together, observations batched as one row-major <c>[NumEnvs, ObservationSize]</c>
/// float array. After <see cref="Step(ReadOnlySpan{int})"/>, a copy whose episode ended (<see cref="Terminated"/> or
/// <see cref="Truncated"/>) has already been reset, Gymnasium's same-step autoreset as Stable-Baselines3 does it:
/// its row of <see cref="Observations"/> is the first observation of the new episode, and the last observation of
/// the finished one is in <see cref="FinalObservations"/> (bootstrap truncated episodes from it).
/// Spans returned by the properties are views of internal buffers, valid until the next Step or Reset.
/// </summary>
public interface IVectorEnv : IDisposable
{
    /// <summary>The number of environment copies.</summary>
    int NumEnvs { get; }

    /// <summary>The observation space of one copy.</summary>
    Space SingleObservationSpace { get; }

    /// <summary>The action space of one copy.</summary>
    Space SingleActionSpace { get; }

    /// <summary>Floats per observation row.</summary>
    int ObservationSize { get; }

    /// <summary>Values per action: 1 for Discrete, the branch count for MultiDiscrete, the element count for Box.</summary>
    int ActionSize { get; }

    /// <summary>The time limit applied to each copy (null: none).</summary>
    int? MaxEpisodeSteps { get; }

    /// <summary>The copies (for example to read a bandit's optimal action); do not step them directly.</summary>
    IReadOnlyList<IVectorizableEnv> Envs { get; }

    /// <summary>Resets every copy, copy i with seed <c>Rng.DeriveSeed(seed, i)</c>, and clears the episode statistics.</summary>
    void Reset(ulong seed);

    /// <summary>The current observations, <c>[NumEnvs × ObservationSize]</c> row-major.</summary>
    ReadOnlySpan<float> Observations { get; }

    /// <summary>Steps every copy with a Discrete action (<c>[NumEnvs]</c>) or a MultiDiscrete one (<c>[NumEnvs × branches]</c>).</summary>
    void Step(ReadOnlySpan<int> actions);

    /// <summary>Steps every copy with a Box action, <c>[NumEnvs × ActionSize]</c> row-major.</summary>
    void Step(ReadOnlySpan<float> actions);

    /// <summary>The reward of each copy for the last step.</summary>
    ReadOnlySpan<float> Rewards { get; }

    /// <summary>Whether each copy reached a terminal state in the last step.</summary>
    ReadOnlySpan<bool> Terminated { get; }

    /// <summary>Whether each copy hit the time limit (or was cut short) in the last step. Both flags can be set when the limit falls on a terminal step.</summary>
    ReadOnlySpan<bool> Truncated { get; }

    /// <summary>The last observation of each episode that ended in the last step, <c>[NumEnvs × ObservationSize]</c>; rows of copies that did not finish are stale.</summary>
    ReadOnlySpan<float> FinalObservations { get; }

    /// <summary>The last observation of the episode copy <paramref name="envIndex"/> finished in the last step; throws when it did not finish.</summary>
    ReadOnlySpan<float> FinalObservation(int envIndex);

    /// <summary>The episodes that ended in the last step (return of raw rewards, length), in copy order.</summary>
    ReadOnlySpan<EpisodeRecord> CompletedEpisodes { get; }

    /// <summary>
    /// How a checkpoint can bring these environments back (<see cref="EnvironmentRestore"/>): a state snapshot when
    /// every copy supports it, else replaying the recorded actions, else (for environments that can do neither) a reset.
    /// Implementations that are not <see cref="VectorEnv"/>s default to replay.
    /// </summary>
    EnvironmentRestore Restore => EnvironmentRestore.Replay;

    /// <summary>Writes the complete state of every copy and of the batch (episode returns and lengths, observations); only when <see cref="Restore"/> is <see cref="EnvironmentRestore.Snapshot"/>.</summary>
    void SaveState(EnvironmentStateWriter writer) => throw new NotSupportedException($"{GetType().Name} cannot save its state (Restore is {Restore}).");

    /// <summary>Restores a state written by <see cref="SaveState"/> into environments made the same way.</summary>
    void LoadState(EnvironmentStateReader reader) => throw new NotSupportedException($"{GetType().Name} cannot load a state (Restore is {Restore}).");
}

/// <summary>Statistics of a finished episode.</summary>
/// <param name="EnvIndex">Which copy of a vector environment ran it (0 for a single environment).</param>
/// <param name="Return">The undiscounted sum of the environment's own rewards (before any reward normalisation).</param>
/// <param name="Length">The number of steps.</param>
/// <param name="Terminated">Whether it ended in a terminal state (otherwise it was truncated).</param>
public readonly record struct EpisodeRecord(int EnvIndex, double Return, int Length, bool Terminated);
