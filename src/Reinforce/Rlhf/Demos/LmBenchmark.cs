using System.Diagnostics;
using Reinforce.Nn.Transformers;
using Reinforce.Optim;

namespace Reinforce.Rlhf.Demos;

/// <summary>Sampling speed at one batch size: tokens generated per second through the key/value cache.</summary>
public sealed record LmSampleSpeed(int BatchSize, int TokensPerSequence, double TokensPerSecond);

/// <summary>Throughput of a GPT: training (forward, backward and AdamW step) and cached sampling, in tokens per second, and the process's peak memory.</summary>
public sealed record LmBenchmarkResult(
    GptConfig Config, long Parameters, int BatchSize, int Threads,
    double TrainTokensPerSecond, double TrainBestTokensPerSecond, double TrainMedianStepMilliseconds,
    double SampleTokensPerSecond, int SampleBatchSize)
{
    /// <summary>Sampling speed at every batch size measured (the first is <see cref="SampleTokensPerSecond"/>).</summary>
    public IReadOnlyList<LmSampleSpeed> Sampling { get; init; } = [];

    /// <summary>Parameters the optimizer updates (all of them, or the LoRA adapters').</summary>
    public long TrainedParameters { get; init; }

    /// <summary>The LoRA adapters trained instead of the whole model (null: full fine-tuning).</summary>
    public LoraOptions? Lora { get; init; }

    /// <summary>The process's peak resident memory (bytes) right after the training steps, before sampling.</summary>
    public long PeakResidentBytesAfterTraining { get; init; }

    /// <summary>The machine's limit for this training step: its matrix products timed alone at their real shapes (null: not measured).</summary>
    public LmStepLimit? Limit { get; init; }
}

/// <summary>
/// The matrix products of one training step (every linear layer's forward and two backward products, the attention's
/// per-head products, the tied head's three), timed alone at their real shapes on this machine now: everything a
/// step spends beyond <see cref="Milliseconds"/> is overhead (element-wise passes, softmax, LayerNorm, the optimizer).
/// </summary>
public sealed record LmStepLimit(double Flops, double Milliseconds)
{
    /// <summary>The products' rate, GFLOP/s.</summary>
    public double Gflops => Flops / Milliseconds / 1e6;

    /// <summary>Tokens per second if a step were its products alone.</summary>
    public double TokensPerSecond(int tokensPerStep) => tokensPerStep / (Milliseconds / 1000);
}

/// <summary>Settings of <see cref="LmBenchmark.Run(GptConfig, LmBenchmarkOptions)"/>.</summary>
public sealed record LmBenchmarkOptions
{
    /// <summary>Sequences per training step (each the full context of random tokens).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Timed training steps.</summary>
    public int Steps { get; init; } = 20;

    /// <summary>Untimed training steps first.</summary>
    public int Warmup { get; init; } = 3;

    /// <summary>Batch sizes sampling is timed at.</summary>
    public IReadOnlyList<int> SampleBatchSizes { get; init; } = [32];

    /// <summary>Tokens generated per sequence (null: to the end of the context).</summary>
    public int? SampleTokens { get; init; }

    /// <summary>Timed sampling repeats per batch size (the median kept).</summary>
    public int SampleRepeats { get; init; } = 3;

    /// <summary>Train LoRA adapters instead of every weight (null: full fine-tuning).</summary>
    public LoraOptions? Lora { get; init; }

    /// <summary>Seed of the weights and the tokens.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Also time the step's matrix products alone (<see cref="LmBenchmarkResult.Limit"/>).</summary>
    public bool MeasureLimit { get; init; } = true;
}

/// <summary>
/// Measures how fast a GPT trains and samples. Training: the median (and best) wall-clock time of a full step on a batch
/// of random windows (forward, cross-entropy, backward, gradient clipping, AdamW), as tokens per second; with LoRA only
/// the adapters are trained (the base frozen). Sampling: pure sampling through the key/value cache from one-token
/// prompts, batch rows in parallel. The peak resident memory is read after training, so full fine-tuning and LoRA
/// compare when each runs in its own process.
/// </summary>
public static class LmBenchmark
{
    /// <summary>GPT-2 small's shape (124M parameters): vocabulary 50,257, context 1,024, 12 layers, 768 wide, 12 heads.</summary>
    public static GptConfig Gpt2Small => new() { VocabSize = 50257, ContextLength = 1024, Layers = 12, Width = 768, Heads = 12 };

    /// <summary>
    /// Runs <paramref name="warmup"/> untimed and <paramref name="steps"/> timed training steps on batches of
    /// <paramref name="batchSize"/> sequences of the full context, then times sampling <paramref name="sampleBatchSize"/>
    /// sequences to the end of the context (three times, the median kept).
    /// </summary>
    public static LmBenchmarkResult Run(GptConfig config, int batchSize = 32, int steps = 20, int warmup = 3, int sampleBatchSize = 32, int seed = 1) =>
        Run(config, new LmBenchmarkOptions { BatchSize = batchSize, Steps = steps, Warmup = warmup, SampleBatchSizes = [sampleBatchSize], Seed = seed });

    /// <summary>Measures training and sampling of a model of shape <paramref name="config"/> with random weights.</summary>
    public static LmBenchmarkResult Run(GptConfig config, LmBenchmarkOptions options)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        config.Validate();
        if (options.Steps < 1 || options.Warmup < 0 || options.BatchSize < 1 || options.SampleBatchSizes.Count == 0 || options.SampleBatchSizes.Any(b => b < 1)
            || options.SampleRepeats < 1 || options.SampleTokens is < 1)
            throw new ArgumentOutOfRangeException(nameof(options), "LmBenchmark.Run: steps, batch sizes, repeats and sample tokens must be positive and warm-up not negative.");
        var rng = new Rng(options.Seed);
        var model = new Gpt(config, rng);
        Nn.Module trained = model;
        if (options.Lora is not null) trained = LoraAdapters.Attach(model, options.Lora);
        var optimizer = AdamW.DecayingMatrices(trained, 1e-4f, 0.1f, beta2: 0.99f);
        int t = config.ContextLength, batchSize = options.BatchSize;
        var inputs = new int[batchSize * t];
        var targets = new int[batchSize * t];
        for (int i = 0; i < inputs.Length; i++) { inputs[i] = rng.NextInt(config.VocabSize); targets[i] = rng.NextInt(config.VocabSize); }
        var times = new List<double>(options.Steps);
        for (int s = 0; s < options.Warmup + options.Steps; s++)
        {
            var clock = Stopwatch.StartNew();
            optimizer.ZeroGrad();
            model.TrainingLoss(inputs, targets, batchSize, t);
            GradientClipping.ClipGlobalNorm(optimizer, 1f, errorIfNonFinite: true);
            optimizer.Step();
            if (s >= options.Warmup) times.Add(clock.Elapsed.TotalSeconds);
        }
        long peak = PeakResidentBytes();
        var limit = options.MeasureLimit ? MeasureStepLimit(config, batchSize, options.Lora is not null) : null;
        times.Sort();
        double median = times[times.Count / 2], best = times[0];
        double tokens = (double)batchSize * t;

        int perSequence = Math.Min(options.SampleTokens ?? t - 1, t - 1);
        var sampling = new List<LmSampleSpeed>();
        foreach (int sampleBatch in options.SampleBatchSizes)
        {
            var prompts = Enumerable.Range(0, sampleBatch).Select(i => new[] { i % config.VocabSize }).ToList();
            var sampleTimes = new List<double>();
            int produced = 0;
            model.Generate(prompts, Math.Min(4, perSequence), SamplingOptions.Pure, new Rng(options.Seed));   // warm-up
            for (int r = 0; r < options.SampleRepeats; r++)
            {
                var clock = Stopwatch.StartNew();
                var gen = model.Generate(prompts, perSequence, SamplingOptions.Pure, new Rng(options.Seed + r));
                sampleTimes.Add(clock.Elapsed.TotalSeconds);
                produced = gen.Completions.Sum(c => c.Length);
            }
            sampleTimes.Sort();
            sampling.Add(new LmSampleSpeed(sampleBatch, perSequence, produced / sampleTimes[sampleTimes.Count / 2]));
        }
        return new LmBenchmarkResult(config, model.ParameterCount, batchSize, Tensors.Kernels.MaxThreads,
            tokens / median, tokens / best, median * 1000, sampling[0].TokensPerSecond, sampling[0].BatchSize)
        {
            Sampling = sampling,
            TrainedParameters = trained.ParameterCount,
            Lora = options.Lora,
            PeakResidentBytesAfterTraining = peak,
            Limit = limit,
        };
    }

    /// <summary>
    /// Times the matrix products of one training step of <paramref name="config"/> at batch <paramref name="batch"/>,
    /// each distinct shape alone (best of three, after one untimed run) and counted as often as the step runs it.
    /// With LoRA the frozen weights get no weight-gradient product (the adapters' are negligible and left out).
    /// </summary>
    public static LmStepLimit MeasureStepLimit(GptConfig config, int batch, bool frozenWeights = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        int t = config.ContextLength, c = config.Width, v = config.VocabSize, rows = batch * t, hd = c / config.Heads, hidden = config.MlpRatio * c;
        var products = new List<(int M, int K, int N, bool TA, bool TB, long Count)>();
        foreach (var (input, output) in new[] { (c, 3 * c), (c, c), (c, hidden), (hidden, c) })
        {
            products.Add((rows, input, output, false, false, config.Layers));                           // y = x·W
            products.Add((rows, output, input, false, true, config.Layers));                            // dx = dy·Wᵀ
            if (!frozenWeights) products.Add((input, rows, output, true, false, config.Layers));        // dW = xᵀ·dy
        }
        long heads = (long)batch * config.Heads * config.Layers;
        products.Add((t, hd, t, false, true, 2 * heads));    // S = Q·Kᵀ ; dP = dO·Vᵀ
        products.Add((t, t, hd, false, false, 2 * heads));   // O = P·V ; dQ = dS·K
        products.Add((t, t, hd, true, false, 2 * heads));    // dV = Pᵀ·dO ; dK = dSᵀ·Q
        products.Add((rows, c, v, false, true, 1));          // logits = h·Wₑᵀ
        products.Add((rows, v, c, false, false, 1));         // dh = dlogits·Wₑ
        if (!frozenWeights) products.Add((v, rows, c, true, false, 1));   // dWₑ = dlogitsᵀ·h
        double flops = 0, seconds = 0;
        foreach (var (m, k, n, ta, tb, count) in products)
        {
            var a = new float[(long)m * k];
            var b = new float[(long)k * n];
            var y = new float[(long)m * n];
            Array.Fill(a, 0.01f);
            Array.Fill(b, 0.02f);
            double best = double.MaxValue;
            for (int r = 0; r < 4; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                Tensors.Kernels.MatMul(a, b, y, m, k, n, ta, tb);
                if (r > 0) best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
            }
            flops += 2.0 * m * k * n * count;
            seconds += best * count;
        }
        return new LmStepLimit(flops, seconds * 1000);
    }

    /// <summary>The process's peak resident set so far (Linux: VmHWM; elsewhere the runtime's peak working set).</summary>
    public static long PeakResidentBytes()
    {
        try
        {
            if (File.Exists("/proc/self/status"))
                foreach (var line in File.ReadLines("/proc/self/status"))
                    if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                        return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }
}
