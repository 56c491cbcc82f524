using System.Text.RegularExpressions;
using Reinforce.Training;

namespace Reinforce.Tests.Training;

/// <summary>
/// Long commands with their output redirected (a file, a CI log; the test host's output is redirected too) print a
/// line at least every <see cref="PrintCadence.Every"/>: their own progress lines, or the heartbeat while a step
/// reports nothing. The silence allowed is shortened here so that small budgets show it.
/// </summary>
[Collection("Console")]
public sealed partial class RedirectedProgressTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "reinforce-progress-" + Guid.NewGuid().ToString("N"));
    private readonly TimeSpan _every = PrintCadence.Every;

    public void Dispose()
    {
        PrintCadence.Every = _every;
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Lm_bench_which_reports_nothing_while_it_measures_prints_the_heartbeat()
    {
        Assert.True(Console.IsOutputRedirected, "the test host's output is expected to be redirected");
        PrintCadence.Every = TimeSpan.FromMilliseconds(10);   // building the model and each measured step are silent for longer
        var (code, output, error) = CliRunner.Run(null, "lm", "bench", "--steps", "4", "--batch", "4", "--sample-tokens", "16");
        Assert.True(code == 0, error);
        Assert.Contains("... still running `reinforce lm bench` (", output, StringComparison.Ordinal);
        Assert.Contains("training:", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_prints_a_progress_line_whenever_the_silence_passes_not_only_every_twentieth_of_the_budget()
    {
        PrintCadence.Every = TimeSpan.Zero;   // every update is overdue: one line per update
        var (code, output, error) = CliRunner.Run(null, "train", "CartPole-v1", "--steps", "16384", "--envs", "4", "--out", Path.Combine(_root, "run"));
        Assert.True(code == 0, error);
        int lines = ProgressLine().Matches(output).Count;
        Assert.True(lines > 30, $"{lines} progress lines:\n{output}");   // a twentieth of the budget alone gives about 21
    }

    [Fact]
    public void The_heartbeat_stays_silent_while_lines_keep_coming_and_gives_standard_output_back()
    {
        PrintCadence.Every = TimeSpan.FromSeconds(30);
        var before = Console.Out;
        var (code, output, _) = CliRunner.Run(null, "textbook", "bandit", "--runs", "20", "--steps", "50", "--out", Path.Combine(_root, "bandit.svg"));
        Assert.Equal(0, code);
        Assert.DoesNotContain("still running", output, StringComparison.Ordinal);
        Assert.Same(before, Console.Out);
    }

    [Fact]
    public void The_heartbeat_never_splits_a_line_and_is_off_for_commands_that_wait_on_people()
    {
        PrintCadence.Every = TimeSpan.FromMilliseconds(50);
        var before = Console.Out;
        var output = new StringWriter();
        Console.SetOut(output);
        var release = new ManualResetEventSlim();   // not disposed: the holders may still be waking from it
        // The thread pool is full (as when a step's parallel kernels or other tests hold it): the beat still comes.
        _ = Enumerable.Range(0, 8 * Environment.ProcessorCount).Select(_ => Task.Run(() => release.Wait())).ToArray();
        try
        {
            using (var beat = Cli.Heartbeat.Start("soak test"))
            {
                Assert.NotNull(beat);
                Console.Write("half a line");
                Thread.Sleep(400);
            }
            Assert.Null(Cli.Heartbeat.Start("dashboard"));
            Assert.Null(Cli.Heartbeat.Start("rlhf label"));
        }
        finally
        {
            Console.SetOut(before);
            release.Set();   // the holders end on their own
        }
        Assert.StartsWith("half a line" + Environment.NewLine + "... still running `reinforce soak test` (", output.ToString(), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^steps [\d,]+/[\d,]+ \|", RegexOptions.Multiline)]
    private static partial Regex ProgressLine();
}
