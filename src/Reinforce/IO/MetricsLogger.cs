using System.Globalization;
using System.Text;

namespace Reinforce.IO;

/// <summary>Something that records training metrics: a CSV file, a TensorBoard event file, the console, memory.</summary>
public interface IMetricsSink : IDisposable
{
    /// <summary>Records <paramref name="metrics"/> (name → value) at <paramref name="step"/> (usually the number of environment steps so far).</summary>
    void Log(long step, IReadOnlyDictionary<string, double> metrics);

    /// <summary>Pushes anything buffered to its destination.</summary>
    void Flush();
}

/// <summary>
/// Sends every metrics record to several sinks (console, CSV, TensorBoard, memory). Disposing it
/// disposes the sinks.
/// </summary>
public sealed class MetricsLogger : IDisposable
{
    private readonly List<IMetricsSink> _sinks;
    private bool _disposed;

    /// <summary>A logger writing to <paramref name="sinks"/>.</summary>
    public MetricsLogger(params IEnumerable<IMetricsSink> sinks)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        _sinks = sinks.ToList();
        if (_sinks.Any(s => s is null)) throw new ArgumentException("MetricsLogger: a sink is null.", nameof(sinks));
    }

    /// <summary>The metrics file of a run folder (what <c>reinforce dashboard</c> reads).</summary>
    public const string MetricsFileName = "metrics.csv";

    /// <summary>
    /// The usual set for a run folder: <c>metrics.csv</c> and a TensorBoard event file in
    /// <paramref name="runDir"/> (each optional), and a line per record on <paramref name="console"/> if given.
    /// </summary>
    public static MetricsLogger ForRun(string runDir, bool csv = true, bool tensorBoard = true, TextWriter? console = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDir);
        var sinks = new List<IMetricsSink>();
        try
        {
            if (csv) sinks.Add(CsvLogger.ForMetrics(Path.Combine(runDir, MetricsFileName)));
            if (tensorBoard) sinks.Add(new TensorBoardWriter(runDir));
            if (console is not null) sinks.Add(new ConsoleMetricsSink(console));
        }
        catch
        {
            foreach (var s in sinks) s.Dispose();
            throw;
        }
        return new MetricsLogger(sinks);
    }

    /// <summary>The sinks, in the order they receive records.</summary>
    public IReadOnlyList<IMetricsSink> Sinks => _sinks;

    /// <summary>
    /// When positive, every sink is flushed this often (on a timer) if something was logged since the last flush, for
    /// sinks that do not flush each record themselves (<see cref="CsvLogger.FlushEachRow"/>,
    /// <see cref="TensorBoardWriter.FlushEachRecord"/>). A run folder uses half a second: its files stay as fresh as the
    /// dashboard polls them (every second), also while the training loop is busy elsewhere, without a write call per
    /// update. Zero (the default): flushing is left to the sinks.
    /// </summary>
    public TimeSpan FlushInterval
    {
        get => _flushInterval;
        init
        {
            _flushInterval = value;
            if (value > TimeSpan.Zero) _timer = new Timer(static state => ((MetricsLogger)state!).FlushIfLogged(), this, value, value);
        }
    }

    private readonly TimeSpan _flushInterval;
    private readonly Timer? _timer;
    private int _logged;

    private void FlushIfLogged()
    {
        if (Volatile.Read(ref _logged) == 0) return;
        try
        {
            Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            // A full disk or a closed file: the training thread's next flush (at a checkpoint, at the end) reports it.
        }
    }

    /// <summary>Sends one record to every sink.</summary>
    public void Log(long step, IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var sink in _sinks) sink.Log(step, metrics);
        Volatile.Write(ref _logged, 1);
    }

    /// <summary>Sends a text to the sinks that can show text (TensorBoard); others ignore it.</summary>
    public void LogText(string tag, string text, long step)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var sink in _sinks)
            if (sink is TensorBoardWriter tb) tb.AddText(tag, text, step);
    }

    /// <summary>Flushes every sink.</summary>
    public void Flush()
    {
        Volatile.Write(ref _logged, 0);   // nothing is left for the timer until the next record
        foreach (var sink in _sinks) sink.Flush();
    }

    /// <summary>Disposes every sink (each flushes its file to the disk).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_timer is not null)
        {
            // No flush may run on a sink being disposed: wait for a callback in progress.
            using var stopped = new ManualResetEvent(false);
            if (_timer.Dispose(stopped)) stopped.WaitOne();
        }
        List<Exception>? errors = null;
        foreach (var sink in _sinks)
        {
            try { sink.Dispose(); }
            catch (IOException ex) { (errors ??= []).Add(ex); }
        }
        if (errors is not null) throw new AggregateException("MetricsLogger: some sinks failed to close.", errors);
    }
}

/// <summary>Writes one line per record to a <see cref="TextWriter"/>, e.g. <c>step 2,048 | loss 0.01234 | reward 23.5</c>.</summary>
public sealed class ConsoleMetricsSink(TextWriter writer, Func<long, IReadOnlyDictionary<string, double>, string>? formatter = null) : IMetricsSink
{
    private readonly TextWriter _writer = writer ?? throw new ArgumentNullException(nameof(writer));
    private readonly Func<long, IReadOnlyDictionary<string, double>, string> _format = formatter ?? MetricsFormatter.FormatLine;

    /// <inheritdoc/>
    public void Log(long step, IReadOnlyDictionary<string, double> metrics) => _writer.WriteLine(_format(step, metrics));

    /// <inheritdoc/>
    public void Flush() => _writer.Flush();

    /// <summary>Flushes the writer; it is not closed (it usually is the console).</summary>
    public void Dispose() => _writer.Flush();
}

/// <summary>Keeps every record in memory, for charts at the end of a run and for tests.</summary>
public sealed class MemoryMetricsSink : IMetricsSink
{
    private readonly Dictionary<string, List<(long Step, double Value)>> _history = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>The metric names seen so far, in order of first appearance.</summary>
    public IReadOnlyList<string> Names
    {
        get { lock (_lock) return _history.Keys.ToArray(); }
    }

    /// <inheritdoc/>
    public void Log(long step, IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        lock (_lock)
        {
            foreach (var (name, value) in metrics)
            {
                if (!_history.TryGetValue(name, out var list)) _history[name] = list = [];
                list.Add((step, value));
            }
        }
    }

    /// <summary>The (step, value) pairs of one metric, in logging order.</summary>
    /// <exception cref="KeyNotFoundException">The metric was never logged; the message lists those that were.</exception>
    public IReadOnlyList<(long Step, double Value)> History(string name)
    {
        lock (_lock)
        {
            if (_history.TryGetValue(name, out var list)) return list.ToArray();
            throw new KeyNotFoundException($"MemoryMetricsSink: no metric '{name}' was logged. Logged: {string.Join(", ", _history.Keys)}.");
        }
    }

    /// <summary>One metric as a chart series (x = step).</summary>
    public ChartSeries ToSeries(string name, string? label = null)
    {
        var h = History(name);
        return new ChartSeries(label ?? name, h.Select(p => (double)p.Step).ToArray(), h.Select(p => p.Value).ToArray());
    }

    /// <inheritdoc/>
    public void Flush() { }

    /// <inheritdoc/>
    public void Dispose() { }
}

/// <summary>Formats metrics for a console line.</summary>
public static class MetricsFormatter
{
    /// <summary><c>step 2,048 | loss 0.01234 | reward 23.5</c>: four significant digits, invariant culture, names in the given order.</summary>
    public static string FormatLine(long step, IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var sb = new StringBuilder();
        sb.Append("step ").Append(step.ToString("N0", CultureInfo.InvariantCulture));
        foreach (var (name, value) in metrics) sb.Append(" | ").Append(name).Append(' ').Append(FormatValue(value));
        return sb.ToString();
    }

    /// <summary>Four significant digits; scientific notation below 0.001 and from 10⁷ up.</summary>
    public static string FormatValue(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";
        double a = Math.Abs(value);
        if (a == 0) return "0";
        if (a < 1e-3 || a >= 1e7) return value.ToString("0.###e+0", CultureInfo.InvariantCulture);
        if (a >= 1e4) return value.ToString("F0", CultureInfo.InvariantCulture);
        return value.ToString("G4", CultureInfo.InvariantCulture);
    }
}
