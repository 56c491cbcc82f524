namespace Reinforce.Envs.Vector;

/// <summary>
/// The allocation-free side of an environment whose observations are float vectors: it writes each observation
/// into a caller's span (a row of a vector environment's batch). Implement one of
/// <see cref="IDiscreteActionEnv"/>, <see cref="IContinuousActionEnv"/> or <see cref="IMultiDiscreteActionEnv"/>
/// (deriving from <see cref="DiscreteEnvironment"/> or <see cref="ContinuousEnvironment"/> does it for you).
/// </summary>
public interface IVectorizableEnv : IEnvironment
{
    /// <summary>The number of floats in one observation (the flat size of <see cref="IEnvironment.ObservationSpace"/>).</summary>
    int ObservationSize { get; }

    /// <summary>
    /// Starts an episode and writes its first observation into <paramref name="observation"/>. A seed restarts the
    /// environment's random generator; null continues its stream (what a vector environment does on auto-reset).
    /// </summary>
    void ResetInto(ulong? seed, Span<float> observation);
}

/// <summary>An environment with a <see cref="Spaces.Discrete"/> action space, stepped without allocation.</summary>
public interface IDiscreteActionEnv : IVectorizableEnv
{
    /// <summary>Applies <paramref name="action"/> and writes the next observation into <paramref name="observation"/>.</summary>
    StepOutcome StepInto(int action, Span<float> observation);
}

/// <summary>An environment with a <see cref="Spaces.Box"/> action space, stepped without allocation.</summary>
public interface IContinuousActionEnv : IVectorizableEnv
{
    /// <summary>The number of floats in one action.</summary>
    int ActionSize { get; }

    /// <summary>Applies <paramref name="action"/> and writes the next observation into <paramref name="observation"/>.</summary>
    StepOutcome StepInto(ReadOnlySpan<float> action, Span<float> observation);
}

/// <summary>An environment with a <see cref="Spaces.MultiDiscrete"/> action space, stepped without allocation.</summary>
public interface IMultiDiscreteActionEnv : IVectorizableEnv
{
    /// <summary>The number of branches (ints) in one action.</summary>
    int ActionSize { get; }

    /// <summary>Applies <paramref name="action"/> (one choice per branch) and writes the next observation into <paramref name="observation"/>.</summary>
    StepOutcome StepInto(ReadOnlySpan<int> action, Span<float> observation);
}

/// <summary>What a step returns besides the observation (which went into the caller's span).</summary>
/// <param name="Reward">The reward for the transition.</param>
/// <param name="Terminated">A terminal state of the problem was reached.</param>
/// <param name="Truncated">The environment itself cut the episode short (time limits are usually applied outside).</param>
public readonly record struct StepOutcome(double Reward, bool Terminated, bool Truncated = false);
