using System.Diagnostics;
using System.Globalization;
using Reinforce.Autograd;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;

namespace Reinforce.Rlhf.Demos;

/// <summary>A sample completion of the same prompt before and after RL fine-tuning (same random stream).</summary>
public sealed record BeforeAfterSample(string Prompt, string Before, string After);

/// <summary>Task accuracy at one point of RL fine-tuning: greedy decoding and pure sampling, on held-out prompts.</summary>
public sealed record AccuracyPoint(int Step, double Greedy, double Sampled);

/// <summary>Settings of the verifiable-task demo (<see cref="VerifiableDemo"/>).</summary>
public sealed record VerifiableDemoOptions
{
    /// <summary>"reverse" or "repeat".</summary>
    public string Task { get; init; } = "reverse";

    /// <summary>Letters the words are made of.</summary>
    public string Alphabet { get; init; } = "abcdefghijklmnopqrstuvwxyz";

    /// <summary>Shortest word.</summary>
    public int MinLength { get; init; } = 3;

    /// <summary>Longest word.</summary>
    public int MaxLength { get; init; } = 5;

    /// <summary>Model width (2 layers, 4 heads, a context of twice the longest word plus room for the separators).</summary>
    public int Width { get; init; } = 64;

    /// <summary>Transformer blocks.</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Word–shuffle examples generated for pretraining.</summary>
    public int PretrainExamples { get; init; } = 20_000;

    /// <summary>Pretraining settings.</summary>
    public PretrainOptions Pretrain { get; init; } = new() { Steps = 1500, BatchSize = 32, LearningRate = 3e-3f, MinLearningRate = 3e-4f };

    /// <summary>RL fine-tuning steps.</summary>
    public int RlSteps { get; init; } = 500;

    /// <summary>
    /// RL settings (the completion length and stop character are set from the task). 32 prompts of 8 completions per
    /// step: with 16 prompts the gradient is noisy enough that some seeds stall in the 80s of percent.
    /// </summary>
    public RlhfOptions Rl { get; init; } = new() { GroupSize = 8, PromptsPerStep = 32, LearningRate = 1e-3f, KlCoefficient = 0.05f };

    /// <summary>Held-out prompts the accuracy is measured on.</summary>
    public int EvalPrompts { get; init; } = 200;

    /// <summary>Measure the accuracy every this many RL steps.</summary>
    public int EvalEvery { get; init; } = 50;

    /// <summary>Seed of everything (model, data, sampling).</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>What the verifiable-task demo reached.</summary>
public sealed record VerifiableDemoResult(
    Gpt Model, CharTokenizer Tokenizer, WordTask Task, double PretrainValidationLoss,
    AccuracyPoint Before, AccuracyPoint After, IReadOnlyList<AccuracyPoint> Curve,
    IReadOnlyList<RlhfStepMetrics> Steps, IReadOnlyList<BeforeAfterSample> Samples);

/// <summary>
/// The verifiable-task demo: a small GPT is pretrained on "word=shuffle" lines (the letters of the word in a random order),
/// so it knows the format and the letters but writes the reversed (or repeated) word only by chance; RL fine-tuning with
/// the task's checkable reward (<see cref="WordTask.Reward"/>) then teaches it the order. Accuracy is exact match on
/// held-out words.
/// </summary>
public static class VerifiableDemo
{
    /// <summary>
    /// Runs the demo; <paramref name="log"/> receives progress lines, <paramref name="onStep"/> every RL step and
    /// <paramref name="onEvaluate"/> every accuracy measurement (the one before RL included).
    /// </summary>
    public static VerifiableDemoResult Run(VerifiableDemoOptions options, Action<string>? log = null, Action<RlhfStepMetrics>? onStep = null,
        Action<AccuracyPoint>? onEvaluate = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        log ??= _ => { };
        var clock = Stopwatch.StartNew();
        var task = WordTask.Create(options.Task, options.Alphabet, options.MinLength, options.MaxLength);
        var tokenizer = CharTokenizer.FromText(task.Characters);
        var config = new GptConfig
        {
            VocabSize = tokenizer.VocabSize, ContextLength = 2 * options.MaxLength + 6, Layers = options.Layers, Width = options.Width, Heads = 4,
        };
        var model = new Gpt(config, new Rng(Rng.DeriveSeed((ulong)options.Seed, 0)));
        log($"Task '{task.Name}': words of {options.MinLength}-{options.MaxLength} letters from \"{options.Alphabet}\". Model: {config.Layers} layers, {config.Width} wide, {model.ParameterCount:N0} parameters.");

        var examples = task.PretrainingExamples(new Rng(Rng.DeriveSeed((ulong)options.Seed, 1)), options.PretrainExamples);
        var pretrainer = new Pretrainer(model, tokenizer, examples, options.Pretrain with { Seed = options.Seed });
        log($"Pretraining on {examples.Count:N0} word=shuffle examples (e.g. \"{examples[0].Prompt}{examples[0].Completion.TrimEnd('\n')}\") for {options.Pretrain.Steps} steps...");
        for (int s = 0; s < options.Pretrain.Steps; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            pretrainer.Step();
        }
        double validationLoss = pretrainer.ValidationLoss();
        log($"  held-out loss {validationLoss:F3} nats per answer character ({clock.Elapsed.TotalSeconds:F0} s)");

        var evalRng = new Rng(Rng.DeriveSeed((ulong)options.Seed, 2));
        var evalPrompts = Enumerable.Range(0, options.EvalPrompts).Select(_ => task.SamplePrompt(evalRng)).ToList();
        var samplePrompts = evalPrompts.Take(6).ToList();
        var before = Evaluate(model, tokenizer, task, evalPrompts, 0, options.Seed);
        var beforeSamples = Complete(model, tokenizer, samplePrompts, task.MaxLength + 2, SamplingOptions.Greedy, options.Seed);
        log($"After pretraining: accuracy {before.Greedy:P1} greedy, {before.Sampled:P1} sampled.");
        onEvaluate?.Invoke(before);

        var rl = options.Rl with { MaxNewTokens = task.MaxLength + 2, StopCharacter = WordTask.Terminator, Seed = options.Seed };
        var trainer = new RlhfTrainer(model, tokenizer, task, task.SamplePrompt, rl);
        var curve = new List<AccuracyPoint> { before };
        var steps = new List<RlhfStepMetrics>(options.RlSteps);
        log($"RL fine-tuning ({rl.Algorithm}, {rl.PromptsPerStep} prompts x {rl.GroupSize} completions per step, beta {rl.KlCoefficient}) for {options.RlSteps} steps...");
        for (int s = 0; s < options.RlSteps; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var m = trainer.Step();
            steps.Add(m);
            onStep?.Invoke(m);
            if ((s + 1) % options.EvalEvery == 0 || s + 1 == options.RlSteps)
            {
                var point = Evaluate(model, tokenizer, task, evalPrompts, s + 1, options.Seed);
                curve.Add(point);
                onEvaluate?.Invoke(point);
                log(string.Create(CultureInfo.InvariantCulture, $"  step {s + 1}: reward {m.RewardMean:F3}, KL {m.Kl:F2}, accuracy {point.Greedy:P1} greedy / {point.Sampled:P1} sampled ({clock.Elapsed.TotalSeconds:F0} s)"));
            }
        }
        var after = curve[^1];
        var afterSamples = Complete(model, tokenizer, samplePrompts, task.MaxLength + 2, SamplingOptions.Greedy, options.Seed);
        var samples = samplePrompts.Select((p, i) => new BeforeAfterSample(p, beforeSamples[i], afterSamples[i])).ToList();
        log($"After RL: accuracy {after.Greedy:P1} greedy, {after.Sampled:P1} sampled (was {before.Greedy:P1} / {before.Sampled:P1}); {clock.Elapsed.TotalSeconds:F0} s in all.");
        return new VerifiableDemoResult(model, tokenizer, task, validationLoss, before, after, curve, steps, samples);
    }

    /// <summary>Exact-match accuracy on <paramref name="prompts"/>, greedy and sampled (seeded).</summary>
    public static AccuracyPoint Evaluate(Gpt model, ITokenizer tokenizer, WordTask task, IReadOnlyList<string> prompts, int step, int seed)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(prompts);
        double Accuracy(SamplingOptions sampling)
        {
            var completions = Complete(model, tokenizer, prompts, task.MaxLength + 2, sampling, seed);
            return (double)prompts.Where((p, i) => task.IsCorrect(p, completions[i])).Count() / prompts.Count;
        }
        return new AccuracyPoint(step, Accuracy(SamplingOptions.Greedy), Accuracy(SamplingOptions.Pure));
    }

    /// <summary>One completion per prompt, stopping at a line break.</summary>
    internal static List<string> Complete(Gpt model, ITokenizer tokenizer, IReadOnlyList<string> prompts, int maxTokens, SamplingOptions sampling, int seed)
    {
        int stop = tokenizer.StopToken('\n');
        var gen = model.Generate([.. prompts.Select(tokenizer.Encode)], maxTokens, sampling, new Rng(Rng.DeriveSeed((ulong)seed, 3)), stop);
        return [.. gen.Completions.Select(c => tokenizer.Decode(c))];
    }
}

/// <summary>Settings of the preference demo (<see cref="PreferenceDemo"/>).</summary>
public sealed record PreferenceDemoOptions
{
    /// <summary>The simulated rater's taste: "simple" (short words), "cheerful" or "spelling" (see <see cref="PreferenceDemo.Rater"/>).</summary>
    public string Rater { get; init; } = "simple";

    /// <summary>Completions whose rater scores are closer than this are a tie (a person would not tell them apart).</summary>
    public double TieMargin { get; init; } = 0.3;

    /// <summary>The model shape when pretraining here (default: 4 layers, 128 wide, 4 heads, context 64).</summary>
    public int Width { get; init; } = 128;

    /// <summary>Transformer blocks.</summary>
    public int Layers { get; init; } = 4;

    /// <summary>Context length.</summary>
    public int ContextLength { get; init; } = 64;

    /// <summary>Pretraining settings (used when no pretrained model is given).</summary>
    public PretrainOptions Pretrain { get; init; } = new() { Steps = 1000 };

    /// <summary>Pairs of completions the simulated rater judges.</summary>
    public int Pairs { get; init; } = 2000;

    /// <summary>Completion length in characters.</summary>
    public int CompletionTokens { get; init; } = 48;

    /// <summary>Share of the pairs held out to measure the reward model.</summary>
    public double ValidationFraction { get; init; } = 0.2;

    /// <summary>Reward-model training settings.</summary>
    public RewardModelOptions RewardModel { get; init; } = new() { Epochs = 4, LearningRate = 1e-3f, UseTies = false };

    /// <summary>RL fine-tuning steps.</summary>
    public int RlSteps { get; init; } = 100;

    /// <summary>RL settings (the completion length is set from <see cref="CompletionTokens"/>).</summary>
    public RlhfOptions Rl { get; init; } = new() { GroupSize = 4, PromptsPerStep = 16, LearningRate = 1e-4f, KlCoefficient = 0.05f };

    /// <summary>Held-out prompts the true score and KL are measured on.</summary>
    public int EvalPrompts { get; init; } = 64;

    /// <summary>Samples per held-out prompt.</summary>
    public int EvalSamplesPerPrompt { get; init; } = 4;

    /// <summary>Measure every this many RL steps.</summary>
    public int EvalEvery { get; init; } = 10;

    /// <summary>Seed of everything.</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>
/// The policy measured on held-out prompts: the simulated rater's mean true score of its samples, their mean
/// sequence-level KL to the reference model (Σ_t log π − log π_ref), and the (calibrated) reward model's mean score.
/// </summary>
public sealed record ScorePoint(int Step, double TrueScore, double Kl, double RewardModelScore);

/// <summary>What the preference demo reached.</summary>
public sealed record PreferenceDemoResult(
    Gpt Policy, Gpt Reference, RewardModel RewardModel, ITokenizer Tokenizer, int PairCount, int TieCount,
    RewardModelEvaluation HeldOut, ScorePoint Before, ScorePoint After, IReadOnlyList<ScorePoint> Curve,
    IReadOnlyList<RlhfStepMetrics> Steps, IReadOnlyList<BeforeAfterSample> Samples);

/// <summary>
/// The preference demo, the whole RLHF pipeline with a simulated rater in place of a person: a GPT pretrained on the
/// story corpus writes pairs of completions of story openings; the rater (a function of the text) picks the better of
/// each pair; a reward model (the GPT trunk with a scalar head) is trained on those choices and measured on held-out
/// prompts; RLOO then fine-tunes the model against the reward model, while the rater's true score and the KL to the
/// pretrained model are tracked.
/// </summary>
public static class PreferenceDemo
{
    /// <summary>
    /// The simulated raters' tastes: "simple" prefers short words (minus the mean word length), "cheerful" counts cheerful
    /// minus gloomy words, "spelling" the share of words found in the corpus.
    /// </summary>
    public static Func<string, double> Rater(string name, string corpus)
    {
        ArgumentNullException.ThrowIfNull(name);
        switch (name)
        {
            case "simple": return TextScores.Simplicity;
            case "cheerful": return TextScores.Cheerfulness;
            case "spelling":
                var vocabulary = TextScores.Vocabulary(corpus);
                return text => TextScores.WordQuality(text, vocabulary);
            default: throw new ArgumentException($"Unknown rater '{name}'; the simulated raters are 'simple', 'cheerful' and 'spelling'.", nameof(name));
        }
    }

    /// <summary>
    /// Runs the demo. With <paramref name="pretrained"/> (and its <paramref name="tokenizer"/>) the pretraining stage is
    /// skipped; otherwise a model is pretrained on <paramref name="corpus"/> (the shipped stories by default).
    /// <paramref name="onStep"/> receives every RL step, <paramref name="onEvaluate"/> every held-out measurement.
    /// </summary>
    public static PreferenceDemoResult Run(PreferenceDemoOptions options, Gpt? pretrained = null, ITokenizer? tokenizer = null,
        string? corpus = null, Action<string>? log = null, Action<RlhfStepMetrics>? onStep = null, Action<ScorePoint>? onEvaluate = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        log ??= _ => { };
        corpus ??= DemoCorpus.Stories;
        var clock = Stopwatch.StartNew();
        var rater = Rater(options.Rater, corpus);
        ulong seed = (ulong)options.Seed;

        if (pretrained is null)
        {
            tokenizer = CharTokenizer.FromText(corpus);
            var config = new GptConfig { VocabSize = tokenizer.VocabSize, ContextLength = options.ContextLength, Layers = options.Layers, Width = options.Width, Heads = 4 };
            pretrained = new Gpt(config, new Rng(Rng.DeriveSeed(seed, 0)));
            var pretrainer = new Pretrainer(pretrained, tokenizer, corpus, options.Pretrain with { Seed = options.Seed });
            log($"Pretraining a {config.Layers}-layer, {config.Width}-wide GPT ({pretrained.ParameterCount:N0} parameters) on {corpus.Length:N0} characters for {options.Pretrain.Steps} steps...");
            for (int s = 0; s < options.Pretrain.Steps; s++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var st = pretrainer.Step();
                if ((s + 1) % Math.Max(1, options.Pretrain.Steps / 5) == 0)
                    log(string.Create(CultureInfo.InvariantCulture, $"  step {s + 1}: loss {st.Loss:F3} ({clock.Elapsed.TotalSeconds:F0} s)"));
            }
            log(string.Create(CultureInfo.InvariantCulture, $"  held-out loss {pretrainer.ValidationLoss():F3} nats per character"));
        }
        else if (tokenizer is null) throw new ArgumentNullException(nameof(tokenizer), "PreferenceDemo.Run: a pretrained model needs its tokenizer.");

        int completionTokens = Math.Min(options.CompletionTokens, pretrained.Config.ContextLength / 2);
        var openings = DemoCorpus.Openings(corpus).Where(o => tokenizer.UnknownCharacters(o).Length == 0).ToList();
        if (openings.Count < 10) throw new ArgumentException("PreferenceDemo.Run: the corpus has too few stories to draw prompts from (need at least 10 paragraphs).", nameof(corpus));
        // Prompts are split once: the held-out ones are never used to train the reward model or the policy.
        var shuffled = Shuffled(openings, new Rng(Rng.DeriveSeed(seed, 1)));
        int heldOutCount = Math.Max(4, Math.Min(options.EvalPrompts, shuffled.Count / 4));
        var heldOut = shuffled.Take(heldOutCount).ToList();
        var trainPrompts = shuffled.Skip(heldOutCount).ToList();

        // 1. Pairs of completions, judged by the simulated rater.
        var pairRng = new Rng(Rng.DeriveSeed(seed, 2));
        var pairPrompts = Enumerable.Range(0, options.Pairs).Select(_ => trainPrompts[pairRng.NextInt(trainPrompts.Count)]).ToList();
        var gen = pretrained.Generate([.. pairPrompts.SelectMany(p => new[] { tokenizer.Encode(p), tokenizer.Encode(p) })], completionTokens,
            SamplingOptions.Pure, new Rng(Rng.DeriveSeed(seed, 3)));
        var items = pairPrompts.Select((p, i) => new LabelItem(p, [tokenizer.Decode(gen.Completions[2 * i]), tokenizer.Decode(gen.Completions[2 * i + 1])]));
        var pairs = PreferenceLabelling.Collect(items, new SimulatedRater(rater, options.TieMargin));
        int ties = pairs.Count(p => p.IsTie);
        log($"The '{options.Rater}' rater judged {pairs.Count:N0} pairs: {pairs.Count - ties:N0} decisive, {ties:N0} ties ({clock.Elapsed.TotalSeconds:F0} s).");

        // 2. The reward model, from a copy of the pretrained trunk.
        var (train, validation) = RewardModelTraining.Split(pairs, options.ValidationFraction, options.Seed);
        var rewardModel = new RewardModel(pretrained.Clone(), tokenizer, new Rng(Rng.DeriveSeed(seed, 4)));
        log($"Training the reward model on {train.Count:N0} pairs, holding out {validation.Count:N0} (of prompts it never sees)...");
        RewardModelTraining.Train(rewardModel, train, validation, options.RewardModel with { Seed = options.Seed }, st =>
        {
            if (st.Validation is { } v)
                log(string.Create(CultureInfo.InvariantCulture, $"  step {st.Step}/{st.TotalSteps}: loss {st.Loss:F3}, held-out accuracy {v.Accuracy:P1}, margin {v.MeanMargin:F2} ({clock.Elapsed.TotalSeconds:F0} s)"));
        });
        var heldOutEval = RewardModelTraining.Evaluate(rewardModel, validation);

        // 3. RLOO against the reward model, calibrated on the starting policy's samples.
        var calibrationPrompts = Enumerable.Range(0, 256).Select(i => trainPrompts[i % trainPrompts.Count]).ToList();
        var calibration = pretrained.Generate([.. calibrationPrompts.Select(tokenizer.Encode)], completionTokens, SamplingOptions.Pure, new Rng(Rng.DeriveSeed(seed, 5)));
        var reward = ScaledReward.Calibrate(rewardModel, calibrationPrompts, [.. calibration.Completions.Select(c => tokenizer.Decode(c))]);
        var policy = pretrained.Clone();
        var reference = pretrained;
        var evalPrompts = heldOut.SelectMany(p => Enumerable.Repeat(p, options.EvalSamplesPerPrompt)).ToList();
        ScorePoint Measure(int step) => Evaluate(policy, reference, tokenizer, reward, rater, evalPrompts, completionTokens, step, options.Seed);
        var samplePrompts = heldOut.Take(6).ToList();
        var beforeSamples = VerifiableDemo.Complete(policy, tokenizer, samplePrompts, completionTokens, SamplingOptions.Pure, options.Seed);
        var before = Measure(0);
        var curve = new List<ScorePoint> { before };
        onEvaluate?.Invoke(before);
        log(string.Create(CultureInfo.InvariantCulture, $"Before RL: true score {before.TrueScore:F3} on held-out prompts."));

        var rl = options.Rl with { MaxNewTokens = completionTokens, Seed = options.Seed };
        var trainer = new RlhfTrainer(policy, tokenizer, reward, r => trainPrompts[r.NextInt(trainPrompts.Count)], rl, reference);
        var steps = new List<RlhfStepMetrics>(options.RlSteps);
        log($"RL fine-tuning ({rl.Algorithm}, {rl.PromptsPerStep} prompts x {rl.GroupSize} completions, beta {rl.KlCoefficient}) for {options.RlSteps} steps...");
        for (int s = 0; s < options.RlSteps; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var m = trainer.Step();
            steps.Add(m);
            onStep?.Invoke(m);
            if ((s + 1) % options.EvalEvery == 0 || s + 1 == options.RlSteps)
            {
                var point = Measure(s + 1);
                curve.Add(point);
                onEvaluate?.Invoke(point);
                log(string.Create(CultureInfo.InvariantCulture, $"  step {s + 1}: true score {point.TrueScore:F3}, KL {point.Kl:F2}, reward {point.RewardModelScore:F2} ({clock.Elapsed.TotalSeconds:F0} s)"));
            }
        }
        var after = curve[^1];
        var afterSamples = VerifiableDemo.Complete(policy, tokenizer, samplePrompts, completionTokens, SamplingOptions.Pure, options.Seed);
        var samples = samplePrompts.Select((p, i) => new BeforeAfterSample(p, beforeSamples[i], afterSamples[i])).ToList();
        log(string.Create(CultureInfo.InvariantCulture, $"After RL: true score {after.TrueScore:F3} (was {before.TrueScore:F3}), KL to the pretrained model {after.Kl:F2}; {clock.Elapsed.TotalSeconds:F0} s in all."));
        return new PreferenceDemoResult(policy, reference, rewardModel, tokenizer, pairs.Count, ties, heldOutEval, before, after, curve, steps, samples);
    }

    /// <summary>
    /// Samples <paramref name="prompts"/> (pure sampling, seeded) and measures the rater's mean score, the mean
    /// sequence-level KL to <paramref name="reference"/> and the reward's mean.
    /// </summary>
    public static ScorePoint Evaluate(Gpt policy, Gpt reference, ITokenizer tokenizer, IRewardSource reward, Func<string, double> rater,
        IReadOnlyList<string> prompts, int completionTokens, int step, int seed)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(reward);
        ArgumentNullException.ThrowIfNull(rater);
        ArgumentNullException.ThrowIfNull(prompts);
        var encoded = prompts.Select(tokenizer.Encode).ToList();
        var gen = policy.Generate(encoded, completionTokens, SamplingOptions.Pure, new Rng(Rng.DeriveSeed((ulong)seed, 6)));
        var texts = gen.Completions.Select(c => tokenizer.Decode(c)).ToList();
        var refLogProbs = reference.CompletionLogProbs(encoded, [.. gen.Completions]);
        double kl = 0;
        for (int i = 0; i < texts.Count; i++) kl += gen.LogProbs[i].Sum() - refLogProbs[i];
        return new ScorePoint(step, texts.Average(rater), kl / texts.Count, reward.Score(prompts, texts).Average());
    }

    private static List<string> Shuffled(IReadOnlyList<string> items, Rng rng)
    {
        var list = items.ToList();
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
        return list;
    }
}
