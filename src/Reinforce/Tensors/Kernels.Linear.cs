namespace Reinforce.Tensors;

public static partial class Kernels
{
    /// <summary>
    /// A fully connected layer in PyTorch's layout: effectively computes y[i, o] = b[o] + Σ_f x[i, f] · W[o, f]
    /// (y = x·Wᵀ + b) for x [rows, inFeatures], W [outFeatures, inFeatures], b [outFeatures] (or empty for no bias),
    /// y [rows, outFeatures]. The bias is the starting value of the sum, so no second pass over y is needed.
    /// </summary>
    public static void LinearForward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y,
        int rows, int inFeatures, int outFeatures)
    {
        CheckLinear("LinearForward", x.Length, weight.Length, bias.Length, y.Length, rows, inFeatures, outFeatures, "y");
        if (bias.IsEmpty)
        {
            MatMul(x, weight, y, rows, inFeatures, outFeatures, transposeB: true);
            return;
        }
        BroadcastRows(bias[..outFeatures], y, rows);
        MatMul(x, weight, y, rows, inFeatures, outFeatures, transposeB: true, accumulate: true);
    }

    /// <summary>
    /// The gradients of <see cref="LinearForward"/>, accumulated into the given buffers (pass an empty span to skip one):
    /// dx += dy·W ([rows, inFeatures]), dW += dyᵀ·x ([outFeatures, inFeatures]), db += Σ_i dy[i, :] ([outFeatures]).
    /// </summary>
    public static void LinearBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dWeight, Span<float> dBias, int rows, int inFeatures, int outFeatures)
        => LinearBackward(x, weight, dy, dx, dWeight, dBias, rows, inFeatures, outFeatures, accumulateDx: true);

    /// <summary>As the public overload; <paramref name="accumulateDx"/> false writes dx instead of adding to it (a fresh gradient buffer).</summary>
    internal static void LinearBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dWeight, Span<float> dBias, int rows, int inFeatures, int outFeatures, bool accumulateDx)
    {
        CheckLinear("LinearBackward", x.Length, weight.Length, dBias.Length, dy.Length, rows, inFeatures, outFeatures, "dy");
        if (!dx.IsEmpty && dx.Length != x.Length)
            throw new ArgumentException($"LinearBackward: dx has {dx.Length} elements but x has {x.Length} (pass an empty span to skip dx).");
        if (!dWeight.IsEmpty && dWeight.Length != weight.Length)
            throw new ArgumentException($"LinearBackward: dWeight has {dWeight.Length} elements but the weight has {weight.Length} (pass an empty span to skip it).");
        if (!dx.IsEmpty) MatMul(dy, weight, dx, rows, outFeatures, inFeatures, accumulate: accumulateDx);
        if (!dWeight.IsEmpty) MatMul(dy, x, dWeight, outFeatures, rows, inFeatures, transposeA: true, accumulate: true);
        if (!dBias.IsEmpty) SumRows(dy[..(rows * outFeatures)], dBias, outFeatures, accumulate: true);
    }

    private static void CheckLinear(string operation, int xLength, int weightLength, int biasLength, int yLength,
        int rows, int inFeatures, int outFeatures, string yName)
    {
        if (rows < 0 || inFeatures < 0 || outFeatures < 0)
            throw new ArgumentOutOfRangeException(nameof(rows), $"{operation}: sizes must be non-negative, got rows {rows}, in {inFeatures}, out {outFeatures}.");
        if (xLength != (long)rows * inFeatures)
            throw new ArgumentException($"{operation}: x has {xLength} elements but [rows {rows}, in {inFeatures}] needs {(long)rows * inFeatures}.");
        if (weightLength != (long)outFeatures * inFeatures)
            throw new ArgumentException($"{operation}: the weight has {weightLength} elements but [out {outFeatures}, in {inFeatures}] needs {(long)outFeatures * inFeatures} (PyTorch layout [out, in]).");
        if (biasLength != 0 && biasLength != outFeatures)
            throw new ArgumentException($"{operation}: the bias has {biasLength} elements but out is {outFeatures} (pass an empty span for no bias).");
        if (yLength != (long)rows * outFeatures)
            throw new ArgumentException($"{operation}: {yName} has {yLength} elements but [rows {rows}, out {outFeatures}] needs {(long)rows * outFeatures}.");
    }
}
