using Reinforce.Algorithms;
using Reinforce.IO;
using Reinforce.Training;

namespace Reinforce.Tests.Training;

/// <summary>
/// A long run's metrics log stays bounded (the soak found metrics.csv and the TensorBoard file growing 4.1 MB per million
/// CartPole steps without end): rows at the log_every_steps cadence, every update with an evaluation, and the last update.
/// </summary>
public sealed class BoundedLogTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("reinforce-log-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static TrainingConfig Config(long? logEvery)
    {
        var config = TrainingConfig.Preset("CartPole-v1");   // 32 steps per copy per update
        config.NumEnvs = 4;                                   // 128 steps per update
        config.TotalSteps = 128 * 20;
        config.CheckpointEverySteps = 0;
        config.Eval.EverySteps = 1280;
        config.Eval.Episodes = 2;
        config.Eval.FinalEpisodes = 2;
        config.LogEverySteps = logEvery;
        return config;
    }

    private double[] LoggedSteps(TrainingConfig config, string name)
    {
        string dir = Path.Combine(_root, name);
        using (var run = TrainingRun.Create(config, dir)) run.Run();
        return CsvLogger.Read(Path.Combine(dir, RunFolder.MetricsFile)).Column("step");
    }

    [Fact]
    public void Rows_follow_the_cadence_and_keep_every_evaluation_and_the_last_update()
    {
        // Multiples of 1000 are first reached at 1024 and 2048; evaluations run at 1280 and 2560; 2560 is also the last update.
        Assert.Equal([1024, 1280, 2048, 2560], LoggedSteps(Config(1000), "every-1000"));
    }

    [Fact]
    public void Short_runs_log_every_update_and_long_runs_about_two_thousand_rows()
    {
        Assert.Equal(Enumerable.Range(1, 20).Select(k => 128.0 * k), LoggedSteps(Config(null), "automatic"));
        var longRun = new TrainingConfig { TotalSteps = 10_000_000 };
        Assert.Equal(5000, longRun.LogCadence());    // a 10M-step run writes one row per 5,000 steps
        Assert.Equal(50, new TrainingConfig { TotalSteps = 100_000 }.LogCadence());   // less than one update: every update is written
        var e = Assert.Throws<ConfigurationException>(() => TrainingConfig.Parse("{\"env\": \"CartPole-v1\", \"log_every_steps\": 0}", "config.json").Validate());
        Assert.Contains("log_every_steps", e.Message, StringComparison.Ordinal);
    }
}
