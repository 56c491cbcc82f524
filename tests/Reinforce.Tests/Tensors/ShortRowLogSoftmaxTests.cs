using System.Numerics.Tensors;
using Reinforce.Tensors;

namespace Reinforce.Tests.Tensors;

/// <summary>
/// Kernels.LogSoftmaxRows' path for rows of 1–3 entries (a policy over 2 or 3 actions) gives the same bits as the general
/// path it replaced, kept here as the reference: training runs must not change by a single bit.
/// </summary>
public class ShortRowLogSoftmaxTests
{
    /// <summary>The general path as it was (span operations per row, exp through TensorPrimitives).</summary>
    private static void GeneralPath(ReadOnlySpan<float> x, Span<float> y, int cols)
    {
        Span<float> part = stackalloc float[cols];
        for (int offset = 0; offset < x.Length; offset += cols)
        {
            var row = x.Slice(offset, cols);
            var outRow = y.Slice(offset, cols);
            float max = TensorPrimitives.Max(row);
            TensorPrimitives.Subtract(row, max, part);
            TensorPrimitives.Exp(part, part);
            double sum = 0;
            sum += TensorPrimitives.Sum(part);
            float logSum = (float)Math.Log(sum);
            TensorPrimitives.Subtract(row, max, outRow);
            TensorPrimitives.Subtract(outRow, logSum, outRow);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void SameBitsAsTheGeneralPath(int cols)
    {
        var rng = new Random(cols);
        const int rows = 20_000;
        var x = new float[rows * cols];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (i % 7) switch
            {
                0 => (float)(rng.NextDouble() * 2 - 1),
                1 => (float)((rng.NextDouble() * 2 - 1) * 30),
                2 => (float)((rng.NextDouble() * 2 - 1) * 1e-6),
                3 => rng.Next(3) - 1,                              // ties and exact zeros
                4 => -0f,
                5 => (float)((rng.NextDouble() * 2 - 1) * 1000),
                _ => (float)(rng.NextDouble() * 1e-30),
            };
        }
        var expected = new float[x.Length];
        var actual = new float[x.Length];
        GeneralPath(x, expected, cols);
        Kernels.LogSoftmaxRows(x, actual, cols);
        for (int i = 0; i < x.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"cols {cols}, element {i} (row {string.Join(", ", x.AsSpan(i / cols * cols, cols).ToArray())}): {actual[i]:R}, general path {expected[i]:R}");

        // In place (y is x) as well.
        Kernels.LogSoftmaxRows(x, x, cols);
        Assert.Equal(expected, x);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void The_backward_pass_gives_the_same_bits_as_the_general_path(int cols)
    {
        var rng = new Random(100 + cols);
        const int rows = 20_000;
        var y = new float[rows * cols];
        var g = new float[rows * cols];
        for (int i = 0; i < y.Length; i++)
        {
            y[i] = -(float)(rng.NextDouble() * 5);
            g[i] = (i % 5) switch
            {
                0 => 0f,
                1 => -0f,
                2 => (float)(rng.NextDouble() - 0.5) * 1e-3f,
                _ => (float)(rng.NextDouble() * 2 - 1),
            };
        }
        var expected = new float[y.Length];
        var actual = new float[y.Length];
        for (int i = 0; i < y.Length; i += 3) { expected[i] = -0f; actual[i] = -0f; }   // accumulating into −0 as well as +0
        for (int offset = 0; offset < y.Length; offset += cols)
        {
            var gr = g.AsSpan(offset, cols);
            float sum = TensorPrimitives.Sum(gr);
            for (int j = 0; j < cols; j++) expected[offset + j] += gr[j] - MathF.Exp(y[offset + j]) * sum;
        }
        Kernels.LogSoftmaxBackwardShortRows(y, g, actual, cols);
        for (int i = 0; i < y.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"cols {cols}, element {i}: {actual[i]:R}, general path {expected[i]:R}");
    }
}
