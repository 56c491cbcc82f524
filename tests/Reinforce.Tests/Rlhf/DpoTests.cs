using Reinforce.Autograd;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;
using Reinforce.Tensors;

namespace Reinforce.Tests.Rlhf;

public sealed class DpoTests
{
    [Fact]
    public void Sigmoid_loss_and_gradient_match_a_hand_computation()
    {
        // Pair 1: Δc − Δr = (−1 + 1.5) − (−2 + 1.5) = 1, z = 0.1 → −log σ(0.1) = log(1 + e^−0.1) = 0.6443966600.
        // Pair 2: (−3 + 2) − (−1 + 2) = −2, z = −0.2 → log(1 + e^0.2) = 0.7981388693. Mean 0.7212677647.
        var chosen = Tensor.FromArray(new float[] { -1f, -3f }, 2).RequireGrad();
        var rejected = Tensor.FromArray(new float[] { -2f, -1f }, 2).RequireGrad();
        var loss = DpoTrainer.Loss(chosen, rejected, [-1.5, -2], [-1.5, -2], beta: 0.1);
        Assert.Equal(0.7212677647, loss.Item(), 1e-6);
        Graph.Backward(loss);
        // ∂L/∂πc_i = −(1 − σ(z_i))·β / n; ∂L/∂πr_i is its negative.
        Assert.Equal(-(1 - 1 / (1 + Math.Exp(-0.1))) * 0.1 / 2, chosen.Grad!.Data[0], 1e-7);
        Assert.Equal(-(1 - 1 / (1 + Math.Exp(0.2))) * 0.1 / 2, chosen.Grad!.Data[1], 1e-7);
        Assert.Equal(-chosen.Grad!.Data[0], rejected.Grad!.Data[0], 1e-7);
    }

    [Fact]
    public void Sequence_log_probs_through_autograd_equal_the_no_grad_ones()
    {
        var model = new Gpt(new GptConfig { VocabSize = 9, ContextLength = 12, Layers = 1, Width = 8, Heads = 2 }, new Rng(2));
        int[][] prompts = [[1, 2, 3], [4]];
        int[][] completions = [[5, 6], [7, 8, 0, 1]];
        var withGrad = DpoTrainer.SequenceLogProbs(model, prompts, completions).Data;
        var noGrad = model.CompletionLogProbs(prompts, completions);
        for (int i = 0; i < 2; i++) Assert.Equal(noGrad[i], withGrad[i], 1e-4);
    }

    private static (Gpt Model, CharTokenizer Tokenizer, List<PreferencePair> Pairs) Task()
    {
        var tokenizer = CharTokenizer.FromText("abcdxy:");
        var model = new Gpt(new GptConfig { VocabSize = tokenizer.VocabSize, ContextLength = 8, Layers = 1, Width = 16, Heads = 2 }, new Rng(4));
        // Preference: after a prompt of "a…" prefer "x", after "b…" prefer "y".
        var pairs = new List<PreferencePair>();
        foreach (var p in new[] { "ab:", "ac:", "ad:", "aa:" }) pairs.Add(new PreferencePair(p, "xx", "yy"));
        foreach (var p in new[] { "ba:", "bc:", "bd:", "bb:" }) pairs.Add(new PreferencePair(p, "yy", "xx"));
        return (model, tokenizer, pairs);
    }

    [Fact]
    public void Dpo_learns_the_preferred_completions()
    {
        var (model, tokenizer, pairs) = Task();
        var trainer = new DpoTrainer(model, tokenizer, pairs, new DpoOptions { Steps = 40, BatchSize = 8, LearningRate = 3e-3f, Seed = 1 });
        Assert.Equal((0.0, 0.0), trainer.Evaluate());   // policy = reference before any step
        DpoStepMetrics? first = null, last = null;
        for (int s = 0; s < 80; s++) { last = trainer.Step(); first ??= last; }
        Assert.Equal(Math.Log(2), first!.Loss, 1e-5);     // −log σ(0) at the first step
        Assert.True(last!.Loss < 0.3, $"loss {last.Loss}");
        var (margin, accuracy) = trainer.Evaluate();
        Assert.Equal(1.0, accuracy);
        Assert.True(margin > 1, $"margin {margin}");
    }

    [Fact]
    public void Dpo_with_lora_trains_only_the_adapters()
    {
        var (model, tokenizer, pairs) = Task();
        var baseWeights = model.StateDict().ToDictionary(kv => kv.Key, kv => (float[])kv.Value.Data.Clone());
        LoraAdapters.Attach(model, new LoraOptions { Rank = 4, Alpha = 8, TargetModules = ["c_attn", "c_fc", "c_proj"] });
        var trainer = new DpoTrainer(model, tokenizer, pairs, new DpoOptions { BatchSize = 8, LearningRate = 2e-2f, Seed = 1 });
        for (int s = 0; s < 80; s++) trainer.Step();
        Assert.Equal(1.0, trainer.Evaluate().Accuracy);
        foreach (var (name, t) in model.StateDict()) Assert.Equal(baseWeights[name], t.Data);
    }

    [Fact]
    public void Pairs_longer_than_the_context_are_named()
    {
        var (model, tokenizer, _) = Task();
        var e = Assert.Throws<ArgumentException>(() => new DpoTrainer(model, tokenizer, [new PreferencePair("abcd:", "xxxx", "y")], new DpoOptions()));
        Assert.Contains("pair 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("n_positions", e.Message, StringComparison.Ordinal);
    }
}

public sealed class BpeCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reinforce-bpeckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Language_model_checkpoints_carry_a_bpe_tokenizer()
    {
        var bpe = ByteLevelBpeTokenizer.FromFiles(BpeTokenizerTests.DataPath("small-bpe", "vocab.json"), BpeTokenizerTests.DataPath("small-bpe", "merges.txt"));
        var model = new Gpt(new GptConfig { VocabSize = bpe.VocabSize, ContextLength = 8, Layers = 1, Width = 8, Heads = 2 }, new Rng(1));
        string path = Path.Combine(_dir, "model.safetensors");
        LmCheckpoint.Save(path, model, bpe);
        var (_, loaded, _) = LmCheckpoint.LoadLanguageModel(path);
        Assert.IsType<ByteLevelBpeTokenizer>(loaded);
        Assert.True(TokenizerMetadata.Same(bpe, loaded));
        Assert.Equal(bpe.Encode("Once upon a time, Lily"), loaded.Encode("Once upon a time, Lily"));
    }
}
