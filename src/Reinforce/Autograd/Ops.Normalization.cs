using Reinforce.Tensors;

namespace Reinforce.Autograd;

public static partial class Ops
{
    /// <summary>
    /// Layer normalisation over the last dimension (PyTorch's <c>layer_norm</c>): each row is shifted to mean 0 and
    /// scaled by 1/√(var + eps) with the biased variance, then y = x̂·weight + bias (weight and bias [D], either may be null).
    /// One fused operation: the backward uses the saved x̂ and 1/σ of each row.
    /// </summary>
    public static Tensor LayerNorm(Tensor x, Tensor? weight, Tensor? bias, float eps = 1e-5f)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 1) throw new ArgumentException("LayerNorm: a scalar has nothing to normalise.");
        int d = x.LastDim, rows = x.Rows;
        if (weight is not null && (weight.Rank != 1 || weight.Size != d))
            throw new ArgumentException($"LayerNorm: weight shape {Tensor.ShapeString(weight.Shape)} does not match input shape {Tensor.ShapeString(x.Shape)}: it must be [{d}].");
        if (bias is not null && (bias.Rank != 1 || bias.Size != d))
            throw new ArgumentException($"LayerNorm: bias shape {Tensor.ShapeString(bias.Shape)} does not match input shape {Tensor.ShapeString(x.Shape)}: it must be [{d}].");
        var y = Tensor.Zeros(x.Shape);
        var xhat = TensorArena.Allocate(x.Size);
        var invStd = TensorArena.Allocate(rows);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Data.AsSpan(r * d, d);
            // Two passes in double: the mean first, then the centred variance (no catastrophic cancellation).
            double mean = 0;
            foreach (var v in xr) mean += v;
            mean /= d;
            double variance = 0;
            foreach (var v in xr) variance += (v - mean) * (v - mean);
            variance /= d;
            double inv = 1.0 / Math.Sqrt(variance + eps);
            invStd[r] = (float)inv;
            var hr = xhat.AsSpan(r * d, d);
            var yr = y.Data.AsSpan(r * d, d);
            for (int j = 0; j < d; j++)
            {
                float h = (float)((xr[j] - mean) * inv);
                hr[j] = h;
                yr[j] = h * (weight is null ? 1f : weight.Data[j]) + (bias is null ? 0f : bias.Data[j]);
            }
        }
        var inputs = new List<Tensor> { x };
        if (weight is not null) inputs.Add(weight);
        if (bias is not null) inputs.Add(bias);
        return Graph.Record(y, "LayerNorm", [.. inputs], () =>
        {
            var g = y.Grad!.Data;
            var gw = weight is not null && weight.RequiresGrad ? weight.GradBuffer() : default;
            var gb = bias is not null && bias.RequiresGrad ? bias.GradBuffer() : default;
            var gx = x.RequiresGrad ? x.GradBuffer() : default;
            var dxhat = gx.IsEmpty ? null : TensorArena.Allocate(d);
            for (int r = 0; r < rows; r++)
            {
                var gr = g.AsSpan(r * d, d);
                var hr = xhat.AsSpan(r * d, d);
                for (int j = 0; j < d; j++)
                {
                    if (!gw.IsEmpty) gw[j] += gr[j] * hr[j];
                    if (!gb.IsEmpty) gb[j] += gr[j];
                }
                if (dxhat is null) continue;
                // dx = (1/σ)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), dx̂ = g·weight
                double sum = 0, dot = 0;
                for (int j = 0; j < d; j++)
                {
                    float v = gr[j] * (weight is null ? 1f : weight.Data[j]);
                    dxhat[j] = v;
                    sum += v;
                    dot += v * hr[j];
                }
                float meanD = (float)(sum / d), meanDot = (float)(dot / d), inv = invStd[r];
                var gxr = gx.Slice(r * d, d);
                for (int j = 0; j < d; j++) gxr[j] += inv * (dxhat[j] - meanD - hr[j] * meanDot);
            }
            foreach (var spent in (ReadOnlySpan<float[]?>)[dxhat, xhat, invStd]) TensorArena.Release(spent);
        });
    }
}
