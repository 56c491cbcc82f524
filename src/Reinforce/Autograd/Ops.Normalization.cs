using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime;
using Reinforce.Tensors;

namespace Reinforce.Autograd;

public static partial class Ops
{
    /// <summary>
    /// Layer normalisation over the last dimension (PyTorch's <c>layer_norm</c>): each row is shifted to mean 0 and
    /// scaled by 1/√(var + eps) with the biased variance, then y = x̂·weight + bias (weight and bias [D], either may be null).
    /// One fused operation: the backward uses the saved x̂ and 1/σ of each row.
    /// </summary>
    /// <remarks>
    /// Each row's statistics are sums in double taken in order (mean, then the centred variance); rows are independent,
    /// so large inputs are split over the cores by rows, and eight rows are summed side by side so the additions of one
    /// row do not wait on each other. The weight and bias gradients are sums over the rows in order, vectorised across
    /// columns. Every element is the same arithmetic in the same order whatever the thread count.
    /// </remarks>
    public static Tensor LayerNorm(Tensor x, Tensor? weight, Tensor? bias, float eps = 1e-5f)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 1) throw new ArgumentException("LayerNorm: a scalar has nothing to normalise.");
        int d = x.LastDim, rows = x.Rows;
        if (weight is not null && (weight.Rank != 1 || weight.Size != d))
            throw new ArgumentException($"LayerNorm: weight shape {Tensor.ShapeString(weight.Shape)} does not match input shape {Tensor.ShapeString(x.Shape)}: it must be [{d}].");
        if (bias is not null && (bias.Rank != 1 || bias.Size != d))
            throw new ArgumentException($"LayerNorm: bias shape {Tensor.ShapeString(bias.Shape)} does not match input shape {Tensor.ShapeString(x.Shape)}: it must be [{d}].");
        var y = Tensor.Uninitialized(x.Shape);
        var xhat = TensorArena.AllocateUninitialized(x.Size);
        var invStd = TensorArena.AllocateUninitialized(rows);
        var xd = x.Data;
        var w = weight?.Data;
        var b = bias?.Data;
        Kernels.ForRanges(rows, 6L * d, (from, to) => LayerNormRows(xd, y.Data, xhat, invStd, w, b, d, eps, from, to));
        var inputs = new List<Tensor> { x };
        if (weight is not null) inputs.Add(weight);
        if (bias is not null) inputs.Add(bias);
        return Graph.Record(y, "LayerNorm", [.. inputs], [BypassReadyToRun] () =>
        {
            var g = y.Grad!.Data;
            if (weight is not null && weight.RequiresGrad || bias is not null && bias.RequiresGrad)
            {
                var gw = weight is not null && weight.RequiresGrad ? weight.GradBuffer() : default;
                var gb = bias is not null && bias.RequiresGrad ? bias.GradBuffer() : default;
                for (int r = 0; r < rows; r++)
                {
                    var gr = g.AsSpan(r * d, d);
                    // gw += g·x̂ (a product, then a sum: TensorPrimitives.MultiplyAdd does not fuse them), gb += g.
                    if (!gw.IsEmpty) TensorPrimitives.MultiplyAdd(gr, xhat.AsSpan(r * d, d), gw, gw);
                    if (!gb.IsEmpty) TensorPrimitives.Add(gb, gr, gb);
                }
            }
            if (x.RequiresGrad)
            {
                x.GradBufferToSet(out bool fresh);
                var gx = x.Grad!.Data;
                Kernels.ForRanges(rows, 8L * d, (from, to) => LayerNormBackwardRows(g, xhat, invStd, w, gx, d, from, to, set: fresh));
            }
            foreach (var spent in (ReadOnlySpan<float[]?>)[xhat, invStd]) TensorArena.Release(spent);
        });
    }

    /// <summary>Rows [from, to) of the forward pass: statistics, x̂ and y.</summary>
    [BypassReadyToRun]
    private static void LayerNormRows(float[] x, float[] y, float[] xhat, float[] invStd, float[]? w, float[]? b, int d, float eps, int from, int to)
    {
        Span<double> mean = stackalloc double[StatisticsRows], inv = stackalloc double[StatisticsRows];
        for (int r = from; r < to; r += StatisticsRows)
        {
            int count = Math.Min(StatisticsRows, to - r);
            RowMeansAndInverseDeviations(x, r, count, d, eps, mean, inv);
            for (int k = 0; k < count; k++)
            {
                int row = r + k;
                invStd[row] = (float)inv[k];
                NormalizeRow(x.AsSpan(row * d, d), mean[k], inv[k], w, b, xhat.AsSpan(row * d, d), y.AsSpan(row * d, d));
            }
        }
    }

    /// <summary>
    /// The mean and 1/√(var + eps) of up to <see cref="StatisticsRows"/> rows starting at <paramref name="first"/>, each
    /// summed in double in order (two passes: the mean, then the centred variance), the rows side by side so that their
    /// additions overlap (each row's sum is a chain of dependent additions).
    /// </summary>
    [BypassReadyToRun]
    private static void RowMeansAndInverseDeviations(float[] x, int first, int count, int d, float eps, Span<double> mean, Span<double> inv)
    {
        if (count == StatisticsRows && d > 0)
        {
            ref float r0 = ref x[first * d];
            ref float r1 = ref Unsafe.Add(ref r0, d); ref float r2 = ref Unsafe.Add(ref r0, 2 * d); ref float r3 = ref Unsafe.Add(ref r0, 3 * d);
            ref float r4 = ref Unsafe.Add(ref r0, 4 * d); ref float r5 = ref Unsafe.Add(ref r0, 5 * d); ref float r6 = ref Unsafe.Add(ref r0, 6 * d);
            ref float r7 = ref Unsafe.Add(ref r0, 7 * d);
            _ = x[(first + StatisticsRows) * d - 1];   // the block lies inside x
            double m0 = 0, m1 = 0, m2 = 0, m3 = 0, m4 = 0, m5 = 0, m6 = 0, m7 = 0;
            for (int j = 0; j < d; j++)
            {
                m0 += Unsafe.Add(ref r0, j); m1 += Unsafe.Add(ref r1, j); m2 += Unsafe.Add(ref r2, j); m3 += Unsafe.Add(ref r3, j);
                m4 += Unsafe.Add(ref r4, j); m5 += Unsafe.Add(ref r5, j); m6 += Unsafe.Add(ref r6, j); m7 += Unsafe.Add(ref r7, j);
            }
            m0 /= d; m1 /= d; m2 /= d; m3 /= d; m4 /= d; m5 /= d; m6 /= d; m7 /= d;
            double v0 = 0, v1 = 0, v2 = 0, v3 = 0, v4 = 0, v5 = 0, v6 = 0, v7 = 0;
            for (int j = 0; j < d; j++)
            {
                double e0 = Unsafe.Add(ref r0, j) - m0, e1 = Unsafe.Add(ref r1, j) - m1, e2 = Unsafe.Add(ref r2, j) - m2, e3 = Unsafe.Add(ref r3, j) - m3;
                double e4 = Unsafe.Add(ref r4, j) - m4, e5 = Unsafe.Add(ref r5, j) - m5, e6 = Unsafe.Add(ref r6, j) - m6, e7 = Unsafe.Add(ref r7, j) - m7;
                v0 += e0 * e0; v1 += e1 * e1; v2 += e2 * e2; v3 += e3 * e3; v4 += e4 * e4; v5 += e5 * e5; v6 += e6 * e6; v7 += e7 * e7;
            }
            (mean[0], mean[1], mean[2], mean[3], mean[4], mean[5], mean[6], mean[7]) = (m0, m1, m2, m3, m4, m5, m6, m7);
            inv[0] = 1.0 / Math.Sqrt(v0 / d + eps); inv[1] = 1.0 / Math.Sqrt(v1 / d + eps);
            inv[2] = 1.0 / Math.Sqrt(v2 / d + eps); inv[3] = 1.0 / Math.Sqrt(v3 / d + eps);
            inv[4] = 1.0 / Math.Sqrt(v4 / d + eps); inv[5] = 1.0 / Math.Sqrt(v5 / d + eps);
            inv[6] = 1.0 / Math.Sqrt(v6 / d + eps); inv[7] = 1.0 / Math.Sqrt(v7 / d + eps);
            return;
        }
        for (int k = 0; k < count; k++)
        {
            var xr = x.AsSpan((first + k) * d, d);
            double m = 0;
            foreach (var v in xr) m += v;
            m /= d;
            double variance = 0;
            foreach (var v in xr) variance += (v - m) * (v - m);
            mean[k] = m;
            inv[k] = 1.0 / Math.Sqrt(variance / d + eps);
        }
    }

    /// <summary>Rows whose statistics are summed side by side.</summary>
    private const int StatisticsRows = 8;

    /// <summary>x̂ = (float)((x − mean)·inv) in double, y = x̂·w + b in float (w = 1, b = 0 when absent).</summary>
    [BypassReadyToRun]
    private static void NormalizeRow(ReadOnlySpan<float> xr, double mean, double inv, float[]? w, float[]? b, Span<float> hr, Span<float> yr)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vm = Vector512.Create(mean);
            var vi = Vector512.Create(inv);
            for (; j <= xr.Length - Vector512<float>.Count; j += Vector512<float>.Count)
            {
                var (lo, hi) = Vector512.Widen(Vector512.Create(xr[j..]));
                var h = Vector512.Narrow((lo - vm) * vi, (hi - vm) * vi);
                h.CopyTo(hr[j..]);
                var v = w is null ? h : h * Vector512.Create(w.AsSpan(j));
                // + 0 without a bias, as the scalar form adds 0f (it turns a −0 into +0).
                v += b is null ? Vector512<float>.Zero : Vector512.Create(b.AsSpan(j));
                v.CopyTo(yr[j..]);
            }
        }
        for (; j < xr.Length; j++)
        {
            float h = (float)((xr[j] - mean) * inv);
            hr[j] = h;
            yr[j] = h * (w is null ? 1f : w[j]) + (b is null ? 0f : b[j]);
        }
    }

    /// <summary>Rows [from, to) of dx += (1/σ)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), dx̂ = g·weight.</summary>
    [BypassReadyToRun]
    private static void LayerNormBackwardRows(float[] g, float[] xhat, float[] invStd, float[]? w, float[] gx, int d, int from, int to, bool set)
    {
        float[]? rented = d > 2048 ? new float[d] : null;
        Span<float> dxhat = rented ?? stackalloc float[d];
        for (int r = from; r < to; r++)
        {
            var gr = g.AsSpan(r * d, d);
            var hr = xhat.AsSpan(r * d, d);
            double sum = 0, dot = 0;
            for (int j = 0; j < d; j++)
            {
                float v = gr[j] * (w is null ? 1f : w[j]);
                dxhat[j] = v;
                sum += v;
                dot += v * hr[j];
            }
            float meanD = (float)(sum / d), meanDot = (float)(dot / d), inv = invStd[r];
            var gxr = gx.AsSpan(r * d, d);
            int k = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                var vInv = Vector512.Create(inv);
                var vMeanD = Vector512.Create(meanD);
                var vMeanDot = Vector512.Create(meanDot);
                for (; k <= d - Vector512<float>.Count; k += Vector512<float>.Count)
                {
                    var step = vInv * (Vector512.Create(dxhat[k..]) - vMeanD - Vector512.Create(hr[k..]) * vMeanDot);
                    (set ? step : Vector512.Create(gxr[k..]) + step).CopyTo(gxr[k..]);
                }
            }
            for (; k < d; k++)
            {
                float step = inv * (dxhat[k] - meanD - hr[k] * meanDot);
                gxr[k] = set ? step : gxr[k] + step;
            }
        }
    }
}
