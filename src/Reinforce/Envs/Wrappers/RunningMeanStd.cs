using System.Numerics;
namespace Reinforce.Envs.Wrappers;

/// <summary>
/// Running per-element mean and (population) variance of a stream of vectors, merged batch by batch with Chan et
/// al.'s parallel formula, as Gymnasium's and Stable-Baselines3's <c>RunningMeanStd</c>: it starts at mean 0,
/// variance 1 and a pseudo-count of <c>epsilon</c> (1e-4). The state (mean, var, count) is what a checkpoint saves.
/// </summary>
public sealed class RunningMeanStd
{
    private readonly double[] _mean;
    private readonly double[] _var;
    private readonly double[] _batchMean;
    private readonly double[] _batchVar;

    /// <summary>Tracks vectors of <paramref name="size"/> elements.</summary>
    public RunningMeanStd(int size, double epsilon = 1e-4)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "Running statistics need at least one element per sample.");
        if (!(epsilon >= 0) || !double.IsFinite(epsilon)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "The initial pseudo-count must be a finite number >= 0.");
        _mean = new double[size];
        _var = new double[size];
        Array.Fill(_var, 1.0);
        _batchMean = new double[size];
        _batchVar = new double[size];
        Count = epsilon;
    }

    /// <summary>Elements per sample.</summary>
    public int Size => _mean.Length;

    /// <summary>The running mean (a copy).</summary>
    public double[] Mean => (double[])_mean.Clone();

    /// <summary>The running variance (a copy).</summary>
    public double[] Var => (double[])_var.Clone();

    /// <summary>The running mean without copying.</summary>
    public ReadOnlySpan<double> MeanSpan => _mean;

    /// <summary>The running variance without copying.</summary>
    public ReadOnlySpan<double> VarSpan => _var;

    /// <summary>The number of samples seen plus the initial pseudo-count.</summary>
    public double Count { get; private set; }

    /// <summary>Merges a batch of samples, <c>[rows × Size]</c> row-major.</summary>
    public void Update(ReadOnlySpan<float> batch) => Merge(batch);

    /// <summary>Merges a batch of samples, <c>[rows × Size]</c> row-major.</summary>
    public void Update(ReadOnlySpan<double> batch) => Merge(batch);

    /// <summary>The batch's mean and (population) variance in double, merged into the running ones.</summary>
    private void Merge<T>(ReadOnlySpan<T> batch) where T : INumberBase<T>
    {
        int rows = Rows(batch.Length);
        int d = _mean.Length;
        Array.Clear(_batchMean);
        Array.Clear(_batchVar);
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < d; j++) _batchMean[j] += double.CreateTruncating(batch[r * d + j]);
        }
        for (int j = 0; j < d; j++) _batchMean[j] /= rows;
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < d; j++)
            {
                double dev = double.CreateTruncating(batch[r * d + j]) - _batchMean[j];
                _batchVar[j] += dev * dev;
            }
        }
        for (int j = 0; j < d; j++) _batchVar[j] /= rows;
        UpdateFromMoments(_batchMean, _batchVar, rows);
    }

    private int Rows(int length)
    {
        if (length == 0 || length % _mean.Length != 0)
        {
            throw new ArgumentException($"A batch for running statistics of size {_mean.Length} needs a positive multiple of {_mean.Length} values; got {length}.", "batch");
        }
        return length / _mean.Length;
    }

    /// <summary>Merges a batch summarised by its mean, population variance and count.</summary>
    public void UpdateFromMoments(ReadOnlySpan<double> batchMean, ReadOnlySpan<double> batchVar, double batchCount)
    {
        if (batchMean.Length != _mean.Length || batchVar.Length != _mean.Length) throw new ArgumentException($"Batch moments must have {_mean.Length} values each; got {batchMean.Length} and {batchVar.Length}.");
        double total = Count + batchCount;
        for (int j = 0; j < _mean.Length; j++)
        {
            double delta = batchMean[j] - _mean[j];
            double newMean = _mean[j] + delta * batchCount / total;
            double mA = _var[j] * Count;
            double mB = batchVar[j] * batchCount;
            double m2 = mA + mB + delta * delta * Count * batchCount / total;
            _mean[j] = newMean;
            _var[j] = m2 / total;
        }
        Count = total;
    }

    /// <summary>Writes <c>(x − mean) / sqrt(var + epsilon)</c>, optionally clipped to ±<paramref name="clip"/>, for each row of <paramref name="values"/>.</summary>
    public void Normalize(ReadOnlySpan<float> values, Span<float> destination, double epsilon, double? clip = null)
    {
        int d = _mean.Length;
        if (values.Length % d != 0 || destination.Length < values.Length) throw new ArgumentException($"Normalising needs rows of {d} values and a destination at least as long; got {values.Length} and {destination.Length}.");
        double c = clip ?? double.PositiveInfinity;
        for (int i = 0; i < values.Length; i++)
        {
            int j = i % d;
            double z = (values[i] - _mean[j]) / Math.Sqrt(_var[j] + epsilon);
            destination[i] = (float)Math.Clamp(z, -c, c);
        }
    }

    /// <summary>Restores a saved state (for example from a checkpoint).</summary>
    public void Restore(ReadOnlySpan<double> mean, ReadOnlySpan<double> var, double count)
    {
        if (mean.Length != _mean.Length || var.Length != _var.Length) throw new ArgumentException($"Running statistics of size {_mean.Length} need {_mean.Length} means and variances; got {mean.Length} and {var.Length}.");
        if (!(count > 0) || !double.IsFinite(count)) throw new ArgumentOutOfRangeException(nameof(count), count, "The count must be a positive finite number.");
        for (int j = 0; j < var.Length; j++)
        {
            if (!double.IsFinite(mean[j]) || !(var[j] >= 0) || !double.IsFinite(var[j])) throw new ArgumentException($"Element {j}: mean {mean[j]} and variance {var[j]} must be finite, the variance >= 0.");
        }
        mean.CopyTo(_mean);
        var.CopyTo(_var);
        Count = count;
    }

    /// <summary>The state as three double arrays (mean, var and a one-element count), ready for a checkpoint's tensors.</summary>
    public RunningMeanStdState Save() => new(Mean, Var, [Count]);

    /// <summary>Restores a state produced by <see cref="Save"/>.</summary>
    public void Restore(RunningMeanStdState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Count is null || state.Count.Length != 1) throw new ArgumentException("A saved running-statistics count is one value.", nameof(state));
        Restore(state.Mean, state.Var, state.Count[0]);
    }

    /// <summary>Copies another instance's state into this one.</summary>
    public void CopyFrom(RunningMeanStd other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Restore(other._mean, other._var, other.Count);
    }
}

/// <summary>A saved <see cref="RunningMeanStd"/>: per-element mean and variance, and the count as a one-element array.</summary>
/// <param name="Mean">The running mean.</param>
/// <param name="Var">The running (population) variance.</param>
/// <param name="Count">One value: the number of samples seen plus the initial pseudo-count.</param>
public sealed record RunningMeanStdState(double[] Mean, double[] Var, double[] Count);
