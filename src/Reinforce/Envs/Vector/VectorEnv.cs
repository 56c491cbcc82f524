using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime;
using Reinforce.Spaces;
using Reinforce.Envs.Wrappers;

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
    private long _vectorSteps;
    private int _warnedLargeReward; // 0 until the first absurd reward has been reported (Interlocked: threaded copies)

    /// <summary>Rewards larger than this in magnitude are reported once as a warning: they usually mean a unit or scaling mistake, and train badly.</summary>
    public const double RewardWarningMagnitude = 1e6;

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

        Restore = _envs.All(e => e is IStatefulEnv { CanSaveState: true }) ? EnvironmentRestore.Snapshot
            : _envs.Any(e => e.Unwrapped() is INondeterministicEnv) ? EnvironmentRestore.Reset
            : EnvironmentRestore.Replay;
    }

    /// <inheritdoc/>
    public EnvironmentRestore Restore { get; }

    private const int StateVersion = 1;

    /// <inheritdoc/>
    public void SaveState(EnvironmentStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ThrowIfDisposed();
        if (Restore != EnvironmentRestore.Snapshot)
            throw new NotSupportedException($"{Name}: not every copy can save its state ({_envs.First(e => e is not IStatefulEnv { CanSaveState: true }).GetType().Name} does not implement IStatefulEnv).");
        writer.Write(StateVersion);
        writer.Write(_envs.Length);
        writer.Write(_observationSize);
        writer.Write(_hasReset);
        foreach (var env in _envs)
        {
            var inner = new EnvironmentStateWriter();
            ((IStatefulEnv)env).SaveState(inner);
            writer.WriteBytes(inner.ToArray());
        }
        writer.Write(_observations);
        writer.Write(_finalObservations);
        writer.Write(_rewards);
        writer.Write(_terminated);
        writer.Write(_truncated);
        writer.Write(_episodeReturn);
        writer.Write(_episodeLength);
        writer.Write(_finished);
        writer.Write(_masks);
        writer.Write(_completedCount);
        for (int i = 0; i < _completedCount; i++)
        {
            writer.Write(_completed[i].EnvIndex);
            writer.Write(_completed[i].Return);
            writer.Write(_completed[i].Length);
            writer.Write(_completed[i].Terminated);
        }
    }

    /// <inheritdoc/>
    public void LoadState(EnvironmentStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ThrowIfDisposed();
        if (Restore != EnvironmentRestore.Snapshot) throw new NotSupportedException($"{Name}: not every copy can load a state.");
        int version = reader.ReadInt32(), count = reader.ReadInt32(), size = reader.ReadInt32();
        if (version != StateVersion) throw new InvalidDataException($"{Name}: the environment state has format version {version}; this build reads {StateVersion}.");
        if (count != _envs.Length || size != _observationSize)
            throw new InvalidDataException($"{Name}: the environment state is of {count} copies with observations of {size}, but these are {_envs.Length} copies with observations of {_observationSize}.");
        _hasReset = reader.ReadBoolean();
        foreach (var env in _envs) ((IStatefulEnv)env).LoadState(reader.ReadNested());
        reader.ReadInto(_observations);
        reader.ReadInto(_finalObservations);
        reader.ReadInto(_rewards);
        reader.ReadInto(_terminated);
        reader.ReadInto(_truncated);
        reader.ReadInto(_episodeReturn);
        reader.ReadInto(_episodeLength);
        reader.ReadInto(_finished);
        reader.ReadInto(_masks);
        int completed = reader.ReadInt32();
        if ((uint)completed > (uint)_envs.Length) throw new InvalidDataException($"{Name}: the environment state lists {completed} finished episodes for {_envs.Length} copies; it is damaged.");
        _completedCount = completed;
        for (int i = 0; i < completed; i++)
            _completed[i] = new EpisodeRecord(reader.ReadInt32(), reader.ReadDouble(), reader.ReadInt32(), reader.ReadBoolean());
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
            var row = _observations.AsSpan(i * _observationSize, _observationSize);
            _envs[i].ResetInto(Rng.DeriveSeed(seed, i), row);
            CheckResetObservation(i, row);
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
            var row = _observations.AsSpan(i * _observationSize, _observationSize);
            _envs[i].ResetInto(seeds[i], row);
            CheckResetObservation(i, row);
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
        _vectorSteps = 0;
        _hasReset = true;
    }

    /// <inheritdoc/>
    [BypassReadyToRun]
    public void Step(ReadOnlySpan<int> actions)
    {
        CheckStep(actions.Length, integer: true);
        _vectorSteps++;
        if (_kind == ActionKind.Discrete) StepDiscrete(actions);
        else StepMultiDiscrete(actions);
        CollectCompleted();
    }

    /// <inheritdoc/>
    [BypassReadyToRun]
    public void Step(ReadOnlySpan<float> actions)
    {
        CheckStep(actions.Length, integer: false);
        _vectorSteps++;
        StepContinuous(actions);
        CollectCompleted();
    }

    /// <summary>Steps all copies with Discrete actions (validated length).</summary>
    [BypassReadyToRun]
    protected abstract void StepDiscrete(ReadOnlySpan<int> actions);

    /// <summary>Steps all copies with MultiDiscrete actions (validated length).</summary>
    protected abstract void StepMultiDiscrete(ReadOnlySpan<int> actions);

    /// <summary>Steps all copies with Box actions (validated length).</summary>
    protected abstract void StepContinuous(ReadOnlySpan<float> actions);

    private void CheckStep(int length, bool integer)
    {
        ThrowIfDisposed();
        // The messages are formatted in their own method, compiled only when one is thrown (not with every run's first step).
        if (!_hasReset || integer != (_kind != ActionKind.Continuous) || length != _envs.Length * _actionSize) ThrowBadStep(length, integer);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ThrowBadStep(int length, bool integer)
    {
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
    [BypassReadyToRun]
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
    [BypassReadyToRun]
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
        // One comparison catches NaN, infinities and absurd magnitudes; the row's check is a few vector operations.
        if (!(Math.Abs(outcome.Reward) <= RewardWarningMagnitude) || !AllFinite(row)) CheckStepOutput(i, outcome.Reward, row);
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
            CheckResetObservation(i, row);
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

    /// <summary>Whether every value of <paramref name="values"/> is a finite number: x − x is 0 for finite x and NaN otherwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AllFinite(ReadOnlySpan<float> values)
    {
        int k = 0;
        if (Vector128.IsHardwareAccelerated && values.Length >= Vector128<float>.Count)
        {
            var acc = Vector128<float>.Zero;
            ref float start = ref MemoryMarshal.GetReference(values);
            for (; k <= values.Length - Vector128<float>.Count; k += Vector128<float>.Count)
            {
                var v = Vector128.LoadUnsafe(ref start, (nuint)k);
                acc += v - v;
            }
            if (acc != Vector128<float>.Zero) return false;
        }
        float rest = 0f;
        for (; k < values.Length; k++) rest += values[k] - values[k];
        return rest == 0f;
    }

    /// <summary>The slow path of <see cref="Record"/>: names a non-finite reward or observation, or warns once about an absurd reward.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CheckStepOutput(int i, double reward, ReadOnlySpan<float> row)
    {
        string at = $"at step {(_episodeLength[i] + 1).ToString(CultureInfo.InvariantCulture)} of its episode (vector step {_vectorSteps.ToString(CultureInfo.InvariantCulture)})";
        if (!double.IsFinite(reward))
            throw new EnvironmentOutputException(_envs[i].Name, i, _vectorSteps,
                $"{Name}: copy {i} ({_envs[i].Name}) returned the reward {reward.ToString(CultureInfo.InvariantCulture)} {at}. Rewards must be finite numbers: check the environment's reward (a division by zero, the log of 0, an overflow).");
        CheckObservation(i, row, at);
        if (Math.Abs(reward) > RewardWarningMagnitude && Interlocked.Exchange(ref _warnedLargeReward, 1) == 0)
        {
            WarnLargeReward($"{Name}: copy {i} ({_envs[i].Name})", reward, at);
        }
    }

    /// <summary>The one warning about an absurd reward (|r| &gt; <see cref="RewardWarningMagnitude"/>), for local and remote environments alike.</summary>
    internal static void WarnLargeReward(string who, double reward, string at) =>
        Trace.TraceWarning($"{who} returned the reward {reward.ToString("G6", CultureInfo.InvariantCulture)} {at}. " +
            $"Rewards beyond ±{RewardWarningMagnitude.ToString("G", CultureInfo.InvariantCulture)} make value losses and gradients explode; scale the reward down (or set normalize_reward). This warning is shown once.");

    private void CheckResetObservation(int i, ReadOnlySpan<float> row)
    {
        if (!AllFinite(row)) CheckObservation(i, row, $"from Reset (after vector step {_vectorSteps.ToString(CultureInfo.InvariantCulture)})");
    }

    private void CheckObservation(int i, ReadOnlySpan<float> row, string at)
    {
        for (int k = 0; k < row.Length; k++)
        {
            if (float.IsFinite(row[k])) continue;
            string element = SingleObservationSpace is Box { Shape.Length: 1 } || row.Length == 1 ? $"element {k}" : $"element {k} of the flattened observation";
            throw new EnvironmentOutputException(_envs[i].Name, i, _vectorSteps,
                $"{Name}: copy {i} ({_envs[i].Name}) returned an observation with {row[k].ToString(CultureInfo.InvariantCulture)} at {element} {at}. " +
                "Observations must be finite numbers: check the environment's physics or feature computation (a division by zero, an overflow, an uninitialised value).");
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

    [BypassReadyToRun]
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
    [BypassReadyToRun]
    protected override void StepDiscrete(ReadOnlySpan<int> actions) => StepDiscreteRange(actions, 0, NumEnvs);

    /// <inheritdoc/>
    protected override void StepMultiDiscrete(ReadOnlySpan<int> actions) => StepMultiDiscreteRange(actions, 0, NumEnvs);

    /// <inheritdoc/>
    protected override void StepContinuous(ReadOnlySpan<float> actions) => StepContinuousRange(actions, 0, NumEnvs);
}
