using Reinforce.Nn;
using Reinforce.Tensors;

namespace Reinforce.Tests.Nn;

/// <summary>
/// The fused MLP's one-pass forms — a layer's bias added inside its activation's pass, and the bias gradient summed
/// inside the derivative's pass — give the same bits as the two passes each replaces (rows of the bias, the product
/// added onto them, then the activation; the derivative, then Kernels.SumRows accumulating), for every width: tanh's
/// fused widths (16, 32, 48, 64 on AVX-512), its other widths, and an activation without a fused form (ReLU).
/// </summary>
public class ActivationBiasPassTests
{
    public static TheoryData<Activation> Compilable => [Activation.Tanh, Activation.Relu, Activation.Elu];

    [Theory]
    [MemberData(nameof(Compilable))]
    public void Bias_with_the_activation_is_the_two_passes_bit_for_bit(Activation kind)
    {
        var function = Activations.Of(kind);
        var rng = new Random(4);
        foreach (int rows in new[] { 1, 5, 128 })
        {
            for (int cols = 1; cols <= 70; cols++)
            {
                var z = new float[rows * cols];
                for (int i = 0; i < z.Length; i++) z[i] = (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-3, 2)));
                var bias = new float[cols];
                for (int j = 0; j < cols; j++) bias[j] = j % 9 == 0 ? -0f : (float)(rng.NextDouble() - 0.5);
                var expected = new float[z.Length];
                Kernels.BroadcastRows(bias, expected, rows);
                for (int i = 0; i < expected.Length; i++) expected[i] += z[i];   // the product accumulated onto the bias
                function.Kernel!(expected);
                function.ActivateWithBias(z, bias, rows);
                for (int i = 0; i < z.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(z[i]),
                        $"{kind}, rows {rows}, cols {cols}, element {i}: {z[i]:R}, two passes {expected[i]:R}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Compilable))]
    public void Bias_gradient_with_the_derivative_is_the_two_passes_bit_for_bit(Activation kind)
    {
        var function = Activations.Of(kind);
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
                    y[i] = (float)(rng.NextDouble() * 6 - 3);
                    g[i] = i % 11 == 0 ? -0f : (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-4, 2)));
                }
                function.Kernel!(y);   // an output the activation can give
                var sums = new float[cols];
                for (int j = 0; j < cols; j++) sums[j] = (float)(rng.NextDouble() - 0.5);

                var dzExpected = new float[n];
                var sumsExpected = (float[])sums.Clone();
                function.Derivative!(y, g, dzExpected);
                Kernels.SumRows(dzExpected, sumsExpected, cols, accumulate: true);

                var dz = new float[n];
                function.DerivativeWithBiasGradient(y, g, dz, sums, cols);
                for (int i = 0; i < n; i++) Assert.Equal(BitConverter.SingleToInt32Bits(dzExpected[i]), BitConverter.SingleToInt32Bits(dz[i]));
                for (int j = 0; j < cols; j++)
                    Assert.True(BitConverter.SingleToInt32Bits(sumsExpected[j]) == BitConverter.SingleToInt32Bits(sums[j]),
                        $"{kind}, rows {rows}, cols {cols}, column {j}: {sums[j]:R}, two passes {sumsExpected[j]:R}");
            }
        }
    }

    [Fact]
    public void Tanh_takes_its_one_pass_form_at_the_policy_widths()
    {
        // The fused forms run (and report it) exactly where they exist: rows of 16-64 on AVX-512.
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return;
        Assert.True(FastTanh.TryBiasInPlace(new float[4 * 32], new float[32]));
        Assert.True(FastTanh.TryBackwardWithColumnSums(new float[4 * 64], new float[4 * 64], new float[4 * 64], new float[64], 64));
        Assert.False(FastTanh.TryBiasInPlace(new float[4 * 2], new float[2]));
        Assert.False(FastTanh.TryBackwardWithColumnSums(new float[4 * 80], new float[4 * 80], new float[4 * 80], new float[80], 80));
    }
}
