using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace Reinforce.Envs;

/// <summary>
/// A convenient base for your own environment of any observation and action type: it keeps the seeded random
/// generator (<see cref="Rng"/>, restarted by <c>Reset(seed)</c>), validates actions against the action space,
/// and refuses <see cref="Step"/> before <see cref="Reset"/> or after the end of an episode, with messages
/// that name the environment. Override <see cref="OnReset"/> and <see cref="OnStep"/>.
/// For float-vector observations prefer <see cref="DiscreteEnvironment"/> or <see cref="ContinuousEnvironment"/>,
/// which vector environments step without allocating.
/// </summary>
public abstract class Environment<TObservation, TAction> : IEnvironment<TObservation, TAction>
{
    private bool _everReset;
    private string? _endReason;

    /// <summary>Creates the environment with its spaces; <paramref name="name"/> defaults to the class name.</summary>
    protected Environment(Space observationSpace, Space actionSpace, string? name = null)
    {
        ObservationSpace = observationSpace ?? throw new ArgumentNullException(nameof(observationSpace));
        ActionSpace = actionSpace ?? throw new ArgumentNullException(nameof(actionSpace));
        Name = name ?? GetType().Name;
    }

    /// <inheritdoc/>
    public string Name { get; set; }

    /// <inheritdoc/>
    public Space ObservationSpace { get; }

    /// <inheritdoc/>
    public Space ActionSpace { get; }

    /// <summary>The environment's random generator (Gymnasium's <c>np_random</c>): seeded by <c>Reset(seed)</c>, seed 0 until then.</summary>
    protected Rng Rng { get; } = new(0UL);

    /// <summary>True before the first Reset and after an episode ended.</summary>
    public bool NeedsReset { get; private set; } = true;

    /// <inheritdoc/>
    public (TObservation Observation, StepInfo Info) Reset(int? seed = null)
    {
        if (seed is int s) Rng.Reseed(Seeding.ToUInt64(s));
        var result = OnReset();
        NeedsReset = false;
        _everReset = true;
        return result;
    }

    /// <inheritdoc/>
    public Step<TObservation> Step(TAction action)
    {
        if (NeedsReset) EnvironmentErrors.ThrowNeedsReset(Name, _everReset, _endReason, EnvironmentErrors.FormatValue(action));
        EnvironmentErrors.CheckAction(Name, ActionSpace, action);
        var step = OnStep(action);
        if (step.Terminated || step.Truncated)
        {
            NeedsReset = true;
            _endReason = step.Terminated ? "terminated" : "truncated";
        }
        return step;
    }

    /// <summary>Starts an episode (the generator is already seeded) and returns its first observation.</summary>
    protected abstract (TObservation Observation, StepInfo Info) OnReset();

    /// <summary>Advances the episode with a validated action.</summary>
    protected abstract Step<TObservation> OnStep(TAction action);

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// The shared base of environments that observe float vectors: the seeded generator, reset bookkeeping and the
/// allocating <see cref="Reset"/> on top of the allocation-free <see cref="ResetInto"/>.
/// </summary>
public abstract class VectorizableEnvironment<TAction> : IEnvironment<float[], TAction>, IVectorizableEnv
{
    /// <summary>True before the first reset and after the end of an episode (kept as a field: it is read on every step).</summary>
    private protected bool _needsReset = true;
    private bool _everReset;
    private bool _endedByTermination;

    /// <summary>Creates the environment with its spaces.</summary>
    protected VectorizableEnvironment(string name, Space observationSpace, Space actionSpace)
    {
        ArgumentNullException.ThrowIfNull(name);
        ObservationSpace = observationSpace ?? throw new ArgumentNullException(nameof(observationSpace));
        ActionSpace = actionSpace ?? throw new ArgumentNullException(nameof(actionSpace));
        Name = name;
        ObservationSize = observationSpace.FlatSize;
    }

    /// <inheritdoc/>
    public string Name { get; set; }

    /// <inheritdoc/>
    public Space ObservationSpace { get; }

    /// <inheritdoc/>
    public Space ActionSpace { get; }

    /// <inheritdoc/>
    public int ObservationSize { get; }

    /// <summary>The environment's random generator (Gymnasium's <c>np_random</c>): seeded by Reset(seed), seed 0 until then.</summary>
    protected Rng Rng { get; } = new(0UL);

    /// <summary>True before the first Reset and after an episode ended.</summary>
    public bool NeedsReset => _needsReset;

    /// <inheritdoc/>
    public (float[] Observation, StepInfo Info) Reset(int? seed = null)
    {
        var observation = new float[ObservationSize];
        ResetInto(seed is int s ? Seeding.ToUInt64(s) : null, observation);
        return (observation, StepInfo.Empty);
    }

    /// <inheritdoc/>
    public void ResetInto(ulong? seed, Span<float> observation)
    {
        if (observation.Length < ObservationSize) EnvironmentErrors.ThrowObservationBuffer(Name, observation.Length, ObservationSize);
        if (seed is ulong s)
        {
            Rng.Reseed(s);
            OnReseeded();
        }
        OnReset(observation);
        _needsReset = false;
        _everReset = true;
    }

    /// <inheritdoc/>
    public abstract Step<float[]> Step(TAction action);

    /// <summary>Draws the initial state from <see cref="Rng"/> and writes the first observation.</summary>
    protected abstract void OnReset(Span<float> observation);

    /// <summary>Called when a reset reseeds the generator, before <see cref="OnReset"/> (for state that lives across episodes, such as a bandit problem).</summary>
    protected virtual void OnReseeded() { }

    /// <summary>
    /// Writes the generator, the reset bookkeeping and then <see cref="OnSaveState"/>'s fields: the complete state of
    /// an environment that declares <see cref="IStatefulEnv"/> (which these two methods then implement).
    /// </summary>
    public void SaveState(EnvironmentStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Rng);
        writer.Write(_needsReset);
        writer.Write(_everReset);
        writer.Write(_endedByTermination);
        OnSaveState(writer);
    }

    /// <summary>Restores a state written by <see cref="SaveState"/>.</summary>
    public void LoadState(EnvironmentStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.ReadInto(Rng);
        _needsReset = reader.ReadBoolean();
        _everReset = reader.ReadBoolean();
        _endedByTermination = reader.ReadBoolean();
        OnLoadState(reader);
        reader.EnsureEnd(Name);
    }

    /// <summary>Writes the subclass's own state (physics, counters); override together with <see cref="OnLoadState"/> and declare <see cref="IStatefulEnv"/>.</summary>
    protected virtual void OnSaveState(EnvironmentStateWriter writer) =>
        throw new NotSupportedException($"{Name} ({GetType().Name}) does not save its state: override OnSaveState and OnLoadState and declare IStatefulEnv.");

    /// <summary>Reads what <see cref="OnSaveState"/> wrote, in the same order.</summary>
    protected virtual void OnLoadState(EnvironmentStateReader reader) =>
        throw new NotSupportedException($"{Name} ({GetType().Name}) does not load a state: override OnSaveState and OnLoadState and declare IStatefulEnv.");

    /// <summary>Marks the environment as started (for tests and tools that set a state directly instead of resetting).</summary>
    protected void MarkStarted()
    {
        _needsReset = false;
        _everReset = true;
    }

    /// <summary>Throws the "call Reset" error (kept out of line so the step methods stay small).</summary>
    private protected void ThrowNeedsReset(string action) => EnvironmentErrors.ThrowNeedsReset(Name, _everReset, _endedByTermination ? "terminated" : "truncated", action);

    /// <summary>Records the end of an episode.</summary>
    private protected void MarkEnded(bool terminated)
    {
        _needsReset = true;
        _endedByTermination = terminated;
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// Base of an environment with float-vector observations and a <see cref="Discrete"/> action space. Override
/// <see cref="VectorizableEnvironment{TAction}.OnReset"/> and <see cref="OnStep"/>, which write observations into
/// spans; this class validates actions, enforces Reset, and provides the allocating <see cref="Step"/>.
/// </summary>
public abstract class DiscreteEnvironment : VectorizableEnvironment<int>, IDiscreteActionEnv
{
    private readonly Discrete _actions;
    private readonly int _start;
    private readonly int _n;

    /// <summary>Creates the environment with its spaces.</summary>
    protected DiscreteEnvironment(string name, Space observationSpace, Discrete actionSpace)
        : base(name, observationSpace, actionSpace)
    {
        _actions = actionSpace;
        _start = actionSpace.Start;
        _n = actionSpace.N;
    }

    /// <inheritdoc/>
    public override Step<float[]> Step(int action)
    {
        var observation = new float[ObservationSize];
        var outcome = StepInto(action, observation);
        return new Step<float[]>(observation, outcome.Reward, outcome.Terminated, outcome.Truncated, StepInfo.Empty);
    }

    /// <inheritdoc/>
    [BypassReadyToRun]
    public StepOutcome StepInto(int action, Span<float> observation)
    {
        if (_needsReset) ThrowNeedsReset(action.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if ((uint)(action - _start) >= (uint)_n) EnvironmentErrors.ThrowDiscreteAction(Name, action, _actions);
        if (observation.Length < ObservationSize) EnvironmentErrors.ThrowObservationBuffer(Name, observation.Length, ObservationSize);
        var outcome = OnStep(action, observation);
        if (outcome.Terminated | outcome.Truncated) MarkEnded(outcome.Terminated);
        return outcome;
    }

    /// <summary>Advances the state with a valid action and writes the next observation.</summary>
    protected abstract StepOutcome OnStep(int action, Span<float> observation);
}

/// <summary>
/// Base of an environment with float-vector observations and a <see cref="Box"/> action space. Actions must have
/// the right length and be finite; as in Gymnasium, values beyond the bounds are accepted (the environment clips
/// them; <see cref="Wrappers.ClipAction{TObservation}"/> clips before the environment sees them).
/// </summary>
public abstract class ContinuousEnvironment : VectorizableEnvironment<float[]>, IContinuousActionEnv
{
    /// <summary>Creates the environment with its spaces.</summary>
    protected ContinuousEnvironment(string name, Space observationSpace, Box actionSpace)
        : base(name, observationSpace, actionSpace)
    {
        ActionSize = actionSpace.ElementCount;
    }

    /// <inheritdoc/>
    public int ActionSize { get; }

    /// <inheritdoc/>
    public override Step<float[]> Step(float[] action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var observation = new float[ObservationSize];
        var outcome = StepInto(action, observation);
        return new Step<float[]>(observation, outcome.Reward, outcome.Terminated, outcome.Truncated, StepInfo.Empty);
    }

    /// <inheritdoc/>
    [BypassReadyToRun]
    public StepOutcome StepInto(ReadOnlySpan<float> action, Span<float> observation)
    {
        if (_needsReset) ThrowNeedsReset(EnvironmentErrors.Format(action));
        if (action.Length != ActionSize) EnvironmentErrors.ThrowActionLength(Name, action.Length, ActionSpace);
        for (int i = 0; i < action.Length; i++)
        {
            if (!float.IsFinite(action[i])) EnvironmentErrors.ThrowNonFiniteAction(Name, action, i, ActionSpace);
        }
        if (observation.Length < ObservationSize) EnvironmentErrors.ThrowObservationBuffer(Name, observation.Length, ObservationSize);
        var outcome = OnStep(action, observation);
        if (outcome.Terminated | outcome.Truncated) MarkEnded(outcome.Terminated);
        return outcome;
    }

    /// <summary>Advances the state with a finite action of the right length and writes the next observation.</summary>
    protected abstract StepOutcome OnStep(ReadOnlySpan<float> action, Span<float> observation);
}

/// <summary>Base of an environment with float-vector observations and a <see cref="MultiDiscrete"/> action space.</summary>
public abstract class MultiDiscreteEnvironment : VectorizableEnvironment<int[]>, IMultiDiscreteActionEnv
{
    private readonly MultiDiscrete _actions;

    /// <summary>Creates the environment with its spaces.</summary>
    protected MultiDiscreteEnvironment(string name, Space observationSpace, MultiDiscrete actionSpace)
        : base(name, observationSpace, actionSpace)
    {
        _actions = actionSpace;
        ActionSize = actionSpace.Branches;
    }

    /// <inheritdoc/>
    public int ActionSize { get; }

    /// <inheritdoc/>
    public override Step<float[]> Step(int[] action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var observation = new float[ObservationSize];
        var outcome = StepInto(action, observation);
        return new Step<float[]>(observation, outcome.Reward, outcome.Terminated, outcome.Truncated, StepInfo.Empty);
    }

    /// <inheritdoc/>
    [BypassReadyToRun]
    public StepOutcome StepInto(ReadOnlySpan<int> action, Span<float> observation)
    {
        if (_needsReset) ThrowNeedsReset(EnvironmentErrors.Format(action));
        if (!_actions.Contains(action)) EnvironmentErrors.ThrowMultiDiscreteAction(Name, action, _actions);
        if (observation.Length < ObservationSize) EnvironmentErrors.ThrowObservationBuffer(Name, observation.Length, ObservationSize);
        var outcome = OnStep(action, observation);
        if (outcome.Terminated | outcome.Truncated) MarkEnded(outcome.Terminated);
        return outcome;
    }

    /// <summary>Advances the state with a valid action and writes the next observation.</summary>
    protected abstract StepOutcome OnStep(ReadOnlySpan<int> action, Span<float> observation);
}
