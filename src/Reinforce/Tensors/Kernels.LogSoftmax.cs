using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using System.Runtime;

namespace Reinforce.Tensors;

public static partial class Kernels
{
    /// <summary>
    /// For each row of length <paramref name="cols"/>: y = (x - max(x)) - log Σ exp(x - max(x)).
    /// Exact and finite for logits of any magnitude: log_softmax([1000, -1000]) = [0, -2000]. y may be x itself.
    /// Rows of one to three entries (a policy over 2 or 3 actions) take a path of their own with the same bits.
    /// </summary>
    public static void LogSoftmaxRows(ReadOnlySpan<float> x, Span<float> y, int cols)
    {
        CheckRows("LogSoftmaxRows", x.Length, y.Length, cols);
        if (cols <= 3) LogSoftmaxShortRows(x, y, cols);
        else LogSoftmaxRowsGeneral(x, y, cols);
    }

    /// <summary>
    /// The backward pass of <see cref="LogSoftmaxRows"/> from its output y: gx += g − exp(y)·Σg for each row
    /// (exp(y) is the softmax). Rows of one to three entries take a path of their own with the same bits.
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
    /// without six span operations per row, and with exp and log sixteen rows at a time through <see cref="Libm"/>
    /// (the C library's bits without a call per element).
    /// </summary>
    [SkipLocalsInit]
    [BypassReadyToRun]
    internal static void LogSoftmaxShortRows(ReadOnlySpan<float> x, Span<float> y, int cols)
    {
        const int Block = 64;
        int rows = x.Length / cols;
        if (rows < 16)
        {
            // Too few rows for a vector (a rollout samples one row at a time): the same arithmetic one row after another,
            // which costs a rollout of 8 environments × 32 steps about 6 µs less than a block of one row (`ppo-cpu 600`,
            // interleaved, the two quiet runs of three: medians 61–62 against 67–68 µs).
            for (int offset = 0; offset < x.Length; offset += cols) ShortRow(x.Slice(offset, cols), y.Slice(offset, cols));
            return;
        }
        Span<float> d0 = stackalloc float[Block], d1 = stackalloc float[Block], d2 = stackalloc float[Block];
        Span<float> e0 = stackalloc float[Block], e1 = stackalloc float[Block], e2 = stackalloc float[Block];
        for (int first = 0; first < rows; first += Block)
        {
            int n = Math.Min(Block, rows - first);
            // x − max per column, the rows of the block side by side.
            for (int r = 0, offset = first * cols; r < n; r++, offset += cols)
            {
                // MathF.Max is TensorPrimitives.Max's comparison: NaN wins, +0 above −0.
                float x0 = x[offset];
                float max = x0;
                if (cols > 1) max = MathF.Max(max, x[offset + 1]);
                if (cols > 2) max = MathF.Max(max, x[offset + 2]);
                d0[r] = x0 - max;
                if (cols > 1) d1[r] = x[offset + 1] - max;
                if (cols > 2) d2[r] = x[offset + 2] - max;
            }
            Libm.Expf(d0[..n], e0);
            if (cols > 1) Libm.Expf(d1[..n], e1);
            if (cols > 2) Libm.Expf(d2[..n], e2);
            // TensorPrimitives.Sum adds a span shorter than a vector from its last element to its first.
            var sum = e0[..n];
            for (int r = 0; r < n; r++)
            {
                float s = cols > 2 ? e2[r] : 0f;
                if (cols > 1) s += e1[r];
                sum[r] = s + e0[r];
            }
            Libm.LogOfFloats(sum, sum);
            for (int r = 0, offset = first * cols; r < n; r++, offset += cols)
            {
                float logSum = sum[r];
                y[offset] = d0[r] - logSum;
                if (cols > 1) y[offset + 1] = d1[r] - logSum;
                if (cols > 2) y[offset + 2] = d2[r] - logSum;
            }
        }
    }

    /// <summary>One row of <see cref="LogSoftmaxShortRows"/>, with the scalar <see cref="Libm"/> functions.</summary>
    [BypassReadyToRun]
    private static void ShortRow(ReadOnlySpan<float> x, Span<float> y)
    {
        int cols = x.Length;
        float x0 = x[0];
        float max = x0, x1 = 0f, x2 = 0f;
        if (cols > 1) { x1 = x[1]; max = MathF.Max(max, x1); }
        if (cols > 2) { x2 = x[2]; max = MathF.Max(max, x2); }
        float sum = cols > 2 ? ExpShifted(x2, max) : 0f;
        if (cols > 1) sum += ExpShifted(x1, max);
        sum += ExpShifted(x0, max);
        float logSum = (float)Libm.Log(sum);
        y[0] = (x0 - max) - logSum;
        if (cols > 1) y[1] = (x1 - max) - logSum;
        if (cols > 2) y[2] = (x2 - max) - logSum;
    }

    /// <summary>exp(v − max), with exp(0) = 1 (the maximum's own term) without computing it.</summary>
    private static float ExpShifted(float v, float max)
    {
        float d = v - max;
        return d == 0f ? 1f : Libm.Expf(d);
    }

    /// <summary>
    /// <see cref="LogSoftmaxBackwardRowsGeneral"/> for rows of one to three entries, with Σg summed as TensorPrimitives.Sum
    /// sums a span shorter than a vector (from the identity 0, last element first), and exp(y) through <see cref="Libm"/>.
    /// </summary>
    [SkipLocalsInit]
    internal static void LogSoftmaxBackwardShortRows(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> gx, int cols)
    {
        const int Block = 192;   // a multiple of 1, 2 and 3
        Span<float> e = stackalloc float[Block];
        for (int start = 0; start < y.Length; start += Block)
        {
            int length = Math.Min(Block, y.Length - start);
            Libm.Expf(y.Slice(start, length), e);
            for (int offset = start; offset < start + length; offset += cols)
            {
                float sum = 0f;
                for (int j = cols - 1; j >= 0; j--) sum += g[offset + j];
                for (int j = 0; j < cols; j++) gx[offset + j] += g[offset + j] - e[offset - start + j] * sum;
            }
        }
    }
}
