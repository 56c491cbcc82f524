using Reinforce.Tensors;

namespace Reinforce.Tests.Tensors;

/// <summary>
/// The convolution and pooling kernels against direct loops in double precision, over odd sizes (widths 1 to 13, so
/// the copy/add paths of every length and the SIMD remainders of the matrix multiply all run), strides, paddings,
/// dilations and chunk boundaries of the im2col unfolding.
/// </summary>
[Collection("Kernel paths")]   // asserts zero allocation in steady state: runs alone (see KernelPathsCollection)
public class ConvolutionKernelTests
{
    private static float[] Random(Rng rng, long n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    /// <summary>The convolution by its definition, in double.</summary>
    private static double[] ReferenceForward(float[] x, float[] w, float[]? b, Conv2dGeometry g)
    {
        var y = new double[g.OutputSize];
        for (int n = 0; n < g.Batch; n++)
            for (int o = 0; o < g.OutChannels; o++)
                for (int oy = 0; oy < g.OutHeight; oy++)
                    for (int ox = 0; ox < g.OutWidth; ox++)
                    {
                        double s = b?[o] ?? 0;
                        for (int c = 0; c < g.InChannels; c++)
                            for (int i = 0; i < g.KernelHeight; i++)
                                for (int j = 0; j < g.KernelWidth; j++)
                                {
                                    int iy = oy * g.StrideHeight - g.PadHeight + i * g.DilationHeight, ix = ox * g.StrideWidth - g.PadWidth + j * g.DilationWidth;
                                    if (iy < 0 || iy >= g.Height || ix < 0 || ix >= g.Width) continue;
                                    s += (double)w[((o * g.InChannels + c) * g.KernelHeight + i) * g.KernelWidth + j] * x[((n * g.InChannels + c) * g.Height + iy) * g.Width + ix];
                                }
                        y[((n * g.OutChannels + o) * g.OutHeight + oy) * g.OutWidth + ox] = s;
                    }
        return y;
    }

    /// <summary>The gradients by their definition: every (output, tap) pair adds its product's derivative.</summary>
    private static (double[] Dx, double[] Dw, double[] Db) ReferenceBackward(float[] x, float[] w, float[] dy, Conv2dGeometry g)
    {
        var dx = new double[g.InputSize];
        var dw = new double[g.WeightSize];
        var db = new double[g.OutChannels];
        for (int n = 0; n < g.Batch; n++)
            for (int o = 0; o < g.OutChannels; o++)
                for (int oy = 0; oy < g.OutHeight; oy++)
                    for (int ox = 0; ox < g.OutWidth; ox++)
                    {
                        double d = dy[((n * g.OutChannels + o) * g.OutHeight + oy) * g.OutWidth + ox];
                        db[o] += d;
                        for (int c = 0; c < g.InChannels; c++)
                            for (int i = 0; i < g.KernelHeight; i++)
                                for (int j = 0; j < g.KernelWidth; j++)
                                {
                                    int iy = oy * g.StrideHeight - g.PadHeight + i * g.DilationHeight, ix = ox * g.StrideWidth - g.PadWidth + j * g.DilationWidth;
                                    if (iy < 0 || iy >= g.Height || ix < 0 || ix >= g.Width) continue;
                                    int xi = ((n * g.InChannels + c) * g.Height + iy) * g.Width + ix, wi = ((o * g.InChannels + c) * g.KernelHeight + i) * g.KernelWidth + j;
                                    dx[xi] += d * w[wi];
                                    dw[wi] += d * x[xi];
                                }
                    }
        return (dx, dw, db);
    }

    private static void AssertClose(double[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 + 1e-4 * Math.Abs(expected[i]), $"{what}[{i}]: {actual[i]} vs reference {expected[i]}");
    }

    public static TheoryData<Conv2dGeometry> Geometries()
    {
        var data = new TheoryData<Conv2dGeometry>();
        // Every width 1..13 with a 3x3 kernel padded so it always fits, plus stride 2 and dilation 2 variants.
        for (int w = 1; w <= 13; w++)
        {
            data.Add(new Conv2dGeometry(2, 3, 5, w, 4, 3, 3, 1, 1, 1, 1));
            data.Add(new Conv2dGeometry(1, 2, 7, w, 3, 3, 2, 2, 2, 1, 1, 1, 1));
            if (w >= 5) data.Add(new Conv2dGeometry(2, 1, 6, w, 5, 2, 3, 1, 3, 0, 2, 2, 2));
        }
        data.Add(new Conv2dGeometry(3, 4, 20, 20, 5, 8, 8, 4, 4));              // Nature CNN first layer, small
        data.Add(new Conv2dGeometry(5, 7, 10, 10, 16, 3, 3));                   // MinAtar's layer
        data.Add(new Conv2dGeometry(2, 17, 9, 11, 33, 1, 1));                   // 1x1 with odd channel counts
        data.Add(new Conv2dGeometry(1, 1, 3, 4, 2, 2, 2, 3, 2, 2, 1));          // padding larger than the stride leaves
        return data;
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Forward_and_backward_match_the_definition(Conv2dGeometry g)
    {
        var rng = new Rng((ulong)(g.Width * 131 + g.Height * 7 + g.StrideHeight));
        var x = Random(rng, g.InputSize);
        var w = Random(rng, g.WeightSize);
        var b = Random(rng, g.OutChannels);
        var dy = Random(rng, g.OutputSize);
        var y = new float[g.OutputSize];
        Kernels.Conv2dForward(x, w, b, y, g);
        AssertClose(ReferenceForward(x, w, b, g), y, "y");
        Kernels.Conv2dForward(x, w, default, y, g);
        AssertClose(ReferenceForward(x, w, null, g), y, "y without bias");

        var dx = new float[x.Length];
        var dw = new float[w.Length];
        var db = new float[b.Length];
        Kernels.Conv2dBackward(x, w, dy, dx, dw, db, g);
        var (rdx, rdw, rdb) = ReferenceBackward(x, w, dy, g);
        AssertClose(rdx, dx, "dx");
        AssertClose(rdw, dw, "dw");
        AssertClose(rdb, db, "db");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(100)]
    public void Chunked_unfolding_gives_the_same_bits_as_one_chunk(int imagesPerChunk)
    {
        var g = new Conv2dGeometry(7, 3, 9, 10, 6, 3, 3, 2, 1, 1, 1);
        var rng = new Rng(3);
        var x = Random(rng, g.InputSize);
        var w = Random(rng, g.WeightSize);
        var b = Random(rng, g.OutChannels);
        var dy = Random(rng, g.OutputSize);
        int budget = imagesPerChunk * g.PatchSize * g.Positions;
        var yWhole = new float[g.OutputSize];
        var yChunked = new float[g.OutputSize];
        Kernels.Conv2dForward(x, w, b, yWhole, g, int.MaxValue);
        Kernels.Conv2dForward(x, w, b, yChunked, g, budget);
        Assert.Equal(yWhole, yChunked);
        var (dx1, dw1, db1) = (new float[x.Length], new float[w.Length], new float[b.Length]);
        var (dx2, dw2, db2) = (new float[x.Length], new float[w.Length], new float[b.Length]);
        Kernels.Conv2dBackward(x, w, dy, dx1, dw1, db1, g, int.MaxValue);
        Kernels.Conv2dBackward(x, w, dy, dx2, dw2, db2, g, budget);
        Assert.Equal(dx1, dx2);
        var (_, rdw, rdb) = ReferenceBackward(x, w, dy, g);
        AssertClose(rdw, dw2, "dw chunked");
        AssertClose(rdb, db2, "db chunked");
    }

    [Fact]
    public void Backward_accumulates_and_skips_empty_buffers()
    {
        var g = new Conv2dGeometry(2, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1);
        var rng = new Rng(9);
        var x = Random(rng, g.InputSize);
        var w = Random(rng, g.WeightSize);
        var dy = Random(rng, g.OutputSize);
        var dw = Enumerable.Repeat(1f, w.Length).ToArray();
        Kernels.Conv2dBackward(x, w, dy, default, dw, default, g);
        var (_, rdw, _) = ReferenceBackward(x, w, dy, g);
        AssertClose([.. rdw.Select(v => v + 1)], dw, "dw accumulated onto ones");
    }

    [Fact]
    public void Convolution_and_pooling_allocate_nothing_in_steady_state()
    {
        var g = new Conv2dGeometry(8, 4, 10, 10, 16, 3, 3);
        var rng = new Rng(5);
        var x = Random(rng, g.InputSize);
        var w = Random(rng, g.WeightSize);
        var b = Random(rng, g.OutChannels);
        var y = new float[g.OutputSize];
        var dx = new float[x.Length];
        var dw = new float[w.Length];
        var db = new float[b.Length];
        var pool = new Conv2dGeometry(8, 16, 8, 8, 16, 2, 2, 2, 2);
        var pooled = new float[pool.OutputSize];
        var argmax = new int[pool.OutputSize];
        int saved = Kernels.MaxThreads;
        Kernels.MaxThreads = 1;
        try
        {
            void Step()
            {
                Kernels.Conv2dForward(x, w, b, y, g);
                Kernels.Conv2dBackward(x, w, y, dx, dw, db, g);
                Kernels.MaxPool2dForward(y, pooled, argmax, pool);
                Kernels.AvgPool2dForward(y, pooled, pool);
            }
            Step();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 5; i++) Step();
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        finally
        {
            Kernels.MaxThreads = saved;
        }
    }

    [Fact]
    public void A_kernel_larger_than_the_padded_input_is_an_error_naming_the_sizes()
    {
        var g = new Conv2dGeometry(1, 3, 4, 4, 8, 8, 8, 4, 4);
        var ex = Assert.Throws<ArgumentException>(() => g.Validate("Conv2d"));
        Assert.Contains("[1, 3, 4, 4]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("kernel 8x8", ex.Message, StringComparison.Ordinal);
        Assert.Contains("larger input", ex.Message, StringComparison.Ordinal);
    }

    // ------------------------------------------------------------ pooling

    private static (double[] Y, double[] Dx) ReferencePool(float[] x, float[] dy, Conv2dGeometry g, bool max)
    {
        var y = new double[g.OutputSize];
        var dx = new double[g.InputSize];
        int k = 0;
        for (int plane = 0; plane < g.Batch * g.InChannels; plane++)
            for (int oy = 0; oy < g.OutHeight; oy++)
                for (int ox = 0; ox < g.OutWidth; ox++, k++)
                {
                    double best = double.NegativeInfinity, sum = 0;
                    int bestAt = -1, area = 0;
                    for (int i = 0; i < g.KernelHeight; i++)
                        for (int j = 0; j < g.KernelWidth; j++)
                        {
                            int iy = oy * g.StrideHeight - g.PadHeight + i, ix = ox * g.StrideWidth - g.PadWidth + j;
                            if (iy < g.Height + g.PadHeight && ix < g.Width + g.PadWidth) area++;   // padded cells count (count_include_pad)
                            if (iy < 0 || iy >= g.Height || ix < 0 || ix >= g.Width) continue;
                            int at = (plane * g.Height + iy) * g.Width + ix;
                            sum += x[at];
                            if (x[at] > best) { best = x[at]; bestAt = at; }
                        }
                    if (max) { y[k] = best; dx[bestAt] += dy[k]; }
                    else
                    {
                        y[k] = sum / area;
                        for (int i = 0; i < g.KernelHeight; i++)
                            for (int j = 0; j < g.KernelWidth; j++)
                            {
                                int iy = oy * g.StrideHeight - g.PadHeight + i, ix = ox * g.StrideWidth - g.PadWidth + j;
                                if (iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width) dx[(plane * g.Height + iy) * g.Width + ix] += dy[k] / area;
                            }
                    }
                }
        return (y, dx);
    }

    public static TheoryData<int, int, int, int> PoolSizes()
    {
        var data = new TheoryData<int, int, int, int>();
        for (int w = 2; w <= 11; w++)
        {
            data.Add(w, 2, 2, 0);
            data.Add(w, 3, 2, 1);
            data.Add(w, 3, 1, 1);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(PoolSizes))]
    public void Pooling_matches_the_definition(int width, int kernel, int stride, int pad)
    {
        var g = new Conv2dGeometry(2, 3, 7, width, 3, kernel, kernel, stride, stride, pad, pad);
        if (g.OutWidth <= 0) return;
        var rng = new Rng((ulong)(width * 17 + kernel * 3 + pad));
        var x = Random(rng, g.InputSize);
        var dy = Random(rng, g.OutputSize);
        foreach (bool max in new[] { true, false })
        {
            var y = new float[g.OutputSize];
            var dx = new float[g.InputSize];
            if (max)
            {
                var argmax = new int[y.Length];
                Kernels.MaxPool2dForward(x, y, argmax, g);
                Kernels.MaxPool2dBackward(dy, argmax, dx);
            }
            else
            {
                Kernels.AvgPool2dForward(x, y, g);
                Kernels.AvgPool2dBackward(dy, dx, g);
            }
            var (ry, rdx) = ReferencePool(x, dy, g, max);
            AssertClose(ry, y, max ? "max y" : "avg y");
            AssertClose(rdx, dx, max ? "max dx" : "avg dx");
        }
    }

    // ------------------------------------------------------------ recurrent cells

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 5)]
    [InlineData(2, 17)]
    [InlineData(4, 64)]
    public void Lstm_and_gru_pointwise_match_their_formulas(int rows, int hidden)
    {
        var rng = new Rng((ulong)(rows * 100 + hidden));
        var gates = Random(rng, rows * 4 * hidden).Select(v => v * 4).ToArray();
        var c = Random(rng, rows * hidden);
        var cOut = new float[c.Length];
        var hOut = new float[c.Length];
        Kernels.LstmPointwise(gates, c, cOut, hOut, rows, hidden);
        static double S(double v) => 1 / (1 + Math.Exp(-v));
        for (int b = 0; b < rows; b++)
            for (int k = 0; k < hidden; k++)
            {
                int r = b * 4 * hidden;
                double cc = S(gates[r + hidden + k]) * c[b * hidden + k] + S(gates[r + k]) * Math.Tanh(gates[r + 2 * hidden + k]);
                Assert.Equal(cc, cOut[b * hidden + k], 5e-6);
                Assert.Equal(S(gates[r + 3 * hidden + k]) * Math.Tanh(cc), hOut[b * hidden + k], 5e-6);
            }
        var xg = Random(rng, rows * 3 * hidden);
        var hg = Random(rng, rows * 3 * hidden);
        var h = Random(rng, rows * hidden);
        var hNew = new float[h.Length];
        Kernels.GruPointwise(xg, hg, h, hNew, rows, hidden);
        for (int b = 0; b < rows; b++)
            for (int k = 0; k < hidden; k++)
            {
                int r0 = b * 3 * hidden;
                double rr = S(xg[r0 + k] + hg[r0 + k]), z = S(xg[r0 + hidden + k] + hg[r0 + hidden + k]);
                double n = Math.Tanh(xg[r0 + 2 * hidden + k] + rr * hg[r0 + 2 * hidden + k]);
                Assert.Equal((1 - z) * n + z * h[b * hidden + k], hNew[b * hidden + k], 5e-6);
            }
    }
}
