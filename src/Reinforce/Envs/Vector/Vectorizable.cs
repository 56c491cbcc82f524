using Reinforce.Spaces;
using Reinforce.Envs.Wrappers;

namespace Reinforce.Envs.Vector;

/// <summary>
/// Turns any environment into an <see cref="IVectorizableEnv"/>: environments that already implement it are
/// returned as they are; others (an <c>IEnvironment&lt;TObservation, TAction&gt;</c> with an <c>int</c>,
/// <c>float[]</c> or <c>int[]</c> action) are adapted by flattening each observation into the caller's span through
/// the observation space (<see cref="Space.FlattenObject"/>: a Box copied, a ByteBox as byte values, a Discrete
/// one-hot, a DictSpace key by key; see <see cref="ObservationLayout"/>). The adapted environment's own allocations
/// remain. An observation that does not match its space fails with a message naming the environment, the space and
/// the key or shape.
/// </summary>
public static class Vectorizable
{
    /// <summary>The allocation-free view of <paramref name="env"/>.</summary>
    /// <exception cref="ArgumentException">The action type is not int, float[] or int[], or the observation space does not describe the observation type.</exception>
    public static IVectorizableEnv From(IEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(env);
        if (env is IDiscreteActionEnv or IContinuousActionEnv or IMultiDiscreteActionEnv) return (IVectorizableEnv)env;
        var contract = env.GetType().GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnvironment<,>));
        if (contract is not null)
        {
            var types = contract.GetGenericArguments();
            Type observation = types[0], action = types[1];
            Type? adapter = env.ActionSpace switch
            {
                Discrete when action == typeof(int) => typeof(DiscreteAdapter<>),
                Box when action == typeof(float[]) => typeof(ContinuousAdapter<>),
                MultiDiscrete when action == typeof(int[]) => typeof(MultiDiscreteAdapter<>),
                _ => null,
            };
            if (adapter is not null && !Describes(env.ObservationSpace, observation))
            {
                throw new ArgumentException(
                    $"{env.Name} cannot be vectorised: it observes {Space.TypeName(observation)} but its observation space {env.ObservationSpace} holds other values; " +
                    "declare a space of the observation type (Box for float[], ByteBox for byte[], Discrete for int, DictSpace for dictionaries).", nameof(env));
            }
            if (adapter is not null) return (IVectorizableEnv)Activator.CreateInstance(adapter.MakeGenericType(observation), env)!;
        }
        throw new ArgumentException(
            $"{env.Name} cannot be vectorised: a vector environment needs a Discrete (int), Box (float[]) or MultiDiscrete (int[]) action space, " +
            $"but it has observation space {env.ObservationSpace} and action space {env.ActionSpace} ({env.GetType().Name}).", nameof(env));
    }

    /// <summary>Whether <paramref name="space"/> is a <c>Space&lt;T&gt;</c> whose values can be of type <paramref name="observation"/>.</summary>
    private static bool Describes(Space space, Type observation)
    {
        for (var t = space.GetType(); t is not null; t = t.BaseType)
        {
            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Space<>)) return t.GetGenericArguments()[0].IsAssignableFrom(observation);
        }
        return false;
    }

    private abstract class Adapter<TObservation, TAction>(IEnvironment<TObservation, TAction> inner) : IVectorizableEnv, IWrapper
    {
        protected IEnvironment<TObservation, TAction> Inner { get; } = inner;

        public IEnvironment InnerEnvironment => Inner;

        public string Name => Inner.Name;

        public Space ObservationSpace => Inner.ObservationSpace;

        public Space ActionSpace => Inner.ActionSpace;

        public int ObservationSize { get; } = inner.ObservationSpace.FlatSize;

        public void ResetInto(ulong? seed, Span<float> observation)
        {
            var (obs, _) = Inner.Reset(seed is ulong s ? Seeding.ToInt32(s) : null);
            Copy(obs, observation, "Reset");
        }

        protected StepOutcome Finish(Step<TObservation> step, Span<float> observation)
        {
            Copy(step.Observation, observation, "Step");
            return new StepOutcome(step.Reward, step.Terminated, step.Truncated);
        }

        private void Copy(TObservation obs, Span<float> observation, string method)
        {
            if (obs is float[] floats && ObservationSpace is Box)
            {
                // The common case, kept cheap: a float vector only needs the right length.
                if (floats.Length != ObservationSize) Throw(method, $"has {floats.Length} values, but its observation space {ObservationSpace} has {ObservationSize}");
                floats.CopyTo(observation);
                return;
            }
            if (obs is null) Throw(method, "is null");
            try
            {
                ObservationSpace.FlattenObject(obs, observation[..ObservationSize]);
            }
            catch (ArgumentException e)
            {
                string detail = ObservationSpace.DescribeMismatch(obs) ?? e.Message;
                Throw(method, detail);
            }
        }

        [System.Diagnostics.CodeAnalysis.DoesNotReturn]
        private void Throw(string method, string detail) =>
            throw new InvalidOperationException($"{Name}: the observation returned by {method} {detail}. Return observations that match the observation space {ObservationSpace} (or change the space to describe them).");
    }

    private sealed class DiscreteAdapter<TObservation>(IEnvironment<TObservation, int> inner) : Adapter<TObservation, int>(inner), IDiscreteActionEnv
    {
        public StepOutcome StepInto(int action, Span<float> observation) => Finish(Inner.Step(action), observation);
    }

    private sealed class ContinuousAdapter<TObservation>(IEnvironment<TObservation, float[]> inner) : Adapter<TObservation, float[]>(inner), IContinuousActionEnv
    {
        public int ActionSize { get; } = inner.ActionSpace.FlatSize;

        public StepOutcome StepInto(ReadOnlySpan<float> action, Span<float> observation) => Finish(Inner.Step(action.ToArray()), observation);
    }

    private sealed class MultiDiscreteAdapter<TObservation>(IEnvironment<TObservation, int[]> inner) : Adapter<TObservation, int[]>(inner), IMultiDiscreteActionEnv
    {
        public int ActionSize { get; } = ((MultiDiscrete)inner.ActionSpace).Branches;

        public StepOutcome StepInto(ReadOnlySpan<int> action, Span<float> observation) => Finish(Inner.Step(action.ToArray()), observation);
    }
}
