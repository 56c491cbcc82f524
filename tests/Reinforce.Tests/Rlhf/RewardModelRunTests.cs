using Reinforce.Algorithms;
using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;
using Reinforce.Tests.Distributed;
using Reinforce.Training;

namespace Reinforce.Tests.Rlhf;

/// <summary>
/// Reward-model training on the run-folder service: a run killed between checkpoints resumes to the same bits as an
/// uninterrupted one; data-parallel ranks hold identical weights after every step and train as one process would.
/// </summary>
public sealed class RewardModelRunTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("reinforce-reward-run-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly CharTokenizer Letters = CharTokenizer.FromText("abcdefghijklmnopqrstuvwxyz .");

    /// <summary>A tiny language model (saved) and 60 pairs where the shorter words are preferred.</summary>
    private RewardRunConfig Config(int epochs = 2, int batch = 8)
    {
        string lm = Path.Combine(_root, "lm.safetensors"), prefs = Path.Combine(_root, "prefs.jsonl");
        if (!File.Exists(lm))
        {
            var model = new Gpt(new GptConfig { VocabSize = Letters.VocabSize, ContextLength = 48, Layers = 1, Width = 16, Heads = 2 }, new Rng(4));
            LmCheckpoint.Save(lm, model, Letters);
            File.WriteAllLines(prefs, Pairs(60).Select(p => PreferenceRecord.Preferred(p.Prompt, p.Chosen, p.Rejected).ToJsonLine()));
        }
        return new RewardRunConfig
        {
            Preferences = prefs, Model = lm, Holdout = 0.2, CheckpointEvery = 2,
            Options = new RewardModelOptions { Epochs = epochs, BatchSize = batch, LearningRate = 3e-3f, EvaluateEvery = 3, Seed = 2 },
        };
    }

    private static List<PreferencePair> Pairs(int count)
    {
        var rng = new Rng(9);
        var pairs = new List<PreferencePair>();
        for (int i = 0; i < count; i++)
        {
            string prompt = $"the {(char)('a' + i % 13)}";
            pairs.Add(new PreferencePair(prompt, rng.NextInt(2) == 0 ? " a to it" : " is on a", " because together", false));
        }
        return pairs;
    }

    /// <summary>Ends the process abruptly as far as the run can tell: no checkpoint, no final files (what kill -9 leaves).</summary>
    private sealed class CrashAt(long step) : IProgress<RunProgress>
    {
        public void Report(RunProgress value)
        {
            if (value.Step == step) throw new SimulatedCrashException();
        }
    }

    private sealed class SimulatedCrashException : Exception;

    [Fact]
    public void A_run_killed_between_checkpoints_resumes_to_the_same_bits_as_a_straight_run()
    {
        string straight = Path.Combine(_root, "straight"), killed = Path.Combine(_root, "killed");
        using (var run = RewardModelRun.Create(straight, Config()))
        {
            Assert.Equal(12, run.Trainer.TotalSteps);   // 48 training pairs, batches of 8, 2 epochs
            Assert.Equal(12, run.Run().Steps);
        }
        using (var run = RewardModelRun.Create(killed, Config()))
            Assert.Throws<SimulatedCrashException>(() => run.Run(new CrashAt(7)));
        Assert.False(File.Exists(Path.Combine(killed, RewardModelRun.DefaultModelFile)));
        Assert.Equal(7, CsvLogger.Read(Path.Combine(killed, RunFolder.MetricsFile)).Rows.Count);   // rows past the last checkpoint (6) are redone
        using (var run = RewardModelRun.Resume(killed))
        {
            Assert.EndsWith(RunFolder.CheckpointFolderName(6), run.ResumedFrom, StringComparison.Ordinal);
            Assert.Equal(6, run.Trainer.StepCount);
            Assert.Equal(12, run.Run().Steps);
        }

        var (a, factsA) = LmCheckpoint.LoadRewardModel(Path.Combine(straight, RewardModelRun.DefaultModelFile));
        var (b, factsB) = LmCheckpoint.LoadRewardModel(Path.Combine(killed, RewardModelRun.DefaultModelFile));
        var stateB = b.StateDict();
        foreach (var (name, tensor) in a.StateDict()) Assert.Equal(tensor.Data, stateB[name].Data);
        Assert.Equal(factsA["heldout_accuracy"], factsB["heldout_accuracy"]);
        var logA = CsvLogger.Read(Path.Combine(straight, RunFolder.MetricsFile));
        var logB = CsvLogger.Read(Path.Combine(killed, RunFolder.MetricsFile));
        Assert.Equal(12, logB.Rows.Count);
        Assert.Equal(logA.Column("loss"), logB.Column("loss"));
        Assert.Equal(logA.Column("val_accuracy").Where(double.IsFinite), logB.Column("val_accuracy").Where(double.IsFinite));
        Assert.Equal(2, RunFolder.Open(killed).Segments.Count);
    }

    [Fact]
    public void The_library_loop_and_the_trainer_learn_the_preference()
    {
        using var run = RewardModelRun.Create(Path.Combine(_root, "learn"), Config(epochs: 6));
        var summary = run.Run();
        Assert.True(summary.LastEvaluation!["val_accuracy"] >= 0.9, $"held-out accuracy {summary.LastEvaluation["val_accuracy"]}");
    }

    [Fact]
    public void Bad_settings_name_the_setting_and_the_fix()
    {
        var e = Assert.Throws<ConfigurationException>(() => RewardModelRun.Create(Path.Combine(_root, "bad"), Config() with { Options = new RewardModelOptions { BatchSize = 0 } }));
        Assert.Equal("batch_size", e.Setting);
        e = Assert.Throws<ConfigurationException>(() => RewardModelRun.Create(Path.Combine(_root, "bad"), Config() with { Holdout = 1 }));
        Assert.Equal("holdout", e.Setting);
        Assert.False(Directory.Exists(Path.Combine(_root, "bad")));
    }

    private (RewardModelTrainer Trainer, List<PreferencePair> Validation) DirectTrainer(int batch)
    {
        var config = Config(batch: batch);
        var (lm, tokenizer, _) = LanguageModelFiles.Load(config.Model);
        var (train, validation) = RewardModelTraining.Split(Pairs(60), 0.2, 2);
        var model = new RewardModel(lm, tokenizer, new Rng(2));
        return (new RewardModelTrainer(model, train, validation, config.Options with { BatchSize = batch }), validation);
    }

    [Fact]
    public void Two_ranks_hold_identical_weights_after_every_step_and_train_as_one_process_does()
    {
        const int steps = 8;
        // One process, batches of 8.
        var (single, _) = DirectTrainer(8);
        var singleLosses = new double[steps];
        for (int s = 0; s < steps; s++) singleLosses[s] = single.Step().Loss;

        // Two ranks, each with a different head initialisation (rank 0's is broadcast) and half of every batch.
        var group = new ThreadCommunicatorGroup(2);
        var checksums = new ulong[2, steps];
        var trainers = new RewardModelTrainer[2];
        var losses = new double[2, steps];
        group.Run(comm =>
        {
            var (trainer, _) = DirectTrainer(8);
            if (comm.Rank == 1) Reinforce.Nn.Init.Normal(trainer.Model.Head.Weight.Value, 1.0, new Rng(99));
            trainer.Distribute(comm);
            for (int s = 0; s < steps; s++)
            {
                losses[comm.Rank, s] = trainer.Step().Loss;
                checksums[comm.Rank, s] = trainer.WeightsChecksum();
            }
            trainers[comm.Rank] = trainer;
        });
        for (int s = 0; s < steps; s++)
        {
            Assert.Equal(checksums[0, s], checksums[1, s]);
            Assert.Equal(losses[0, s], losses[1, s]);
        }
        // The same samples per optimizer step: the global batch's loss equals one process's, to float rounding (the sums run
        // in another order; Adam's normalisation magnifies rounding in near-zero gradients, so weights are compared through the loss).
        Assert.Equal(singleLosses[0], losses[0, 0], 1e-6);
        for (int s = 1; s < steps; s++) Assert.True(Math.Abs(losses[0, s] - singleLosses[s]) <= 1e-3 * Math.Abs(singleLosses[s]), $"step {s + 1}: {losses[0, s]} vs {singleLosses[s]}");
    }
}
