using System.Xml.Linq;
using Reinforce.Algorithms;
using Reinforce.IO;
using Reinforce.Training;
using Reinforce.Envs.ClassicControl;

namespace Reinforce.Tests.Training;

public sealed class RunFolderTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "reinforce-runs-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static TrainingConfig SmallConfig()
    {
        var config = TrainingConfig.Preset("CartPole-v1");
        config.NumEnvs = 4;
        config.TotalSteps = 4096;
        config.CheckpointEverySteps = 2048;
        config.Eval.EverySteps = 1024;
        config.Eval.Episodes = 5;
        config.Eval.FinalEpisodes = 10;
        config.Ppo!.NumSteps = 64;
        config.Ppo.NumEpochs = 2;
        return config;
    }

    [Fact]
    public void A_run_folder_holds_the_config_metrics_tensorboard_events_curve_checkpoints_and_result()
    {
        string dir = Path.Combine(_root, "run");
        TrainingResult result;
        using (var run = TrainingRun.Create(SmallConfig(), dir)) result = run.Run();

        // The configuration is complete: reading it back and resolving changes nothing.
        var config = TrainingConfig.Load(Path.Combine(dir, "config.json"));
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "config.json")).TrimEnd(), config.Resolve().ToJson());
        Assert.Equal(64, config.Ppo!.NumSteps);
        Assert.Null(config.A2c);

        var metrics = CsvLogger.Read(Path.Combine(dir, "metrics.csv"));
        Assert.Equal(4096 / (4 * 64), metrics.Rows.Count);   // one row per update, periodic evaluations in the same rows
        Assert.Contains("train/approx_kl", metrics.Columns);
        Assert.Contains("train/clip_fraction", metrics.Columns);
        Assert.Equal(4096, metrics.Column("step")[^1]);

        var events = Directory.GetFiles(dir, "events.out.tfevents.*");
        Assert.Single(events);
        var scalars = TensorBoardReader.ReadScalars(events[0]);
        Assert.Contains(scalars, s => s.Tag == "train/policy_loss" && s.Step == 256);
        Assert.Contains(scalars, s => s.Tag == "eval/mean_reward");

        var svg = XDocument.Load(Path.Combine(dir, "learning-curve.svg"));
        Assert.Equal("svg", svg.Root!.Name.LocalName);
        Assert.Contains("CartPole-v1", svg.ToString(), StringComparison.Ordinal);

        Assert.True(Checkpoint.Exists(Path.Combine(dir, "checkpoints", CheckpointCallback.FolderName(2048))));
        Assert.True(Checkpoint.Exists(Path.Combine(dir, "checkpoints", CheckpointCallback.FolderName(4096))));
        Assert.True(Checkpoint.Exists(Path.Combine(dir, "final")));
        var eval = CsvLogger.Read(Path.Combine(dir, "eval.csv"));
        Assert.Equal(5, eval.Rows.Count);   // at 1024, 2048, 3072, 4096, and the final one
        Assert.Equal([0.0, 0, 0, 0, 1], eval.Column("final"));
        Assert.Equal(4, metrics.Column("eval/mean_reward").Count(double.IsFinite));
        Assert.Contains("\"solved\"", File.ReadAllText(Path.Combine(dir, "result.json")), StringComparison.Ordinal);
        Assert.Equal(10, result.Final!.Returns.Length);
        Assert.Equal(4096, result.Steps);
    }

    [Fact]
    public void Resuming_an_interrupted_run_finishes_with_the_weights_of_an_uninterrupted_one()
    {
        string whole = Path.Combine(_root, "whole"), broken = Path.Combine(_root, "broken");
        using (var run = TrainingRun.Create(SmallConfig(), whole)) run.Run();
        using (var run = TrainingRun.Create(SmallConfig(), broken)) run.Run([new StopAtSteps(2048)]);
        // Simulate a crash right after the step-2048 checkpoint: no final checkpoint, later logs lost or partial.
        Directory.Delete(Path.Combine(broken, "final"), recursive: true);
        using (var resumed = TrainingRun.Resume(broken))
        {
            Assert.Equal(2048, resumed.Agent.StepsDone);
            resumed.Run();
        }
        var a = OnPolicyAgent.Load(Path.Combine(whole, "final"));
        var b = OnPolicyAgent.Load(Path.Combine(broken, "final"));
        Assert.Equal(a.Policy.StateDict().Values.SelectMany(t => t.Data), b.Policy.StateDict().Values.SelectMany(t => t.Data));
        Assert.Equal(CsvLogger.Read(Path.Combine(whole, "metrics.csv")).Column("step"), CsvLogger.Read(Path.Combine(broken, "metrics.csv")).Column("step"));
        Assert.Equal(CsvLogger.Read(Path.Combine(whole, "eval.csv")).Column("mean_reward"), CsvLogger.Read(Path.Combine(broken, "eval.csv")).Column("mean_reward"));
    }

    [Fact]
    public void An_existing_run_folder_is_never_overwritten()
    {
        string dir = Path.Combine(_root, "taken");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "mine");
        File.WriteAllText(Path.Combine(dir, "config.json"), "{}");   // a run folder: the hint is to resume it (a plain folder gets no such hint: RunFolderServiceTests)
        var ex = Assert.Throws<IOException>(() => TrainingRun.Create(SmallConfig(), dir));
        Assert.Contains("--resume", ex.Message, StringComparison.Ordinal);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(dir, "notes.txt")));
    }
}
