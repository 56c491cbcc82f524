using Reinforce.IO;

namespace Reinforce.Tests.IO;

public class CsvLoggerTests
{
    internal static string ReadShared(string path)
    {
        // The logger keeps the file open for appending; read it the way a live plotter would.
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    [Fact]
    public void Writes_the_header_once_and_each_row_immediately_in_invariant_shortest_round_trip_form()
    {
        using var dir = new TempDir();
        string path = dir.File("metrics.csv");
        using var log = new CsvLogger(path, ["step", "loss", "reward"]);
        Assert.Equal("step,loss,reward\n", ReadShared(path));

        log.Log(new Dictionary<string, double> { ["step"] = 128, ["loss"] = 0.1, ["reward"] = -1e-5 });
        Assert.Equal("step,loss,reward\n128,0.1,-1E-05\n", ReadShared(path));

        log.Log(new Dictionary<string, double> { ["reward"] = 1.0 / 3, ["step"] = 256 }); // loss missing
        Assert.Equal("step,loss,reward\n128,0.1,-1E-05\n256,,0.3333333333333333\n", ReadShared(path));
    }

    [Fact]
    public void A_new_column_rewrites_the_header_and_pads_earlier_rows()
    {
        using var dir = new TempDir();
        string path = dir.File("metrics.csv");
        using (var log = new CsvLogger(path, ["step", "loss"]))
        {
            log.Log(new Dictionary<string, double> { ["step"] = 1, ["loss"] = 0.5 });
            log.Log(new Dictionary<string, double> { ["step"] = 2, ["loss"] = 0.25, ["ep_return"] = 21 });
            log.Log(new Dictionary<string, double> { ["step"] = 3, ["loss"] = 0.125 });
            Assert.Equal(["step", "loss", "ep_return"], log.Columns);
        }
        Assert.Equal("step,loss,ep_return\n1,0.5,\n2,0.25,21\n3,0.125,\n", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir.Path));

        var table = CsvLogger.Read(path);
        Assert.Equal([1.0, 2, 3], table.Column("step"));
        var returns = table.Column("ep_return");
        Assert.True(double.IsNaN(returns[0]) && returns[1] == 21 && double.IsNaN(returns[2]));
    }

    [Fact]
    public void Reopening_an_existing_log_keeps_its_rows_and_appends()
    {
        using var dir = new TempDir();
        string path = dir.File("metrics.csv");
        using (var log = new CsvLogger(path, ["step", "loss"]))
            log.Log(new Dictionary<string, double> { ["step"] = 1, ["loss"] = 2 });
        using (var log = new CsvLogger(path, ["step", "loss", "kl"]))
            log.Log(new Dictionary<string, double> { ["step"] = 2, ["loss"] = 1, ["kl"] = 0.01 });
        Assert.Equal("step,loss,kl\n1,2,\n2,1,0.01\n", File.ReadAllText(path));
    }

    [Fact]
    public void Non_finite_values_and_awkward_column_names_round_trip()
    {
        using var dir = new TempDir();
        string path = dir.File("m.csv");
        using (var log = new CsvLogger(path, ["a,b", "say \"hi\""]))
            log.Log(new Dictionary<string, double> { ["a,b"] = double.NaN, ["say \"hi\""] = double.NegativeInfinity });
        Assert.StartsWith("\"a,b\",\"say \"\"hi\"\"\"\n", File.ReadAllText(path));
        var table = CsvLogger.Read(path);
        Assert.Equal(["a,b", "say \"hi\""], table.Columns);
        Assert.True(double.IsNaN(table.Rows[0][0]));
        Assert.Equal(double.NegativeInfinity, table.Rows[0][1]);
    }

    [Fact]
    public void Bad_column_names_are_refused_clearly()
    {
        using var dir = new TempDir();
        Assert.Contains("listed twice", Assert.Throws<ArgumentException>(() => new CsvLogger(dir.File("a.csv"), ["x", "x"])).Message);
        Assert.Contains("line break", Assert.Throws<ArgumentException>(() => new CsvLogger(dir.File("b.csv"), ["x\ny"])).Message);
    }

    [Fact]
    public void Read_reports_a_cell_that_is_not_a_number()
    {
        using var dir = new TempDir();
        string path = dir.File("m.csv");
        File.WriteAllText(path, "step,loss\n1,abc\n");
        var ex = Assert.Throws<CheckpointFormatException>(() => CsvLogger.Read(path));
        Assert.Contains("line 2, column 'loss': 'abc' is not a number", ex.Message);
    }
}

public class MetricsLoggerTests
{
    [Fact]
    public void ForRun_fans_out_to_csv_tensorboard_and_console()
    {
        using var dir = new TempDir();
        var console = new StringWriter();
        var memory = new MemoryMetricsSink();
        using (var run = MetricsLogger.ForRun(dir.Path, console: console))
        {
            var logger = new MetricsLogger([.. run.Sinks, memory]);
            logger.Log(2048, new Dictionary<string, double> { ["loss"] = 0.0123456, ["reward"] = 23.5 });
            logger.Log(4096, new Dictionary<string, double> { ["loss"] = 0.01, ["reward"] = 101.26, ["kl"] = 2e-5 });
            logger.LogText("note", "halfway", 4096);
        }

        Assert.Equal("step,loss,reward,kl\n2048,0.0123456,23.5,\n4096,0.01,101.26,2E-05\n", File.ReadAllText(Path.Combine(dir.Path, "metrics.csv")));

        string events = Assert.Single(Directory.GetFiles(dir.Path, "events.out.tfevents.*"));
        var scalars = TensorBoardReader.ReadScalars(events);
        Assert.Equal(5, scalars.Count);
        Assert.Contains(new ScalarEvent("kl", 4096, 2e-5f, scalars.First(s => s.Tag == "kl").WallTime), scalars);
        Assert.Equal(("note", 4096L, "halfway"), Assert.Single(TensorBoardReader.ReadTexts(events)));

        Assert.Equal(
            "step 2,048 | loss 0.01235 | reward 23.5\nstep 4,096 | loss 0.01 | reward 101.3 | kl 2e-5\n",
            console.ToString().ReplaceLineEndings("\n"));

        Assert.Equal([(2048L, 23.5), (4096L, 101.26)], memory.History("reward"));
        var series = memory.ToSeries("reward");
        Assert.Equal([2048.0, 4096.0], series.X);
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(123456.0, "123456")]
    [InlineData(-0.000123, "-1.23e-4")]
    [InlineData(3.14159, "3.142")]
    [InlineData(1.5e9, "1.5e+9")]
    [InlineData(double.NaN, "nan")]
    public void Console_values_are_compact(double value, string expected) =>
        Assert.Equal(expected, MetricsFormatter.FormatValue(value));
}

/// <summary>
/// Tests that wait for a thread-pool timer run alone, after the parallel tests: those can hold the pool's threads for
/// seconds (in one full run the metrics timer's first tick came more than 10 s late).
/// </summary>
[CollectionDefinition("Clock", DisableParallelization = true)]
public sealed class ClockCollection;

[Collection("Clock")]
public class MetricsFlushTests
{
    private static string ReadShared(string path) => CsvLoggerTests.ReadShared(path);

    [Fact]
    public void Rows_logged_without_a_flush_each_reach_the_file_on_the_loggers_clock_and_at_the_end()
    {
        // A run folder's metrics: the sinks do not flush per row; the logger flushes on a timer while the loop is busy
        // elsewhere (the dashboard reads the file meanwhile), and everything is on disk once it is disposed.
        using var dir = new TempDir();
        string csvPath = dir.File("metrics.csv");
        var csv = new CsvLogger(csvPath, ["step", "loss"]) { FlushEachRow = false };
        var tb = new TensorBoardWriter(dir.Path) { FlushEachRecord = false };
        string events = Directory.GetFiles(dir.Path, "events.out.tfevents.*").Single();
        long emptyEvents = new FileInfo(events).Length;
        var logger = new MetricsLogger(csv, tb) { FlushInterval = TimeSpan.FromMilliseconds(50) };
        logger.Log(128, new Dictionary<string, double> { ["loss"] = 0.5 });
        var waited = System.Diagnostics.Stopwatch.StartNew();
        // The timer flushes the sinks one after the other: wait for both.
        while ((!ReadShared(csvPath).Contains("128,0.5\n", StringComparison.Ordinal) || new FileInfo(events).Length <= emptyEvents)
            && waited.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(10);
        Assert.Equal("step,loss\n128,0.5\n", ReadShared(csvPath));
        Assert.True(new FileInfo(events).Length > emptyEvents, "the TensorBoard event was not flushed by the timer");
        for (int i = 1; i <= 100; i++) logger.Log(128 + i, new Dictionary<string, double> { ["loss"] = i });
        logger.Dispose();
        var lines = File.ReadAllLines(csvPath);
        Assert.Equal(102, lines.Length);
        Assert.Equal("228,100", lines[^1]);
        Assert.Throws<ObjectDisposedException>(() => logger.Log(1, new Dictionary<string, double> { ["loss"] = 1 }));
    }
}
