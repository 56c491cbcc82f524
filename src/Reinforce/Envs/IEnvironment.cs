using Reinforce.Spaces;

namespace Reinforce.Envs;

/// <summary>
/// What every environment has regardless of its observation and action types: a name for messages and the two
/// spaces. <see cref="Environments.Make(string, EnvironmentOptions?)"/> returns this; cast to
/// <see cref="IEnvironment{TObservation, TAction}"/> (or call <c>Make&lt;TObservation, TAction&gt;</c>) to step it.
/// </summary>
public interface IEnvironment
{
    /// <summary>The name used in messages (the registered id for environments made by <see cref="Environments"/>).</summary>
    string Name => GetType().Name;

    /// <summary>The set of valid observations.</summary>
    Space ObservationSpace { get; }

    /// <summary>The set of valid actions.</summary>
    Space ActionSpace { get; }
}

/// <summary>
/// Gymnasium's environment contract. <see cref="Reset"/> starts an episode (reseeding the environment's random
/// generator when a seed is given, continuing its stream otherwise); <see cref="Step"/> advances it.
/// An episode ends when a step reports <c>Terminated</c> (a terminal state of the problem: do not bootstrap) or
/// <c>Truncated</c> (cut short, e.g. by a time limit: bootstrap from the final observation). Stepping an ended
/// episode without <see cref="Reset"/> throws <see cref="InvalidOperationException"/>.
/// </summary>
public interface IEnvironment<TObservation, TAction> : IEnvironment
{
    /// <summary>Starts a new episode. The same seed gives the same episode (for the same actions).</summary>
    (TObservation Observation, StepInfo Info) Reset(int? seed = null);

    /// <summary>Applies <paramref name="action"/> and returns the next observation, the reward and whether the episode ended.</summary>
    Step<TObservation> Step(TAction action);
}

/// <summary>The result of one step: <see cref="Observation"/>, <see cref="Reward"/>, <see cref="Terminated"/>, <see cref="Truncated"/> and <see cref="Info"/>.</summary>
/// <param name="Observation">The observation after the step (for a finished episode, its last observation).</param>
/// <param name="Reward">The reward for the transition.</param>
/// <param name="Terminated">The episode reached a terminal state of the problem (the value of what follows is zero).</param>
/// <param name="Truncated">The episode was cut short (a time limit); the state is not terminal, so bootstrap from it.</param>
/// <param name="Info">Extra diagnostics (for example "episode" statistics from <see cref="Wrappers.RecordEpisodeStatistics{TObservation, TAction}"/>).</param>
public readonly record struct Step<TObservation>(TObservation Observation, double Reward, bool Terminated, bool Truncated, StepInfo Info)
{
    /// <summary>Whether the episode is over (terminated or truncated); call Reset before stepping again.</summary>
    public bool Done => Terminated || Truncated;
}
