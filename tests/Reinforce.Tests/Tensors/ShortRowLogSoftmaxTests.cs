using Reinforce.Tensors;

namespace Reinforce.Tests.Tensors;

/// <summary>
/// Kernels.LogSoftmaxRows' and LogSoftmaxBackwardRows' paths for rows of 1–3 entries (a policy over 2 or 3 actions)
/// give the same bits as the general span-based paths they bypass (which are the paths every other row length takes):
/// training runs must not change by a single bit.
/// </summary>
public class ShortRowLogSoftmaxTests
{
    private static void AssertSameBits(float[] expected, float[] actual, int cols, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}, cols {cols}, element {i}: {actual[i]:R}, general path {expected[i]:R}");
    }

    [Theory]
    [InlineData(1, 20_000)]
    [InlineData(2, 20_000)]
    [InlineData(3, 20_000)]
    [InlineData(2, 1)]      // a rollout samples one row at a time (the scalar path)
    [InlineData(3, 15)]
    [InlineData(2, 16)]     // one vector of rows
    [InlineData(2, 83)]     // blocks of 64 and a ragged tail
    public void SameBitsAsTheGeneralPath(int cols, int rows)
    {
        var rng = new Random(cols + rows);
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
        Kernels.LogSoftmaxRowsGeneral(x, expected, cols);
        Kernels.LogSoftmaxRows(x, actual, cols);
        AssertSameBits(expected, actual, cols, "forward");

        // In place (y is x) as well.
        Kernels.LogSoftmaxRows(x, x, cols);
        AssertSameBits(expected, x, cols, "forward in place");
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
        Kernels.LogSoftmaxBackwardRowsGeneral(y, g, expected, cols);
        Kernels.LogSoftmaxBackwardRows(y, g, actual, cols);
        AssertSameBits(expected, actual, cols, "backward");
    }
}
