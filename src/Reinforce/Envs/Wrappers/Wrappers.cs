using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace Reinforce.Envs.Wrappers;

/// <summary>An environment that wraps another; <see cref="EnvironmentExtensions.Unwrapped"/> follows the chain to the innermost.</summary>
public interface IWrapper
{
    /// <summary>The wrapped environment.</summary>
    IEnvironment InnerEnvironment { get; }
}

/// <summary>Helpers over any environment.</summary>
public static class EnvironmentExtensions
{
    /// <summary>The innermost environment under any wrappers (Gymnasium's <c>env.unwrapped</c>).</summary>
    public static IEnvironment Unwrapped(this IEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(env);
        while (env is IWrapper w) env = w.InnerEnvironment;
        return env;
    }
}

/// <summary>A wrapper that keeps the observation and action types: passes everything through unless overridden.</summary>
public abstract class Wrapper<TObservation, TAction> : IEnvironment<TObservation, TAction>, IWrapper
{
    /// <summary>Wraps <paramref name="inner"/>.</summary>
    protected Wrapper(IEnvironment<TObservation, TAction> inner) => Inner = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <summary>The wrapped environment.</summary>
    public IEnvironment<TObservation, TAction> Inner { get; }

    /// <inheritdoc/>
    public IEnvironment InnerEnvironment => Inner;

    /// <inheritdoc/>
    public virtual string Name => Inner.Name;

    /// <inheritdoc/>
    public virtual Space ObservationSpace => Inner.ObservationSpace;

    /// <inheritdoc/>
    public virtual Space ActionSpace => Inner.ActionSpace;

    /// <inheritdoc/>
    public virtual (TObservation Observation, StepInfo Info) Reset(int? seed = null) => Inner.Reset(seed);

    /// <inheritdoc/>
    public virtual Step<TObservation> Step(TAction action) => Inner.Step(action);

    /// <inheritdoc/>
    public override string ToString() => $"{GetType().Name.Split('`')[0]}<{Inner}>";
}

/// <summary>
/// Ends episodes after <see cref="MaxEpisodeSteps"/> steps with <c>Truncated = true</c> (Gymnasium's <c>TimeLimit</c>;
/// <c>Terminated</c> keeps the environment's value, so both can be true on the same step). Stepping after the end
/// without Reset throws.
/// </summary>
public sealed class TimeLimit<TObservation, TAction> : Wrapper<TObservation, TAction>
{
    private bool _needsReset = true;
    private bool _everReset;

    /// <summary>Limits episodes of <paramref name="inner"/> to <paramref name="maxEpisodeSteps"/> steps.</summary>
    public TimeLimit(IEnvironment<TObservation, TAction> inner, int maxEpisodeSteps) : base(inner)
    {
        if (maxEpisodeSteps <= 0) throw new ArgumentOutOfRangeException(nameof(maxEpisodeSteps), maxEpisodeSteps, $"{inner.Name}: the time limit must be a positive number of steps.");
        MaxEpisodeSteps = maxEpisodeSteps;
    }

    /// <summary>The episode length at which episodes are truncated.</summary>
    public int MaxEpisodeSteps { get; }

    /// <summary>Steps taken in the current episode.</summary>
    public int ElapsedSteps { get; private set; }

    /// <inheritdoc/>
    public override (TObservation Observation, StepInfo Info) Reset(int? seed = null)
    {
        var result = Inner.Reset(seed);
        ElapsedSteps = 0;
        _needsReset = false;
        _everReset = true;
        return result;
    }

    /// <inheritdoc/>
    public override Step<TObservation> Step(TAction action)
    {
        if (_needsReset) EnvironmentErrors.ThrowNeedsReset(Name, _everReset, ElapsedSteps >= MaxEpisodeSteps ? $"truncated at the {MaxEpisodeSteps}-step time limit" : null, EnvironmentErrors.FormatValue(action));
        var step = Inner.Step(action);
        ElapsedSteps++;
        if (ElapsedSteps >= MaxEpisodeSteps) step = step with { Truncated = true };
        if (step.Terminated || step.Truncated) _needsReset = true;
        return step;
    }
}

/// <summary>
/// Tracks the return and length of each episode and, on its last step, adds an <see cref="EpisodeRecord"/> to the
/// info under <c>"episode"</c> (Gymnasium's <c>RecordEpisodeStatistics</c>). Keeps the most recent episodes.
/// </summary>
public sealed class RecordEpisodeStatistics<TObservation, TAction> : Wrapper<TObservation, TAction>
{
    private readonly Queue<EpisodeRecord> _recent = new();
    private double _return;
    private int _length;

    /// <summary>Records episodes of <paramref name="inner"/>, remembering the last <paramref name="bufferLength"/>.</summary>
    public RecordEpisodeStatistics(IEnvironment<TObservation, TAction> inner, int bufferLength = 100) : base(inner)
    {
        if (bufferLength <= 0) throw new ArgumentOutOfRangeException(nameof(bufferLength), bufferLength, "Keep at least one episode.");
        BufferLength = bufferLength;
    }

    /// <summary>How many recent episodes are kept.</summary>
    public int BufferLength { get; }

    /// <summary>The most recent finished episodes, oldest first.</summary>
    public IReadOnlyCollection<EpisodeRecord> RecentEpisodes => _recent;

    /// <summary>The number of episodes finished since creation.</summary>
    public int EpisodeCount { get; private set; }

    /// <summary>The mean return of <see cref="RecentEpisodes"/> (NaN when none).</summary>
    public double MeanReturn => _recent.Count == 0 ? double.NaN : _recent.Average(e => e.Return);

    /// <inheritdoc/>
    public override (TObservation Observation, StepInfo Info) Reset(int? seed = null)
    {
        _return = 0;
        _length = 0;
        return Inner.Reset(seed);
    }

    /// <inheritdoc/>
    public override Step<TObservation> Step(TAction action)
    {
        var step = Inner.Step(action);
        _return += step.Reward;
        _length++;
        if (step.Terminated || step.Truncated)
        {
            var record = new EpisodeRecord(0, _return, _length, step.Terminated);
            _recent.Enqueue(record);
            while (_recent.Count > BufferLength) _recent.Dequeue();
            EpisodeCount++;
            step = step with { Info = step.Info.With("episode", record) };
        }
        return step;
    }
}

/// <summary>
/// Normalises observations with running statistics: <c>(obs − mean) / sqrt(var + 1e-8)</c>, the statistics updated
/// with every observation (reset and step) first, as Gymnasium's <c>NormalizeObservation</c>. Set
/// <see cref="Frozen"/> for evaluation; save and restore <see cref="Statistics"/> with a checkpoint.
/// </summary>
public sealed class NormalizeObservation<TAction> : Wrapper<float[], TAction>
{
    private readonly Box _space;

    /// <summary>Normalises the observations of <paramref name="inner"/>; <paramref name="clip"/> optionally bounds the result (Stable-Baselines3 uses 10).</summary>
    public NormalizeObservation(IEnvironment<float[], TAction> inner, double epsilon = 1e-8, double? clip = null) : base(inner)
    {
        if (clip is <= 0) throw new ArgumentOutOfRangeException(nameof(clip), clip, "The clip bound must be positive.");
        int size = inner.ObservationSpace.FlatSize;
        Statistics = new RunningMeanStd(size);
        Epsilon = epsilon;
        Clip = clip;
        float bound = clip is double c ? (float)c : float.PositiveInfinity;
        _space = new Box(-bound, bound, inner.ObservationSpace.Shape);
    }

    /// <summary>The running observation statistics.</summary>
    public RunningMeanStd Statistics { get; }

    /// <summary>When true the statistics are used but no longer updated (evaluation).</summary>
    public bool Frozen { get; set; }

    /// <summary>Added to the variance before the square root.</summary>
    public double Epsilon { get; }

    /// <summary>The bound on normalised values (null: none).</summary>
    public double? Clip { get; }

    /// <inheritdoc/>
    public override Space ObservationSpace => _space;

    /// <inheritdoc/>
    public override (float[] Observation, StepInfo Info) Reset(int? seed = null)
    {
        var (obs, info) = Inner.Reset(seed);
        return (Process(obs), info);
    }

    /// <inheritdoc/>
    public override Step<float[]> Step(TAction action)
    {
        var step = Inner.Step(action);
        return step with { Observation = Process(step.Observation) };
    }

    private float[] Process(float[] observation)
    {
        if (!Frozen) Statistics.Update(observation);
        var result = new float[observation.Length];
        Statistics.Normalize(observation, result, Epsilon, Clip);
        return result;
    }
}

/// <summary>
/// Scales rewards so that their discounted sum has roughly unit variance, Gymnasium's <c>NormalizeReward</c>:
/// <c>G ← G·γ·(1 − terminated) + r</c>, the running variance of G updated, and <c>r / sqrt(var + 1e-8)</c> returned
/// (the mean is not subtracted). Set <see cref="Frozen"/> for evaluation; save <see cref="Statistics"/>.
/// </summary>
public sealed class NormalizeReward<TObservation, TAction> : Wrapper<TObservation, TAction>
{
    private double _discountedReturn;

    /// <summary>Normalises the rewards of <paramref name="inner"/> for discount <paramref name="gamma"/>.</summary>
    public NormalizeReward(IEnvironment<TObservation, TAction> inner, double gamma = 0.99, double epsilon = 1e-8) : base(inner)
    {
        if (!(gamma >= 0 && gamma <= 1)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "The discount must be in [0, 1].");
        Gamma = gamma;
        Epsilon = epsilon;
    }

    /// <summary>The discount of the running return.</summary>
    public double Gamma { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public double Epsilon { get; }

    /// <summary>The running statistics of the discounted return (size 1).</summary>
    public RunningMeanStd Statistics { get; } = new(1);

    /// <summary>When true the statistics are used but no longer updated (evaluation).</summary>
    public bool Frozen { get; set; }

    /// <inheritdoc/>
    public override Step<TObservation> Step(TAction action)
    {
        var step = Inner.Step(action);
        _discountedReturn = _discountedReturn * Gamma * (step.Terminated ? 0.0 : 1.0) + step.Reward;
        if (!Frozen) Statistics.Update([_discountedReturn]);
        return step with { Reward = step.Reward / Math.Sqrt(Statistics.VarSpan[0] + Epsilon) };
    }
}

/// <summary>
/// Clips continuous actions into the wrapped environment's <see cref="Box"/> before it sees them (Gymnasium's
/// <c>ClipAction</c>); the wrapper's own action space is unbounded. NaN is not clipped and still fails.
/// </summary>
public sealed class ClipAction<TObservation> : Wrapper<TObservation, float[]>
{
    private readonly Box _inner;
    private readonly Box _space;

    /// <summary>Clips actions for <paramref name="inner"/>, whose action space must be a Box.</summary>
    public ClipAction(IEnvironment<TObservation, float[]> inner) : base(inner)
    {
        _inner = inner.ActionSpace as Box ?? throw new ArgumentException($"{inner.Name}: ClipAction needs a Box action space, not {inner.ActionSpace}.", nameof(inner));
        _space = new Box(float.NegativeInfinity, float.PositiveInfinity, _inner.Shape);
    }

    /// <inheritdoc/>
    public override Space ActionSpace => _space;

    /// <inheritdoc/>
    public override Step<TObservation> Step(float[] action)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (action.Length != _inner.ElementCount) EnvironmentErrors.ThrowActionLength(Name, action.Length, _inner);
        var clipped = (float[])action.Clone();
        _inner.Clip(clipped);
        return Inner.Step(clipped);
    }
}

/// <summary>
/// Maps actions from [<see cref="MinAction"/>, <see cref="MaxAction"/>] linearly onto the wrapped environment's
/// bounded <see cref="Box"/> (Gymnasium's <c>RescaleAction</c>), so a policy can act in [−1, 1] whatever the
/// environment's range. Values outside the range map beyond the bounds (the environment clips them).
/// </summary>
public sealed class RescaleAction<TObservation> : Wrapper<TObservation, float[]>
{
    private readonly Box _inner;
    private readonly Box _space;
    private readonly double[] _gradient;
    private readonly double[] _intercept;

    /// <summary>Rescales actions in [<paramref name="minAction"/>, <paramref name="maxAction"/>] onto the bounds of <paramref name="inner"/>.</summary>
    public RescaleAction(IEnvironment<TObservation, float[]> inner, float minAction = -1f, float maxAction = 1f) : base(inner)
    {
        _inner = inner.ActionSpace as Box ?? throw new ArgumentException($"{inner.Name}: RescaleAction needs a Box action space, not {inner.ActionSpace}.", nameof(inner));
        if (!_inner.IsBounded) throw new ArgumentException($"{inner.Name}: RescaleAction needs finite action bounds, but the action space is {_inner}.", nameof(inner));
        if (!(minAction < maxAction) || !float.IsFinite(minAction) || !float.IsFinite(maxAction)) throw new ArgumentException($"RescaleAction needs finite minAction < maxAction; got {minAction} and {maxAction}.");
        MinAction = minAction;
        MaxAction = maxAction;
        _space = new Box(minAction, maxAction, _inner.Shape);
        int n = _inner.ElementCount;
        _gradient = new double[n];
        _intercept = new double[n];
        for (int i = 0; i < n; i++)
        {
            double low = _inner.LowSpan[i], high = _inner.HighSpan[i];
            _gradient[i] = (high - low) / ((double)maxAction - minAction);
            _intercept[i] = high - _gradient[i] * maxAction;
        }
    }

    /// <summary>The action that maps to the inner lower bound.</summary>
    public float MinAction { get; }

    /// <summary>The action that maps to the inner upper bound.</summary>
    public float MaxAction { get; }

    /// <inheritdoc/>
    public override Space ActionSpace => _space;

    /// <inheritdoc/>
    public override Step<TObservation> Step(float[] action)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (action.Length != _gradient.Length) EnvironmentErrors.ThrowActionLength(Name, action.Length, _space);
        var mapped = new float[action.Length];
        for (int i = 0; i < action.Length; i++) mapped[i] = (float)(_gradient[i] * action[i] + _intercept[i]);
        return Inner.Step(mapped);
    }
}

/// <summary>
/// Turns any observation into a flat float vector (Gymnasium's <c>FlattenObservation</c>): a Box is laid out
/// row-major, a Discrete value becomes a one-hot vector, a MultiDiscrete one concatenated one-hot vectors. Use it to
/// vectorise environments with discrete observations.
/// </summary>
public sealed class FlattenObservation<TObservation, TAction> : IEnvironment<float[], TAction>, IWrapper
{
    private readonly Space<TObservation> _innerSpace;
    private readonly Box _space;

    /// <summary>Flattens the observations of <paramref name="inner"/>.</summary>
    public FlattenObservation(IEnvironment<TObservation, TAction> inner)
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _innerSpace = inner.ObservationSpace as Space<TObservation>
            ?? throw new ArgumentException($"{inner.Name}: its observation space {inner.ObservationSpace} does not describe {typeof(TObservation).Name} values, so it cannot be flattened.", nameof(inner));
        int n = _innerSpace.FlatSize;
        _space = _innerSpace is Box box ? new Box(box.Low, box.High, [n]) : new Box(0f, 1f, [n]);
    }

    /// <summary>The wrapped environment.</summary>
    public IEnvironment<TObservation, TAction> Inner { get; }

    /// <inheritdoc/>
    public IEnvironment InnerEnvironment => Inner;

    /// <inheritdoc/>
    public string Name => Inner.Name;

    /// <inheritdoc/>
    public Space ObservationSpace => _space;

    /// <inheritdoc/>
    public Space ActionSpace => Inner.ActionSpace;

    /// <inheritdoc/>
    public (float[] Observation, StepInfo Info) Reset(int? seed = null)
    {
        var (obs, info) = Inner.Reset(seed);
        return (Flatten(obs), info);
    }

    /// <inheritdoc/>
    public Step<float[]> Step(TAction action)
    {
        var step = Inner.Step(action);
        return new Step<float[]>(Flatten(step.Observation), step.Reward, step.Terminated, step.Truncated, step.Info);
    }

    private float[] Flatten(TObservation observation)
    {
        var result = new float[_space.ElementCount];
        _innerSpace.Flatten(observation, result);
        return result;
    }

    /// <inheritdoc/>
    public override string ToString() => $"FlattenObservation<{Inner}>";
}
