using Reinforce.Algorithms;
using Reinforce.IO;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Training;
using Reinforce.Training;

namespace Reinforce.Tests.Rlhf;

/// <summary>Pretraining as a library run: the run folder's layout, the best checkpoint, and a resume that lands on the same bits.</summary>
public sealed class PretrainingRunTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("reinforce-pretrain-run-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private PretrainRunConfig Config()
    {
        string corpus = Path.Combine(_root, "corpus.txt");
        if (!File.Exists(corpus)) File.WriteAllText(corpus, DemoCorpus.Stories[..12_000]);
        return new PretrainRunConfig
        {
            Corpus = corpus,
            Model = new() { ContextLength = 24, Layers = 1, Width = 16, Heads = 2 },
            Options = new PretrainOptions { Steps = 12, BatchSize = 4, LearningRate = 3e-3f, MinLearningRate = 3e-4f, ValidationWindows = 16, Seed = 3 },
            EvaluateEvery = 4,
        };
    }

    private sealed class StopAt(long step, CancellationTokenSource source) : IProgress<RunProgress>
    {
        public void Report(RunProgress value)
        {
            if (value.Step == step) source.Cancel();
        }
    }

    [Fact]
    public void A_run_stopped_and_resumed_ends_with_the_same_weights_and_log_as_one_straight_run()
    {
        string straight = Path.Combine(_root, "straight"), interrupted = Path.Combine(_root, "interrupted");
        RunSummary whole;
        using (var run = PretrainingRun.Create(straight, Config())) whole = run.Run();
        Assert.Equal(12, whole.Steps);
        Assert.True(File.Exists(Path.Combine(straight, PretrainingRun.BestModelFile)));
        Assert.True(File.Exists(Path.Combine(straight, PretrainingRun.LastModelFile)));
        Assert.True(Directory.Exists(Path.Combine(straight, RunFolder.BestFolder)));
        Assert.True(File.Exists(Path.Combine(straight, RunFolder.ResultFile)));

        using (var cancel = new CancellationTokenSource())
        using (var run = PretrainingRun.Create(interrupted, Config()))
        {
            var stopped = run.Run(new StopAt(6, cancel), cancel.Token);
            Assert.True(stopped.Stopped);
            Assert.Equal(6, stopped.Steps);
            Assert.False(File.Exists(Path.Combine(interrupted, PretrainingRun.LastModelFile)));
        }
        using (var run = PretrainingRun.Resume(interrupted))
        {
            Assert.NotNull(run.ResumedFrom);
            Assert.Equal(12, run.Run().Steps);
        }

        var a = LmCheckpoint.LoadLanguageModel(Path.Combine(straight, PretrainingRun.LastModelFile)).Model.StateDict();
        var b = LmCheckpoint.LoadLanguageModel(Path.Combine(interrupted, PretrainingRun.LastModelFile)).Model.StateDict();
        foreach (var (name, tensor) in a) Assert.Equal(tensor.Data, b[name].Data);
        var logA = CsvLogger.Read(Path.Combine(straight, RunFolder.MetricsFile));
        var logB = CsvLogger.Read(Path.Combine(interrupted, RunFolder.MetricsFile));
        Assert.Equal(12, logB.Rows.Count);
        Assert.Equal(logA.Column("loss"), logB.Column("loss"));
        Assert.Equal(logA.Column("val_loss").Where(double.IsFinite), logB.Column("val_loss").Where(double.IsFinite));
    }

    [Fact]
    public void The_best_model_is_the_lowest_held_out_loss_and_bad_settings_name_the_setting()
    {
        string dir = Path.Combine(_root, "best");
        using (var run = PretrainingRun.Create(dir, Config())) run.Run();
        var losses = CsvLogger.Read(Path.Combine(dir, RunFolder.MetricsFile)).Column("val_loss").Where(double.IsFinite).ToList();
        Assert.Equal(3, losses.Count);
        var best = LmCheckpoint.LoadLanguageModel(Path.Combine(dir, PretrainingRun.BestModelFile)).Facts;
        Assert.Equal(losses.Min(), double.Parse(best["val_loss"], System.Globalization.CultureInfo.InvariantCulture), 12);

        var e = Assert.Throws<ConfigurationException>(() => PretrainingRun.Create(Path.Combine(_root, "bad"), Config() with { EvaluateEvery = 0 }));
        Assert.Contains("evaluate_every", e.Message, StringComparison.Ordinal);
    }
    [Fact]
    public void A_bpe_run_writes_a_hugging_face_folder_the_rlhf_loader_reads()
    {
        string run = Path.Combine(_root, "bpe");
        var config = Config() with { Tokenizer = "bpe", BpeVocabSize = 300, Model = new() { ContextLength = 16, Layers = 1, Width = 16, Heads = 2 }, HuggingFaceDType = "BF16" };
        using (var r = PretrainingRun.Create(run, config))
        {
            Assert.Equal(300, r.Config.Model.VocabSize);
            r.Run();
        }
        string hf = Path.Combine(run, "hf");
        var loaded = Reinforce.Rlhf.HuggingFace.Gpt2Folder.Load(hf);
        Assert.Equal("BF16", loaded.DType);
        var (best, tokenizer, _) = LmCheckpoint.LoadLanguageModel(Path.Combine(run, PretrainingRun.BestModelFile));
        Assert.Equal(best.Config, loaded.Model.Config);
        Assert.Equal(tokenizer.Encode("Once upon a time, a cat"), loaded.Tokenizer!.Encode("Once upon a time, a cat"));
        foreach (var (name, t) in best.StateDict())
        {
            var got = loaded.Model.StateDict()[name].Data;
            for (int i = 0; i < got.Length; i++) Assert.True(Math.Abs(got[i] - t.Data[i]) <= Math.Abs(t.Data[i]) / 256 + 1e-30, $"{name}[{i}]: {got[i]} is not {t.Data[i]} rounded to bfloat16");
        }

        // Resume rebuilds the same tokenizer from the corpus.
        using (var resumed = PretrainingRun.Resume(run)) Assert.Equal(300, resumed.Trainer.Tokenizer.VocabSize);
    }

    [Fact]
    public void A_hugging_face_folder_the_user_has_is_refused_before_training_and_left_alone()
    {
        string mine = Path.Combine(_root, "mine");
        Directory.CreateDirectory(mine);
        File.WriteAllText(Path.Combine(mine, "config.json"), "{\"model_type\": \"gpt2\"}");
        var e = Assert.Throws<IOException>(() => PretrainingRun.Create(Path.Combine(_root, "run"), Config() with { Tokenizer = "bpe", BpeVocabSize = 300, HuggingFaceFolder = mine }));
        Assert.Contains("already holds a model", e.Message, StringComparison.Ordinal);
        Assert.Equal("{\"model_type\": \"gpt2\"}", File.ReadAllText(Path.Combine(mine, "config.json")));
        Assert.False(Directory.Exists(Path.Combine(_root, "run")));

        var chars = Assert.Throws<ConfigurationException>(() => PretrainingRun.Create(Path.Combine(_root, "run2"), Config() with { HuggingFaceFolder = Path.Combine(_root, "hf2") }));
        Assert.Contains("--tokenizer bpe", chars.Message, StringComparison.Ordinal);
        var folder = Assert.Throws<ConfigurationException>(() => PretrainingRun.Create(Path.Combine(_root, "run3"), Config() with { Tokenizer = Path.Combine(_root, "no-such-folder") }));
        Assert.Contains("vocab.json", folder.Message, StringComparison.Ordinal);
    }
}
