using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Training;

namespace Reinforce.Tests.Distributed;

/// <summary>`reinforce lm pretrain --distributed mpi` under a real mpirun, against the same run in one process.</summary>
public sealed class DistributedLanguageModelTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "reinforce-mpi-lm-" + Guid.NewGuid().ToString("N")[..8]);

    public DistributedLanguageModelTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static string[] Pretrain(string output, params string[] more) => PretrainWidth(output, 32, more);

    private static string[] PretrainWidth(string output, int width, params string[] more) =>
    [
        "lm", "pretrain", "--out", output, "--steps", "8", "--batch", "6", "--lr", "1e-2", "--layers", "1", "--width", width.ToString(System.Globalization.CultureInfo.InvariantCulture), "--heads", "2",
        "--context", "32", "--eval-every", "4", "--seed", "3", .. more,
    ];

    private static float[] Flat(Gpt model) => [.. model.Parameters().SelectMany(p => p.Value.Data.AsSpan(0, p.Value.Size).ToArray())];

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();

    [MpiFact]
    public void Two_ranks_pretrain_as_one_process_does_and_rank_0_alone_writes_the_run_folder()
    {
        string two = Path.Combine(_dir, "two"), one = Path.Combine(_dir, "one");
        var ranks = MpiRun.Ranks(2, _dir, TimeSpan.FromMinutes(5), Pretrain(two, "--distributed", "mpi"));
        Assert.True(ranks.ExitCode == 0, ranks.ToString());
        Assert.Contains("Data-parallel: ", ranks.Output);
        Assert.Contains("each step's 6 sequences are split over the 2 ranks", ranks.Output);
        // Rank 0 alone prints and writes: one run folder, one "Done" line.
        Assert.Single(Directory.GetDirectories(_dir));
        Assert.Single(ranks.Output.Split('\n'), line => line.StartsWith("Done in", StringComparison.Ordinal));

        var alone = MpiRun.Alone(_dir, TimeSpan.FromMinutes(5), Pretrain(one));
        Assert.True(alone.ExitCode == 0, alone.ToString());

        var (twoModel, _, facts) = LmCheckpoint.LoadLanguageModel(Path.Combine(two, PretrainingRun.LastModelFile));
        var (oneModel, _, oneFacts) = LmCheckpoint.LoadLanguageModel(Path.Combine(one, PretrainingRun.LastModelFile));
        Assert.Equal("2", facts["ranks"]);
        Assert.Equal("1", oneFacts["ranks"]);
        Assert.Equal("8", facts["step"]);
        // The same 6 windows per step, split 3 + 3: the same training to float rounding (AdamW turns the rounding noise of
        // gradients that are zero in exact arithmetic into steps of up to a tenth of the learning rate: 1e-3).
        var start = new Gpt(PretrainingRun.ReadConfig(one).Model, new Rng(3));
        double moved = MaxDifference(Flat(start), Flat(oneModel)), difference = MaxDifference(Flat(oneModel), Flat(twoModel));
        Assert.True(moved > 3e-2, $"the weights moved by only {moved:E2}");
        Assert.True(difference <= 1e-3, $"two ranks' weights differ from one process's by {difference:E2} (moved {moved:E2})\n{ranks}\n{alone}");
        // The held-out loss of the best checkpoint, measured by rank 0 alone, matches.
        Assert.Equal(double.Parse(LmCheckpoint.LoadLanguageModel(Path.Combine(one, PretrainingRun.BestModelFile)).Facts["val_loss"], System.Globalization.CultureInfo.InvariantCulture),
            double.Parse(LmCheckpoint.LoadLanguageModel(Path.Combine(two, PretrainingRun.BestModelFile)).Facts["val_loss"], System.Globalization.CultureInfo.InvariantCulture), 1e-3);
    }

    [MpiFact]
    public void Ranks_pretraining_with_different_settings_stop_at_once_naming_the_rank()
    {
        string run = Path.Combine(_dir, "run");
        var result = MpiRun.Mpmd(_dir, TimeSpan.FromMinutes(3), Pretrain(run, "--distributed", "mpi"), PretrainWidth(run, 16, "--distributed", "mpi"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("rank(s) 1 were started with a different configuration from rank 0", result.Error);
        Assert.DoesNotContain("   at Reinforce", result.Error);
    }
}
