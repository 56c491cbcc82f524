using Reinforce.Autograd;

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

    /// <summary>The LoRA adapters attached to this model (<see cref="LoraAdapters.Attach"/>), if any.</summary>
    public LoraAdapters? Lora { get; internal set; }

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
        return Forward(tokens, batch, time, default, null);
    }

    /// <summary>
    /// The one forward of the model: embeddings, the blocks, the final LayerNorm → [batch, time, width]. Row b may be
    /// left-padded up to <paramref name="sequenceStarts"/>[b] (its positions count from there; the padding is attended
    /// to by nothing). With <paramref name="caches"/> (one per block, inside <see cref="Graph.NoGrad"/>) the tokens are
    /// the next positions after those cached, and the caches are extended: generation runs the same modules.
    /// </summary>
    private Tensor Forward(ReadOnlySpan<int> tokens, int batch, int time, ReadOnlySpan<int> sequenceStarts, KvCache[]? caches)
    {
        int past = caches?[0].Length ?? 0;
        var positions = new int[batch * time];
        for (int r = 0; r < batch; r++)
        {
            int start = sequenceStarts.IsEmpty ? 0 : sequenceStarts[r];
            for (int i = 0; i < time; i++) positions[r * time + i] = Math.Max(0, past + i - start);
        }
        var x = Ops.Add(TokenEmbedding.Forward(tokens, [batch, time]), PositionEmbedding.Forward(positions, [batch, time]));
        for (int l = 0; l < _blocks.Length; l++) x = _blocks[l].Forward(x, sequenceStarts, caches?[l]);
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
    /// One training step's forward and backward: the mean cross-entropy of <see cref="Loss"/>, its gradients accumulated
    /// into the parameters' <see cref="Tensor.Grad"/> (the caller clips and steps the optimizer); returns the loss.
    /// <paramref name="gradientScale"/> multiplies the gradients (a data-parallel rank's share of the batch).
    /// </summary>
    /// <remarks>
    /// The step runs in the model's training arena: activations, intermediate gradients and scratch buffers are taken from
    /// it and handed back as soon as they are spent (see <c>TensorArena</c>), so the peak memory is the activations plus
    /// the gradients in flight, and steps after the first take no new memory from the runtime. Nothing the step created
    /// outlives it (only the parameters' gradients, which are never arena buffers).
    /// </remarks>
    public float TrainingLoss(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batch, int time, float gradientScale = 1f)
    {
        float value;
        using (_trainingArena.Activate())
        {
            var loss = Loss(inputs, targets, batch, time);
            value = loss.Item();
            if (gradientScale != 1f) loss = Ops.MulScalar(loss, gradientScale);
            loss.Backward();
        }
        _trainingArena.Recycle();
        return value;
    }

    private readonly Reinforce.Tensors.TensorArena _trainingArena = new();

    /// <summary>
    /// Continues each prompt (token ids) with up to <paramref name="maxNewTokens"/> sampled tokens. A completion ends early
    /// at <paramref name="stopToken"/> (when ≥ 0, and kept in the completion) or when prompt and completion fill the
    /// context. The same <paramref name="rng"/> state gives the same completions.
    /// </summary>
    /// <remarks>
    /// Sampling is a no-gradient run of the same modules as training, with a key/value cache per block: the prompts,
    /// left-padded to a common length, go through in one pass; then each step feeds every unfinished row's last token
    /// (one position each) and draws the next from its logits, rows in order. Finished rows leave the batch and the caches.
    /// </remarks>
    public Generation Generate(IReadOnlyList<int[]> prompts, int maxNewTokens, SamplingOptions options, Rng rng, int stopToken = -1)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rng);
        options.Validate();
        int n = prompts.Count, ctx = Config.ContextLength, v = Config.VocabSize;
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
        if (n == 0 || maxNewTokens <= 0) return Generation.Pack(completions, logProbs, stopped);

        int longest = prompts.Max(p => p.Length), shortest = prompts.Min(p => p.Length);
        // Positions in the cache: the padded prompt, then one per generated token but the last (never fed back).
        int capacity = longest + Math.Min(maxNewTokens, ctx - shortest);
        var buffers = TakeGenerationBuffers(n, capacity);
        var caches = buffers.Caches;
        var active = Enumerable.Range(0, n).ToList();
        var starts = new int[n];
        var tokens = new int[n * longest];
        for (int i = 0; i < n; i++)
        {
            starts[i] = longest - prompts[i].Length;
            prompts[i].CopyTo(tokens, i * longest + starts[i]);
        }
        var scratch = new float[v];
        using (Graph.NoGrad())
        using (buffers.Arena.Activate())
        {
            var hidden = Forward(tokens, n, longest, starts, caches);
            int time = longest;
            while (true)
            {
                var logits = Logits(time == 1 ? hidden : Ops.Slice(hidden, time - 1, 1, axis: 1)).Data;
                var next = new List<int>(active.Count);
                var keep = new List<int>(active.Count);
                for (int a = 0; a < active.Count; a++)
                {
                    int row = active[a];
                    int token = TokenSampling.Sample(logits.AsSpan(a * v, v), options, rng, scratch, out float lp);
                    completions[row].Add(token);
                    logProbs[row].Add(lp);
                    if (token == stopToken) { stopped[row] = true; continue; }
                    // The token just drawn sits at position length − 1; feeding it must leave room for the next.
                    if (completions[row].Count >= maxNewTokens || prompts[row].Length + completions[row].Count >= ctx) continue;
                    next.Add(token);
                    keep.Add(a);
                }
                if (keep.Count == 0) break;
                if (keep.Count < active.Count)
                {
                    foreach (var cache in caches) cache.KeepRows(keep.ToArray());
                    active = [.. keep.Select(a => active[a])];
                    starts = [.. keep.Select(a => starts[a])];
                }
                // The last step's activations and logits are spent: their buffers serve this step.
                buffers.Arena.Recycle();
                hidden = Forward(next.ToArray(), active.Count, 1, starts, caches);
                time = 1;
            }
            buffers.Arena.Recycle();
        }
        KeepGenerationBuffers(buffers);
        return Generation.Pack(completions, logProbs, stopped);
    }

    /// <summary>Generation keeps its key/value caches and step buffers for the next call when they take at most this much memory.</summary>
    private const long RetainedGenerationBytes = 64L << 20;

    private GenerationBuffers? _generationBuffers;

    /// <summary>The key/value caches (one per block) and the step arena of one <see cref="Generate"/> call.</summary>
    private sealed class GenerationBuffers(KvCache[] caches)
    {
        public KvCache[] Caches { get; } = caches;
        public Reinforce.Tensors.TensorArena Arena { get; } = new();
        public long Bytes => Arena.Bytes + Caches.Sum(c => 8L * c.MaxBatch * c.Heads * c.HeadDim * c.Capacity);
    }

    /// <summary>
    /// The previous call's buffers when they fit (<paramref name="batch"/> sequences, <paramref name="capacity"/>
    /// positions), emptied; otherwise new ones. Taken out of the model, so concurrent calls never share them.
    /// </summary>
    private GenerationBuffers TakeGenerationBuffers(int batch, int capacity)
    {
        var kept = Interlocked.Exchange(ref _generationBuffers, null);
        if (kept is not null && kept.Caches[0].MaxBatch >= batch && kept.Caches[0].Capacity >= capacity)
        {
            foreach (var cache in kept.Caches) cache.Restart(batch);
            return kept;
        }
        return new GenerationBuffers([.. _blocks.Select(b => b.Attention.CreateCache(batch, capacity))]);
    }

    /// <summary>Keeps the buffers for the next call, unless they are large (a big model or batch: then memory matters more than allocation).</summary>
    private void KeepGenerationBuffers(GenerationBuffers buffers)
    {
        if (buffers.Bytes <= RetainedGenerationBytes) Volatile.Write(ref _generationBuffers, buffers);
    }

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
