using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace Reinforce.Envs.Wrappers;

/// <summary>A vector environment that wraps another, passing everything through unless overridden.</summary>
public abstract class VectorEnvWrapper : IVectorEnv
{
    /// <summary>Wraps <paramref name="inner"/>.</summary>
    protected VectorEnvWrapper(IVectorEnv inner) => Inner = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <summary>The wrapped vector environment.</summary>
    public IVectorEnv Inner { get; }

    /// <inheritdoc/>
    public int NumEnvs => Inner.NumEnvs;

    /// <inheritdoc/>
    public virtual Space SingleObservationSpace => Inner.SingleObservationSpace;

    /// <inheritdoc/>
    public Space SingleActionSpace => Inner.SingleActionSpace;

    /// <inheritdoc/>
    public int ObservationSize => Inner.ObservationSize;

    /// <inheritdoc/>
    public int ActionSize => Inner.ActionSize;

    /// <inheritdoc/>
    public int? MaxEpisodeSteps => Inner.MaxEpisodeSteps;

    /// <inheritdoc/>
    public IReadOnlyList<IVectorizableEnv> Envs => Inner.Envs;

    /// <inheritdoc/>
    public virtual ReadOnlySpan<float> Observations => Inner.Observations;

    /// <inheritdoc/>
    public virtual ReadOnlySpan<float> Rewards => Inner.Rewards;

    /// <inheritdoc/>
    public ReadOnlySpan<bool> Terminated => Inner.Terminated;

    /// <inheritdoc/>
    public ReadOnlySpan<bool> Truncated => Inner.Truncated;

    /// <inheritdoc/>
    public virtual ReadOnlySpan<float> FinalObservations => Inner.FinalObservations;

    /// <inheritdoc/>
    public ReadOnlySpan<EpisodeRecord> CompletedEpisodes => Inner.CompletedEpisodes;

    /// <inheritdoc/>
    public virtual ReadOnlySpan<float> FinalObservation(int envIndex) => Inner.FinalObservation(envIndex);

    /// <inheritdoc/>
    public virtual void Reset(ulong seed) => Inner.Reset(seed);

    /// <inheritdoc/>
    public virtual void Step(ReadOnlySpan<int> actions) => Inner.Step(actions);

    /// <inheritdoc/>
    public virtual void Step(ReadOnlySpan<float> actions) => Inner.Step(actions);

    /// <inheritdoc/>
    /// <inheritdoc/>
    public EnvironmentRestore Restore => Inner.Restore;

    /// <summary>Writes the wrapped environment's state, then this wrapper's own (<see cref="SaveOwnState"/>).</summary>
    public void SaveState(EnvironmentStateWriter writer)
    {
        Inner.SaveState(writer);
        SaveOwnState(writer);
    }

    /// <summary>Restores what <see cref="SaveState"/> wrote.</summary>
    public void LoadState(EnvironmentStateReader reader)
    {
        Inner.LoadState(reader);
        LoadOwnState(reader);
    }

    /// <summary>Writes this wrapper's own state (buffers derived from the wrapped environment's; statistics travel in the checkpoint's manifest).</summary>
    protected virtual void SaveOwnState(EnvironmentStateWriter writer) { }

    /// <summary>Reads what <see cref="SaveOwnState"/> wrote.</summary>
    protected virtual void LoadOwnState(EnvironmentStateReader reader) { }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the wrapped environment.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing) Inner.Dispose();
    }
}

/// <summary>
/// Normalises a vector environment's observations with running statistics shared by all copies (Gymnasium's
/// vector <c>NormalizeObservation</c>, Stable-Baselines3's <c>VecNormalize</c> observation half): after every
/// Reset and Step the batch updates the statistics, then every row is normalised as <c>(obs − mean) / sqrt(var + ε)</c>;
/// final observations are normalised with the same statistics. Freeze for evaluation; save <see cref="Statistics"/>.
/// </summary>
public sealed class VectorNormalizeObservation : VectorEnvWrapper
{
    private readonly float[] _observations;
    private readonly float[] _finalObservations;
    private readonly Box _space;

    /// <summary>Normalises the observations of <paramref name="inner"/>; <paramref name="clip"/> optionally bounds the result (Stable-Baselines3 uses 10).</summary>
    public VectorNormalizeObservation(IVectorEnv inner, double epsilon = 1e-8, double? clip = null) : base(inner)
    {
        if (clip is <= 0) throw new ArgumentOutOfRangeException(nameof(clip), clip, "The clip bound must be positive.");
        Statistics = new RunningMeanStd(inner.ObservationSize);
        Epsilon = epsilon;
        Clip = clip;
        _observations = new float[inner.NumEnvs * inner.ObservationSize];
        _finalObservations = new float[inner.NumEnvs * inner.ObservationSize];
        float bound = clip is double c ? (float)c : float.PositiveInfinity;
        _space = new Box(-bound, bound, inner.SingleObservationSpace.Shape);
    }

    /// <summary>The running observation statistics (mean, var, count) to save with a checkpoint.</summary>
    public RunningMeanStd Statistics { get; }

    /// <summary>When true the statistics are used but no longer updated (evaluation).</summary>
    public bool Frozen { get; set; }

    /// <summary>Added to the variance before the square root.</summary>
    public double Epsilon { get; }

    /// <summary>The bound on normalised values (null: none).</summary>
    public double? Clip { get; }

    /// <inheritdoc/>
    public override Space SingleObservationSpace => _space;

    /// <inheritdoc/>
    public override ReadOnlySpan<float> Observations => _observations;

    /// <inheritdoc/>
    public override ReadOnlySpan<float> FinalObservations => _finalObservations;

    /// <summary>The raw (unnormalised) observations of the wrapped environment.</summary>
    public ReadOnlySpan<float> RawObservations => Inner.Observations;

    /// <inheritdoc/>
    public override ReadOnlySpan<float> FinalObservation(int envIndex)
    {
        Inner.FinalObservation(envIndex); // validates the index and that the copy finished
        return _finalObservations.AsSpan(envIndex * ObservationSize, ObservationSize);
    }

    /// <inheritdoc/>
    public override void Reset(ulong seed)
    {
        Inner.Reset(seed);
        Process();
    }

    /// <inheritdoc/>
    public override void Step(ReadOnlySpan<int> actions)
    {
        Inner.Step(actions);
        Process();
    }

    /// <inheritdoc/>
    public override void Step(ReadOnlySpan<float> actions)
    {
        Inner.Step(actions);
        Process();
    }

    /// <summary>Normalises a batch of raw observations with the current statistics, without updating them (for evaluation environments).</summary>
    public void Normalize(ReadOnlySpan<float> raw, Span<float> destination) => Statistics.Normalize(raw, destination, Epsilon, Clip);

    /// <inheritdoc/>
    protected override void SaveOwnState(EnvironmentStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_observations);
        writer.Write(_finalObservations);
    }

    /// <inheritdoc/>
    protected override void LoadOwnState(EnvironmentStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.ReadInto(_observations);
        reader.ReadInto(_finalObservations);
    }

    private void Process()
    {
        var raw = Inner.Observations;
        if (!Frozen) Statistics.Update(raw);
        Statistics.Normalize(raw, _observations, Epsilon, Clip);
        var terminated = Inner.Terminated;
        var truncated = Inner.Truncated;
        var finals = Inner.FinalObservations;
        int d = ObservationSize;
        for (int i = 0; i < NumEnvs; i++)
        {
            if (terminated[i] || truncated[i])
            {
                Statistics.Normalize(finals.Slice(i * d, d), _finalObservations.AsSpan(i * d, d), Epsilon, Clip);
            }
        }
    }
}

/// <summary>
/// Scales a vector environment's rewards by the running standard deviation of each copy's discounted return
/// (Gymnasium's vector <c>NormalizeReward</c>): <c>G ← G·γ·(1 − terminated) + r</c> per copy, the statistics updated
/// with the batch of G, then <c>r / sqrt(var + ε)</c>. Episode statistics (<see cref="IVectorEnv.CompletedEpisodes"/>)
/// stay in raw rewards. Freeze for evaluation; save <see cref="Statistics"/>.
/// </summary>
public sealed class VectorNormalizeReward : VectorEnvWrapper
{
    private readonly float[] _rewards;
    private readonly double[] _returns;

    /// <summary>Normalises the rewards of <paramref name="inner"/> for discount <paramref name="gamma"/>.</summary>
    public VectorNormalizeReward(IVectorEnv inner, double gamma = 0.99, double epsilon = 1e-8) : base(inner)
    {
        if (!(gamma >= 0 && gamma <= 1)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "The discount must be in [0, 1].");
        Gamma = gamma;
        Epsilon = epsilon;
        _rewards = new float[inner.NumEnvs];
        _returns = new double[inner.NumEnvs];
    }

    /// <summary>The discount of the running returns.</summary>
    public double Gamma { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public double Epsilon { get; }

    /// <summary>The running statistics of the discounted returns (size 1) to save with a checkpoint.</summary>
    public RunningMeanStd Statistics { get; } = new(1);

    /// <summary>When true the statistics are used but no longer updated (evaluation).</summary>
    public bool Frozen { get; set; }

    /// <inheritdoc/>
    public override ReadOnlySpan<float> Rewards => _rewards;

    /// <summary>The raw rewards of the wrapped environment.</summary>
    public ReadOnlySpan<float> RawRewards => Inner.Rewards;

    /// <inheritdoc/>
    protected override void SaveOwnState(EnvironmentStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_rewards);
        writer.Write(_returns);
    }

    /// <inheritdoc/>
    protected override void LoadOwnState(EnvironmentStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.ReadInto(_rewards);
        reader.ReadInto(_returns);
    }

    /// <inheritdoc/>
    public override void Reset(ulong seed)
    {
        Inner.Reset(seed);
        Array.Clear(_returns);
        Array.Clear(_rewards);
    }

    /// <inheritdoc/>
    public override void Step(ReadOnlySpan<int> actions)
    {
        Inner.Step(actions);
        Process();
    }

    /// <inheritdoc/>
    public override void Step(ReadOnlySpan<float> actions)
    {
        Inner.Step(actions);
        Process();
    }

    private void Process()
    {
        var raw = Inner.Rewards;
        var terminated = Inner.Terminated;
        for (int i = 0; i < _returns.Length; i++)
        {
            _returns[i] = _returns[i] * Gamma * (terminated[i] ? 0.0 : 1.0) + raw[i];
        }
        if (!Frozen) Statistics.Update(_returns);
        double denominator = Math.Sqrt(Statistics.VarSpan[0] + Epsilon);
        for (int i = 0; i < _rewards.Length; i++) _rewards[i] = (float)(raw[i] / denominator);
    }
}
