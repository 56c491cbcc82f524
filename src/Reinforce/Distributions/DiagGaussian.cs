using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Autograd;

namespace Reinforce.Distributions;

/// <summary>
/// A batch of Gaussians with diagonal covariance over D-dimensional actions: row i is N(mean[i], diag(exp(logStd)²)).
/// The log-std is either one vector [D] shared by all rows (a state-independent parameter, as in PPO's continuous policy)
/// or one row per state [N, D]. Log-probabilities and entropy are tensors built from <see cref="Ops"/>, summed over the D
/// dimensions, so they backpropagate into both the mean and the log-std.
/// </summary>
public sealed class DiagGaussian
{
    private static readonly double HalfLogTwoPi = 0.5 * Math.Log(2.0 * Math.PI);
    private readonly bool _sharedLogStd;

    /// <summary>Creates the distributions.</summary>
    /// <param name="mean">[N, D] means (a vector [D] is one row).</param>
    /// <param name="logStd">[D] (or [1, D]) log standard deviations shared by every row, or [N, D] per row.</param>
    public DiagGaussian(Tensor mean, Tensor logStd)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(logStd);
        if (mean.Rank == 1) mean = Ops.Reshape(mean, 1, mean.Size);
        if (mean.Rank != 2)
            throw new ArgumentException($"DiagGaussian: the mean must have shape [N, D], got {Tensor.ShapeString(mean.Shape)}.", nameof(mean));
        BatchSize = mean.Shape[0];
        Dimensions = mean.Shape[1];
        if (Dimensions < 1) throw new ArgumentException($"DiagGaussian: the mean of shape {Tensor.ShapeString(mean.Shape)} has no action dimensions.", nameof(mean));

        bool shared = (logStd.Rank == 1 && logStd.Size == Dimensions) || (logStd.Rank == 2 && logStd.Shape[0] == 1 && logStd.Shape[1] == Dimensions);
        bool perRow = logStd.Rank == 2 && logStd.Shape[0] == BatchSize && logStd.Shape[1] == Dimensions;
        if (!shared && !perRow)
            throw new ArgumentException(
                $"DiagGaussian: log-std shape {Tensor.ShapeString(logStd.Shape)} does not fit mean shape {Tensor.ShapeString(mean.Shape)}; " +
                $"use [{Dimensions}] (shared by all rows) or [{BatchSize}, {Dimensions}] (one per row).", nameof(logStd));
        _sharedLogStd = shared && !perRow;
        if (_sharedLogStd && logStd.Rank == 2) logStd = Ops.Reshape(logStd, Dimensions);

        CheckFinite(mean, "mean");
        CheckFinite(logStd, "log-std");
        Mean = mean;
        LogStd = logStd;
    }

    /// <summary>The means [N, D].</summary>
    public Tensor Mean { get; }

    /// <summary>The log standard deviations, [D] (shared) or [N, D].</summary>
    public Tensor LogStd { get; }

    /// <summary>The number of distributions N (rows).</summary>
    public int BatchSize { get; }

    /// <summary>The action dimension D.</summary>
    public int Dimensions { get; }

    /// <summary>Samples mean + exp(logStd)·ε with ε standard normal from <paramref name="rng"/> (Box–Muller), row-major [N·D].</summary>
    public float[] Sample(Rng rng)
    {
        var actions = new float[BatchSize * Dimensions];
        Sample(rng, actions);
        return actions;
    }

    /// <summary>Draws samples into <paramref name="destination"/> (length N·D, row-major).</summary>
    public void Sample(Rng rng, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (destination.Length != BatchSize * Dimensions)
            throw new ArgumentException($"DiagGaussian.Sample: destination holds {destination.Length} values, [{BatchSize}, {Dimensions}] needs {BatchSize * Dimensions}.", nameof(destination));
        var mean = Mean.Data;
        var logStd = LogStd.Data;
        for (int i = 0; i < destination.Length; i++)
            destination[i] = SampleOne(mean[i], logStd[_sharedLogStd ? i % Dimensions : i], (float)rng.NextGaussian(), out _);
    }

    private const float Log2Pi = 1.8378770664093453f;

    /// <summary>
    /// Span-level sampling of one coordinate, allocation-free (the rollout's path): a = μ + σ·ε for a standard normal
    /// <paramref name="epsilon"/> (0 gives the mode), with its log-density (see <see cref="LogDensity"/>).
    /// </summary>
    public static float SampleOne(float mean, float logStd, float epsilon, out float logDensity)
    {
        float std = MathF.Exp(logStd);
        float a = mean + std * epsilon;
        logDensity = LogDensity(a - mean, std, logStd);
        return a;
    }

    /// <summary>log N(μ + <paramref name="deviation"/>; μ, σ²) = −(deviation/σ)²/2 − log σ − log(2π)/2, in float.</summary>
    public static float LogDensity(float deviation, float std, float logStd)
    {
        float z = deviation / std;
        return -0.5f * z * z - logStd - 0.5f * Log2Pi;
    }

    /// <summary>
    /// log p(a) summed over the D dimensions → [N]: Σ_d −((a − μ)/σ)²/2 − log σ − log(2π)/2. Differentiable in the mean and log-std.
    /// </summary>
    /// <param name="actions">[N, D] actions (treated as constants).</param>
    public Tensor LogProb(Tensor actions)
    {
        ArgumentNullException.ThrowIfNull(actions);
        if (actions.Size != BatchSize * Dimensions)
            throw new ArgumentException($"DiagGaussian.LogProb: actions of shape {Tensor.ShapeString(actions.Shape)} do not match the mean's shape [{BatchSize}, {Dimensions}].", nameof(actions));
        var a = new Tensor(actions.Data, BatchSize, Dimensions);
        var z = Ops.Mul(Ops.Sub(a, Mean), Ops.Exp(Ops.Neg(LogStd)));
        var perDimension = Ops.Sub(Ops.MulScalar(Ops.Square(z), -0.5f), LogStd);
        return Ops.AddScalar(Ops.SumLastDim(perDimension), (float)(-Dimensions * HalfLogTwoPi));
    }

    /// <summary>log p(a) for actions given row-major (length N·D).</summary>
    public Tensor LogProb(float[] actions)
    {
        ArgumentNullException.ThrowIfNull(actions);
        if (actions.Length != BatchSize * Dimensions)
            throw new ArgumentException($"DiagGaussian.LogProb: {actions.Length} action values, [{BatchSize}, {Dimensions}] needs {BatchSize * Dimensions}.", nameof(actions));
        return LogProb(new Tensor(actions, BatchSize, Dimensions));
    }

    /// <summary>The entropy of each row, Σ_d (1/2 + log(2π)/2 + log σ_d) → [N]; differentiable in the log-std.</summary>
    public Tensor Entropy()
    {
        float constant = (float)(Dimensions * (0.5 + HalfLogTwoPi));
        if (!_sharedLogStd) return Ops.AddScalar(Ops.SumLastDim(LogStd), constant);
        // One value shared by all rows, broadcast to [N] so its gradient sums over the rows.
        var perRow = Ops.AddScalar(Ops.Sum(LogStd), constant);
        return Ops.Add(Tensor.Zeros(BatchSize), perRow);
    }

    /// <summary>The most likely action of each row: the mean, row-major [N·D].</summary>
    public float[] Mode() => Mean.ToArray();

    [BypassReadyToRun]
    private static void CheckFinite(Tensor t, string what)
    {
        for (int i = 0; i < t.Size; i++)
        {
            if (!float.IsFinite(t.Data[i]))
                throw new ArgumentException(
                    $"DiagGaussian: {what} element {i} is {t.Data[i].ToString(CultureInfo.InvariantCulture)}; the policy produced a non-finite value (lower the learning rate or clip gradients).");
        }
    }
}
