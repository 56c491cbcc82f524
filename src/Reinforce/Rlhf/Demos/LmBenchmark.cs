using System.Diagnostics;
using Reinforce.Nn.Transformers;
using Reinforce.Optim;

namespace Reinforce.Rlhf.Demos;

/// <summary>Throughput of a GPT: training (forward, backward and AdamW step) and cached sampling, in tokens per second.</summary>
public sealed record LmBenchmarkResult(
    GptConfig Config, long Parameters, int BatchSize, int Threads,
    double TrainTokensPerSecond, double TrainBestTokensPerSecond, double TrainMedianStepMilliseconds,
    double SampleTokensPerSecond, int SampleBatchSize);

/// <summary>
/// Measures how fast a GPT trains and samples. Training: the median (and best) wall-clock time of a full step on a batch
/// of random windows (forward, cross-entropy, backward, gradient clipping, AdamW), as tokens per second. Sampling: pure
/// sampling of whole contexts through the key/value cache, batch rows in parallel.
/// </summary>
public static class LmBenchmark
{
    /// <summary>
    /// Runs <paramref name="warmup"/> untimed and <paramref name="steps"/> timed training steps on batches of
    /// <paramref name="batchSize"/> sequences of the full context, then times sampling <paramref name="sampleBatchSize"/>
    /// sequences to the end of the context (three times, the median kept).
    /// </summary>
    public static LmBenchmarkResult Run(GptConfig config, int batchSize = 32, int steps = 20, int warmup = 3, int sampleBatchSize = 32, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (steps < 1 || warmup < 0 || batchSize < 1 || sampleBatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(steps), "LmBenchmark.Run: steps, batch sizes must be positive and warm-up not negative.");
        var rng = new Rng(seed);
        var model = new Gpt(config, rng);
        var optimizer = AdamW.DecayingMatrices(model, 1e-4f, 0.1f, beta2: 0.99f);
        int t = config.ContextLength;
        var inputs = new int[batchSize * t];
        var targets = new int[batchSize * t];
        for (int i = 0; i < inputs.Length; i++) { inputs[i] = rng.NextInt(config.VocabSize); targets[i] = rng.NextInt(config.VocabSize); }
        var times = new List<double>(steps);
        for (int s = 0; s < warmup + steps; s++)
        {
            var clock = Stopwatch.StartNew();
            optimizer.ZeroGrad();
            model.Loss(inputs, targets, batchSize, t).Backward();
            GradientClipping.ClipGlobalNorm(optimizer, 1f, errorIfNonFinite: true);
            optimizer.Step();
            if (s >= warmup) times.Add(clock.Elapsed.TotalSeconds);
        }
        times.Sort();
        double median = times[times.Count / 2], best = times[0];
        double tokens = (double)batchSize * t;

        var prompts = Enumerable.Range(0, sampleBatchSize).Select(i => new[] { i % config.VocabSize }).ToList();
        var sampleTimes = new List<double>();
        int produced = 0;
        model.Generate(prompts, 4, SamplingOptions.Pure, new Rng(seed));   // warm-up
        for (int r = 0; r < 3; r++)
        {
            var clock = Stopwatch.StartNew();
            var gen = model.Generate(prompts, t - 1, SamplingOptions.Pure, new Rng(seed + r));
            sampleTimes.Add(clock.Elapsed.TotalSeconds);
            produced = gen.Completions.Sum(c => c.Length);
        }
        sampleTimes.Sort();
        return new LmBenchmarkResult(config, model.ParameterCount, batchSize, Tensors.Kernels.MaxThreads,
            tokens / median, tokens / best, median * 1000, produced / sampleTimes[1], sampleBatchSize);
    }
}
