using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Demos;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;
using Xunit.Abstractions;

namespace Reinforce.Tests.Rlhf;

/// <summary>
/// Learning tests at small budgets (tiny models, few steps, fixed seeds): the demos' claims, scaled down, and each RL
/// algorithm raising a reward written as code.
/// </summary>
public class LearningTests(ITestOutputHelper output)
{
    private static readonly CharTokenizer Ab = new("\nab");

    /// <summary>A one-layer GPT over "a", "b" and the line break.</summary>
    private static Gpt TinyAb(int seed) => new(new GptConfig { VocabSize = 3, ContextLength = 16, Layers = 1, Width = 16, Heads = 2 }, new Rng(seed));

    private static double ShareOfA(string text) => text.Length == 0 ? 0 : (double)text.Count(c => c == 'a') / text.Length;

    [Fact]
    public void Pretraining_lowers_the_held_out_loss_on_the_stories()
    {
        var tokenizer = CharTokenizer.FromText(DemoCorpus.Stories);
        var model = new Gpt(new GptConfig { VocabSize = tokenizer.VocabSize, ContextLength = 32, Layers = 2, Width = 32, Heads = 4 }, new Rng(1));
        var trainer = new Pretrainer(model, tokenizer, DemoCorpus.Stories, new PretrainOptions { Steps = 150, BatchSize = 16, LearningRate = 3e-3f, ValidationWindows = 64 });
        double before = trainer.ValidationLoss();
        Assert.InRange(before, Math.Log(tokenizer.VocabSize) - 0.3, Math.Log(tokenizer.VocabSize) + 0.3);   // uniform guessing
        for (int i = 0; i < 150; i++) trainer.Step();
        double after = trainer.ValidationLoss();
        Assert.True(after < 2.6, $"held-out loss {after:F3} after 150 steps (started at {before:F3})");
    }

    [Theory]
    [InlineData(RlAlgorithm.Rloo)]
    [InlineData(RlAlgorithm.Grpo)]
    [InlineData(RlAlgorithm.Ppo)]
    public void Each_algorithm_raises_a_reward_written_as_code(RlAlgorithm algorithm)
    {
        // Reward: the share of "a" in the completion. An untrained model writes about as many a as b.
        var model = TinyAb(3);
        var reward = RewardFunction.OfCompletion("share of a", ShareOfA);
        var options = RlhfOptions.For(algorithm) with { PromptsPerStep = 8, GroupSize = 4, MaxNewTokens = 8, LearningRate = 1e-2f, Seed = 4 };
        if (algorithm == RlAlgorithm.Ppo) options = options with { Epochs = 2, MiniBatches = 2 };
        var trainer = new RlhfTrainer(model, Ab, reward, _ => "b", options);
        var steps = Enumerable.Range(0, 40).Select(_ => trainer.Step()).ToList();
        double first = steps.Take(3).Average(m => m.RewardMean), last = steps.TakeLast(3).Average(m => m.RewardMean);
        output.WriteLine($"{algorithm}: share of a {first:F3} → {last:F3}, KL {steps[^1].Kl:F2}");
        Assert.InRange(first, 0.2, 0.7);
        Assert.True(last > 0.8 && last > first + 0.4, $"{algorithm}: share of a {first:F2} → {last:F2}");
        output.WriteLine($"{algorithm}: KL by step {string.Join(", ", steps.Select(m => m.Kl.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))}");
        // Step 1 samples from the reference itself: its KL is exactly 0, whatever the algorithm.
        Assert.Equal(0.0, steps[0].Kl);
        // After it the policy has moved: KL is the mean log-ratio of the policy's own samples, whose expectation is
        // KL(π ‖ π_ref) ≥ 0; it grows as the reward rises, and ends well away from the reference.
        Assert.NotEqual(0.0, steps[1].Kl);
        double early = steps.Skip(1).Take(5).Average(m => m.Kl), late = steps.TakeLast(5).Average(m => m.Kl);
        Assert.True(late > early && late > 0.5, $"{algorithm}: KL over steps 2–6 {early:F3}, over the last 5 {late:F3}");
        Assert.True(steps.Skip(1).Average(m => m.Kl) > 0, $"{algorithm}: the mean KL estimate after step 1 is negative");
        Assert.True(steps[^1].Kl > 0.5, $"{algorithm}: the policy moved away from the reference (KL {steps[^1].Kl:F2})");
    }

    [Fact]
    public void The_first_step_is_on_the_reference_so_its_kl_is_zero_and_nothing_is_clipped()
    {
        var model = TinyAb(5);
        var trainer = new RlhfTrainer(model, Ab, RewardFunction.OfCompletion("a", ShareOfA), _ => "ab", new RlhfOptions { PromptsPerStep = 4, GroupSize = 4, MaxNewTokens = 6, StopCharacter = '\n' });
        var m = trainer.Step();
        Assert.Equal(0.0, m.Kl);
        Assert.Equal(0.0, m.ClipFraction);
        Assert.Equal(16, m.Completions.Count);
        Assert.InRange(m.CompletionLengthMean, 1, 6);
        Assert.InRange(m.Entropy, 0.1, Math.Log(3) + 1e-6);
        Assert.All(m.Completions, c => Assert.True(!c.Contains('\n', StringComparison.Ordinal) || c.EndsWith('\n')));
        var row = m.ToDictionary();
        foreach (var key in new[] { "reward_mean", "reward_std", "kl", "entropy", "completion_length_mean", "zero_variance_groups", "clip_fraction" })
            Assert.True(row.ContainsKey(key), key);
    }

    [Fact]
    public void Same_seed_same_completions_and_weights_whatever_the_thread_count()
    {
        (IReadOnlyList<string> Completions, float[] Weights) Run(int threads)
        {
            int saved = Reinforce.Tensors.Kernels.MaxThreads;
            Reinforce.Tensors.Kernels.MaxThreads = threads;
            try
            {
                var model = new Gpt(new GptConfig { VocabSize = 3, ContextLength = 16, Layers = 2, Width = 32, Heads = 4 }, new Rng(11));
                var trainer = new RlhfTrainer(model, Ab, RewardFunction.OfCompletion("a", ShareOfA), r => r.NextInt(2) == 0 ? "a" : "bb",
                    RlhfOptions.For(RlAlgorithm.Ppo) with { PromptsPerStep = 8, GroupSize = 4, MaxNewTokens = 10, Seed = 12 });
                RlhfStepMetrics last = trainer.Step();
                for (int i = 0; i < 2; i++) last = trainer.Step();
                return (last.Completions, model.TokenEmbedding.Weight.Value.Data.ToArray());
            }
            finally { Reinforce.Tensors.Kernels.MaxThreads = saved; }
        }
        var one = Run(1);
        var two = Run(2);
        Assert.Equal(one.Completions, two.Completions);
        Assert.Equal(one.Weights, two.Weights);
    }

    [Fact]
    public void Trainer_rejects_bad_settings_with_the_reason()
    {
        var model = TinyAb(1);
        var reward = RewardFunction.OfCompletion("a", ShareOfA);
        var bad = Assert.Throws<Reinforce.Algorithms.ConfigurationException>(() =>
            new RlhfTrainer(model, Ab, reward, _ => "a", new RlhfOptions { GroupSize = 1 }));
        Assert.Equal("group_size", bad.Setting);
        Assert.Contains("at least 2", bad.Message, StringComparison.Ordinal);
        Assert.Contains("stop character", Assert.Throws<ArgumentException>(() =>
            new RlhfTrainer(model, Ab, reward, _ => "a", new RlhfOptions { StopCharacter = '.' })).Message, StringComparison.Ordinal);
        var trainer = new RlhfTrainer(model, Ab, reward, _ => new string('a', 16), new RlhfOptions { PromptsPerStep = 1, GroupSize = 2 });
        Assert.Contains("shorter prompts", Assert.Throws<InvalidOperationException>(() => trainer.Step()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reward_model_learns_a_raters_taste_on_held_out_prompts()
    {
        // The rater likes "ab": pairs of random a/b strings, the one with more "ab" in it preferred, ties when equal.
        // (A count of single letters would be too easy: a random network's mean embedding already tracks it.)
        var rng = new Rng(6);
        string Random(int n) => new([.. Enumerable.Range(0, n).Select(_ => rng.NextInt(2) == 0 ? 'a' : 'b')]);
        // 32 distinct prompts (5-letter a/b strings), so the held-out split has prompts of its own.
        static string Prompt(int i) => new([.. Enumerable.Range(0, 5).Select(bit => ((i >> bit) & 1) == 0 ? 'a' : 'b')]);
        var items = Enumerable.Range(0, 2000).Select(i => new LabelItem(Prompt(i % 32), [Random(10), Random(10)])).ToList();
        var pairs = PreferenceLabelling.Collect(items, new SimulatedRater(t => t.Split("ab").Length - 1));
        var (train, validation) = RewardModelTraining.Split(pairs.Where(p => !p.IsTie).ToList(), 0.2, 1);
        var trunk = new Gpt(new GptConfig { VocabSize = 3, ContextLength = 16, Layers = 2, Width = 32, Heads = 4 }, new Rng(7));
        var rm = new RewardModel(trunk, Ab, new Rng(8));
        var before = RewardModelTraining.Evaluate(rm, validation);
        var history = RewardModelTraining.Train(rm, train, validation, new RewardModelOptions { Epochs = 16, LearningRate = 3e-3f, EvaluateEvery = 0 });
        var after = history[^1].Validation!;
        output.WriteLine($"held-out accuracy {before.Accuracy:P1} → {after.Accuracy:P1}, margin {after.MeanMargin:F2}");
        Assert.True(after.Accuracy >= 0.9, $"held-out accuracy {after.Accuracy:P1} (before training {before.Accuracy:P1})");
        Assert.True(after.Accuracy > before.Accuracy + 0.15, $"held-out accuracy {before.Accuracy:P1} → {after.Accuracy:P1}");
        Assert.True(after.MeanMargin > 1, $"margin {after.MeanMargin:F2}");
        Assert.True(history[^1].Loss < history[0].Loss);
    }

    [Fact]
    public void Verifiable_demo_small_budget_goes_from_chance_to_most_words_reversed()
    {
        var defaults = new VerifiableDemoOptions();
        var options = defaults with
        {
            Alphabet = "abcdefgh", MinLength = 3, MaxLength = 4, Width = 32, PretrainExamples = 6000,
            Pretrain = defaults.Pretrain with { Steps = 600 }, RlSteps = 150, EvalEvery = 150, EvalPrompts = 200, Seed = 1,
            Rl = defaults.Rl with { PromptsPerStep = 16 },
        };
        var result = VerifiableDemo.Run(options);
        output.WriteLine($"accuracy {result.Before.Greedy:P1} → {result.After.Greedy:P1} (sampled {result.Before.Sampled:P1} → {result.After.Sampled:P1})");
        Assert.True(result.Before.Greedy < 0.2, $"accuracy after pretraining {result.Before.Greedy:P1}");
        Assert.True(result.After.Greedy > 0.8, $"accuracy after RL {result.After.Greedy:P1} (was {result.Before.Greedy:P1})");
        Assert.Equal(150, result.Steps.Count);
        Assert.Equal(result.Samples.Count, result.Samples.Select(s => s.Prompt).Distinct().Count());
    }

    [Fact]
    public void Preference_demo_small_budget_learns_the_rater_and_raises_its_score_with_bounded_kl()
    {
        var defaults = new PreferenceDemoOptions();
        var options = defaults with
        {
            Seed = 2, Width = 64, Layers = 2, ContextLength = 64, Pretrain = defaults.Pretrain with { Steps = 300 },
            Pairs = 1500, CompletionTokens = 32, TieMargin = 0.5, RewardModel = defaults.RewardModel with { Epochs = 5, UseTies = true, EvaluateEvery = 0 },
            RlSteps = 30, EvalEvery = 10, EvalPrompts = 32, EvalSamplesPerPrompt = 2, Rl = defaults.Rl with { PromptsPerStep = 8 },
        };
        var result = PreferenceDemo.Run(options);
        output.WriteLine($"reward model {result.HeldOut.Accuracy:P1} over {result.HeldOut.Pairs} held-out pairs; true score {result.Before.TrueScore:F3} → {result.After.TrueScore:F3}; KL {string.Join(", ", result.Curve.Select(p => p.Kl.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.True(result.HeldOut.Accuracy >= 0.85, $"reward model held-out accuracy {result.HeldOut.Accuracy:P1} over {result.HeldOut.Pairs} pairs");
        Assert.True(result.HeldOut.Pairs >= 100);
        // The rater's true score (minus the mean word length) rises by half a letter or more...
        Assert.True(result.After.TrueScore > result.Before.TrueScore + 0.5, $"true score {result.Before.TrueScore:F2} → {result.After.TrueScore:F2}");
        // ...while the policy stays within a bounded distance of the pretrained model.
        Assert.Equal(0.0, result.Before.Kl, 3);   // the policy starts as the reference (up to the cache's rounding)
        Assert.InRange(result.After.Kl, 0.5, 20);
        Assert.True(result.After.RewardModelScore > result.Before.RewardModelScore);
    }
}
