using System.Runtime.CompilerServices;
using Reinforce.Spaces;

namespace Reinforce.Envs.Vector;

/// <summary>
/// The shared machinery of <see cref="SyncVectorEnv"/> and <see cref="ThreadedVectorEnv"/>: the batch buffers,
/// the per-copy time limit, auto-reset with final observations, and episode statistics. Stepping a range of
/// copies allocates nothing; subclasses decide which thread steps which range.
/// </summary>
public abstract class VectorEnv : IVectorEnv
{
    private enum ActionKind { Discrete, Continuous, MultiDiscrete }

    private readonly IVectorizableEnv[] _envs;
    private readonly IDiscreteActionEnv[]? _discrete;
    private readonly IContinuousActionEnv[]? _continuous;
    private readonly IMultiDiscreteActionEnv[]? _multiDiscrete;
    private readonly ActionKind _kind;
    private readonly int _observationSize;
    private readonly int _actionSize;
    private readonly int _timeLimit; // int.MaxValue when none

    private readonly float[] _observations;
    private readonly float[] _finalObservations;
    private readonly float[] _rewards;
    private readonly bool[] _terminated;
    private readonly bool[] _truncated;
    private readonly double[] _episodeReturn;
    private readonly int[] _episodeLength;
    private readonly bool[] _finished;
    private readonly EpisodeRecord[] _finishedRecord;
    private readonly EpisodeRecord[] _completed;
    private int _completedCount;
    private bool _hasReset;
    private readonly IActionMaskEnv[]? _maskers;
    private readonly int _maskSize;
    private readonly bool[] _masks;

    /// <summary>Batches <paramref name="envs"/> (distinct instances with the same spaces) under an optional per-copy time limit.</summary>
    protected VectorEnv(IReadOnlyList<IVectorizableEnv> envs, int? maxEpisodeSteps)
    {
        ArgumentNullException.ThrowIfNull(envs);
        if (envs.Count == 0) throw new ArgumentException("A vector environment needs at least one environment.", nameof(envs));
        if (maxEpisodeSteps is <= 0) throw new ArgumentOutOfRangeException(nameof(maxEpisodeSteps), maxEpisodeSteps, "The time limit must be a positive number of steps (or null for none).");
        _envs = envs.ToArray();
        var first = _envs[0] ?? throw new ArgumentException("Environment 0 is null.", nameof(envs));
        var seen = new HashSet<IVectorizableEnv>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _envs.Length; i++)
        {
            var e = _envs[i] ?? throw new ArgumentException($"Environment {i} is null.", nameof(envs));
            if (!seen.Add(e)) throw new ArgumentException($"Environment {i} ({e.Name}) appears twice; every copy must be its own instance (make one per copy).", nameof(envs));
            if (e.ObservationSize != first.ObservationSize || e.ObservationSpace.ToString() != first.ObservationSpace.ToString() || e.ActionSpace.ToString() != first.ActionSpace.ToString())
            {
                throw new ArgumentException($"Environment {i} ({e.Name}: {e.ObservationSpace}, {e.ActionSpace}) does not match environment 0 ({first.Name}: {first.ObservationSpace}, {first.ActionSpace}); all copies need the same spaces.", nameof(envs));
            }
        }

        int n = _envs.Length;
        switch (first)
        {
            case IDiscreteActionEnv:
                _kind = ActionKind.Discrete;
                _discrete = Cast<IDiscreteActionEnv>();
                _actionSize = 1;
                break;
            case IContinuousActionEnv c:
                _kind = ActionKind.Continuous;
                _continuous = Cast<IContinuousActionEnv>();
                _actionSize = c.ActionSize;
                break;
            case IMultiDiscreteActionEnv m:
                _kind = ActionKind.MultiDiscrete;
                _multiDiscrete = Cast<IMultiDiscreteActionEnv>();
                _actionSize = m.ActionSize;
                break;
            default:
                throw new ArgumentException($"{first.Name} implements IVectorizableEnv but none of IDiscreteActionEnv, IContinuousActionEnv, IMultiDiscreteActionEnv, so it cannot be stepped.", nameof(envs));
        }

        _observationSize = first.ObservationSize;
        _timeLimit = maxEpisodeSteps ?? int.MaxValue;
        MaxEpisodeSteps = maxEpisodeSteps;
        _observations = new float[n * _observationSize];
        _finalObservations = new float[n * _observationSize];
        _rewards = new float[n];
        _terminated = new bool[n];
        _truncated = new bool[n];
        _episodeReturn = new double[n];
        _episodeLength = new int[n];
        _finished = new bool[n];
        _finishedRecord = new EpisodeRecord[n];
        _completed = new EpisodeRecord[n];

        var maskers = _envs.Select(Reinforce.Envs.ActionMasks.Find).ToArray();
        int withMasks = maskers.Count(m => m is not null);
        if (withMasks > 0 && withMasks < n)
        {
            int without = Array.FindIndex(maskers, m => m is null);
            throw new ArgumentException($"Environment {without} ({_envs[without].Name}) provides no action masks but others do; all copies must implement IActionMaskEnv, or none.", nameof(envs));
        }
        if (withMasks == n)
        {
            _maskers = maskers!;
            _maskSize = Reinforce.Envs.ActionMasks.MaskSize(first.ActionSpace);
        }
        _masks = new bool[n * _maskSize];
    }

    private T[] Cast<T>() where T : class
    {
        var result = new T[_envs.Length];
        for (int i = 0; i < _envs.Length; i++)
        {
            result[i] = _envs[i] as T ?? throw new ArgumentException($"Environment {i} ({_envs[i].Name}) is not an {typeof(T).Name} like environment 0.");
        }
        return result;
    }

    /// <inheritdoc/>
    public int NumEnvs => _envs.Length;

    /// <inheritdoc/>
    public Space SingleObservationSpace => _envs[0].ObservationSpace;

    /// <inheritdoc/>
    public Space SingleActionSpace => _envs[0].ActionSpace;

    /// <inheritdoc/>
    public int ObservationSize => _observationSize;

    /// <inheritdoc/>
    public int ActionSize => _actionSize;

    /// <inheritdoc/>
    public int? MaxEpisodeSteps { get; }

    /// <inheritdoc/>
    public IReadOnlyList<IVectorizableEnv> Envs => _envs;

    /// <summary>The name used in messages: the first copy's name and the count.</summary>
    public string Name => $"{_envs[0].Name} x{_envs.Length}";

    /// <inheritdoc/>
    public ReadOnlySpan<float> Observations => _observations;

    /// <inheritdoc/>
    public ReadOnlySpan<float> Rewards => _rewards;

    /// <inheritdoc/>
    public ReadOnlySpan<bool> Terminated => _terminated;

    /// <inheritdoc/>
    public ReadOnlySpan<bool> Truncated => _truncated;

    /// <inheritdoc/>
    public ReadOnlySpan<float> FinalObservations => _finalObservations;

    /// <inheritdoc/>
    public int ActionMaskSize => _maskSize;

    /// <inheritdoc/>
    public ReadOnlySpan<bool> ActionMasks => _masks;

    /// <inheritdoc/>
    public ReadOnlySpan<EpisodeRecord> CompletedEpisodes => _completed.AsSpan(0, _completedCount);

    /// <inheritdoc/>
    public ReadOnlySpan<float> FinalObservation(int envIndex)
    {
        if ((uint)envIndex >= (uint)_envs.Length) throw new ArgumentOutOfRangeException(nameof(envIndex), envIndex, $"{Name}: there are {_envs.Length} environments (indices 0 to {_envs.Length - 1}).");
        if (!(_terminated[envIndex] || _truncated[envIndex])) throw new InvalidOperationException($"{Name}: environment {envIndex} did not finish an episode in the last step, so it has no final observation; check Terminated or Truncated first.");
        return _finalObservations.AsSpan(envIndex * _observationSize, _observationSize);
    }

    /// <inheritdoc/>
    public void Reset(ulong seed)
    {
        ThrowIfDisposed();
        for (int i = 0; i < _envs.Length; i++)
        {
            _envs[i].ResetInto(Rng.DeriveSeed(seed, i), _observations.AsSpan(i * _observationSize, _observationSize));
            if (_maskers is not null) UpdateMask(i, 0);
        }
        ClearAfterReset();
    }

    /// <summary>
    /// Resets copy i with <paramref name="seeds"/>[i] (one seed per copy) and clears the episode statistics; an
    /// environment server uses it so that a copy gets the same seed whichever server and slot holds it.
    /// </summary>
    public void Reset(ReadOnlySpan<ulong> seeds)
    {
        ThrowIfDisposed();
        if (seeds.Length != _envs.Length) throw new ArgumentException($"{Name}: got {seeds.Length} seeds for {_envs.Length} environments; pass one seed per environment.", nameof(seeds));
        for (int i = 0; i < _envs.Length; i++)
        {
            _envs[i].ResetInto(seeds[i], _observations.AsSpan(i * _observationSize, _observationSize));
        }
        ClearAfterReset();
    }

    private void ClearAfterReset()
    {
        Array.Clear(_rewards);
        Array.Clear(_terminated);
        Array.Clear(_truncated);
        Array.Clear(_episodeReturn);
        Array.Clear(_episodeLength);
        Array.Clear(_finished);
        _completedCount = 0;
        _hasReset = true;
    }

    /// <inheritdoc/>
    public void Step(ReadOnlySpan<int> actions)
    {
        CheckStep(actions.Length, integer: true);
        if (_kind == ActionKind.Discrete) StepDiscrete(actions);
        else StepMultiDiscrete(actions);
        CollectCompleted();
    }

    /// <inheritdoc/>
    public void Step(ReadOnlySpan<float> actions)
    {
        CheckStep(actions.Length, integer: false);
        StepContinuous(actions);
        CollectCompleted();
    }

    /// <summary>Steps all copies with Discrete actions (validated length).</summary>
    protected abstract void StepDiscrete(ReadOnlySpan<int> actions);

    /// <summary>Steps all copies with MultiDiscrete actions (validated length).</summary>
    protected abstract void StepMultiDiscrete(ReadOnlySpan<int> actions);

    /// <summary>Steps all copies with Box actions (validated length).</summary>
    protected abstract void StepContinuous(ReadOnlySpan<float> actions);

    private void CheckStep(int length, bool integer)
    {
        ThrowIfDisposed();
        if (!_hasReset) throw new InvalidOperationException($"{Name}: Step was called before Reset. Call Reset(seed) first.");
        bool wantsInteger = _kind != ActionKind.Continuous;
        if (integer != wantsInteger)
        {
            throw new ArgumentException(wantsInteger
                ? $"{Name}: the action space {SingleActionSpace} takes integer actions; call Step(ReadOnlySpan<int>) with {_envs.Length * _actionSize} ints."
                : $"{Name}: the action space {SingleActionSpace} takes float actions; call Step(ReadOnlySpan<float>) with {_envs.Length * _actionSize} floats ({_actionSize} per environment).", "actions");
        }
        int expected = _envs.Length * _actionSize;
        if (length != expected)
        {
            throw new ArgumentException($"{Name}: got {length} action values but {_envs.Length} environments with action space {SingleActionSpace} need {expected} ({_actionSize} per environment, row-major).", "actions");
        }
    }

    /// <summary>Steps copies <paramref name="from"/> to <paramref name="to"/> − 1 with Discrete actions; allocation-free.</summary>
    protected void StepDiscreteRange(ReadOnlySpan<int> actions, int from, int to)
    {
        var envs = _discrete!;
        int d = _observationSize;
        for (int i = from; i < to; i++)
        {
            Span<float> row = _observations.AsSpan(i * d, d);
            StepOutcome outcome = envs[i].StepInto(actions[i], row);
            Record(i, outcome, row);
        }
    }

    /// <summary>Steps copies <paramref name="from"/> to <paramref name="to"/> − 1 with MultiDiscrete actions; allocation-free.</summary>
    protected void StepMultiDiscreteRange(ReadOnlySpan<int> actions, int from, int to)
    {
        var envs = _multiDiscrete!;
        int d = _observationSize, a = _actionSize;
        for (int i = from; i < to; i++)
        {
            Span<float> row = _observations.AsSpan(i * d, d);
            StepOutcome outcome = envs[i].StepInto(actions.Slice(i * a, a), row);
            Record(i, outcome, row);
        }
    }

    /// <summary>Steps copies <paramref name="from"/> to <paramref name="to"/> − 1 with Box actions; allocation-free.</summary>
    protected void StepContinuousRange(ReadOnlySpan<float> actions, int from, int to)
    {
        var envs = _continuous!;
        int d = _observationSize, a = _actionSize;
        for (int i = from; i < to; i++)
        {
            Span<float> row = _observations.AsSpan(i * d, d);
            StepOutcome outcome = envs[i].StepInto(actions.Slice(i * a, a), row);
            Record(i, outcome, row);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Record(int i, StepOutcome outcome, Span<float> row)
    {
        _rewards[i] = (float)outcome.Reward;
        double episodeReturn = _episodeReturn[i] + outcome.Reward;
        int length = _episodeLength[i] + 1;
        bool terminated = outcome.Terminated;
        bool truncated = outcome.Truncated | length >= _timeLimit;
        _terminated[i] = terminated;
        _truncated[i] = truncated;
        if (terminated | truncated)
        {
            row.CopyTo(_finalObservations.AsSpan(i * _observationSize, _observationSize));
            _finishedRecord[i] = new EpisodeRecord(i, episodeReturn, length, terminated);
            _finished[i] = true;
            _episodeReturn[i] = 0;
            _episodeLength[i] = 0;
            _envs[i].ResetInto(null, row);
            if (_maskers is not null) UpdateMask(i, 0);
        }
        else
        {
            _finished[i] = false;
            _episodeReturn[i] = episodeReturn;
            _episodeLength[i] = length;
            if (_maskers is not null) UpdateMask(i, length);
        }
    }

    /// <summary>Reads copy <paramref name="i"/>'s legal actions into its mask row and checks that one is left.</summary>
    private void UpdateMask(int i, int step)
    {
        var row = _masks.AsSpan(i * _maskSize, _maskSize);
        row.Clear();
        _maskers![i].WriteActionMask(row);
        if (!row.Contains(true) || SingleActionSpace is MultiDiscrete)
        {
            Reinforce.Envs.ActionMasks.Check($"{Name}: environment {i} ({_envs[i].Name})", SingleActionSpace, row,
                step == 0 ? "at the start of an episode (after reset)" : $"at step {step} of its episode");
        }
    }

    private void CollectCompleted()
    {
        int count = 0;
        for (int i = 0; i < _finished.Length; i++)
        {
            if (_finished[i]) _completed[count++] = _finishedRecord[i];
        }
        _completedCount = count;
    }

    /// <summary>Whether <see cref="Dispose()"/> was called.</summary>
    protected bool IsDisposed { get; private set; }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources (threads of <see cref="ThreadedVectorEnv"/>).</summary>
    protected virtual void Dispose(bool disposing) => IsDisposed = true;

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// Steps every copy in turn on the calling thread: the right choice for cheap environments (all the classic
/// control ones), where thread hand-offs would cost more than the steps. Allocates nothing per step.
/// </summary>
public sealed class SyncVectorEnv : VectorEnv
{
    /// <summary>Batches <paramref name="envs"/> under an optional per-copy time limit. Call <see cref="VectorEnv.Reset(ulong)"/> before stepping.</summary>
    public SyncVectorEnv(IReadOnlyList<IVectorizableEnv> envs, int? maxEpisodeSteps = null) : base(envs, maxEpisodeSteps) { }

    /// <inheritdoc/>
    protected override void StepDiscrete(ReadOnlySpan<int> actions) => StepDiscreteRange(actions, 0, NumEnvs);

    /// <inheritdoc/>
    protected override void StepMultiDiscrete(ReadOnlySpan<int> actions) => StepMultiDiscreteRange(actions, 0, NumEnvs);

    /// <inheritdoc/>
    protected override void StepContinuous(ReadOnlySpan<float> actions) => StepContinuousRange(actions, 0, NumEnvs);
}
