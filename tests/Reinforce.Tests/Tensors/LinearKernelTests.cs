using Reinforce.Tensors;

namespace Reinforce.Tests.Tensors;

/// <summary>Kernels.LinearForward / LinearBackward / SumRows against double-precision sums.</summary>
public class LinearKernelTests
{
    [Theory]
    [InlineData(1, 4, 64)]
    [InlineData(256, 4, 64)]
    [InlineData(256, 64, 64)]
    [InlineData(256, 64, 2)]
    [InlineData(37, 19, 1)]
    public void Forward_is_x_times_weight_transposed_plus_bias(int rows, int inFeatures, int outFeatures)
    {
        var rng = new Rng(41);
        var x = MatMulReference.Random(rng, rows * inFeatures);
        var w = MatMulReference.Random(rng, outFeatures * inFeatures);
        var b = MatMulReference.Random(rng, outFeatures);
        var y = MatMulReference.Fill(rows * outFeatures, float.NaN);
        Kernels.LinearForward(x, w, b, y, rows, inFeatures, outFeatures);
        var biasRows = new float[rows * outFeatures];
        for (int i = 0; i < rows; i++) b.CopyTo(biasRows, i * outFeatures);
        MatMulReference.AssertProduct(x, w, biasRows, y, rows, inFeatures, outFeatures, false, true, "LinearForward");

        Kernels.LinearForward(x, w, [], y, rows, inFeatures, outFeatures);
        MatMulReference.AssertProduct(x, w, null, y, rows, inFeatures, outFeatures, false, true, "LinearForward without bias");
    }

    [Theory]
    [InlineData(256, 4, 64)]
    [InlineData(256, 64, 2)]
    [InlineData(3, 5, 7)]
    public void Backward_accumulates_the_three_gradients(int rows, int inFeatures, int outFeatures)
    {
        var rng = new Rng(42);
        var x = MatMulReference.Random(rng, rows * inFeatures);
        var w = MatMulReference.Random(rng, outFeatures * inFeatures);
        var dy = MatMulReference.Random(rng, rows * outFeatures);
        var dx0 = MatMulReference.Random(rng, rows * inFeatures);
        var dw0 = MatMulReference.Random(rng, outFeatures * inFeatures);
        var db0 = MatMulReference.Random(rng, outFeatures);
        var (dx, dw, db) = ((float[])dx0.Clone(), (float[])dw0.Clone(), (float[])db0.Clone());
        Kernels.LinearBackward(x, w, dy, dx, dw, db, rows, inFeatures, outFeatures);
        MatMulReference.AssertProduct(dy, w, dx0, dx, rows, outFeatures, inFeatures, false, false, "dx");
        MatMulReference.AssertProduct(dy, x, dw0, dw, outFeatures, rows, inFeatures, true, false, "dW");
        var ones = MatMulReference.Fill(rows, 1f);
        MatMulReference.AssertProduct(ones, dy, db0, db, 1, rows, outFeatures, false, false, "db");

        // Empty spans skip a gradient.
        var onlyBias = (float[])db0.Clone();
        Kernels.LinearBackward(x, w, dy, [], [], onlyBias, rows, inFeatures, outFeatures);
        Assert.Equal(db, onlyBias);
    }

    [Fact]
    public void SumRows_adds_columns_and_checks_its_input()
    {
        var y = new float[] { 10, 20 };
        Kernels.SumRows([1, 2, 3, 4, 5, 6], y, 2, accumulate: true);
        Assert.Equal([19f, 32], y);
        Kernels.SumRows([1, 2, 3, 4, 5, 6], y, 2);
        Assert.Equal([9f, 12], y);
        var ex = Assert.Throws<ArgumentException>(() => Kernels.SumRows([1, 2, 3], y, 2));
        Assert.Contains("SumRows", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SumRows_is_the_row_by_row_sum_bit_for_bit_for_every_width()
    {
        // Columns are summed side by side in blocks of 32, 16, 8, 2 and 1: each still adds its rows in order.
        var rng = new Random(12);
        foreach (int rows in new[] { 1, 7, 128 })
        {
            for (int cols = 1; cols <= 70; cols++)
            {
                var x = new float[rows * cols];
                for (int i = 0; i < x.Length; i++) x[i] = (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-3, 4)));
                var start = new float[cols];
                for (int j = 0; j < cols; j++) start[j] = (float)(rng.NextDouble() - 0.5);
                foreach (bool accumulate in new[] { false, true })
                {
                    var y = (float[])start.Clone();
                    Kernels.SumRows(x, y, cols, accumulate);
                    for (int j = 0; j < cols; j++)
                    {
                        float expected = accumulate ? start[j] : 0f;
                        for (int r = 0; r < rows; r++) expected += x[r * cols + j];
                        Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(y[j]),
                            $"rows {rows}, cols {cols}, column {j}, accumulate {accumulate}: {y[j]:R}, expected {expected:R}");
                    }
                }
            }
        }
    }

    [Fact]
    public void Bad_shapes_name_the_layout()
    {
        var ex = Assert.Throws<ArgumentException>(() => Kernels.LinearForward(new float[8], new float[6], new float[3], new float[6], 2, 4, 3));
        Assert.Contains("[out 3, in 4]", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Kernels.LinearForward(new float[8], new float[12], new float[2], new float[6], 2, 4, 3));
        Assert.Contains("bias", ex.Message, StringComparison.Ordinal);
    }
}
