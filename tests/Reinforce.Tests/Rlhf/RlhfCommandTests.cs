using Reinforce.Cli;
using Reinforce.IO;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Training;

namespace Reinforce.Tests.Rlhf;

/// <summary>The `reinforce lm` and `reinforce rlhf` commands end to end, on tiny models and budgets.</summary>
[Collection("Console")]
public sealed class RlhfCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("reinforce-rlhf-cli-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static (int Code, string Out, string Error) Run(string? input, params string[] args) => CliRunner.Run(input, args);

    /// <summary>Pretrains a one-layer model on the first 20,000 characters of the stories; returns its checkpoint.</summary>
    private string Pretrain()
    {
        string corpus = Path.Combine(_root, "corpus.txt");
        File.WriteAllText(corpus, DemoCorpus.Stories[..20_000]);
        string dir = Path.Combine(_root, "lm");
        var (code, output, error) = Run(null, "lm", "pretrain", corpus, "--out", dir, "--steps", "20", "--batch", "8", "--layers", "1",
            "--width", "16", "--heads", "2", "--context", "48", "--eval-every", "10");
        Assert.True(code == 0, error + output);
        Assert.Contains("held-out", output, StringComparison.Ordinal);
        return Path.Combine(dir, "model.safetensors");
    }

    [Fact]
    public void Pretrain_writes_checkpoints_and_metrics_then_sample_continues_a_prompt()
    {
        string model = Pretrain();
        string dir = Path.GetDirectoryName(model)!;
        Assert.True(File.Exists(Path.Combine(dir, "last.safetensors")));
        Assert.True(File.Exists(Path.Combine(dir, "config.json")));
        Assert.NotEmpty(Directory.GetFiles(dir, "events.out.tfevents.*"));
        var metrics = CsvLogger.Read(Path.Combine(dir, "metrics.csv"));
        Assert.Equal(20, metrics.Rows.Count);
        Assert.Equal(2, metrics.Column("val_loss").Count(double.IsFinite));
        // model.safetensors is the checkpoint with the best held-out loss; last.safetensors the last one.
        var best = LmCheckpoint.LoadLanguageModel(model).Facts;
        var last = LmCheckpoint.LoadLanguageModel(Path.Combine(dir, "last.safetensors")).Facts;
        Assert.Equal("20", last["step"]);
        Assert.True(double.Parse(best["val_loss"], System.Globalization.CultureInfo.InvariantCulture) <= double.Parse(last["val_loss"], System.Globalization.CultureInfo.InvariantCulture));

        var (code, output, error) = Run(null, "lm", "sample", model, "--prompt", "Once upon", "--max-tokens", "30", "--top-k", "5", "--count", "2");
        Assert.True(code == 0, error);
        var samples = output.Split("---", StringSplitOptions.TrimEntries);
        Assert.Equal(2, samples.Length);
        Assert.All(samples, s => Assert.StartsWith("Once upon", s, StringComparison.Ordinal));

        (code, _, error) = Run(null, "lm", "sample", model, "--prompt", "Once upon a ¤");
        Assert.Equal(2, code);
        Assert.Contains("never saw: \"¤\"", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Rlhf_train_with_a_rater_logs_the_step_figures_and_saves_the_policy()
    {
        string model = Pretrain();
        string dir = Path.Combine(_root, "rl");
        var (code, output, error) = Run(null, "rlhf", "train", "--model", model, "--rater", "simple", "--steps", "3", "--group", "2",
            "--prompts-per-step", "4", "--max-tokens", "12", "--out", dir);
        Assert.True(code == 0, error + output);
        var metrics = CsvLogger.Read(Path.Combine(dir, "metrics.csv"));
        Assert.Equal(3, metrics.Rows.Count);
        foreach (var column in new[] { "reward_mean", "reward_std", "kl", "entropy", "completion_length_mean", "zero_variance_groups", "clip_fraction" })
            Assert.Contains(column, metrics.Columns);
        Assert.NotEmpty(Directory.GetFiles(dir, "events.out.tfevents.*"));
        Assert.Equal(3 * 4, File.ReadAllLines(Path.Combine(dir, "samples.jsonl")).Length);   // one sample from each of 4 prompts a step
        Assert.Equal("3", LmCheckpoint.LoadLanguageModel(Path.Combine(dir, "model.safetensors")).Facts["rl_step"]);

        (code, _, error) = Run(null, "rlhf", "train", "--model", model, "--steps", "1");
        Assert.Equal(2, code);
        Assert.Contains("give exactly one reward", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Label_then_reward_then_train_against_the_reward_model()
    {
        string model = Pretrain();
        string prefs = Path.Combine(_root, "prefs.jsonl");
        // Three answers typed, then the input ends (the session stops; a new one would resume).
        var (code, output, error) = Run("1\nt\n2\n", "rlhf", "label", "--model", model, "--out", prefs, "--max-tokens", "10", "--width", "80");
        Assert.True(code == 0, error + output);
        Assert.Contains("Which is better?", output, StringComparison.Ordinal);
        var labelled = PreferenceFile.Load(prefs);
        Assert.Equal(3, labelled.LabelledItems.Count);
        Assert.Equal(1, labelled.TieCount);

        // Add machine-made pairs (and one broken line) so there is something to hold out.
        var rng = new Rng(3);
        var lines = new List<string>();
        for (int i = 0; i < 120; i++)
        {
            string prompt = $"The {(char)('a' + i % 20)}";
            string shortWords = " a to it is on a", longWords = " because together something";
            lines.Add(PreferenceRecord.Preferred(prompt, rng.NextInt(2) == 0 ? shortWords : shortWords + " so", longWords).ToJsonLine());
        }
        lines.Insert(7, "{ this line is broken");
        File.AppendAllLines(prefs, lines);

        string rm = Path.Combine(_root, "rm", "reward.safetensors");
        (code, output, error) = Run(null, "rlhf", "reward", prefs, "--model", model, "--out", rm, "--epochs", "2", "--batch", "16");
        Assert.True(code == 0, error + output);
        Assert.Contains("line 11", output, StringComparison.Ordinal);   // 3 labelled lines, the broken one 8th of those appended
        Assert.Contains("Held-out accuracy", output, StringComparison.Ordinal);
        Assert.Equal(CheckpointKind.RewardModel, LmCheckpoint.KindOf(rm));

        (code, output, error) = Run(null, "rlhf", "train", "--model", model, "--reward", rm, "--algorithm", "grpo", "--steps", "2",
            "--group", "2", "--prompts-per-step", "2", "--max-tokens", "8", "--out", Path.Combine(_root, "rl"));
        Assert.True(code == 0, error + output);
        Assert.Contains("rescaled to mean 0, std 1", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_prints_training_and_sampling_throughput()
    {
        var (code, output, error) = Run(null, "lm", "bench", "--steps", "2", "--batch", "4", "--layers", "1", "--width", "32", "--context", "16");
        Assert.True(code == 0, error);
        Assert.Matches(@"training:\s+[\d,]+ tokens/s", output);
        Assert.Matches(@"sampling:\s+[\d,]+ tokens/s", output);
    }

    [Fact]
    public void Commands_are_registered()
    {
        var root = Program.BuildRoot();
        var lm = Assert.Single(root.Subcommands, c => c.Name == "lm");
        Assert.Equal(["bench", "pretrain", "sample"], lm.Subcommands.Select(c => c.Name).Order());
        var rlhf = Assert.Single(root.Subcommands, c => c.Name == "rlhf");
        Assert.Equal(["demo", "dpo", "label", "reward", "train"], rlhf.Subcommands.Select(c => c.Name).Order());
    }
    [Fact]
    public void Train_with_lora_on_a_bpe_folder_writes_the_peft_adapter_the_merged_model_and_a_hugging_face_folder()
    {
        string tiny = BpeTokenizerTests.DataPath("tiny-gpt2");
        string prompts = Path.Combine(_root, "prompts.txt");
        File.WriteAllText(prompts, "Once upon\nThe cat\n");
        string run = Path.Combine(_root, "rl"), hf = Path.Combine(_root, "rl-hf");
        var (code, output, error) = Run(null, "rlhf", "train", "--model", tiny, "--rater", "simple", "--algorithm", "grpo", "--steps", "3", "--group", "2",
            "--prompts-per-step", "2", "--max-tokens", "4", "--prompts", prompts, "--out", run, "--lora", "4", "--lora-targets", "c_attn,c_fc",
            "--lr", "0.05", "--save-hf", hf, "--dtype", "f16");
        Assert.True(code == 0, error + output);
        Assert.Contains("LoRA rank 4", output, StringComparison.Ordinal);
        foreach (var file in new[] { "adapter_config.json", "adapter_model.safetensors", "model.safetensors" }) Assert.True(File.Exists(Path.Combine(run, file)), file);

        // The adapter loads onto the base (PEFT names) and, merged, gives the model written to the run folder and to --save-hf.
        var baseModel = Reinforce.Rlhf.HuggingFace.Gpt2Folder.Load(tiny).Model;
        var lora = Reinforce.Rlhf.HuggingFace.PeftAdapter.Load(run, baseModel);
        Assert.Contains(lora.Adapters, a => a.Adapter.B.Value.Data.Any(v => v != 0));
        var merged = lora.MergedState();
        var (published, _, _) = LmCheckpoint.LoadLanguageModel(Path.Combine(run, "model.safetensors"));
        var fromHf = Reinforce.Rlhf.HuggingFace.Gpt2Folder.Load(hf);
        Assert.Equal("F16", fromHf.DType);
        foreach (var (name, t) in merged)
        {
            Assert.Equal(t.Data, published.StateDict()[name].Data);
            Assert.Equal(t.Data.Select(v => (float)(Half)v), fromHf.Model.StateDict()[name].Data);
        }

        // A second run that would write over the Hugging Face folder is refused before training, and the folder is left as it was.
        byte[] before = File.ReadAllBytes(Path.Combine(hf, "model.safetensors"));
        var (again, againOut, againError) = Run(null, "rlhf", "train", "--model", tiny, "--rater", "simple", "--steps", "1", "--group", "2",
            "--prompts-per-step", "1", "--max-tokens", "4", "--prompts", prompts, "--out", Path.Combine(_root, "rl2"), "--lora", "4", "--save-hf", hf);
        Assert.Equal(2, again);
        Assert.Contains("already holds a model", againError, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(hf, "model.safetensors")));
        Assert.False(Directory.Exists(Path.Combine(_root, "rl2")), againOut);
    }

    [Fact]
    public void A_completion_longer_than_n_positions_is_named_before_training()
    {
        string tiny = BpeTokenizerTests.DataPath("tiny-gpt2");
        var (code, output, error) = Run(null, "rlhf", "train", "--model", tiny, "--rater", "simple", "--steps", "1", "--max-tokens", "40", "--out", Path.Combine(_root, "long"));
        Assert.Equal(2, code);
        Assert.Contains("n_positions", error, StringComparison.Ordinal);
        Assert.Contains("--max-tokens", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_root, "long")), output);
    }

    [Fact]
    public void Pretrain_with_bpe_writes_a_hugging_face_folder_that_rlhf_commands_take()
    {
        string corpus = Path.Combine(_root, "corpus.txt");
        File.WriteAllText(corpus, DemoCorpus.Stories[..20_000]);
        string dir = Path.Combine(_root, "bpe-lm");
        var (code, output, error) = Run(null, "lm", "pretrain", corpus, "--out", dir, "--tokenizer", "bpe", "--vocab", "300", "--steps", "6", "--batch", "4",
            "--layers", "1", "--width", "16", "--heads", "2", "--context", "24", "--eval-every", "3");
        Assert.True(code == 0, error + output);
        string hf = Path.Combine(dir, "hf");
        Assert.Contains(hf, output, StringComparison.Ordinal);
        foreach (var file in new[] { "config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer_config.json" }) Assert.True(File.Exists(Path.Combine(hf, file)), file);
        var (sampled, sampleOut, sampleError) = Run(null, "lm", "sample", hf, "--prompt", "Once upon a", "--max-tokens", "5");
        Assert.True(sampled == 0, sampleError);
        Assert.StartsWith("Once upon a", sampleOut, StringComparison.Ordinal);
    }
    [Fact]
    public void A_hugging_face_folder_without_config_json_is_named_by_every_command()
    {
        string tiny = BpeTokenizerTests.DataPath("tiny-gpt2");
        string broken = Path.Combine(_root, "no-config");
        Directory.CreateDirectory(broken);
        foreach (var f in Directory.GetFiles(tiny).Where(f => Path.GetFileName(f) != "config.json")) File.Copy(f, Path.Combine(broken, Path.GetFileName(f)));
        var before = Directory.GetFiles(broken).ToDictionary(f => f, File.ReadAllBytes);
        foreach (var args in new[]
        {
            new[] { "lm", "sample", broken },
            ["rlhf", "train", "--model", broken, "--rater", "simple", "--steps", "1", "--out", Path.Combine(_root, "x")],
            ["rlhf", "label", "--model", broken, "--rater", "simple", "--count", "1", "--out", Path.Combine(_root, "p.jsonl")],
        })
        {
            var (code, _, error) = Run(null, args);
            Assert.Equal(2, code);
            Assert.Contains(Path.Combine(broken, "config.json"), error, StringComparison.Ordinal);
            Assert.Contains("no config.json", error, StringComparison.Ordinal);
        }
        Assert.Equal(before.Keys.Order(), Directory.GetFiles(broken).Order());
        foreach (var (f, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(f));
    }

    [Fact]
    public void Demo_verifiable_that_misses_its_target_says_so_and_what_to_try()
    {
        string dir = Path.Combine(_root, "demo");
        var (code, output, error) = Run(null, "rlhf", "demo", "verifiable", "--pretrain-steps", "5", "--steps", "2", "--width", "16", "--layers", "1", "--out", dir);
        Assert.True(code == 1, error);   // 1: the run worked but the demo's target was not met
        Assert.Contains("Target not met: greedy accuracy", output, StringComparison.Ordinal);
        Assert.Contains("--steps 4", output, StringComparison.Ordinal);
        Assert.DoesNotContain("--algorithm rloo", output, StringComparison.Ordinal);   // it already ran RLOO
        Assert.True(File.Exists(Path.Combine(dir, "report.md")));
    }

    [Fact]
    public void Dpo_and_a_resumed_rater_session_name_the_line_of_every_pair_they_leave_out()
    {
        string model = Pretrain();   // a character model of the stories: "¤" is outside its vocabulary
        string prefs = Path.Combine(_root, "prefs.jsonl");
        File.WriteAllLines(prefs,
        [
            """{"prompt": "Once upon", "chosen": " a time", "rejected": " the end"}""",
            """{"prompt": "Once upon", "chosen": " a ¤ time", "rejected": " the end"}""",
            """{"prompt": "x\uD800", "chosen": " a", "rejected": " b"}""",
            """{"prompt": "The cat", "chosen": " sat", "rejected": " ran"}""",
        ]);
        var (code, output, error) = Run(null, "rlhf", "dpo", prefs, "--model", model, "--out", Path.Combine(_root, "dpo"), "--steps", "2", "--batch", "2");
        Assert.True(code == 0, error + output);
        Assert.Contains($"note: {prefs} line 2: uses a character outside the model's vocabulary", output, StringComparison.Ordinal);
        Assert.Contains("¤", output, StringComparison.Ordinal);
        Assert.Contains($"warning: {prefs} line 3:", output, StringComparison.Ordinal);

        (code, output, error) = Run(null, "rlhf", "label", "--model", model, "--rater", "simple", "--count", "1", "--max-tokens", "8", "--out", prefs);
        Assert.True(code == 0, error + output);
        Assert.Contains($"Resuming {prefs}:", output, StringComparison.Ordinal);
        Assert.Contains($"warning: {prefs} line 3:", output, StringComparison.Ordinal);
        Assert.Contains("(this line is ignored)", output, StringComparison.Ordinal);
    }
}
