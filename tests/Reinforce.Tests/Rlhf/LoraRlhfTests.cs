using Reinforce.Autograd;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.HuggingFace;
using Reinforce.Rlhf.Training;

namespace Reinforce.Tests.Rlhf;

/// <summary>
/// RL fine-tuning with LoRA on the tiny byte-level BPE GPT-2 folder of the test data (vocabulary 512, context 16, written by
/// tools/gpt2_reference/make_reference.py): GRPO and PPO raise a reward checked by code while the base weights stay
/// bit-for-bit, the reference is the base model exactly (adapters off, no second copy), and the training state
/// (adapters, optimizer) survives a save and load onto a freshly loaded base.
/// </summary>
public sealed class LoraRlhfTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reinforce-lora-rl-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Prompts = ["Once upon", "The cat", "A little", "She said", "One day"];

    /// <summary>The reward: the share of the completion's characters that are the letter e (checked by code, not learned).</summary>
    internal static double ShareOfE(string completion) => completion.Length == 0 ? 0 : completion.Count(c => c == 'e') / (double)completion.Length;

    private static (RlhfTrainer Trainer, Gpt Base) Trainer(RlAlgorithm algorithm, int seed = 1)
    {
        var hf = Gpt2Folder.Load(BpeTokenizerTests.DataPath("tiny-gpt2"));
        var baseCopy = hf.Model.Clone();
        LoraAdapters.Attach(hf.Model, new LoraOptions { Rank = 4, Alpha = 8, TargetModules = ["c_attn", "c_proj", "c_fc"], Seed = seed });
        var options = RlhfOptions.For(algorithm) with
        {
            GroupSize = 8, PromptsPerStep = 4, MaxNewTokens = 6, LearningRate = 2e-2f, KlCoefficient = 0.01f, Seed = seed,
            Epochs = algorithm == RlAlgorithm.Ppo ? 2 : 1, MiniBatches = algorithm == RlAlgorithm.Ppo ? 2 : 1,
        };
        var trainer = new RlhfTrainer(hf.Model, hf.Tokenizer!, RewardFunction.OfCompletion("share of e", ShareOfE), rng => Prompts[rng.NextInt(Prompts.Length)], options);
        return (trainer, baseCopy);
    }

    [Theory]
    [InlineData(RlAlgorithm.Grpo)]
    [InlineData(RlAlgorithm.Ppo)]
    public void Lora_raises_a_code_checked_reward_and_keeps_the_base(RlAlgorithm algorithm)
    {
        var (trainer, baseModel) = Trainer(algorithm);
        var rewards = new List<double>();
        for (int i = 0; i < 60; i++) rewards.Add(trainer.Step().RewardMean);
        double first = rewards.Take(10).Average(), last = rewards.TakeLast(10).Average();
        Assert.True(last > first + 0.1 && last > 0.3, $"{algorithm}: reward {first:F3} over the first 10 steps, {last:F3} over the last 10");
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
        int[] tokens = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120];
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
    [InlineData(RlAlgorithm.Grpo)]
    [InlineData(RlAlgorithm.Ppo)]
    public void Lora_training_state_saves_and_resumes_onto_a_fresh_base(RlAlgorithm algorithm)
    {
        var (trainer, baseModel) = Trainer(algorithm);
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

        var (resumed, resumedBase) = Trainer(algorithm);
        resumed.Load(checkpoint);
        Assert.Equal(3, resumed.StepCount);
        foreach (var (name, t) in resumedBase.StateDict()) Assert.True(t.Data.AsSpan().SequenceEqual(resumed.Policy.StateDict()[name].Data), name);
        var again = resumed.Step();
        Assert.Equal(next.Completions, again.Completions);
        Assert.Equal(next.Loss, again.Loss);
        Assert.Equal(baseModel.Config, resumed.Policy.Config);
    }
}
