using Reinforce.Autograd;
using Reinforce.Nn;

namespace Reinforce.Nn.Transformers;

/// <summary>
/// A GPT-style decoder (GPT-2's layout and parameter names): token embedding <c>wte</c> and position embedding
/// <c>wpe</c>, blocks <c>h.0 …</c> of pre-LayerNorm causal self-attention and a GELU MLP, a final LayerNorm <c>ln_f</c>,
/// and a head tied to the token embedding (logits = h · wteᵀ). Trains through autograd
/// (<see cref="Logits(ReadOnlySpan{int}, int, int)"/>, <see cref="Loss"/>); samples through a key/value cache
/// (<see cref="Generate"/>) without building a graph.
/// </summary>
public sealed class Gpt : Module
{
    private readonly GptBlock[] _blocks;

    /// <summary>A model of shape <paramref name="config"/>, initialised as GPT-2 is (normal weights with std 0.02, the
    /// residual projections scaled by 1/√(2·layers), zero biases, unit LayerNorm gains), from <paramref name="rng"/>.</summary>
    public Gpt(GptConfig config, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(rng);
        config.Validate();
        Config = config;
        TokenEmbedding = RegisterModule("wte", new Embedding(config.VocabSize, config.Width, rng, initStd: 0.02));
        PositionEmbedding = RegisterModule("wpe", new Embedding(config.ContextLength, config.Width, rng, initStd: 0.01));
        var h = RegisterModule("h", new Sequential());
        _blocks = new GptBlock[config.Layers];
        double residualStd = 0.02 / Math.Sqrt(2.0 * config.Layers);
        for (int l = 0; l < config.Layers; l++)
        {
            var block = new GptBlock(config.Width, config.Heads, rng, config.MlpRatio);
            Init.Normal(block.Attention.Proj.Weight.Value, residualStd, rng);
            Init.Normal(block.Mlp.Proj.Weight.Value, residualStd, rng);
            h.Add(block);
            _blocks[l] = block;
        }
        FinalNorm = RegisterModule("ln_f", new LayerNorm(config.Width));
    }

    /// <summary>The model's shape.</summary>
    public GptConfig Config { get; }

    /// <summary>Token embedding [vocab, width]; also the output head (tied).</summary>
    public Embedding TokenEmbedding { get; }

    /// <summary>Position embedding [context, width].</summary>
    public Embedding PositionEmbedding { get; }

    /// <summary>The transformer blocks, first to last.</summary>
    public IReadOnlyList<GptBlock> Blocks => _blocks;

    /// <summary>The final LayerNorm.</summary>
    public LayerNorm FinalNorm { get; }

    /// <summary>
    /// The last hidden states (after the final LayerNorm) of <paramref name="batch"/> sequences of <paramref name="time"/>
    /// tokens each, laid out row by row in <paramref name="tokens"/>: [batch, time, width].
    /// </summary>
    public Tensor Hidden(ReadOnlySpan<int> tokens, int batch, int time)
    {
        CheckTokens(tokens, batch, time);
        var positions = new int[batch * time];
        for (int i = 0; i < positions.Length; i++) positions[i] = i % time;
        var x = Ops.Add(TokenEmbedding.Forward(tokens, [batch, time]), PositionEmbedding.Forward(positions, [batch, time]));
        foreach (var block in _blocks)
        {
            // GptBlock's computation, with the attention and GELU of GptOps (faster; same values and gradients).
            var attn = block.Attention;
            x = Ops.Add(x, GptOps.CausalSelfAttention(block.Ln1.Forward(x), attn.Attn.Weight.Value, attn.Attn.Bias!.Value,
                attn.Proj.Weight.Value, attn.Proj.Bias!.Value, attn.Heads));
            var mlp = block.Mlp;
            x = Ops.Add(x, mlp.Proj.Forward(GptOps.GeluTanh(mlp.Fc.Forward(block.Ln2.Forward(x)))));
        }
        return FinalNorm.Forward(x);
    }

    /// <summary>Next-token logits from hidden states [..., width] → [..., vocab], through the tied head.</summary>
    public Tensor Logits(Tensor hidden) => Ops.MatMul(hidden, TokenEmbedding.Weight.Value, transposeB: true);

    /// <summary>Next-token logits of every position: [batch, time, vocab].</summary>
    public Tensor Logits(ReadOnlySpan<int> tokens, int batch, int time) => Logits(Hidden(tokens, batch, time));

    /// <summary>The mean cross-entropy of predicting <paramref name="targets"/> (−100 to skip a position) from <paramref name="inputs"/>.</summary>
    public Tensor Loss(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batch, int time)
    {
        if (targets.Length != inputs.Length) throw new ArgumentException($"Gpt.Loss: {inputs.Length} inputs but {targets.Length} targets; give one target per input position.");
        var logits = Logits(inputs, batch, time);
        return Losses.CrossEntropy(Ops.Reshape(logits, batch * time, Config.VocabSize), targets);
    }

    /// <summary>
    /// Continues each prompt (token ids) with up to <paramref name="maxNewTokens"/> sampled tokens, using a key/value cache.
    /// A completion ends early at <paramref name="stopToken"/> (when ≥ 0, and kept in the completion) or when the context is
    /// full. The same <paramref name="rng"/> state gives the same completions.
    /// </summary>
    public Generation Generate(IReadOnlyList<int[]> prompts, int maxNewTokens, SamplingOptions options, Rng rng, int stopToken = -1) =>
        new GptInference(InferenceWeights()).Generate(prompts, maxNewTokens, options, rng, stopToken);

    /// <summary>
    /// The log-probability of each completion given its prompt, Σ_t log p(y_t | prompt, y_&lt;t), in nats, computed
    /// without gradients in batches of <paramref name="batchSize"/> right-padded sequences.
    /// </summary>
    public double[] CompletionLogProbs(IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> completions, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(completions);
        if (prompts.Count != completions.Count) throw new ArgumentException($"Gpt.CompletionLogProbs: {prompts.Count} prompts but {completions.Count} completions.");
        var result = new double[prompts.Count];
        int width = Config.Width;
        using (Graph.NoGrad())
        {
            for (int start = 0; start < prompts.Count; start += batchSize)
            {
                int n = Math.Min(batchSize, prompts.Count - start);
                int time = 0;
                for (int i = 0; i < n; i++)
                {
                    if (prompts[start + i].Length == 0) throw new ArgumentException($"Gpt.CompletionLogProbs: prompt {start + i} is empty.", nameof(prompts));
                    time = Math.Max(time, prompts[start + i].Length + completions[start + i].Length);
                }
                var tokens = new int[n * time];
                var positions = new List<int>();
                var targets = new List<int>();
                var owner = new List<int>();
                for (int i = 0; i < n; i++)
                {
                    var p = prompts[start + i];
                    var c = completions[start + i];
                    p.CopyTo(tokens, i * time);
                    c.CopyTo(tokens, i * time + p.Length);
                    for (int t = 0; t < c.Length; t++)
                    {
                        positions.Add(i * time + p.Length + t - 1);
                        targets.Add(c[t]);
                        owner.Add(i);
                    }
                }
                if (positions.Count == 0) continue;
                var hidden = Ops.Reshape(Hidden(tokens, n, time), n * time, width);
                var logProbs = Ops.GatherLastDim(Ops.LogSoftmax(Logits(Ops.IndexRows(hidden, positions.ToArray()))), targets.ToArray());
                for (int j = 0; j < owner.Count; j++) result[start + owner[j]] += logProbs.Data[j];
            }
        }
        return result;
    }

    /// <summary>A copy with the same shape and weights (for example the frozen reference model of RL fine-tuning).</summary>
    public Gpt Clone()
    {
        var copy = new Gpt(Config, new Rng(0));
        copy.CopyFrom(this);
        return copy;
    }

    /// <summary>Views of the parameters' arrays for the sampling engine (updated in place by optimizers, so always current).</summary>
    internal GptWeights InferenceWeights()
    {
        var blocks = new BlockWeights[_blocks.Length];
        for (int l = 0; l < blocks.Length; l++)
        {
            var b = _blocks[l];
            blocks[l] = new BlockWeights(
                b.Ln1.Weight.Value.Data, b.Ln1.Bias.Value.Data, Dense(b.Attention.Attn),
                Dense(b.Attention.Proj), b.Ln2.Weight.Value.Data, b.Ln2.Bias.Value.Data, Dense(b.Mlp.Fc), Dense(b.Mlp.Proj));
        }
        return new GptWeights(Config.VocabSize, Config.Width, Config.Heads, Config.ContextLength, FinalNorm.Eps,
            TokenEmbedding.Weight.Value.Data, PositionEmbedding.Weight.Value.Data, blocks, FinalNorm.Weight.Value.Data, FinalNorm.Bias.Value.Data);
    }

    private static DenseWeights Dense(TransposedLinear layer) =>
        new(layer.Weight.Value.Data, layer.Bias?.Value.Data, layer.InFeatures, layer.OutFeatures, OutIn: false);

    private void CheckTokens(ReadOnlySpan<int> tokens, int batch, int time)
    {
        if (batch < 1 || time < 1) throw new ArgumentException($"Gpt: batch {batch} and time {time} must be positive.");
        if (time > Config.ContextLength)
            throw new ArgumentException($"Gpt: sequences of {time} tokens do not fit the context of {Config.ContextLength}; cut them to at most {Config.ContextLength} tokens.");
        if (tokens.Length != batch * time)
            throw new ArgumentException($"Gpt: {tokens.Length} tokens do not make {batch} sequences of {time}.");
        int v = Config.VocabSize;
        for (int i = 0; i < tokens.Length; i++)
            if ((uint)tokens[i] >= (uint)v) throw new ArgumentException($"Gpt: token {tokens[i]} at position {i} is outside the vocabulary [0, {v}).");
    }
}
