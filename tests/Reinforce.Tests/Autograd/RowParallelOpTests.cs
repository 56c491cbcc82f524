using Reinforce.Autograd;
using Reinforce.Tensors;

namespace Reinforce.Tests.Autograd;

/// <summary>
/// LayerNorm and GELU (tanh) split large inputs over the cores by rows or vector blocks, side by side with eight rows
/// summed together and vectorised element passes. These tests hold them to the plain one-row-at-a-time scalar form they
/// replaced, bit for bit, on one thread and on two (Kernels.MaxThreads = 2 splits the work on any machine; ForRangesTests
/// checks that it does): a GPT's training run must not change by a bit with the thread count.
/// </summary>
public class RowParallelOpTests
{
    /// <summary>The scalar LayerNorm forward and backward as first written (the reference for the bits).</summary>
    private static (float[] Y, float[] Gx, float[] Gw, float[] Gb) ScalarLayerNorm(float[] x, float[] w, float[] b, float[] g, int d, float eps)
    {
        int rows = x.Length / d;
        var y = new float[x.Length];
        var xhat = new float[x.Length];
        var invStd = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            var xr = x.AsSpan(r * d, d);
            double mean = 0;
            foreach (var v in xr) mean += v;
            mean /= d;
            double variance = 0;
            foreach (var v in xr) variance += (v - mean) * (v - mean);
            variance /= d;
            double inv = 1.0 / Math.Sqrt(variance + eps);
            invStd[r] = (float)inv;
            for (int j = 0; j < d; j++)
            {
                float h = (float)((xr[j] - mean) * inv);
                xhat[r * d + j] = h;
                y[r * d + j] = h * w[j] + b[j];
            }
        }
        var gx = new float[x.Length];
        var gw = new float[d];
        var gb = new float[d];
        var dxhat = new float[d];
        for (int r = 0; r < rows; r++)
        {
            var gr = g.AsSpan(r * d, d);
            var hr = xhat.AsSpan(r * d, d);
            for (int j = 0; j < d; j++)
            {
                gw[j] += gr[j] * hr[j];
                gb[j] += gr[j];
            }
            double sum = 0, dot = 0;
            for (int j = 0; j < d; j++)
            {
                float v = gr[j] * w[j];
                dxhat[j] = v;
                sum += v;
                dot += v * hr[j];
            }
            float meanD = (float)(sum / d), meanDot = (float)(dot / d), inv = invStd[r];
            for (int j = 0; j < d; j++) gx[r * d + j] += inv * (dxhat[j] - meanD - hr[j] * meanDot);
        }
        return (y, gx, gw, gb);
    }

    private static float[] Random(Rng rng, int n, float scale, float shift = 0f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = shift + scale * (2f * rng.NextFloat() - 1f);
        return a;
    }

    [Theory]
    [InlineData(1, 7, 5)]        // fewer than eight rows, a width below one vector
    [InlineData(1, 2048, 128)]   // a GPT block's shape: above the threshold that splits it over the cores
    [InlineData(2, 2048, 128)]
    [InlineData(2, 1001, 37)]    // ragged: rows not a multiple of eight, a width with a scalar tail
    [InlineData(2, 600, 200)]
    public void LayerNorm_matches_the_scalar_form_bit_for_bit(int threads, int rows, int d)
    {
        var rng = new Rng((ulong)(rows * 31 + d));
        var x = Random(rng, rows * d, 3f, 0.5f);
        var w = Random(rng, d, 1f, 1f);
        var b = Random(rng, d, 0.5f);
        var g = Random(rng, rows * d, 1f);
        var (y, gx, gw, gb) = ScalarLayerNorm(x, w, b, g, d, 1e-5f);

        int saved = Kernels.MaxThreads;
        try
        {
            Kernels.MaxThreads = threads;
            var xt = Tensor.FromArray(x, rows, d).RequireGrad();
            var wt = Tensor.FromArray(w).RequireGrad();
            var bt = Tensor.FromArray(b).RequireGrad();
            var yt = Ops.LayerNorm(xt, wt, bt, 1e-5f);
            yt.Backward(Tensor.FromArray(g, rows, d));
            Assert.Equal(y, yt.Data);
            Assert.Equal(gx, xt.Grad!.Data);
            Assert.Equal(gw, wt.Grad!.Data);
            Assert.Equal(gb, bt.Grad!.Data);
        }
        finally
        {
            Kernels.MaxThreads = saved;
        }
    }

    [Theory]
    [InlineData(100)]
    [InlineData(262_147)]   // above the split threshold, not a multiple of a vector
    public void GeluTanh_gives_the_same_bits_on_one_and_two_threads(int n)
    {
        var rng = new Rng((ulong)n);
        var x = Random(rng, n, 6f);
        var g = Random(rng, n, 1f);
        (float[] Y, float[] Gx) Run(int threads)
        {
            int saved = Kernels.MaxThreads;
            try
            {
                Kernels.MaxThreads = threads;
                var xt = Tensor.FromArray(x).RequireGrad();
                var y = Ops.GeluTanh(xt);
                y.Backward(Tensor.FromArray(g));
                return (y.Data, xt.Grad!.Data);
            }
            finally
            {
                Kernels.MaxThreads = saved;
            }
        }
        var one = Run(1);
        var two = Run(2);
        Assert.Equal(one.Y, two.Y);
        Assert.Equal(one.Gx, two.Gx);
        // And it is GELU: ½x(1 + tanh(√(2/π)(x + 0.044715x³))) to float precision.
        for (int i = 0; i < n; i += 97)
        {
            double v = x[i];
            double expected = 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
            Assert.True(Math.Abs(one.Y[i] - expected) <= 1e-5 * (1 + Math.Abs(expected)), $"gelu({v}) = {one.Y[i]}, expected {expected}");
        }
    }
}
