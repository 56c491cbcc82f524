using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Tensors;

namespace Reinforce.Autograd;

public static partial class Ops
{
    // Below this many multiply-adds in the attention core, threads cost more than they save: a training step of the demo
    // GPT (about 16M per layer) spreads its heads over the cores; a sampling step (one new position per row, a few
    // hundred thousand) stays on one thread, as dispatching it would cost more than the arithmetic.
    private const long ParallelAttentionWork = 1 << 20;

    /// <summary>
    /// Multi-head causal self-attention in GPT-2's layout, fused into one operation with its own backward:
    /// qkv = x·Wₐ + bₐ on x [B, T, C] (Wₐ [C, 3C], bₐ [3C]); q | k | v are the three C-wide parts of the last axis, each
    /// split into <paramref name="heads"/> heads of C/heads; every query attends to the keys at its own and earlier
    /// positions with softmax(q·kᵀ/√(C/heads)); the heads' outputs are merged back to [B, T, C] and projected:
    /// y = a·Wₚ + bₚ (Wₚ [C, C], bₚ [C]).
    /// </summary>
    /// <remarks>
    /// <para><c>sequenceStarts</c> (optional, one per batch row) marks left padding: positions before a row's start are
    /// attended to by no query, and the padding positions' own outputs (before the projection) are zero.</para>
    /// <para>With a <paramref name="cache"/> (generation, no gradient: call it inside <see cref="Graph.NoGrad"/>), x holds
    /// the next positions only; their keys and values are appended to the cache and each new query attends to everything
    /// cached up to its own position. The result for those positions equals the full forward's.</para>
    /// <para>Per (batch, head) the core is a small blocked product: scores = q·kᵀ over the block, masked softmax,
    /// probabilities·v; heads run in parallel, each writing only its own outputs, so the bits do not depend on the
    /// thread count. The backward keeps the probabilities [B·heads, T, T] and the per-head q, k, v of the forward.</para>
    /// </remarks>
    public static Tensor CausalSelfAttention(Tensor x, Tensor attnWeight, Tensor attnBias, Tensor projWeight, Tensor projBias,
        int heads, ReadOnlySpan<int> sequenceStarts = default, KvCache? cache = null)
    {
        var (b, t, c, hd) = AttentionShapes("CausalSelfAttention", x, attnWeight, attnBias, projWeight, projBias, heads);
        Tensor[] inputs = [x, attnWeight, attnBias, projWeight, projBias];
        bool wantsGrad = Graph.IsRecording && inputs.Any(i => i.RequiresGrad);
        int past = 0;
        if (cache is not null)
        {
            if (wantsGrad)
                throw new InvalidOperationException("CausalSelfAttention: the cached path is for generation and records no gradient; call it inside `using (Graph.NoGrad())`, or leave out the cache for training.");
            if (cache.Batch != b || cache.Heads != heads || cache.HeadDim != hd)
                throw new ArgumentException($"CausalSelfAttention: the cache holds batch {cache.Batch}, {cache.Heads} heads of {cache.HeadDim}, but the input {Tensor.ShapeString(x.Shape)} with {heads} heads needs batch {b}, heads of {hd}.");
            past = cache.Length;
            if (past + t > cache.Capacity)
                throw new InvalidOperationException($"CausalSelfAttention: {past} cached + {t} new positions exceed the cache capacity {cache.Capacity}; create a larger KvCache or Reset it.");
        }
        int total = past + t;
        int[] starts = SequenceStarts(sequenceStarts, b, total);
        int rows = b * t, c3 = 3 * c, bh = b * heads, block = t * hd;
        float scale = 1f / MathF.Sqrt(hd);

        var qkv = TensorArena.AllocateUninitialized(rows * c3);   // the product overwrites it
        Kernels.MatMul(x.Data, attnWeight.Data, qkv, rows, c, c3);
        Kernels.AddRowToRows(attnBias.Data, qkv, rows);

        // Per head, contiguous blocks of q [T, hd]; keys and values [total, hd] either in the cache (laid out
        // [B, heads, capacity, hd], so one head's keys are contiguous) or, without one, in blocks like q's.
        var q = TensorArena.AllocateUninitialized(bh * block);   // every head copies in every position of its block (as keys and values without a cache)
        float[] keys = cache?.Keys ?? TensorArena.AllocateUninitialized(bh * block), values = cache?.Values ?? TensorArena.AllocateUninitialized(bh * block);
        int kvStride = cache?.Capacity * hd ?? block;
        var probs = TensorArena.Allocate(bh * t * total);
        var merged = TensorArena.AllocateUninitialized(rows * c);   // every head writes its columns of every row
        ForEachHead(bh, (long)t * total * hd, [BypassReadyToRun] (head) =>
        {
            int bi = head / heads, h = head % heads, kv = head * kvStride;
            for (int i = 0; i < t; i++)
            {
                int src = (bi * t + i) * c3 + h * hd, dst = kv + (past + i) * hd;
                qkv.AsSpan(src, hd).CopyTo(q.AsSpan(head * block + i * hd, hd));
                qkv.AsSpan(src + c, hd).CopyTo(keys.AsSpan(dst, hd));
                qkv.AsSpan(src + 2 * c, hd).CopyTo(values.AsSpan(dst, hd));
            }
            var output = TensorArena.Allocate(block);
            Attend(q.AsSpan(head * block, block), keys.AsSpan(kv, total * hd), values.AsSpan(kv, total * hd), t, total, past, starts[bi], hd, scale,
                probs.AsSpan(head * t * total, t * total), output);
            for (int i = 0; i < t; i++) output.AsSpan(i * hd, hd).CopyTo(merged.AsSpan((bi * t + i) * c + h * hd, hd));
        });
        if (cache is not null) cache.Length = total;

        var y = Tensor.Uninitialized(x.Shape);
        Kernels.MatMul(merged, projWeight.Data, y.Data, rows, c, c);
        Kernels.AddRowToRows(projBias.Data, y.Data, rows);
        if (!wantsGrad) return y;

        return Graph.Record(y, "CausalSelfAttention", inputs, () =>
        {
            var g = y.Grad!.Data;
            // y = a·Wₚ + bₚ
            var dMerged = TensorArena.AllocateUninitialized(rows * c);   // the product overwrites it
            Kernels.MatMul(g, projWeight.Data, dMerged, rows, c, c, transposeA: false, transposeB: true);
            if (projWeight.RequiresGrad) Kernels.MatMul(merged, g, projWeight.GradBuffer(), c, rows, c, transposeA: true, transposeB: false, accumulate: true);
            if (projBias.RequiresGrad) Kernels.SumRows(g, projBias.GradBuffer(), c, accumulate: true);

            // Per (batch, head): the gradients of q, k, v land in their columns of dqkv.
            int tt = t * t;
            var dqkv = TensorArena.AllocateUninitialized(rows * c3);     // every head writes its columns of every row
            ForEachHead(bh, 2L * tt * hd, [BypassReadyToRun] (head) =>
            {
                int bi = head / heads, h = head % heads, at = head * block;
                var dO = TensorArena.Allocate(block);
                for (int i = 0; i < t; i++) dMerged.AsSpan((bi * t + i) * c + h * hd, hd).CopyTo(dO.AsSpan(i * hd, hd));
                var p = probs.AsSpan(head * tt, tt);
                var dV = TensorArena.Allocate(block);
                var dP = TensorArena.Allocate(tt);
                var dQ = TensorArena.Allocate(block);
                var dK = TensorArena.Allocate(block);
                // dV = Pᵀ dO ; dP = dO Vᵀ
                Kernels.MatMul(p, dO, dV, t, t, hd, transposeA: true, transposeB: false);
                Kernels.MatMul(dO, values.AsSpan(at, block), dP, t, hd, t, transposeA: false, transposeB: true);
                // dS = P ∘ (dP − Σⱼ P dP) · scale (masked and padded entries have P = 0, so dS = 0 there)
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
                Kernels.MatMul(dP, keys.AsSpan(at, block), dQ, t, t, hd, transposeA: false, transposeB: false);
                Kernels.MatMul(dP, q.AsSpan(at, block), dK, t, t, hd, transposeA: true, transposeB: false);
                for (int i = 0; i < t; i++)
                {
                    int dst = (bi * t + i) * c3 + h * hd;
                    dQ.AsSpan(i * hd, hd).CopyTo(dqkv.AsSpan(dst, hd));
                    dK.AsSpan(i * hd, hd).CopyTo(dqkv.AsSpan(dst + c, hd));
                    dV.AsSpan(i * hd, hd).CopyTo(dqkv.AsSpan(dst + 2 * c, hd));
                }
                foreach (var spent in (ReadOnlySpan<float[]>)[dO, dV, dP, dQ, dK]) TensorArena.Release(spent);
            });

            // qkv = x·Wₐ + bₐ
            if (x.RequiresGrad)
            {
                var gx = x.GradBufferToSet(out bool fresh);
                Kernels.MatMul(dqkv, attnWeight.Data, gx, rows, c3, c, transposeA: false, transposeB: true, accumulate: !fresh);
            }
            if (attnWeight.RequiresGrad) Kernels.MatMul(x.Data, dqkv, attnWeight.GradBuffer(), c, rows, c3, transposeA: true, transposeB: false, accumulate: true);
            if (attnBias.RequiresGrad) Kernels.SumRows(dqkv, attnBias.GradBuffer(), c3, accumulate: true);
            // The backward runs once: the forward's saved buffers and this pass's scratch go back to the step's arena.
            foreach (var spent in (ReadOnlySpan<float[]>)[dMerged, dqkv, qkv, q, keys, values, probs, merged]) TensorArena.Release(spent);
        });
    }

    /// <summary>
    /// The attention core of one (batch, head): <paramref name="tq"/> queries at positions past … past + tq − 1 against
    /// <paramref name="tk"/> keys and values (rows of <paramref name="k"/>, <paramref name="v"/>). Scores q·kᵀ as one
    /// blocked product into <paramref name="p"/> [tq, tk]; for each query the softmax over keys start … its position
    /// (scaled, row maximum subtracted in one scalar pass, the masked keys set to −∞ so one exponential over the block
    /// zeroes them); then <paramref name="output"/> [tq, hd] = P·v. A query inside the padding (position &lt; start)
    /// gets an all-zero row and outputs zero.
    /// </summary>
    [BypassReadyToRun]
    private static void Attend(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int tq, int tk, int past, int start,
        int hd, float scale, Span<float> p, Span<float> output)
    {
        Kernels.MatMul(q, k, p, tq, hd, tk, transposeA: false, transposeB: true);
        for (int i = 0; i < tq; i++)
        {
            var row = p.Slice(i * tk, tk);
            int position = past + i;
            if (position < start)
            {
                row.Fill(float.NegativeInfinity);
                continue;
            }
            float max = float.NegativeInfinity;
            for (int j = start; j <= position; j++) max = MathF.Max(max, row[j] * scale);
            for (int j = start; j <= position; j++) row[j] = row[j] * scale - max;
            row[..start].Fill(float.NegativeInfinity);
            row[(position + 1)..].Fill(float.NegativeInfinity);
        }
        TensorPrimitives.Exp(p, p);
        for (int i = 0; i < tq; i++)
        {
            int position = past + i;
            if (position < start) continue;
            var live = p.Slice(i * tk + start, position + 1 - start);
            TensorPrimitives.Multiply(live, 1f / TensorPrimitives.Sum(live), live);
        }
        Kernels.MatMul(p, v, output, tq, tk, hd, transposeA: false, transposeB: false);
    }

    private static (int B, int T, int C, int HeadDim) AttentionShapes(string name, Tensor x, Tensor attnWeight, Tensor attnBias,
        Tensor projWeight, Tensor projBias, int heads)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(attnWeight);
        ArgumentNullException.ThrowIfNull(attnBias);
        ArgumentNullException.ThrowIfNull(projWeight);
        ArgumentNullException.ThrowIfNull(projBias);
        if (x.Rank != 3) throw new ArgumentException($"{name}: input shape {Tensor.ShapeString(x.Shape)} must be [batch, time, channels].");
        int c = x.Shape[2];
        if (heads <= 0 || c % heads != 0)
            throw new ArgumentException($"{name}: {heads} heads do not divide the {c} channels of input shape {Tensor.ShapeString(x.Shape)}.");
        void Expect(Tensor w, int[] shape, string what)
        {
            if (!Tensor.SameShape(w.Shape, shape))
                throw new ArgumentException($"{name}: {what} shape {Tensor.ShapeString(w.Shape)} does not fit input shape {Tensor.ShapeString(x.Shape)}: it must be {Tensor.ShapeString(shape)}.");
        }
        Expect(attnWeight, [c, 3 * c], "c_attn weight");
        Expect(attnBias, [3 * c], "c_attn bias");
        Expect(projWeight, [c, c], "c_proj weight");
        Expect(projBias, [c], "c_proj bias");
        return (x.Shape[0], x.Shape[1], c, c / heads);
    }

    private static int[] SequenceStarts(ReadOnlySpan<int> given, int batch, int length)
    {
        if (given.IsEmpty) return new int[batch];
        if (given.Length != batch)
            throw new ArgumentException($"CausalSelfAttention: {given.Length} sequence starts for a batch of {batch}; give one per batch row.");
        foreach (var s in given)
            if (s < 0 || s > length) throw new ArgumentOutOfRangeException(nameof(given), $"CausalSelfAttention: sequence start {s} is outside [0, {length}].");
        return given.ToArray();
    }

    /// <summary>
    /// Runs <paramref name="body"/> for every (batch, head), on up to <see cref="Kernels.MaxThreads"/> threads in
    /// contiguous chunks when the total work is large enough to pay for the threads. Each index writes only its own
    /// outputs, so the result does not depend on scheduling.
    /// </summary>
    private static void ForEachHead(int count, long workPerIndex, Action<int> body) =>
        Kernels.ForRanges(count, workPerIndex, (from, to) =>
        {
            for (int i = from; i < to; i++) body(i);
        }, minimumWork: ParallelAttentionWork);
}
