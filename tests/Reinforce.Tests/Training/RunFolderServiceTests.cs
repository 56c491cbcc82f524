using System.Globalization;
using System.Text.Json.Nodes;
using Reinforce.IO;
using Reinforce.Training;

namespace Reinforce.Tests.Training;

/// <summary>The run-folder service driving a generic trainer (the shape LM pretraining, reward-model training and RLHF use).</summary>
public sealed class RunFolderServiceTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "reinforce-runfolder-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    /// <summary>A deterministic stand-in trainer: its "loss" is a function of a generator it checkpoints.</summary>
    private sealed class CountingTrainer : IRunTrainer
    {
        private Rng _rng = new(5);

        public long Step { get; private set; }

        public double Weight { get; private set; }

        public int Saves { get; private set; }

        public IReadOnlyDictionary<string, double> TrainStep()
        {
            Step++;
            Weight += _rng.NextDouble();
            return new Dictionary<string, double> { ["loss"] = 1.0 / Step, ["weight"] = Weight };
        }

        // Held-out "loss" is lowest at step 6, so best/ must hold step 6.
        public IReadOnlyDictionary<string, double>? Evaluate() => new Dictionary<string, double> { ["val_loss"] = Math.Abs(Step - 6) };

        public void Save(string directory)
        {
            Directory.CreateDirectory(directory);
            var state = new JsonObject
            {
                ["step"] = Step, ["weight"] = Weight,
                ["rng"] = new JsonArray([.. _rng.GetState().Select(w => JsonValue.Create(w.ToString(CultureInfo.InvariantCulture)))]),
            };
            AtomicFile.WriteAllText(Path.Combine(directory, "state.json"), state.ToJsonString());
            Saves++;
        }

        public void Load(string directory)
        {
            string path = Path.Combine(directory, "state.json");
            if (!File.Exists(path)) throw new CheckpointFormatException(path, "the file is missing", "pick another checkpoint");
            JsonNode state;
            try { state = JsonNode.Parse(File.ReadAllText(path))!; }
            catch (System.Text.Json.JsonException ex) { throw new CheckpointFormatException(path, "not JSON", "pick another checkpoint", ex); }
            Step = state["step"]!.GetValue<long>();
            Weight = state["weight"]!.GetValue<double>();
            _rng = Rng.FromState([.. state["rng"]!.AsArray().Select(n => ulong.Parse(n!.GetValue<string>(), CultureInfo.InvariantCulture))]);
        }
    }

    private static RunSchedule Schedule() => new() { TotalSteps = 20, EvaluateEvery = 2, CheckpointEvery = 4, KeepCheckpoints = 2, BestMetric = "val_loss" };

    [Fact]
    public void A_generic_trainer_gets_metrics_checkpoints_at_its_cadence_best_final_and_a_timed_result()
    {
        string dir = Path.Combine(_root, "lm");
        var trainer = new CountingTrainer();
        RunSummary summary;
        using (var folder = RunFolder.Create(dir, """{ "kind": "test" }"""))
        {
            var reports = new List<RunProgress>();
            summary = folder.Train(trainer, Schedule(), new SyncProgress(reports.Add));
            Assert.Equal(20, reports.Count);
            Assert.Equal(20, reports[^1].Step);
        }
        Assert.Equal(20, summary.Steps);
        Assert.False(summary.AlreadyFinished);

        var metrics = CsvLogger.Read(Path.Combine(dir, RunFolder.MetricsFile));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (double)i), metrics.Column("step"));
        Assert.Equal(10, metrics.Column("val_loss").Count(double.IsFinite));   // every 2 steps, in the same rows
        // Periodic checkpoints at 4, 8, 12, 16 (not 20: the final one is final/); only the newest two kept.
        var kept = Directory.GetDirectories(Path.Combine(dir, RunFolder.CheckpointsFolder)).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal([RunFolder.CheckpointFolderName(12), RunFolder.CheckpointFolderName(16)], kept);
        var best = new CountingTrainer();
        best.Load(Path.Combine(dir, RunFolder.BestFolder));
        Assert.Equal(6, best.Step);
        var final = new CountingTrainer();
        final.Load(Path.Combine(dir, RunFolder.FinalFolder));
        Assert.Equal(20, final.Step);

        var result = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, RunFolder.ResultFile)))!;
        Assert.Equal(20, result["steps"]!.GetValue<long>());
        double wall = result["wall_seconds"]!.GetValue<double>();
        double parts = result["training_seconds"]!.GetValue<double>() + result["checkpoint_seconds"]!.GetValue<double>() + result["evaluation_seconds"]!.GetValue<double>();
        Assert.Equal(wall, parts, 9);
        Assert.True(result["checkpoint_seconds"]!.GetValue<double>() > 0);
        Assert.Single(result["segments"]!.AsArray());
        Assert.Equal(14, result["final_evaluation"]!["val_loss"]!.GetValue<double>());
    }

    [Fact]
    public void A_stopped_run_resumes_to_the_uninterrupted_state_and_the_timing_keeps_both_segments()
    {
        string whole = Path.Combine(_root, "whole"), split = Path.Combine(_root, "split");
        var uninterrupted = new CountingTrainer();
        using (var folder = RunFolder.Create(whole, "{}")) folder.Train(uninterrupted, Schedule());

        using (var cancel = new CancellationTokenSource())
        using (var folder = RunFolder.Create(split, "{}"))
        {
            var first = new CountingTrainer();
            var summary = folder.Train(first, Schedule(), new SyncProgress(p => { if (p.Step == 9) cancel.Cancel(); }), cancel.Token);
            Assert.True(summary.Stopped);
            Assert.False(File.Exists(Path.Combine(split, RunFolder.ResultFile)));
        }
        // A later line the interrupted segment wrote after its last checkpoint would be dropped by the resume.
        var resumed = new CountingTrainer();
        using (var folder = RunFolder.Open(split))
        {
            string? from = folder.ResumeTrainer(resumed);
            Assert.Equal(RunFolder.CheckpointFolderName(9), Path.GetFileName(from));
            Assert.Equal(9, resumed.Step);
            folder.Train(resumed, Schedule());
        }
        Assert.Equal(uninterrupted.Weight, resumed.Weight);   // bit for bit
        Assert.Equal(CsvLogger.Read(Path.Combine(whole, RunFolder.MetricsFile)).Column("weight"), CsvLogger.Read(Path.Combine(split, RunFolder.MetricsFile)).Column("weight"));

        var result = JsonNode.Parse(File.ReadAllText(Path.Combine(split, RunFolder.ResultFile)))!;
        var segments = result["segments"]!.AsArray();
        Assert.Equal(2, segments.Count);
        Assert.Equal(9, segments[0]!["end_step"]!.GetValue<long>());
        Assert.Equal(9, segments[1]!["start_step"]!.GetValue<long>());
        double summed = segments.Sum(s => s!["wall_seconds"]!.GetValue<double>());
        Assert.Equal(summed, result["wall_seconds"]!.GetValue<double>(), tolerance: 1e-9);   // rounding to 9 decimals can split values 1e-18 apart
    }

    [Fact]
    public void A_finished_run_is_left_alone_and_a_damaged_final_falls_back_to_the_newest_good_checkpoint()
    {
        string dir = Path.Combine(_root, "done");
        using (var folder = RunFolder.Create(dir, "{}")) folder.Train(new CountingTrainer(), Schedule());
        string resultBefore = File.ReadAllText(Path.Combine(dir, RunFolder.ResultFile));

        using (var folder = RunFolder.Open(dir))
        {
            var again = new CountingTrainer();
            folder.ResumeTrainer(again);
            var summary = folder.Train(again, Schedule());
            Assert.True(summary.AlreadyFinished);
        }
        Assert.Equal(resultBefore, File.ReadAllText(Path.Combine(dir, RunFolder.ResultFile)));

        File.WriteAllText(Path.Combine(dir, RunFolder.FinalFolder, "state.json"), "{ damaged");
        using (var folder = RunFolder.Open(dir))
        {
            var trainer = new CountingTrainer();
            string? from = folder.ResumeTrainer(trainer);
            Assert.Equal(RunFolder.CheckpointFolderName(16), Path.GetFileName(from));
            Assert.Equal(16, trainer.Step);
            Assert.Contains(folder.Notes, n => n.Contains("final", StringComparison.Ordinal) && n.Contains("damaged", StringComparison.Ordinal));
            Assert.Contains(folder.Notes, n => n.Contains("step-0000000016", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Opening_something_that_is_not_a_run_folder_names_the_problem()
    {
        var missing = Assert.Throws<Reinforce.Algorithms.ConfigurationException>(() => RunFolder.Open(Path.Combine(_root, "nope")));
        Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);
        Directory.CreateDirectory(Path.Combine(_root, "plain"));
        var plain = Assert.Throws<Reinforce.Algorithms.ConfigurationException>(() => RunFolder.Open(Path.Combine(_root, "plain")));
        Assert.Contains("not a run folder", plain.Message, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(_root, "plain", "notes.txt"), "mine");
        var taken = Assert.Throws<IOException>(() => RunFolder.Create(Path.Combine(_root, "plain"), "{}"));
        Assert.DoesNotContain("--resume", taken.Message, StringComparison.Ordinal);   // not a run: resuming it would not work either
    }

    private sealed class SyncProgress(Action<RunProgress> report) : IProgress<RunProgress>
    {
        public void Report(RunProgress value) => report(value);
    }
}
