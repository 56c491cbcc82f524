using System.Numerics.Tensors;

namespace Reinforce.Tensors;

public static partial class Kernels
{
    /// <summary>
    /// For each row of length <paramref name="cols"/>: y = (x - max(x)) - log Σ exp(x - max(x)).
    /// Exact and finite for logits of any magnitude: log_softmax([1000, -1000]) = [0, -2000]. y may be x itself.
    /// Rows of one to three entries (a policy over 2 or 3 actions) take a scalar path with the same bits.
    /// </summary>
    public static void LogSoftmaxRows(ReadOnlySpan<float> x, Span<float> y, int cols)
    {
        CheckRows("LogSoftmaxRows", x.Length, y.Length, cols);
        if (cols <= 3) LogSoftmaxShortRows(x, y, cols);
        else LogSoftmaxRowsGeneral(x, y, cols);
    }

    /// <summary>
    /// The backward pass of <see cref="LogSoftmaxRows"/> from its output y: gx += g − exp(y)·Σg for each row
    /// (exp(y) is the softmax). Rows of one to three entries take a scalar path with the same bits.
    /// </summary>
    public static void LogSoftmaxBackwardRows(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> gx, int cols)
    {
        CheckRows("LogSoftmaxBackwardRows", y.Length, g.Length, cols);
        if (gx.Length < y.Length) throw new ArgumentException($"LogSoftmaxBackwardRows: {gx.Length} gradient slots for {y.Length} entries.");
        if (cols <= 3) LogSoftmaxBackwardShortRows(y, g, gx, cols);
        else LogSoftmaxBackwardRowsGeneral(y, g, gx, cols);
    }

    /// <summary>The forward pass for any row length: span operations per row (the reference of the short-row path).</summary>
    internal static void LogSoftmaxRowsGeneral(ReadOnlySpan<float> x, Span<float> y, int cols)
    {
        Span<float> chunk = stackalloc float[256];
        for (int offset = 0; offset < x.Length; offset += cols)
        {
            var row = x.Slice(offset, cols);
            var outRow = y.Slice(offset, cols);
            float max = TensorPrimitives.Max(row);
            // Σ exp(x - max) through a stack buffer, so the row survives for the final pass even when y is x.
            double sum = 0;
            for (int start = 0; start < cols; start += chunk.Length)
            {
                int length = Math.Min(chunk.Length, cols - start);
                var part = chunk[..length];
                TensorPrimitives.Subtract(row.Slice(start, length), max, part);
                TensorPrimitives.Exp(part, part);
                sum += TensorPrimitives.Sum(part);
            }
            float logSum = (float)Math.Log(sum);
            TensorPrimitives.Subtract(row, max, outRow);
            TensorPrimitives.Subtract(outRow, logSum, outRow);
        }
    }

    /// <summary>The backward pass for any row length (the reference of the short-row path).</summary>
    internal static void LogSoftmaxBackwardRowsGeneral(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> gx, int cols)
    {
        for (int offset = 0; offset < y.Length; offset += cols)
        {
            var gr = g.Slice(offset, cols);
            float sum = TensorPrimitives.Sum(gr);
            var gxr = gx.Slice(offset, cols);
            for (int j = 0; j < cols; j++) gxr[j] += gr[j] - MathF.Exp(y[offset + j]) * sum;
        }
    }

    /// <summary>
    /// <see cref="LogSoftmaxRowsGeneral"/> for rows of one to three entries: the same arithmetic in the same order (the
    /// row maximum, exp through the C library as TensorPrimitives does below a vector, the float sum, its double log),
    /// without six span operations per row; exp(0) of the maximum is 1 exactly and is not called.
    /// </summary>
    internal static void LogSoftmaxShortRows(ReadOnlySpan<float> x, Span<float> y, int cols)
    {
        for (int offset = 0; offset < x.Length; offset += cols)
        {
            // MathF.Max is TensorPrimitives.Max's comparison: NaN wins, +0 above −0.
            float x0 = x[offset];
            float max = x0, x1 = 0f, x2 = 0f;
            if (cols > 1) { x1 = x[offset + 1]; max = MathF.Max(max, x1); }
            if (cols > 2) { x2 = x[offset + 2]; max = MathF.Max(max, x2); }
            // TensorPrimitives.Sum adds a span shorter than a vector from its last element to its first.
            float sum = cols > 2 ? ExpShifted(x2, max) : 0f;
            if (cols > 1) sum += ExpShifted(x1, max);
            sum += ExpShifted(x0, max);
            float logSum = (float)Math.Log(sum);
            y[offset] = (x0 - max) - logSum;
            if (cols > 1) y[offset + 1] = (x1 - max) - logSum;
            if (cols > 2) y[offset + 2] = (x2 - max) - logSum;
        }
    }

    /// <summary>exp(v − max), with exp(0) = 1 exactly (as the C library gives it) without the call.</summary>
    private static float ExpShifted(float v, float max)
    {
        float d = v - max;
        return d == 0f ? 1f : MathF.Exp(d);
    }

    /// <summary>
    /// <see cref="LogSoftmaxBackwardRowsGeneral"/> for rows of one to three entries, with Σg summed as TensorPrimitives.Sum
    /// sums a span shorter than a vector (from the identity 0, last element first).
    /// </summary>
    internal static void LogSoftmaxBackwardShortRows(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> gx, int cols)
    {
        for (int offset = 0; offset < y.Length; offset += cols)
        {
            float sum = 0f;
            for (int j = cols - 1; j >= 0; j--) sum += g[offset + j];
            for (int j = 0; j < cols; j++) gx[offset + j] += g[offset + j] - MathF.Exp(y[offset + j]) * sum;
        }
    }
}
