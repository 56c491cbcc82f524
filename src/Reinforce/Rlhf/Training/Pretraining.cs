using Reinforce.Algorithms;
using System.Diagnostics;
using System.Globalization;
using Reinforce.Autograd;
using Reinforce.Distributed;
using Reinforce.Nn.Transformers;
using Reinforce.Optim;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Text;
using Reinforce.Training;

namespace Reinforce.Rlhf.Training;

/// <summary>Settings of language-model pretraining (next-character prediction on a corpus).</summary>
public sealed record PretrainOptions
{
    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 2000;

    /// <summary>Sequences per step; each is a random window of the training text as long as the model's context.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Peak learning rate (reached after the warm-up, then cosine-decayed to <see cref="MinLearningRate"/>).</summary>
    public float LearningRate { get; init; } = 2e-3f;

    /// <summary>Learning rate at the end.</summary>
    public float MinLearningRate { get; init; } = 2e-4f;

    /// <summary>Fraction of the steps spent warming the learning rate up from zero.</summary>
    public double WarmupFraction { get; init; } = 0.05;

    /// <summary>AdamW weight decay on the weight matrices.</summary>
    public float WeightDecay { get; init; } = 0.1f;

    /// <summary>Gradients are clipped to this global norm.</summary>
    public float MaxGradNorm { get; init; } = 1f;

    /// <summary>The last part of the corpus held out for the validation loss.</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Windows of held-out text the validation loss is averaged over (the same windows every time).</summary>
    public int ValidationWindows { get; init; } = 256;

    /// <summary>Seed of the window sampling.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Throws if a setting is out of range.</summary>
    public void Validate()
    {
        ConfigurationException.Require(Steps >= 1, "steps", $"is {Steps}; train for at least one step.");
        ConfigurationException.Require(BatchSize >= 1, "batch_size", $"is {BatchSize}; the batch needs at least one sequence.");
        ConfigurationException.Require(float.IsFinite(LearningRate) && LearningRate > 0, "learning_rate", $"is {LearningRate}; use a positive rate such as 2e-3.");
        ConfigurationException.Require(float.IsFinite(MinLearningRate) && MinLearningRate >= 0, "min_learning_rate", $"is {MinLearningRate}; use 0 or a positive rate (a tenth of learning_rate is usual).");
        ConfigurationException.Require(ValidationFraction is > 0 and < 1, "validation_fraction", $"is {ValidationFraction}; hold out a share in (0, 1), e.g. 0.1.");
    }
}

/// <summary>One pretraining step's figures.</summary>
public sealed record PretrainStep(int Step, double Loss, double LearningRate, double GradNorm, double TokensPerSecond);

/// <summary>
/// Trains a <see cref="Gpt"/> to predict the next character of a corpus: random windows of the first part of the text,
/// mean cross-entropy, AdamW with warm-up and cosine decay, gradient clipping; <see cref="ValidationLoss"/> on fixed
/// windows of the held-out end of the text. As an <see cref="IRunTrainer"/> a <see cref="RunFolder"/> drives it
/// (<see cref="PretrainingRun"/>): evaluation is the held-out loss (<c>val_loss</c>) and a sample, and its complete
/// state (weights, AdamW moments, the window generator, the step) saves to and loads from a checkpoint folder.
/// </summary>
/// <remarks>
/// Data parallel (<see cref="Distribute"/>): every rank draws the same global batch from the same generator (so the
/// generator's state, like the weights, is the same everywhere); rank r trains on the members r, r + R, r + 2R, … of it,
/// its loss weighted by its share of the batch's predicted tokens, so the gradients averaged over the ranks equal the
/// gradient of the whole batch's mean loss: R ranks train as one process would, to float rounding.
/// </remarks>
public sealed class Pretrainer : IRunTrainer
{
    private readonly ITokenizer _tokenizer;
    private (int Step, double Loss)? _lastValidation;
    private readonly Gpt _model;
    private readonly PretrainOptions _options;
    private readonly int[] _train;
    private readonly int[] _validation;
    private readonly Rng _rng;
    private readonly AdamW _optimizer;
    private readonly GradientStep _gradientStep;
    private readonly LearningRateSchedule _schedule;
    private readonly int[] _inputs, _targets;
    private readonly (int[] Tokens, int PromptLength)[]? _trainExamples, _validationExamples;

    /// <summary>Prepares to train <paramref name="model"/> on <paramref name="corpus"/>, encoded with <paramref name="tokenizer"/>.</summary>
    public Pretrainer(Gpt model, ITokenizer tokenizer, string corpus, PretrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _model = model;
        _tokenizer = tokenizer;
        _options = options;
        var tokens = tokenizer.Encode(DemoCorpus.NormalizeLineEnds(corpus));
        int context = model.Config.ContextLength;
        int split = (int)(tokens.Length * (1 - options.ValidationFraction));
        if (split < context + 1 || tokens.Length - split < context + 1)
            throw new ArgumentException($"Pretrainer: the corpus has {tokens.Length} characters; with {options.ValidationFraction:P0} held out, each part needs more than the context of {context}. Give a longer corpus or a shorter context.", nameof(corpus));
        _train = tokens[..split];
        _validation = tokens[split..];
        _rng = new Rng(options.Seed);
        _optimizer = AdamW.DecayingMatrices(model, options.LearningRate, options.WeightDecay, beta2: 0.99f);
        _gradientStep = new GradientStep(_optimizer, options.MaxGradNorm);
        _schedule = new WarmupSchedule(options.WarmupFraction, new CosineSchedule(options.LearningRate, options.MinLearningRate));
        _inputs = new int[options.BatchSize * context];
        _targets = new int[options.BatchSize * context];
    }

    /// <summary>
    /// Prepares to train <paramref name="model"/> on prompt–completion examples (a task's format, say), one example per
    /// sequence, with the loss on the completion tokens only: the prompts are given, not predicted. The last
    /// <see cref="PretrainOptions.ValidationFraction"/> of the examples is held out.
    /// </summary>
    public Pretrainer(Gpt model, ITokenizer tokenizer, IReadOnlyList<(string Prompt, string Completion)> examples, PretrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _model = model;
        _tokenizer = tokenizer;
        _options = options;
        int context = model.Config.ContextLength;
        var encoded = new (int[] Tokens, int PromptLength)[examples.Count];
        for (int i = 0; i < encoded.Length; i++)
        {
            var (prompt, completion) = examples[i];
            var p = tokenizer.Encode(prompt);
            var c = tokenizer.Encode(completion);
            if (p.Length == 0 || c.Length == 0) throw new ArgumentException($"Pretrainer: example {i} has an empty prompt or completion.", nameof(examples));
            if (p.Length + c.Length > context + 1)
                throw new ArgumentException($"Pretrainer: example {i} (\"{prompt}\" + \"{completion}\") has {p.Length + c.Length} tokens; the context holds {context} plus the last target.", nameof(examples));
            encoded[i] = ([.. p, .. c], p.Length);
        }
        int split = (int)(encoded.Length * (1 - options.ValidationFraction));
        if (split < 1 || split >= encoded.Length)
            throw new ArgumentException($"Pretrainer: {encoded.Length} examples are too few to hold {options.ValidationFraction:P0} out; give more examples.", nameof(examples));
        _trainExamples = encoded[..split];
        _validationExamples = encoded[split..];
        _train = _validation = [];
        _rng = new Rng(options.Seed);
        _optimizer = AdamW.DecayingMatrices(model, options.LearningRate, options.WeightDecay, beta2: 0.99f);
        _gradientStep = new GradientStep(_optimizer, options.MaxGradNorm);
        _schedule = new WarmupSchedule(options.WarmupFraction, new CosineSchedule(options.LearningRate, options.MinLearningRate));
        _inputs = _targets = [];
    }

    /// <summary>Steps taken so far.</summary>
    public int StepCount { get; private set; }

    /// <summary>The ranks this trainer runs on (a single process unless <see cref="Distribute"/> was called).</summary>
    public ICommunicator Communicator => _gradientStep.Communicator;

    /// <summary>
    /// Makes this trainer one rank of a data-parallel run (call on every rank, with trainers built from the same corpus,
    /// model shape and settings, at the same step): rank 0's weights everywhere, each global batch split over the ranks,
    /// gradients averaged at every step, the step's loss averaged over the whole batch.
    /// </summary>
    /// <exception cref="ConfigurationException">The batch holds fewer sequences than there are ranks (some would train on nothing).</exception>
    public void Distribute(ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ConfigurationException.Require(_options.BatchSize >= communicator.Size, "batch_size",
            $"is {_options.BatchSize}, fewer sequences than the {communicator.Size} ranks that share each batch; use a batch of at least {communicator.Size} (--batch), or fewer ranks.");
        _gradientStep.Distribute(communicator);
    }

    /// <summary>A checksum of the weights (equal on every rank of a data-parallel run).</summary>
    public ulong WeightsChecksum() => _gradientStep.WeightsChecksum();

    /// <summary>Characters in the training part.</summary>
    public int TrainTokens => _train.Length;

    /// <summary>Characters in the held-out part.</summary>
    public int ValidationTokens => _validation.Length;

    /// <summary>The model being trained.</summary>
    public Gpt Model => _model;

    /// <summary>The tokenizer of the corpus.</summary>
    public ITokenizer Tokenizer => _tokenizer;

    /// <summary>A prompt continued at each evaluation (<see cref="LastSample"/>); null: no sample.</summary>
    public string? SamplePrompt { get; set; }

    /// <summary>The continuation of <see cref="SamplePrompt"/> written at the last evaluation (temperature 0.8, seeded by the step).</summary>
    public string? LastSample { get; private set; }

    long IRunTrainer.Step => StepCount;

    IReadOnlyDictionary<string, double> IRunTrainer.TrainStep()
    {
        var step = Step();
        return new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["loss"] = step.Loss, ["learning_rate"] = step.LearningRate, ["grad_norm"] = step.GradNorm, ["tokens_per_second"] = step.TokensPerSecond,
        };
    }

    /// <summary>The held-out loss (<c>val_loss</c>), and a sample of <see cref="SamplePrompt"/> when one is set.</summary>
    public IReadOnlyDictionary<string, double>? Evaluate()
    {
        double validation = ValidationLoss();
        _lastValidation = (StepCount, validation);
        if (SamplePrompt is not null)
            LastSample = TextGeneration.Continue(_model, _tokenizer, SamplePrompt, 60, new SamplingOptions { Temperature = 0.8f }, new Rng(StepCount));
        return new Dictionary<string, double>(StringComparer.Ordinal) { ["val_loss"] = validation };
    }

    /// <summary>Writes the model (<see cref="LmCheckpoint.ModelFile"/>, loadable by itself) and the training state to <paramref name="directory"/>.</summary>
    public void Save(string directory)
    {
        var facts = new Dictionary<string, string>
        {
            ["step"] = StepCount.ToString(CultureInfo.InvariantCulture), ["ranks"] = Communicator.Size.ToString(CultureInfo.InvariantCulture),
        };
        if (_lastValidation is (int step, double loss) && step == StepCount) facts["val_loss"] = LmCheckpoint.Fact(loss);
        LmCheckpoint.SaveTrainingState(directory, _model, _tokenizer, _optimizer, _rng, StepCount, facts);
    }

    /// <summary>Restores what <see cref="Save"/> wrote: weights, optimizer moments, the window generator and the step.</summary>
    public void Load(string directory) => StepCount = (int)LmCheckpoint.LoadTrainingState(directory, _model, _tokenizer, _optimizer, _rng);

    /// <summary>
    /// One optimizer step on a fresh batch of random windows (or examples). In a data-parallel run the batch is the global
    /// one, this rank trains on its share, and the figures are the whole batch's (tokens per second: all ranks' tokens).
    /// </summary>
    public PretrainStep Step()
    {
        var clock = Stopwatch.StartNew();
        int context = _model.Config.ContextLength, batch = _options.BatchSize;
        int ranks = Communicator.Size, rank = Communicator.Rank;
        // Every rank draws the whole batch (the same draws, so the generator stays in step); rank r keeps members r, r + R, ….
        int local = (batch - rank + ranks - 1) / ranks;
        int[] inputs = _inputs, targets = _targets;
        long batchTokens, localTokens;
        if (_trainExamples is not null)
        {
            var picked = new (int[] Tokens, int PromptLength)[batch];
            for (int b = 0; b < batch; b++) picked[b] = _trainExamples[_rng.NextInt(_trainExamples.Length)];
            batchTokens = picked.Sum(e => (long)(e.Tokens.Length - e.PromptLength));
            var mine = ranks == 1 ? picked : [.. Enumerable.Range(0, local).Select(i => picked[rank + i * ranks])];
            localTokens = mine.Sum(e => (long)(e.Tokens.Length - e.PromptLength));
            if (local > 0) (inputs, targets, context) = ExampleBatch(mine);
        }
        else
        {
            for (int b = 0, kept = 0; b < batch; b++)
            {
                int start = _rng.NextInt(_train.Length - context);
                if (b % ranks != rank) continue;
                _train.AsSpan(start, context).CopyTo(_inputs.AsSpan(kept * context));
                _train.AsSpan(start + 1, context).CopyTo(_targets.AsSpan(kept * context));
                kept++;
            }
            batchTokens = (long)batch * context;
            localTokens = (long)local * context;
            if (ranks > 1) { inputs = _inputs[..(local * context)]; targets = _targets[..(local * context)]; }
        }
        float lr = _schedule.At((double)StepCount / _options.Steps);
        _optimizer.LearningRate = lr;
        double localLoss = 0;
        // The step's forward and backward run in the model's training arena (Gpt.TrainingLoss). The mean over this rank's
        // tokens is weighted by its share of the batch's tokens (times R, as the average divides by R).
        float norm = _gradientStep.ApplyAfter(() =>
        {
            if (local == 0) return;
            float share = ranks > 1 ? (float)((double)localTokens * ranks / batchTokens) : 1f;
            localLoss = _model.TrainingLoss(inputs, targets, local, context, share);
        });
        double meanLoss = localLoss;
        if (ranks > 1)
        {
            Span<double> sum = [localLoss * localTokens];
            Communicator.AllReduceSum(sum);
            meanLoss = sum[0] / batchTokens;
        }
        StepCount++;
        _gradientStep.EnsureSameWeights($"after step {StepCount}");
        double seconds = clock.Elapsed.TotalSeconds;
        return new PretrainStep(StepCount, meanLoss, lr, norm, batchTokens / Math.Max(seconds, 1e-9));
    }

    /// <summary>
    /// The mean next-character loss (nats) on held-out data: over <see cref="PretrainOptions.ValidationWindows"/> evenly
    /// spaced windows of the held-out text, or over the held-out examples' completion tokens.
    /// </summary>
    public double ValidationLoss()
    {
        if (_validationExamples is null) return MeanLoss(_model, _validation, _options.ValidationWindows, _options.BatchSize);
        double total = 0;
        int tokens = 0;
        using (Graph.NoGrad())
        {
            for (int start = 0; start < _validationExamples.Length; start += _options.BatchSize)
            {
                var chunk = _validationExamples[start..Math.Min(start + _options.BatchSize, _validationExamples.Length)];
                var (inputs, targets, time) = ExampleBatch(chunk);
                int counted = targets.Count(t => t >= 0);
                total += _model.Loss(inputs, targets, chunk.Length, time).Item() * counted;
                tokens += counted;
            }
        }
        return total / tokens;
    }

    /// <summary>Examples right-padded to the longest, targets −100 (ignored) on the prompt and the padding.</summary>
    private static (int[] Inputs, int[] Targets, int Time) ExampleBatch((int[] Tokens, int PromptLength)[] examples)
    {
        int time = examples.Max(e => e.Tokens.Length) - 1;
        var inputs = new int[examples.Length * time];
        var targets = new int[examples.Length * time];
        Array.Fill(targets, -100);
        for (int b = 0; b < examples.Length; b++)
        {
            var (tokens, promptLength) = examples[b];
            tokens.AsSpan(0, tokens.Length - 1).CopyTo(inputs.AsSpan(b * time));
            for (int t = promptLength - 1; t < tokens.Length - 1; t++) targets[b * time + t] = tokens[t + 1];
        }
        return (inputs, targets, time);
    }

    /// <summary>The mean next-token loss of <paramref name="model"/> on up to <paramref name="windows"/> evenly spaced context windows of <paramref name="tokens"/>.</summary>
    public static double MeanLoss(Gpt model, int[] tokens, int windows, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokens);
        int context = model.Config.ContextLength;
        int span = tokens.Length - context - 1;
        if (span < 0) throw new ArgumentException($"MeanLoss: {tokens.Length} tokens are fewer than a context window of {context} + 1.", nameof(tokens));
        windows = Math.Max(1, Math.Min(windows, span + 1));
        double total = 0;
        using (Graph.NoGrad())
        {
            for (int first = 0; first < windows; first += batchSize)
            {
                int count = Math.Min(batchSize, windows - first);
                var inputs = new int[count * context];
                var targets = new int[count * context];
                for (int b = 0; b < count; b++)
                {
                    int start = windows == 1 ? 0 : (int)((long)(first + b) * span / (windows - 1));
                    tokens.AsSpan(start, context).CopyTo(inputs.AsSpan(b * context));
                    tokens.AsSpan(start + 1, context).CopyTo(targets.AsSpan(b * context));
                }
                total += model.Loss(inputs, targets, count, context).Item() * count;
            }
        }
        return total / windows;
    }
}
