using Reinforce.Spaces;
using Reinforce.Envs.Wrappers;

namespace Reinforce.Envs.Vector;

/// <summary>
/// Turns any environment with float-vector observations into an <see cref="IVectorizableEnv"/>: environments
/// that already implement it are returned as they are; others (<c>IEnvironment&lt;float[], int&gt;</c>,
/// <c>&lt;float[], float[]&gt;</c> or <c>&lt;float[], int[]&gt;</c>) are adapted by copying each observation
/// into the caller's span (the adapted environment's own allocations remain).
/// </summary>
public static class Vectorizable
{
    /// <summary>The allocation-free view of <paramref name="env"/>; throws when its observations are not float vectors.</summary>
    public static IVectorizableEnv From(IEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(env);
        switch (env)
        {
            case IDiscreteActionEnv or IContinuousActionEnv or IMultiDiscreteActionEnv:
                return (IVectorizableEnv)env;
            case IEnvironment<float[], int> discrete when env.ActionSpace is Discrete:
                return new DiscreteAdapter(discrete);
            case IEnvironment<float[], float[]> continuous when env.ActionSpace is Box:
                return new ContinuousAdapter(continuous);
            case IEnvironment<float[], int[]> multi when env.ActionSpace is MultiDiscrete:
                return new MultiDiscreteAdapter(multi);
        }
        throw new ArgumentException(
            $"{env.Name} cannot be vectorised: a vector environment needs float[] observations and a Discrete (int), Box (float[]) or MultiDiscrete (int[]) action space, " +
            $"but it has observation space {env.ObservationSpace} and action space {env.ActionSpace} ({env.GetType().Name}). " +
            "Wrap it in FlattenObservation to turn Discrete or MultiDiscrete observations into float vectors.", nameof(env));
    }

    /// <summary>The environment under an adapter made by <see cref="From"/> (the environment itself otherwise).</summary>
    public static IEnvironment Unwrap(IVectorizableEnv env) => env is IAdapter adapter ? adapter.Wrapped : env;

    private interface IAdapter
    {
        IEnvironment Wrapped { get; }
    }

    private abstract class Adapter<TAction>(IEnvironment<float[], TAction> inner) : IVectorizableEnv, IAdapter, IStatefulEnv
    {
        protected IEnvironment<float[], TAction> Inner { get; } = inner;

        public IEnvironment Wrapped => Inner;

        public bool CanSaveState => Inner is IStatefulEnv { CanSaveState: true };

        public void SaveState(EnvironmentStateWriter writer) => ((IStatefulEnv)Inner).SaveState(writer);

        public void LoadState(EnvironmentStateReader reader) => ((IStatefulEnv)Inner).LoadState(reader);

        public string Name => Inner.Name;

        public Space ObservationSpace => Inner.ObservationSpace;

        public Space ActionSpace => Inner.ActionSpace;

        public int ObservationSize { get; } = inner.ObservationSpace.FlatSize;

        public void ResetInto(ulong? seed, Span<float> observation)
        {
            var (obs, _) = Inner.Reset(seed is ulong s ? Seeding.ToInt32(s) : null);
            Copy(obs, observation);
        }

        protected StepOutcome Finish(Step<float[]> step, Span<float> observation)
        {
            Copy(step.Observation, observation);
            return new StepOutcome(step.Reward, step.Terminated, step.Truncated);
        }

        private void Copy(float[] obs, Span<float> observation)
        {
            if (obs is null || obs.Length != ObservationSize)
            {
                throw new InvalidOperationException($"{Name} returned an observation of {(obs is null ? "null" : obs.Length + " values")}, but its observation space {ObservationSpace} has {ObservationSize}.");
            }
            obs.CopyTo(observation);
        }
    }

    private sealed class DiscreteAdapter(IEnvironment<float[], int> inner) : Adapter<int>(inner), IDiscreteActionEnv
    {
        public StepOutcome StepInto(int action, Span<float> observation) => Finish(Inner.Step(action), observation);
    }

    private sealed class ContinuousAdapter(IEnvironment<float[], float[]> inner) : Adapter<float[]>(inner), IContinuousActionEnv
    {
        public int ActionSize { get; } = inner.ActionSpace.FlatSize;

        public StepOutcome StepInto(ReadOnlySpan<float> action, Span<float> observation) => Finish(Inner.Step(action.ToArray()), observation);
    }

    private sealed class MultiDiscreteAdapter(IEnvironment<float[], int[]> inner) : Adapter<int[]>(inner), IMultiDiscreteActionEnv
    {
        public int ActionSize { get; } = ((MultiDiscrete)inner.ActionSpace).Branches;

        public StepOutcome StepInto(ReadOnlySpan<int> action, Span<float> observation) => Finish(Inner.Step(action.ToArray()), observation);
    }
}
