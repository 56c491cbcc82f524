using Reinforce.Autograd;
using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;
using Reinforce.Tensors;
using Reinforce.Tests.Golden;

namespace Reinforce.Tests.Rlhf;

public sealed class GptTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reinforce-gpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static GptConfig Tiny(int vocab = 11) => new() { VocabSize = vocab, ContextLength = 16, Layers = 2, Width = 16, Heads = 2 };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Training_step_in_the_arena_gives_the_same_bits_as_a_plain_backward_step_after_step(bool lora)
    {
        // TrainingLoss runs forward and backward in the model's arena, handing buffers back as soon as they are spent; a
        // buffer handed back too early, or a recycled one not cleared, would change the gradients. Three steps with
        // different batches (the later ones on recycled, dirty buffers) must match a plain Loss().Backward() bit for bit.
        var config = new GptConfig { VocabSize = 13, ContextLength = 12, Layers = 2, Width = 16, Heads = 2 };
        var plain = new Gpt(config, new Rng(5));
        var arena = new Gpt(config, new Rng(5));
        Reinforce.Nn.Module trainedPlain = plain, trainedArena = arena;
        if (lora)
        {
            var options = new LoraOptions { Rank = 2, Alpha = 4, TargetModules = ["c_attn", "c_proj", "c_fc"] };
            trainedPlain = LoraAdapters.Attach(plain, options);
            trainedArena = LoraAdapters.Attach(arena, options);
            // Non-zero B so the adapters change the outputs.
            foreach (var (p, q) in trainedPlain.Parameters().Zip(trainedArena.Parameters()))
            {
                for (int i = 0; i < p.Size; i++) p.Value.Data[i] = q.Value.Data[i] = 0.05f * MathF.Sin(i + 1);
            }
        }
        var rng = new Rng(9);
        for (int step = 0; step < 3; step++)
        {
            int batch = 2, time = config.ContextLength;
            var inputs = new int[batch * time];
            var targets = new int[batch * time];
            for (int i = 0; i < inputs.Length; i++) { inputs[i] = rng.NextInt(config.VocabSize); targets[i] = step == 1 && i % 5 == 0 ? -100 : rng.NextInt(config.VocabSize); }
            foreach (var p in trainedPlain.Parameters()) p.Value.ZeroGrad();
            foreach (var p in trainedArena.Parameters()) p.Value.ZeroGrad();
            var expected = plain.Loss(inputs, targets, batch, time);
            expected.Backward();
            float actual = arena.TrainingLoss(inputs, targets, batch, time);
            Assert.Equal(expected.Item(), actual);
            foreach (var ((name, p), (_, q)) in trainedPlain.NamedParameters().Zip(trainedArena.NamedParameters()))
            {
                Assert.NotNull(q.Value.Grad);
                Assert.True(p.Value.Grad!.Data.AsSpan().SequenceEqual(q.Value.Grad!.Data), $"step {step}: the gradient of {name} differs");
                Assert.Contains(q.Value.Grad!.Data, v => v != 0f);
            }
            // Move the weights identically, so the next step runs on new activations.
            foreach (var (p, q) in trainedPlain.Parameters().Zip(trainedArena.Parameters()))
                for (int i = 0; i < p.Size; i++) { p.Value.Data[i] -= 0.1f * p.Value.Grad!.Data[i]; q.Value.Data[i] -= 0.1f * q.Value.Grad!.Data[i]; }
        }
    }

    [Fact]
    public void The_step_limit_counts_every_matrix_product_of_a_training_step()
    {
        // Per token: every weight matrix (12·C² per layer, and the tied head C·V) in three products (forward, input and
        // weight gradients: 6 FLOPs per weight), and attention's six T×T×(C/H) products per head: 12·T·C per layer.
        // With frozen weights (LoRA) the weight-gradient products are not run: 4 FLOPs per weight.
        var config = new GptConfig { VocabSize = 50, ContextLength = 16, Layers = 3, Width = 24, Heads = 4 };
        int batch = 2, tokens = batch * config.ContextLength, c = config.Width;
        double weights = 12.0 * c * c * config.Layers + (double)c * config.VocabSize;
        double attention = 12.0 * config.ContextLength * c * config.Layers;
        var full = Reinforce.Rlhf.Demos.LmBenchmark.MeasureStepLimit(config, batch);
        Assert.Equal(tokens * (6 * weights + attention), full.Flops, 6);
        var frozen = Reinforce.Rlhf.Demos.LmBenchmark.MeasureStepLimit(config, batch, frozenWeights: true);
        Assert.Equal(tokens * (4 * weights + attention), frozen.Flops, 6);
        Assert.True(full.Milliseconds > 0 && full.Gflops > 0);
    }

    [Fact]
    public void Parameters_follow_gpt2_names_and_the_head_is_tied()
    {
        var config = new GptConfig { VocabSize = 65 };
        var model = new Gpt(config, new Rng(1));
        Assert.Equal(809_856, config.ParameterCount);
        Assert.Equal(config.ParameterCount, model.ParameterCount);
        var names = model.NamedParameters().Select(p => p.Name).ToList();
        Assert.Equal("wte.weight", names[0]);
        Assert.Equal("wpe.weight", names[1]);
        Assert.Contains("h.3.attn.c_attn.weight", names);
        Assert.Contains("h.0.mlp.c_proj.bias", names);
        Assert.Equal("ln_f.bias", names[^1]);
        Assert.DoesNotContain(names, n => n.Contains("lm_head", StringComparison.Ordinal));
        // The head is the token embedding: its gradient collects from both the input lookup and the output.
        var tiny = new Gpt(Tiny(), new Rng(2));
        tiny.Loss([1, 2, 3, 4], [2, 3, 4, 5], 1, 4).Backward();
        var g = tiny.TokenEmbedding.Weight.Value.Grad!.Data;
        int w = tiny.Config.Width;
        Assert.True(g.AsSpan(9 * w, w).ToArray().Any(v => v != 0f), "token 9 never appears in the input, yet the head must send it a gradient");
    }

    [Fact]
    public void Cached_sampling_gives_the_log_probs_of_the_full_forward_pass()
    {
        var model = new Gpt(Tiny(), new Rng(3));
        int[][] prompts = [[1, 2, 3], [4], [5, 6, 7, 8, 9, 1, 2]];
        var gen = model.Generate(prompts, maxNewTokens: 6, SamplingOptions.Pure, new Rng(4));
        for (int i = 0; i < prompts.Length; i++)
        {
            int[] seq = [.. prompts[i], .. gen.Completions[i]];
            Assert.Equal(6, gen.Completions[i].Length);
            Tensor logits;
            using (Graph.NoGrad()) logits = model.Logits(seq, 1, seq.Length);
            int v = model.Config.VocabSize;
            for (int t = 0; t < gen.Completions[i].Length; t++)
            {
                int pos = prompts[i].Length + t - 1;
                float expected = TokenSampling.LogProb(logits.Data.AsSpan(pos * v, v), seq[pos + 1]);
                Assert.Equal(expected, gen.LogProbs[i][t], 4);
            }
        }
    }

    [Fact]
    public void Sampling_is_deterministic_stops_at_the_stop_token_and_respects_the_context()
    {
        var model = new Gpt(Tiny(), new Rng(5));
        int[][] prompts = [[1, 2], [3, 4, 5]];
        var a = model.Generate(prompts, 10, SamplingOptions.Pure, new Rng(6), stopToken: 0);
        var b = model.Generate(prompts, 10, SamplingOptions.Pure, new Rng(6), stopToken: 0);
        Assert.Equal(a.Completions, b.Completions);
        for (int i = 0; i < prompts.Length; i++)
        {
            var c = a.Completions[i];
            int stop = Array.IndexOf(c, 0);
            Assert.Equal(a.Stopped[i], stop >= 0);
            if (stop >= 0) Assert.Equal(c.Length - 1, stop);   // nothing after the stop token
            else Assert.Equal(10, c.Length);
        }
        // A prompt of 14 tokens in a context of 16 leaves room for 2 more.
        var full = model.Generate([Enumerable.Range(0, 14).Select(i => i % 11).ToArray()], 10, SamplingOptions.Pure, new Rng(7));
        Assert.Equal(2, full.Completions[0].Length);
        Assert.Throws<ArgumentException>(() => model.Generate([new int[16]], 1, SamplingOptions.Pure, new Rng(7)));
    }

    [Fact]
    public void Greedy_sampling_follows_the_argmax_of_the_full_forward_pass()
    {
        var model = new Gpt(Tiny(), new Rng(8));
        var gen = model.Generate([[3, 1]], 5, SamplingOptions.Greedy, new Rng(1));
        var seq = new List<int> { 3, 1 };
        int v = model.Config.VocabSize;
        for (int t = 0; t < 5; t++)
        {
            Tensor logits;
            using (Graph.NoGrad()) logits = model.Logits(seq.ToArray(), 1, seq.Count);
            var last = logits.Data.AsSpan((seq.Count - 1) * v, v);
            int best = 0;
            for (int j = 1; j < v; j++) if (last[j] > last[best]) best = j;
            seq.Add(best);
        }
        Assert.Equal(seq.Skip(2), gen.Completions[0]);
    }

    [Fact]
    public void Checkpoints_round_trip_model_tokenizer_and_facts()
    {
        var tok = CharTokenizer.FromText("abc de\n");
        var model = new Gpt(Tiny(tok.VocabSize) with { VocabSize = tok.VocabSize }, new Rng(9));
        string path = Path.Combine(_dir, "lm.safetensors");
        LmCheckpoint.Save(path, model, tok, new Dictionary<string, string> { ["step"] = "42" });
        Assert.Equal(CheckpointKind.LanguageModel, LmCheckpoint.KindOf(path));
        var (loaded, loadedTok, facts) = LmCheckpoint.LoadLanguageModel(path);
        Assert.Equal(model.Config, loaded.Config);
        Assert.Equal(tok.Vocabulary, Assert.IsType<CharTokenizer>(loadedTok).Vocabulary);
        Assert.Equal("42", facts["step"]);
        int[] tokens = [1, 2, 3, 4, 0];
        using (Graph.NoGrad()) Assert.Equal(model.Logits(tokens, 1, 5).Data, loaded.Logits(tokens, 1, 5).Data);
        var e = Assert.Throws<CheckpointFormatException>(() => LmCheckpoint.LoadRewardModel(path));
        Assert.Contains("language model", e.Message, StringComparison.Ordinal);

        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        Assert.Throws<CheckpointFormatException>(() => LmCheckpoint.LoadLanguageModel(path));
    }

    [Fact]
    public void Reward_model_checkpoints_round_trip()
    {
        var tok = CharTokenizer.FromText("abc de\n");
        var rm = new RewardModel(new Gpt(Tiny(tok.VocabSize), new Rng(1)), tok, new Rng(2));
        string path = Path.Combine(_dir, "rm.safetensors");
        LmCheckpoint.Save(path, rm);
        var (loaded, _) = LmCheckpoint.LoadRewardModel(path);
        Assert.Equal(rm.Score(["ab", "c"], ["c d", "ee\n"]), loaded.Score(["ab", "c"], ["c d", "ee\n"]));
    }

    [Fact]
    public void Bad_shapes_and_tokens_are_named()
    {
        var model = new Gpt(Tiny(), new Rng(1));
        Assert.Contains("context", Assert.Throws<ArgumentException>(() => model.Logits(new int[17], 1, 17)).Message, StringComparison.Ordinal);
        Assert.Contains("vocabulary", Assert.Throws<ArgumentException>(() => model.Logits([1, 11], 1, 2)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new GptConfig { VocabSize = 10, Width = 10, Heads = 3 }.Validate());
    }

    [Fact]
    public void Same_seed_same_model_same_training_bits()
    {
        float[] Train()
        {
            var m = new Gpt(Tiny(), new Rng(4));
            var p = new Pretrainer(m, CharTokenizer.FromText("abcdefghij\n"), string.Concat(Enumerable.Repeat("abcdefghij\nabcde\n", 40)),
                new PretrainOptions { Steps = 3, BatchSize = 4, Seed = 2 });
            for (int i = 0; i < 3; i++) p.Step();
            return m.TokenEmbedding.Weight.Value.Data.ToArray();
        }
        Assert.Equal(Train(), Train());
    }
}
