using System.Numerics.Tensors;
using Reinforce.Tensors;

namespace Reinforce.Nn.Transformers;

/// <summary>A dense layer's weights as raw arrays: y = x·W (+ b), W stored [in, out] or, when <see cref="OutIn"/>, [out, in].</summary>
internal readonly record struct DenseWeights(float[] Weight, float[]? Bias, int In, int Out, bool OutIn)
{
    /// <summary>y[rows, Out] = x[rows, In] · W + b.</summary>
    public void Apply(ReadOnlySpan<float> x, Span<float> y, int rows)
    {
        Kernels.MatMul(x, Weight, y, rows, In, Out, transposeA: false, transposeB: OutIn);
        if (Bias is null) return;
        for (int r = 0; r < rows; r++)
        {
            var row = y.Slice(r * Out, Out);
            TensorPrimitives.Add(row, Bias, row);
        }
    }
}

/// <summary>One transformer block's weights for inference.</summary>
internal sealed record BlockWeights(
    float[] Ln1Gain, float[] Ln1Bias, DenseWeights Qkv, DenseWeights AttnProj,
    float[] Ln2Gain, float[] Ln2Bias, DenseWeights Fc, DenseWeights FcProj);

/// <summary>A GPT's weights as raw arrays (views of the model's parameters, not copies), for sampling without autograd.</summary>
internal sealed record GptWeights(
    int Vocab, int Dim, int Heads, int Context, float LayerNormEps,
    float[] TokenEmbedding, float[] PositionEmbedding, BlockWeights[] Blocks, float[] FinalGain, float[] FinalBias);

/// <summary>What <see cref="GptInference.Generate"/> produced for each prompt.</summary>
public sealed class Generation
{
    internal Generation(int[][] completions, float[][] logProbs, bool[] stopped)
    {
        Completions = completions;
        LogProbs = logProbs;
        Stopped = stopped;
    }

    /// <summary>The sampled tokens of each completion (the stop token included when it was drawn).</summary>
    public IReadOnlyList<int[]> Completions { get; }

    /// <summary>Each completion token's log-probability under the model's own distribution when it was drawn.</summary>
    public IReadOnlyList<float[]> LogProbs { get; }

    /// <summary>Whether each completion ended with the stop token (rather than running out of tokens or context).</summary>
    public IReadOnlyList<bool> Stopped { get; }
}

/// <summary>
/// Autoregressive sampling with a key/value cache: each new token costs one row through the network, attending to the
/// cached keys and values of the tokens before it, instead of a forward pass over the whole sequence. Prompts of
/// different lengths share a batch (each row keeps its own position), and finished rows leave the batch.
/// </summary>
internal sealed class GptInference
{
    private readonly GptWeights _w;

    public GptInference(GptWeights weights) => _w = weights;

    /// <summary>
    /// Continues each prompt with up to <paramref name="maxNewTokens"/> tokens drawn under <paramref name="options"/>, stopping
    /// a row at <paramref name="stopToken"/> (when ≥ 0) or when the context is full. Draws from <paramref name="rng"/> in row
    /// order at every step, so the same seed gives the same completions.
    /// </summary>
    public Generation Generate(IReadOnlyList<int[]> prompts, int maxNewTokens, SamplingOptions options, Rng rng, int stopToken = -1)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rng);
        options.Validate();
        int n = prompts.Count, d = _w.Dim, ctx = _w.Context, v = _w.Vocab;
        for (int i = 0; i < n; i++)
        {
            if (prompts[i] is null || prompts[i].Length == 0) throw new ArgumentException($"Generate: prompt {i} is empty; give at least one token to continue from.", nameof(prompts));
            if (prompts[i].Length >= ctx) throw new ArgumentException($"Generate: prompt {i} has {prompts[i].Length} tokens, but the context holds {ctx}; shorten the prompt to leave room for a completion.", nameof(prompts));
            foreach (int t in prompts[i]) if ((uint)t >= (uint)v) throw new ArgumentException($"Generate: prompt {i} holds token {t}, outside the vocabulary [0, {v}).", nameof(prompts));
        }
        var completions = new List<int>[n];
        var logProbs = new List<float>[n];
        var stopped = new bool[n];
        for (int i = 0; i < n; i++) { completions[i] = []; logProbs[i] = []; }
        if (n == 0 || maxNewTokens <= 0) return Pack(completions, logProbs, stopped);

        int layers = _w.Blocks.Length;
        // The cache: for each layer and prompt row, keys and values of every position so far, [ctx, d] each.
        var keys = new float[layers][];
        var values = new float[layers][];
        for (int l = 0; l < layers; l++) { keys[l] = new float[n * ctx * d]; values[l] = new float[n * ctx * d]; }

        var active = new List<int>(Enumerable.Range(0, n));
        var position = new int[n];
        var current = new int[n];
        for (int i = 0; i < n; i++) current[i] = prompts[i][0];
        var scratch = new float[v];
        var buffers = new StepBuffers(n, d, _w.Blocks[0].Fc.Out, v, ctx);

        while (active.Count > 0)
        {
            int rows = active.Count;
            var logits = Step(active, position, current, keys, values, buffers);
            var next = new List<int>(rows);
            for (int a = 0; a < rows; a++)
            {
                int row = active[a];
                int pos = position[row];
                position[row] = pos + 1;
                if (pos + 1 < prompts[row].Length)
                {
                    current[row] = prompts[row][pos + 1];   // still reading the prompt
                    next.Add(row);
                    continue;
                }
                int token = TokenSampling.Sample(logits.AsSpan(a * v, v), options, rng, scratch, out float lp);
                completions[row].Add(token);
                logProbs[row].Add(lp);
                current[row] = token;
                if (token == stopToken) { stopped[row] = true; continue; }
                // The next token would sit at position pos + 2; the whole sequence must fit the context.
                if (completions[row].Count >= maxNewTokens || pos + 2 >= ctx) continue;
                next.Add(row);
            }
            active = next;
        }
        return Pack(completions, logProbs, stopped);
    }

    private static Generation Pack(List<int>[] completions, List<float>[] logProbs, bool[] stopped) =>
        new([.. completions.Select(c => c.ToArray())], [.. logProbs.Select(c => c.ToArray())], stopped);

    private sealed class StepBuffers(int n, int d, int hidden, int vocab, int ctx)
    {
        public readonly float[] X = new float[n * d];
        public readonly float[] H = new float[n * d];
        public readonly float[] Qkv = new float[n * 3 * d];
        public readonly float[] Attn = new float[n * d];
        public readonly float[] Proj = new float[n * d];
        public readonly float[] Fc = new float[n * hidden];
        public readonly float[] Logits = new float[n * vocab];
        public readonly float[] Scores = new float[ctx];
    }

    /// <summary>One token for each active row: writes its key and value into the cache and returns the next-token logits [rows, vocab].</summary>
    private float[] Step(List<int> active, int[] position, int[] current, float[][] keys, float[][] values, StepBuffers b)
    {
        int rows = active.Count, d = _w.Dim, ctx = _w.Context, heads = _w.Heads, hd = d / heads;
        var x = b.X.AsSpan(0, rows * d);
        for (int a = 0; a < rows; a++)
        {
            int row = active[a];
            var xr = x.Slice(a * d, d);
            TensorPrimitives.Add(_w.TokenEmbedding.AsSpan(current[row] * d, d), _w.PositionEmbedding.AsSpan(position[row] * d, d), xr);
        }
        float scale = 1f / MathF.Sqrt(hd);
        for (int l = 0; l < _w.Blocks.Length; l++)
        {
            var blk = _w.Blocks[l];
            var h = b.H.AsSpan(0, rows * d);
            LayerNormRows(x, h, blk.Ln1Gain, blk.Ln1Bias, d, _w.LayerNormEps);
            var qkv = b.Qkv.AsSpan(0, rows * 3 * d);
            blk.Qkv.Apply(h, qkv, rows);
            var attn = b.Attn.AsSpan(0, rows * d);
            for (int a = 0; a < rows; a++)
            {
                int row = active[a], pos = position[row];
                var q = qkv.Slice(a * 3 * d, d);
                long cacheRow = ((long)row * ctx + pos) * d;
                qkv.Slice(a * 3 * d + d, d).CopyTo(keys[l].AsSpan((int)cacheRow, d));
                qkv.Slice(a * 3 * d + 2 * d, d).CopyTo(values[l].AsSpan((int)cacheRow, d));
                int baseRow = row * ctx * d;
                var outRow = attn.Slice(a * d, d);
                outRow.Clear();
                var scores = b.Scores.AsSpan(0, pos + 1);
                for (int hh = 0; hh < heads; hh++)
                {
                    var qh = q.Slice(hh * hd, hd);
                    for (int j = 0; j <= pos; j++)
                        scores[j] = TensorPrimitives.Dot(qh, keys[l].AsSpan(baseRow + j * d + hh * hd, hd)) * scale;
                    float max = TensorPrimitives.Max(scores);
                    TensorPrimitives.Subtract(scores, max, scores);
                    TensorPrimitives.Exp(scores, scores);
                    float inv = 1f / TensorPrimitives.Sum(scores);
                    var oh = outRow.Slice(hh * hd, hd);
                    for (int j = 0; j <= pos; j++)
                        TensorPrimitives.MultiplyAdd(values[l].AsSpan(baseRow + j * d + hh * hd, hd), scores[j] * inv, oh, oh);
                }
            }
            var proj = b.Proj.AsSpan(0, rows * d);
            blk.AttnProj.Apply(attn, proj, rows);
            TensorPrimitives.Add(x, proj, x);
            LayerNormRows(x, h, blk.Ln2Gain, blk.Ln2Bias, d, _w.LayerNormEps);
            var fc = b.Fc.AsSpan(0, rows * blk.Fc.Out);
            blk.Fc.Apply(h, fc, rows);
            GeluTanh(fc);
            blk.FcProj.Apply(fc, proj, rows);
            TensorPrimitives.Add(x, proj, x);
        }
        var final = b.H.AsSpan(0, rows * d);
        LayerNormRows(x, final, _w.FinalGain, _w.FinalBias, d, _w.LayerNormEps);
        // The head is tied to the token embedding: logits = h · Eᵀ.
        Kernels.MatMul(final, _w.TokenEmbedding, b.Logits.AsSpan(0, rows * _w.Vocab), rows, d, _w.Vocab, transposeA: false, transposeB: true);
        return b.Logits;
    }

    /// <summary>y = (x − mean) / sqrt(var + eps) · gain + bias for each row (biased variance, as PyTorch's LayerNorm).</summary>
    internal static void LayerNormRows(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> gain, ReadOnlySpan<float> bias, int d, float eps)
    {
        for (int offset = 0; offset < x.Length; offset += d)
        {
            var xr = x.Slice(offset, d);
            var yr = y.Slice(offset, d);
            float mean = TensorPrimitives.Sum(xr) / d;
            TensorPrimitives.Subtract(xr, mean, yr);
            float variance = TensorPrimitives.SumOfSquares(yr) / d;
            TensorPrimitives.Multiply(yr, 1f / MathF.Sqrt(variance + eps), yr);
            TensorPrimitives.Multiply(yr, gain, yr);
            TensorPrimitives.Add(yr, bias, yr);
        }
    }

    /// <summary>GELU, tanh approximation (GPT-2's): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), in place.</summary>
    internal static void GeluTanh(Span<float> x)
    {
        const float c = 0.7978845608028654f; // sqrt(2 / pi)
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i];
            x[i] = 0.5f * v * (1f + MathF.Tanh(c * (v + 0.044715f * v * v * v)));
        }
    }
}
