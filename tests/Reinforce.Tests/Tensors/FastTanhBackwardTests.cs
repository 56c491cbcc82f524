using Reinforce.Tensors;

namespace Reinforce.Tests.Tensors;

/// <summary>
/// tanh's backward pass with the bias gradient summed in the same pass, and the forward's bias added in tanh's pass,
/// give the same bits as the two passes each replaces (FastTanh.Backward then Kernels.SumRows; the bias rows then
/// FastTanh.InPlace), for every width: the fused widths (16, 32, 48, 64) and the others.
/// </summary>
public class FastTanhBackwardTests
{
    [Fact]
    public void Backward_with_column_sums_is_the_two_passes_bit_for_bit()
    {
        var rng = new Random(3);
        foreach (int rows in new[] { 1, 5, 128 })
        {
            for (int cols = 1; cols <= 70; cols++)
            {
                int n = rows * cols;
                var y = new float[n];
                var g = new float[n];
                for (int i = 0; i < n; i++)
                {
                    y[i] = FastTanh.Scalar((float)(rng.NextDouble() * 6 - 3));
                    g[i] = i % 11 == 0 ? -0f : (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-4, 2)));
                }
                var sums = new float[cols];
                for (int j = 0; j < cols; j++) sums[j] = (float)(rng.NextDouble() - 0.5);

                var dzExpected = new float[n];
                var sumsExpected = (float[])sums.Clone();
                FastTanh.Backward(y, g, dzExpected);
                Kernels.SumRows(dzExpected, sumsExpected, cols, accumulate: true);

                var dz = new float[n];
                FastTanh.BackwardWithColumnSums(y, g, dz, sums, cols);
                for (int i = 0; i < n; i++) Assert.Equal(BitConverter.SingleToInt32Bits(dzExpected[i]), BitConverter.SingleToInt32Bits(dz[i]));
                for (int j = 0; j < cols; j++)
                    Assert.True(BitConverter.SingleToInt32Bits(sumsExpected[j]) == BitConverter.SingleToInt32Bits(sums[j]), $"rows {rows}, cols {cols}, column {j}: {sums[j]:R}, two passes {sumsExpected[j]:R}");
            }
        }
    }

    [Fact]
    public void Bias_and_tanh_in_one_pass_is_the_two_passes_bit_for_bit()
    {
        var rng = new Random(4);
        foreach (int rows in new[] { 1, 5, 128 })
        {
            for (int cols = 1; cols <= 70; cols++)
            {
                var z = new float[rows * cols];
                for (int i = 0; i < z.Length; i++) z[i] = (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-3, 2)));
                var bias = new float[cols];
                for (int j = 0; j < cols; j++) bias[j] = j % 9 == 0 ? -0f : (float)(rng.NextDouble() - 0.5);
                var expected = (float[])z.Clone();
                for (int i = 0; i < expected.Length; i++) expected[i] = bias[i % cols] + expected[i];   // rows of b, then the product added
                FastTanh.InPlace(expected);
                FastTanh.BiasInPlace(z, bias);
                for (int i = 0; i < z.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(z[i]), $"rows {rows}, cols {cols}, element {i}: {z[i]:R}, two passes {expected[i]:R}");
            }
        }
        Assert.Throws<ArgumentException>(() => FastTanh.BiasInPlace(new float[5], new float[2]));
    }
}
