using Reinforce.Autograd;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;

namespace Reinforce.Tests.Rlhf;

/// <summary>
/// RL fine-tuning with LoRA on a tiny byte-level BPE GPT-2 (the 512-token BPE of the test data's tiny-gpt2 folder, 2 layers,
/// 32 wide, context 32, pretrained here for 150 steps on the shipped stories): GRPO and PPO raise a reward checked by code
/// (the simple-text rater's score, minus the mean word length) while the base weights stay bit-for-bit, the reference
/// is the base model exactly (adapters off, no second copy), and the training state (adapters, optimizer) survives a
/// save and load onto a fresh copy of the base.
/// </summary>
public sealed class LoraRlhfTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reinforce-lora-rl-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Prompts = ["Once upon a time", "The cat", "One day", "She said"];

    /// <summary>The pretrained base, made once for every test (a random GPT's tied head is too flat for adapters to move).</summary>
    private static readonly Lazy<Gpt> Pretrained = new(() =>
    {
        var tokenizer = ByteLevelBpeTokenizer.FromFolder(BpeTokenizerTests.DataPath("tiny-gpt2"))!;
        var model = new Gpt(new GptConfig { VocabSize = tokenizer.VocabSize, ContextLength = 32, Layers = 2, Width = 32, Heads = 2 }, new Rng(1));
        var pretrainer = new Pretrainer(model, tokenizer, DemoCorpus.Stories[..40_000], new PretrainOptions { Steps = 150, BatchSize = 16, LearningRate = 1e-2f, MinLearningRate = 1e-3f, Seed = 1 });
        for (int i = 0; i < 150; i++) pretrainer.Step();
        return model;
    });

    private static (RlhfTrainer Trainer, Gpt Base) Trainer(RlAlgorithm algorithm, int seed = 1, double dropout = 0)
    {
        var tokenizer = ByteLevelBpeTokenizer.FromFolder(BpeTokenizerTests.DataPath("tiny-gpt2"))!;
        var policy = Pretrained.Value.Clone();
        var baseCopy = policy.Clone();
        LoraAdapters.Attach(policy, new LoraOptions { Rank = 4, Alpha = 8, TargetModules = ["c_attn", "c_proj", "c_fc"], Seed = seed, Dropout = dropout });
        var options = RlhfOptions.For(algorithm) with
        {
            GroupSize = 8, PromptsPerStep = 4, MaxNewTokens = 8, LearningRate = 2e-2f, KlCoefficient = 0.01f, Seed = seed,
            Epochs = algorithm == RlAlgorithm.Ppo ? 2 : 1, MiniBatches = algorithm == RlAlgorithm.Ppo ? 2 : 1,
        };
        var trainer = new RlhfTrainer(policy, tokenizer, RewardFunction.OfCompletion("simple", TextScores.Simplicity), rng => Prompts[rng.NextInt(Prompts.Length)], options);
        return (trainer, baseCopy);
    }

    [Theory]
    [InlineData(RlAlgorithm.Grpo)]
    [InlineData(RlAlgorithm.Ppo)]
    public void Lora_raises_a_code_checked_reward_and_keeps_the_base(RlAlgorithm algorithm)
    {
        var (trainer, baseModel) = Trainer(algorithm);
        var rewards = new List<double>();
        for (int i = 0; i < 40; i++) rewards.Add(trainer.Step().RewardMean);
        // Minus the mean word length: about −3.4 at first; the adapters learn short words (about −1.5 by step 40).
        double first = rewards.Take(3).Average(), last = rewards.TakeLast(10).Average();
        Assert.True(last > first + 1.0, $"{algorithm}: reward {first:F3} over the first 3 steps, {last:F3} over the last 10");
        // Only the adapters moved: every base weight is bit-for-bit the loaded one.
        var trained = trainer.Policy.StateDict();
        foreach (var (name, t) in baseModel.StateDict()) Assert.True(t.Data.AsSpan().SequenceEqual(trained[name].Data), name);
    }

    [Fact]
    public void The_reference_under_lora_is_the_base_model_exactly()
    {
        var (trainer, baseModel) = Trainer(RlAlgorithm.Grpo);
        for (int i = 0; i < 5; i++) trainer.Step();
        Assert.Same(trainer.Policy, trainer.Reference);                      // no second copy in memory
        int[] tokens = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120];   // two rows of six
        float[] expected, policy;
        using (Graph.NoGrad())
        {
            expected = baseModel.Logits(tokens, 2, 6).Data;
            policy = trainer.Policy.Logits(tokens, 2, 6).Data;
        }
        Assert.Equal(expected, trainer.ReferenceLogits(tokens, 2, 6).Data);
        Assert.NotEqual(expected, policy);                                   // the adapters did learn something
        Assert.True(trainer.Policy.Lora!.Enabled);                           // and are on again afterwards
    }

    [Theory]
    [InlineData(RlAlgorithm.Grpo, 0.0)]
    [InlineData(RlAlgorithm.Ppo, 0.0)]
    [InlineData(RlAlgorithm.Grpo, 0.1)]   // the dropout stream continues where it stopped, so the resumed step drops the same inputs
    [InlineData(RlAlgorithm.Ppo, 0.1)]
    public void Lora_training_state_saves_and_resumes_onto_a_fresh_base(RlAlgorithm algorithm, double dropout)
    {
        var (trainer, baseModel) = Trainer(algorithm, dropout: dropout);
        for (int i = 0; i < 3; i++) trainer.Step();
        string checkpoint = Path.Combine(_dir, "step-3");
        trainer.Save(checkpoint);
        // The model file is the fine-tuned model by itself: the merged weights.
        var (merged, _, _) = LmCheckpoint.LoadLanguageModel(Path.Combine(checkpoint, LmCheckpoint.ModelFile));
        int[] tokens = [10, 20, 30, 40, 50, 60];
        using (Graph.NoGrad())
        {
            var want = trainer.Policy.Logits(tokens, 1, 6).Data;
            var got = merged.Logits(tokens, 1, 6).Data;
            for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - got[i]) < 1e-4, $"merged logit {i}: {got[i]} vs {want[i]}");
        }
        var next = trainer.Step();

        var (resumed, resumedBase) = Trainer(algorithm, dropout: dropout);
        resumed.Load(checkpoint);
        Assert.Equal(3, resumed.StepCount);
        foreach (var (name, t) in resumedBase.StateDict()) Assert.True(t.Data.AsSpan().SequenceEqual(resumed.Policy.StateDict()[name].Data), name);
        var again = resumed.Step();
        Assert.Equal(next.Completions, again.Completions);
        Assert.Equal(next.Loss, again.Loss);
        Assert.Equal(baseModel.Config, resumed.Policy.Config);
    }

    [Fact]
    public void A_lora_run_records_its_adapters_in_the_config_and_a_resume_rebuilds_them()
    {
        var tokenizer = ByteLevelBpeTokenizer.FromFolder(BpeTokenizerTests.DataPath("tiny-gpt2"))!;
        string basePath = Path.Combine(_dir, "base.safetensors"), promptsPath = Path.Combine(_dir, "prompts.txt"), runDir = Path.Combine(_dir, "run");
        LmCheckpoint.Save(basePath, Pretrained.Value, tokenizer);
        File.WriteAllLines(promptsPath, Prompts);
        var config = new RlhfRunConfig
        {
            Model = basePath, Rater = "simple", Prompts = promptsPath, Steps = 2, SaveEvery = 1,
            Lora = new LoraOptions { Rank = 4, Alpha = 8, TargetModules = ["c_attn", "c_fc"], Seed = 3 },
            Options = RlhfOptions.For(RlAlgorithm.Grpo) with { GroupSize = 4, PromptsPerStep = 2, MaxNewTokens = 8, LearningRate = 2e-2f, Seed = 1 },
        };
        Dictionary<string, float[]> trained;
        using (var run = RlhfRun.Create(runDir, config))
        {
            Assert.NotNull(run.Trainer.Policy.Lora);
            Assert.Equal(2, run.Run().Steps);
            trained = run.Trainer.Policy.Lora!.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Data.ToArray());
        }
        Assert.True(File.Exists(Path.Combine(runDir, "adapter_config.json")));
        Assert.Equal(config.Lora, RlhfRun.ReadConfig(runDir).Lora! with { TargetModules = config.Lora!.TargetModules });
        Assert.Equal(["c_attn", "c_fc"], RlhfRun.ReadConfig(runDir).Lora!.TargetModules);

        using var resumed = RlhfRun.Resume(runDir);
        Assert.Equal(2, resumed.Trainer.StepCount);
        var lora = resumed.Trainer.Policy.Lora;
        Assert.NotNull(lora);
        Assert.Equal(4, lora!.Options.Rank);
        foreach (var (name, t) in lora.StateDict()) Assert.True(trained[name].AsSpan().SequenceEqual(t.Data), name);
        // The base under the adapters is the starting model, not the merged one.
        var baseState = Pretrained.Value.StateDict();
        using (lora.Disabled())
            foreach (var (name, t) in resumed.Trainer.Policy.StateDict())
                if (baseState.TryGetValue(name, out var b)) Assert.True(b.Data.AsSpan().SequenceEqual(t.Data), name);
    }
}
