using Reinforce.Autograd;
using Reinforce.Nn.Transformers;
using Reinforce.Nn;
using Reinforce.Tensors;

namespace Reinforce.Tests.Autograd;

/// <summary>The fused causal self-attention: its generation path, padding, causality, and a plain composition of ops as a second opinion.</summary>
public class AttentionTests
{
    private static void AssertClose(float[] expected, ReadOnlySpan<float> actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i])), $"{what}[{i}]: {actual[i]} vs {expected[i]}");
    }

    /// <summary>The rows of positions [from, from + count) of a [B, T, C] tensor.</summary>
    private static float[] Positions(Tensor x, int b, int from, int count)
    {
        int t = x.Shape[1], c = x.Shape[2];
        return x.Data.AsSpan((b * t + from) * c, count * c).ToArray();
    }

    [Fact]
    public void Cached_generation_matches_the_full_forward()
    {
        var rng = new Rng(1);
        const int b = 2, t = 9, c = 12, heads = 3;
        var attn = new CausalSelfAttention(c, heads, rng);
        var x = Tensor.RandomNormal(rng, [b, t, c]);
        using var _ = Graph.NoGrad();
        var full = attn.Forward(x);

        // A prompt of 4 positions at once, then one position at a time.
        var cache = attn.CreateCache(b, capacity: t);
        var outputs = new List<Tensor> { attn.ForwardCached(Ops.Slice(x, 0, 4, axis: 1), cache) };
        for (int i = 4; i < t; i++) outputs.Add(attn.ForwardCached(Ops.Slice(x, i, 1, axis: 1), cache));
        Assert.Equal(t, cache.Length);
        var cached = Ops.Concat(outputs, axis: 1);
        AssertClose(full.Data, cached.Data, 1e-5f, "cached vs full");

        // Truncate back to the prompt and continue with different tokens: the prompt's cache is reused.
        cache.Truncate(4);
        var again = attn.ForwardCached(Ops.Slice(x, 4, 5, axis: 1), cache);
        AssertClose(Positions(full, 0, 4, 5), Positions(again, 0, 0, 5), 1e-5f, "after truncate");
    }

    [Fact]
    public void Gpt_block_cached_generation_matches_the_full_forward()
    {
        var rng = new Rng(2);
        var block = new GptBlock(16, 2, rng);
        var x = Tensor.RandomNormal(rng, [1, 6, 16]);
        using var _ = Graph.NoGrad();
        var full = block.Forward(x);
        var cache = block.Attention.CreateCache(1, 6);
        var parts = Enumerable.Range(0, 6).Select(i => block.ForwardCached(Ops.Slice(x, i, 1, axis: 1), cache)).ToList();
        AssertClose(full.Data, Ops.Concat(parts, axis: 1).Data, 1e-5f, "block cached vs full");
    }

    [Fact]
    public void Left_padding_gives_the_unpadded_result_at_the_real_positions()
    {
        var rng = new Rng(3);
        const int c = 8, heads = 2, pad = 3, len = 5;
        var attn = new CausalSelfAttention(c, heads, rng);
        var real = Tensor.RandomNormal(rng, [1, len, c]);
        var padded = Ops.Concat([Tensor.RandomNormal(rng, [1, pad, c]), real], axis: 1);
        using var _ = Graph.NoGrad();
        var expected = attn.Forward(real);
        var actual = attn.Forward(padded, [pad]);
        AssertClose(expected.Data, Positions(actual, 0, pad, len), 1e-5f, "padded");

        var cache = attn.CreateCache(1, pad + len);
        attn.ForwardCached(Ops.Slice(padded, 0, pad + 2, axis: 1), cache, [pad]);
        var step = attn.ForwardCached(Ops.Slice(padded, pad + 2, 1, axis: 1), cache, [pad]);
        AssertClose(Positions(expected, 0, 2, 1), step.Data, 1e-5f, "padded cached step");
    }

    [Fact]
    public void A_position_never_sees_the_future()
    {
        var rng = new Rng(4);
        var attn = new CausalSelfAttention(8, 2, rng);
        var x = Tensor.RandomNormal(rng, [1, 6, 8]);
        using var _ = Graph.NoGrad();
        var before = attn.Forward(x);
        for (int j = 4 * 8; j < x.Size; j++) x.Data[j] += 10f;   // change positions 4 and 5
        var after = attn.Forward(x);
        Assert.Equal(Positions(before, 0, 0, 4), Positions(after, 0, 0, 4));
        Assert.NotEqual(Positions(before, 0, 4, 2), Positions(after, 0, 4, 2));
    }

    [Fact]
    public void Fused_attention_equals_the_same_computation_composed_from_basic_ops()
    {
        var rng = new Rng(5);
        const int b = 2, t = 5, c = 6, heads = 3;
        var x = Tensor.RandomNormal(rng, [b, t, c]).RequireGrad();
        var wa = Tensor.RandomNormal(rng, [c, 3 * c], 0, 0.5f).RequireGrad();
        var ba = Tensor.RandomNormal(rng, [3 * c], 0, 0.5f).RequireGrad();
        var wp = Tensor.RandomNormal(rng, [c, c], 0, 0.5f).RequireGrad();
        var bp = Tensor.RandomNormal(rng, [c], 0, 0.5f).RequireGrad();

        var fused = Ops.CausalSelfAttention(x, wa, ba, wp, bp, heads);
        var u = Tensor.RandomNormal(rng, [b, t, c]);
        fused.Backward(u);
        float[][] fusedGrads = [x.Grad!.ToArray(), wa.Grad!.ToArray(), ba.Grad!.ToArray(), wp.Grad!.ToArray(), bp.Grad!.ToArray()];
        foreach (var p in new[] { x, wa, ba, wp, bp }) p.Grad = null;

        var composed = Composed(x, wa, ba, wp, bp, heads, new int[b]);
        composed.Backward(u);

        AssertClose(composed.Data, fused.Data, 2e-5f, "y");
        var names = new[] { "x", "c_attn.weight", "c_attn.bias", "c_proj.weight", "c_proj.bias" };
        var tensors = new[] { x, wa, ba, wp, bp };
        for (int i = 0; i < 5; i++) AssertClose(tensors[i].Grad!.Data, fusedGrads[i], 2e-5f, names[i]);
    }

    /// <summary>
    /// The textbook composition of the same attention: split heads with Slice/Reshape/Permute, a mask added before
    /// Softmax (keys after the query, or inside a row's left padding, at −∞), BatchedMatMul; padded query rows
    /// (which attend to nothing in the fused op) are zeroed after the attention.
    /// </summary>
    private static Tensor Composed(Tensor x, Tensor wa, Tensor ba, Tensor wp, Tensor bp, int heads, int[] starts)
    {
        int b = x.Shape[0], t = x.Shape[1], c = x.Shape[2], hd = c / heads;
        var qkv = Ops.Affine(x, wa, ba);
        Tensor Heads(int part) => Ops.Permute(Ops.Reshape(Ops.Slice(qkv, part * c, c), b, t, heads, hd), 0, 2, 1, 3);
        var (q, k, v) = (Heads(0), Heads(1), Heads(2));
        var scores = Ops.MulScalar(Ops.BatchedMatMul(q, k, transposeB: true), 1f / MathF.Sqrt(hd));
        var mask = Tensor.Zeros(b, heads, t, t);
        var live = Tensor.Zeros(b, heads, t, hd);
        for (int bi = 0; bi < b; bi++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < t; i++)
                {
                    bool padded = i < starts[bi];
                    for (int j = 0; j < t; j++)
                        if (!padded && (j > i || j < starts[bi])) mask.Data[((bi * heads + h) * t + i) * t + j] = float.NegativeInfinity;
                    if (!padded) live.Data.AsSpan(((bi * heads + h) * t + i) * hd, hd).Fill(1f);
                }
        var att = Ops.Mul(Ops.BatchedMatMul(Ops.Softmax(Ops.Add(scores, mask)), v), live);
        var merged = Ops.Reshape(Ops.Permute(att, 0, 2, 1, 3), b, t, c);
        return Ops.Affine(merged, wp, bp);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Fused_attention_equals_the_composition_on_a_larger_padded_case_on_one_or_two_threads(int threads)
    {
        int saved = Kernels.MaxThreads;
        Kernels.MaxThreads = threads;
        try
        {
            var rng = new Rng(9);
            const int b = 3, t = 13, c = 32, heads = 4;
            int[] starts = [0, 4, 12];
            Tensor P(params int[] shape) => Tensor.RandomNormal(rng, shape, 0f, 0.3f).RequireGrad();
            var x = P(b, t, c); var wa = P(c, 3 * c); var ba = P(3 * c); var wp = P(c, c); var bp = P(c);
            var up = Tensor.RandomNormal(rng, [b, t, c]);
            Tensor[] inputs = [x, wa, ba, wp, bp];
            (float[] Y, float[][] G) Run(Func<Tensor> f)
            {
                foreach (var p in inputs) p.Grad = null;
                var y = f();
                var values = y.Data.ToArray();
                y.Backward(up);
                return (values, [.. inputs.Select(p => p.Grad!.Data.ToArray())]);
            }
            var reference = Run(() => Composed(x, wa, ba, wp, bp, heads, starts));
            var fused = Run(() => Ops.CausalSelfAttention(x, wa, ba, wp, bp, heads, starts));
            AssertClose(reference.Y, fused.Y, 1e-5f, "y");
            for (int i = 0; i < inputs.Length; i++) AssertClose(reference.G[i], fused.G[i], 1e-4f, $"gradient {i}");
        }
        finally { Kernels.MaxThreads = saved; }
    }

    [Fact]
    public void Cache_misuse_is_reported_clearly()
    {
        var rng = new Rng(6);
        var attn = new CausalSelfAttention(8, 2, rng);
        var cache = attn.CreateCache(1, 3);
        var x = Tensor.RandomNormal(rng, [1, 2, 8]);
        var e = Assert.Throws<InvalidOperationException>(() => attn.ForwardCached(x, cache));
        Assert.Contains("NoGrad", e.Message, StringComparison.Ordinal);
        using var _ = Graph.NoGrad();
        attn.ForwardCached(x, cache);
        var full = Assert.Throws<InvalidOperationException>(() => attn.ForwardCached(x, cache));
        Assert.Contains("capacity 3", full.Message, StringComparison.Ordinal);
        var wrongBatch = Assert.Throws<ArgumentException>(() => attn.ForwardCached(Tensor.Zeros(2, 1, 8), attn.CreateCache(1, 3)));
        Assert.Contains("batch", wrongBatch.Message, StringComparison.Ordinal);
    }
}
