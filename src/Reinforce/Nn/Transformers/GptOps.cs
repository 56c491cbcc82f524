using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Reinforce.Autograd;
using Reinforce.Tensors;

namespace Reinforce.Nn.Transformers;

/// <summary>
/// The two operations of the GPT's training step that dominate its time outside the large matrix products, written
/// for speed: causal self-attention with every per-head product done as a small blocked matrix multiply (instead of
/// one dot product or axpy per query–key pair), heads spread over the cores; and GELU in SIMD. Same mathematics and
/// parameter layout as <see cref="Ops.CausalSelfAttention"/> and <see cref="Ops.GeluTanh"/> (checked against them and
/// against PyTorch in the tests).
/// </summary>
internal static class GptOps
{
    /// <summary>
    /// Multi-head causal self-attention in GPT-2's layout: qkv = x·Wₐ + bₐ (x [B, T, C], Wₐ [C, 3C]); per head,
    /// softmax(q·kᵀ/√(C/heads)) over the keys at the same and earlier positions, times v; heads merged and projected,
    /// y = a·Wₚ + bₚ (Wₚ [C, C]).
    /// </summary>
    public static Tensor CausalSelfAttention(Tensor x, Tensor attnWeight, Tensor attnBias, Tensor projWeight, Tensor projBias, int heads)
    {
        if (x.Rank != 3) throw new ArgumentException($"GptOps.CausalSelfAttention: input shape {Tensor.ShapeString(x.Shape)} must be [batch, time, channels].");
        int b = x.Shape[0], t = x.Shape[1], c = x.Shape[2];
        if (heads < 1 || c % heads != 0) throw new ArgumentException($"GptOps.CausalSelfAttention: {heads} heads do not divide {c} channels.");
        if (attnWeight.Rank != 2 || attnWeight.Shape[0] != c || attnWeight.Shape[1] != 3 * c || attnBias.Size != 3 * c
            || projWeight.Rank != 2 || projWeight.Shape[0] != c || projWeight.Shape[1] != c || projBias.Size != c)
            throw new ArgumentException($"GptOps.CausalSelfAttention: weights {Tensor.ShapeString(attnWeight.Shape)}, {Tensor.ShapeString(attnBias.Shape)}, {Tensor.ShapeString(projWeight.Shape)}, {Tensor.ShapeString(projBias.Shape)} do not fit {c} channels (expected [{c}, {3 * c}], [{3 * c}], [{c}, {c}], [{c}]).");
        int hd = c / heads, rows = b * t, c3 = 3 * c, bh = b * heads, tt = t * t;
        float scale = 1f / MathF.Sqrt(hd);
        Tensor[] inputs = [x, attnWeight, attnBias, projWeight, projBias];
        bool keep = Graph.IsRecording && inputs.Any(i => i.RequiresGrad);

        var qkv = new float[rows * c3];
        Kernels.MatMul(x.Data, attnWeight.Data, qkv, rows, c, c3);
        AddRowVector(qkv, attnBias.Data, rows, c3);

        // Per head, contiguous [t, hd] blocks of q, k, v (kept for the backward), and the probabilities [t, t].
        var q = new float[bh * t * hd];
        var k = new float[bh * t * hd];
        var v = new float[bh * t * hd];
        var probs = new float[bh * tt];
        var merged = new float[rows * c];
        ForEachHead(bh, head =>
        {
            int bi = head / heads, h = head % heads, block = head * t * hd;
            for (int i = 0; i < t; i++)
            {
                int src = (bi * t + i) * c3 + h * hd;
                qkv.AsSpan(src, hd).CopyTo(q.AsSpan(block + i * hd, hd));
                qkv.AsSpan(src + c, hd).CopyTo(k.AsSpan(block + i * hd, hd));
                qkv.AsSpan(src + 2 * c, hd).CopyTo(v.AsSpan(block + i * hd, hd));
            }
            var p = probs.AsSpan(head * tt, tt);
            Kernels.MatMul(q.AsSpan(block, t * hd), k.AsSpan(block, t * hd), p, t, hd, t, transposeA: false, transposeB: true);
            // Softmax of each row over the keys at and before it: scale and subtract the row maximum in one scalar pass
            // (the masked keys become −∞), one exponential over the whole block (exp(−∞) = 0 is the causal mask), then
            // normalise. Few calls on short rows: their per-call overhead would cost more than the arithmetic.
            for (int i = 0; i < t; i++)
            {
                var row = p.Slice(i * t, t);
                float max = float.NegativeInfinity;
                for (int j = 0; j <= i; j++) max = MathF.Max(max, row[j] * scale);
                for (int j = 0; j <= i; j++) row[j] = row[j] * scale - max;
                row[(i + 1)..].Fill(float.NegativeInfinity);
            }
            TensorPrimitives.Exp(p, p);
            for (int i = 0; i < t; i++)
            {
                var live = p.Slice(i * t, i + 1);
                TensorPrimitives.Multiply(live, 1f / TensorPrimitives.Sum(live), live);
            }
            var outBlock = new float[t * hd];
            Kernels.MatMul(p, v.AsSpan(block, t * hd), outBlock, t, t, hd, transposeA: false, transposeB: false);
            for (int i = 0; i < t; i++) outBlock.AsSpan(i * hd, hd).CopyTo(merged.AsSpan((bi * t + i) * c + h * hd, hd));
        });

        var y = Tensor.Zeros(x.Shape);
        Kernels.MatMul(merged, projWeight.Data, y.Data, rows, c, c);
        AddRowVector(y.Data, projBias.Data, rows, c);
        if (!keep) return y;

        return Graph.Record(y, "GptOps.CausalSelfAttention", inputs, () =>
        {
            var g = y.Grad!.Data;
            // y = a·Wₚ + bₚ
            var dMerged = new float[rows * c];
            Kernels.MatMul(g, projWeight.Data, dMerged, rows, c, c, transposeA: false, transposeB: true);
            if (projWeight.RequiresGrad) Kernels.MatMul(merged, g, projWeight.GradBuffer(), c, rows, c, transposeA: true, transposeB: false, accumulate: true);
            if (projBias.RequiresGrad) Kernels.SumRows(g, projBias.GradBuffer(), c, accumulate: true);

            var dqkv = new float[rows * c3];
            ForEachHead(bh, head =>
            {
                int bi = head / heads, h = head % heads, block = head * t * hd;
                var dO = new float[t * hd];
                for (int i = 0; i < t; i++) dMerged.AsSpan((bi * t + i) * c + h * hd, hd).CopyTo(dO.AsSpan(i * hd, hd));
                var p = probs.AsSpan(head * tt, tt);
                var dV = new float[t * hd];
                var dP = new float[tt];
                var dQ = new float[t * hd];
                var dK = new float[t * hd];
                // dV = Pᵀ dO ; dP = dO Vᵀ
                Kernels.MatMul(p, dO, dV, t, t, hd, transposeA: true, transposeB: false);
                Kernels.MatMul(dO, v.AsSpan(block, t * hd), dP, t, hd, t, transposeA: false, transposeB: true);
                // dS = P ∘ (dP − Σⱼ P dP) · scale (masked entries have P = 0, so dS = 0 there)
                for (int i = 0; i < t; i++)
                {
                    var pr = p.Slice(i * t, t);
                    var dr = dP.AsSpan(i * t, t);
                    float dot = 0f;
                    for (int j = 0; j <= i; j++) dot += pr[j] * dr[j];
                    for (int j = 0; j <= i; j++) dr[j] = pr[j] * (dr[j] - dot) * scale;
                    dr[(i + 1)..].Clear();
                }
                // dQ = dS K ; dK = dSᵀ Q
                Kernels.MatMul(dP, k.AsSpan(block, t * hd), dQ, t, t, hd, transposeA: false, transposeB: false);
                Kernels.MatMul(dP, q.AsSpan(block, t * hd), dK, t, t, hd, transposeA: true, transposeB: false);
                for (int i = 0; i < t; i++)
                {
                    int dst = (bi * t + i) * c3 + h * hd;
                    dQ.AsSpan(i * hd, hd).CopyTo(dqkv.AsSpan(dst, hd));
                    dK.AsSpan(i * hd, hd).CopyTo(dqkv.AsSpan(dst + c, hd));
                    dV.AsSpan(i * hd, hd).CopyTo(dqkv.AsSpan(dst + 2 * c, hd));
                }
            });

            // qkv = x·Wₐ + bₐ
            if (x.RequiresGrad) Kernels.MatMul(dqkv, attnWeight.Data, x.GradBuffer(), rows, c3, c, transposeA: false, transposeB: true, accumulate: true);
            if (attnWeight.RequiresGrad) Kernels.MatMul(x.Data, dqkv, attnWeight.GradBuffer(), c, rows, c3, transposeA: true, transposeB: false, accumulate: true);
            if (attnBias.RequiresGrad) Kernels.SumRows(dqkv, attnBias.GradBuffer(), c3, accumulate: true);
        });
    }

    /// <summary>
    /// GELU, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))) = x·σ(2√(2/π)(x + 0.044715x³)) (the sigmoid form
    /// keeps precision in the negative tail), in SIMD.
    /// </summary>
    public static Tensor GeluTanh(Tensor x)
    {
        int n = x.Size;
        var s = new float[n];
        var xd = x.Data;
        const float a = 2f * 0.7978845608028654f, bCubic = a * 0.044715f;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var v = Vector256.Create(xd, i);
                (v * (Vector256.Create(a) + Vector256.Create(bCubic) * v * v)).CopyTo(s, i);
            }
        }
        for (; i < n; i++) s[i] = xd[i] * (a + bCubic * xd[i] * xd[i]);
        TensorPrimitives.Sigmoid(s, s);
        var y = Tensor.Zeros(x.Shape);
        TensorPrimitives.Multiply(xd, s, y.Data);
        return Graph.Record(y, "GptOps.GeluTanh", x, () =>
        {
            // dy/dx = s + x·s(1 − s)·(a + 3·bCubic·x²)
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var one = Vector256.Create(1f);
                for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
                {
                    var v = Vector256.Create(xd, j);
                    var sv = Vector256.Create(s, j);
                    var dz = Vector256.Create(a) + Vector256.Create(3f * bCubic) * v * v;
                    var d = sv + v * sv * (one - sv) * dz;
                    (Vector256.Create(gx.Slice(j, Vector256<float>.Count)) + Vector256.Create(g, j) * d).CopyTo(gx.Slice(j, Vector256<float>.Count));
                }
            }
            for (; j < n; j++)
            {
                float v = xd[j], si = s[j];
                gx[j] += g[j] * (si + v * si * (1f - si) * (a + 3f * bCubic * v * v));
            }
        });
    }

    private static void AddRowVector(Span<float> data, ReadOnlySpan<float> row, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
        {
            var dst = data.Slice(r * cols, cols);
            TensorPrimitives.Add(dst, row, dst);
        }
    }

    /// <summary>Runs <paramref name="body"/> for every head, on up to <see cref="Kernels.MaxThreads"/> threads in contiguous chunks.</summary>
    private static void ForEachHead(int count, Action<int> body)
    {
        int threads = Math.Min(Kernels.MaxThreads, count);
        if (threads <= 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        int chunks = threads * 4;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, chunk =>
        {
            int from = (int)((long)chunk * count / chunks), to = (int)((long)(chunk + 1) * count / chunks);
            for (int i = from; i < to; i++) body(i);
        });
    }
}
