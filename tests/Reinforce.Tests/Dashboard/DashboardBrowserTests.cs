using System.Globalization;
using Microsoft.Playwright;
using Reinforce.Cli.Dashboard;
using Reinforce.Envs.ClassicControl;

namespace Reinforce.Tests.Dashboard;

/// <summary>Browser tests run alone, after the parallel ones: a loaded 2-core machine can starve the page server's threads.</summary>
[CollectionDefinition("Browser", DisableParallelization = true)]
public sealed class BrowserCollection;

[Collection("Browser")]
public class DashboardBrowserTests
{
    [BrowserFact]
    public async Task Page_shows_the_runs_points_and_gains_new_ones_while_the_run_writes()
    {
        var runs = Directory.CreateTempSubdirectory("reinforce-dashboard-");
        var runDir = Directory.CreateDirectory(Path.Combine(runs.FullName, "cartpole-ppo-1"));
        var csv = Path.Combine(runDir.FullName, "metrics.csv");
        await File.WriteAllTextAsync(csv, "step,mean_return,loss\n");
        await File.WriteAllTextAsync(Path.Combine(runDir.FullName, "config.json"), """{"env": "CartPole-v1", "algo": "ppo", "seed": 1}""");
        void Append(int from, int to)
        {
            using var w = File.AppendText(csv);
            for (int i = from; i < to; i++) w.Write(string.Create(CultureInfo.InvariantCulture, $"{i * 1000},{20 + 4.5 * i},{1.0 / (i + 1)}\n"));
        }
        Append(0, 3);

        await using var server = await DashboardServer.StartAsync(runs.FullName, port: 0);
        var chromium = BrowserFactAttribute.ChromiumPath ?? throw new InvalidOperationException("REINFORCE_REQUIRE_BROWSER=1 but Chromium is not installed: apt-get install chromium.");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1200, Height = 900 } });
        await page.GotoAsync(new Uri(server.Address, "?interval=200").ToString());

        var curve = page.Locator("#compare polyline.curve[data-run='cartpole-ppo-1']");
        await Assertions.Expect(curve).ToHaveAttributeAsync("data-points", "3");
        Assert.Equal("mean_return", await page.Locator("#metric").InputValueAsync());
        Assert.Contains("CartPole-v1", await page.Locator("#run-cartpole-ppo-1 pre").TextContentAsync(), StringComparison.Ordinal);

        Append(3, 8);
        await Assertions.Expect(curve).ToHaveAttributeAsync("data-points", "8");
        var points = (await curve.GetAttributeAsync("points"))!.Split(' ');
        Assert.Equal(8, points.Length);

        var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts"));
        var shot = Path.Combine(artifacts.FullName, "dashboard.png");
        await page.ScreenshotAsync(new() { Path = shot, FullPage = true });
        Assert.True(new FileInfo(shot).Length > 1000);
        runs.Delete(recursive: true);
    }

    /// <summary>
    /// What a real browser showed wrong: the last x-axis label ("100000") cut at the chart's edge, and a run whose metrics
    /// header is garbage (a column name thousands of characters long) stretching the metric selector off screen.
    /// </summary>
    [BrowserFact]
    public async Task Axis_labels_and_selectors_stay_inside_the_page()
    {
        var runs = Directory.CreateTempSubdirectory("reinforce-dashboard-layout-");
        var good = Directory.CreateDirectory(Path.Combine(runs.FullName, "long-run"));
        var lines = new List<string> { "step,mean_return" };
        for (int i = 0; i <= 20; i++) lines.Add(string.Create(CultureInfo.InvariantCulture, $"{i * 5000},{i * 1.5}"));
        await File.WriteAllLinesAsync(Path.Combine(good.FullName, "metrics.csv"), lines);
        var garbage = Directory.CreateDirectory(Path.Combine(runs.FullName, "garbage-header"));
        await File.WriteAllTextAsync(Path.Combine(garbage.FullName, "metrics.csv"),
            "step," + new string('x', 3000) + ",<b>\"quoted\"</b>\n0,1,2\n100000,3,4\n");

        await using var server = await DashboardServer.StartAsync(runs.FullName, port: 0);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = BrowserFactAttribute.ChromiumPath ?? throw new InvalidOperationException("Chromium is required: apt-get install chromium."),
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1200, Height = 900 } });
        // One poll only (the page redraws its charts at every poll), and every position read in one script run.
        await page.GotoAsync(new Uri(server.Address, "?interval=600000").ToString(), new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("#compare polyline.curve[data-run='long-run']")).ToHaveAttributeAsync("data-points", "21");
        Assert.Equal("100k", await page.Locator("#compare text.xtick").Last.TextContentAsync());
        var box = await page.EvaluateAsync<double[]>("""
            () => {
              const chart = document.querySelector("#compare svg").getBoundingClientRect();
              const ticks = [...document.querySelectorAll("#compare text.xtick")].map(t => t.getBoundingClientRect());
              const metric = document.querySelector("#metric").getBoundingClientRect(), xaxis = document.querySelector("#xaxis").getBoundingClientRect();
              return [chart.left, chart.right, ticks[0].left, ticks[ticks.length - 1].right, metric.right, xaxis.right, window.innerWidth];
            }
            """);
        Assert.True(box[3] <= box[1] + 0.5, $"the last x label ends at {box[3]}, past the chart's right edge {box[1]}");
        Assert.True(box[2] >= box[0] - 0.5, $"the first x label starts at {box[2]}, before the chart's left edge {box[0]}");
        Assert.True(box[4] <= box[6], $"the metric selector ends at {box[4]}, past the {box[6]}-pixel window");
        Assert.True(box[5] <= box[6], $"the x-axis selector ends at {box[5]}, past the {box[6]}-pixel window");
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways");
        Assert.Equal(0, await page.Locator("#metric b").CountAsync());   // markup in a column name is text, not markup
        await page.ScreenshotAsync(new() { Path = Path.Combine(Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts")).FullName, "dashboard-layout.png"), FullPage = true });
        runs.Delete(recursive: true);
    }

    [Fact]
    public void Metrics_reader_leaves_an_unfinished_last_line_for_the_next_poll()
    {
        var dir = Directory.CreateTempSubdirectory("reinforce-metrics-");
        var csv = Path.Combine(dir.FullName, "metrics.csv");
        File.WriteAllText(csv, "step,mean_return\n1000,21.5\n2000,3");
        var table = RunFolders.ReadMetrics(csv, 0);
        Assert.Equal(["step", "mean_return"], table.Columns);
        Assert.Single(table.Rows);
        Assert.Equal(21.5, table.Rows[0][1]);
        Assert.Equal(1, table.NextRow);
        File.AppendAllText(csv, "4.5\n");
        var more = RunFolders.ReadMetrics(csv, table.NextRow);
        Assert.Equal(34.5, more.Rows.Single()[1]);
        dir.Delete(true);
    }

    [Fact]
    public void Run_names_cannot_escape_the_runs_folder()
    {
        // A sibling whose name extends the root's ("runs-other" beside "runs") holds real metrics, so only the
        // boundary check can refuse it (RunFolderBoundaryTests covers parents and symbolic links through every endpoint).
        var dir = Directory.CreateTempSubdirectory("reinforce-runs-");
        var root = Directory.CreateDirectory(Path.Combine(dir.FullName, "runs"));
        var sibling = Directory.CreateDirectory(Path.Combine(dir.FullName, "runs-other", "x"));
        File.WriteAllText(Path.Combine(sibling.FullName, "metrics.csv"), "step,secret\n1,42\n");
        var folders = new RunFolders(root.FullName);
        Assert.Null(folders.Metrics("../runs-other/x", 0));
        Assert.NotNull(new RunFolders(dir.FullName).Metrics("runs-other/x", 0)); // the file is readable from a root that holds it
        dir.Delete(true);
    }
}

[Collection("Browser")]
public class DashboardLiveTrainingTests
{
    /// <summary>Lets a training run go only as far as the test allows, so "while the run trains" is observable.</summary>
    private sealed class Gate(int pauseAfterUpdate) : Reinforce.Algorithms.TrainingCallback
    {
        public readonly SemaphoreSlim Reached = new(0);
        public readonly SemaphoreSlim Resume = new(0);
        private int _updates;

        public override bool OnUpdate(Reinforce.Algorithms.Agent agent, Reinforce.Algorithms.TrainingMetrics metrics)
        {
            if (++_updates == pauseAfterUpdate)
            {
                Reached.Release();
                if (!Resume.Wait(TimeSpan.FromMinutes(2))) throw new TimeoutException("The test never resumed the training run.");
            }
            return true;
        }
    }

    [BrowserFact]
    public async Task Chart_follows_a_real_PPO_run_as_it_trains()
    {
        var runs = Directory.CreateTempSubdirectory("reinforce-live-");
        var config = Reinforce.Training.TrainingConfig.Preset("CartPole-v1");
        config.TotalSteps = 256 * 12; // twelve PPO updates of 8 envs x 32 steps
        config.Eval.EverySteps = 1_000_000;
        config.Eval.FinalEpisodes = 5;
        using var run = Reinforce.Training.TrainingRun.Create(config, Path.Combine(runs.FullName, "cartpole-ppo"));
        var gate = new Gate(pauseAfterUpdate: 4);
        // A dedicated thread: the gate blocks it, and a blocked thread-pool thread could starve the page server.
        var training = Task.Factory.StartNew(() => run.Run([gate]), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(await gate.Reached.WaitAsync(TimeSpan.FromMinutes(2)), "training never reached its fourth update");

        await using var server = await DashboardServer.StartAsync(runs.FullName, port: 0);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = BrowserFactAttribute.ChromiumPath ?? throw new InvalidOperationException("Chromium is required: apt-get install chromium."),
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1200, Height = 900 } });
        await page.GotoAsync(new Uri(server.Address, "?interval=200").ToString(), new() { Timeout = 60_000 });
        var curve = page.Locator("#compare polyline.curve[data-run='cartpole-ppo']");
        await Assertions.Expect(curve).ToHaveAttributeAsync("data-points", new System.Text.RegularExpressions.Regex("^[1-9][0-9]*$"));
        int pointsWhilePaused = int.Parse((await curve.GetAttributeAsync("data-points"))!, CultureInfo.InvariantCulture);
        Assert.InRange(pointsWhilePaused, 1, 4);
        Assert.Equal("rollout/ep_rew_mean", await page.Locator("#metric").InputValueAsync());

        gate.Resume.Release();
        var result = await training;
        await Assertions.Expect(curve).ToHaveAttributeAsync("data-points", "12", new() { Timeout = 30_000 });
        Assert.Equal(256 * 12, result.Steps);
        var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts"));
        await page.ScreenshotAsync(new() { Path = Path.Combine(artifacts.FullName, "dashboard-live-training.png"), FullPage = true });
        runs.Delete(recursive: true);
    }
}
