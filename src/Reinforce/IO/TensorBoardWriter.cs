using System.Globalization;
using System.Text;

namespace Reinforce.IO;

/// <summary>
/// Writes a TensorBoard event file (<c>events.out.tfevents.&lt;unix-seconds&gt;.&lt;hostname&gt;</c>) in a log
/// folder: TFRecord-framed <c>Event</c> protocol buffers, starting with the <c>brain.Event:2</c> file-version
/// event, then one event per scalar (<c>Summary.Value.simple_value</c>) or text (a string tensor with the
/// "text" plugin's metadata). Point <c>tensorboard --logdir</c> at the folder to see the curves.
/// </summary>
/// <remarks>
/// Every <c>Add*</c> call hands its bytes to the operating system before returning, so TensorBoard sees
/// them live and a crash of the process loses nothing already logged; <see cref="Dispose"/> also flushes
/// them to the disk. Thread-safe.
/// </remarks>
public sealed class TensorBoardWriter : IMetricsSink
{
    /// <summary>The file-version string TensorBoard expects in the first event.</summary>
    public const string FileVersion = "brain.Event:2";

    private readonly FileStream _stream;
    private readonly Func<double> _clock;
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>Creates the log folder if needed and starts a new event file in it.</summary>
    public TensorBoardWriter(string logDir) : this(logDir, null) { }

    /// <summary>Test hook: <paramref name="clock"/> supplies the wall time (seconds since the Unix epoch) of every event.</summary>
    internal TensorBoardWriter(string logDir, Func<double>? clock)
    {
        ArgumentException.ThrowIfNullOrEmpty(logDir);
        _clock = clock ?? UnixNow;
        Directory.CreateDirectory(logDir);
        double now = _clock();
        string host = SanitizeHost(Environment.MachineName);
        string baseName = $"events.out.tfevents.{((long)Math.Floor(now)).ToString("D10", CultureInfo.InvariantCulture)}.{host}";
        for (int n = 0; ; n++)
        {
            // Two writers started in the same second in the same folder get distinct files;
            // TensorBoard reads every file whose name contains "tfevents".
            string path = Path.Combine(logDir, n == 0 ? baseName : $"{baseName}.{n}");
            try
            {
                _stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 14);
                FilePath = path;
                break;
            }
            catch (IOException) when (File.Exists(path) && n < 1000)
            {
            }
        }
        Write(EncodeFileVersionEvent(now), flush: true);
    }

    /// <summary>The event file being written.</summary>
    public string FilePath { get; }

    /// <summary>Logs a scalar (stored as float32, as TensorBoard does) under <paramref name="tag"/> at <paramref name="step"/>.</summary>
    public void AddScalar(string tag, double value, long step)
    {
        CheckTag(tag);
        Write(EncodeScalarEvent(_clock(), step, tag, (float)value), flush: FlushEachRecord);
    }

    /// <summary>
    /// Whether each call hands its events to the operating system (the default). A training loop that logs every few
    /// milliseconds turns this off and flushes on a clock instead (<see cref="MetricsLogger.FlushInterval"/>).
    /// </summary>
    public bool FlushEachRecord { get; set; } = true;

    /// <summary>Logs several scalars at the same step (one event each) with a single flush.</summary>
    public void AddScalars(IReadOnlyDictionary<string, double> values, long step)
    {
        ArgumentNullException.ThrowIfNull(values);
        double now = _clock();
        lock (_lock)
        {
            foreach (var (tag, value) in values)
            {
                CheckTag(tag);
                Write(EncodeScalarEvent(now, step, tag, (float)value), flush: false);
            }
            if (FlushEachRecord) Flush();
        }
    }

    /// <summary>Logs a text (Markdown in TensorBoard's Text tab) under <paramref name="tag"/> at <paramref name="step"/>.</summary>
    public void AddText(string tag, string text, long step)
    {
        CheckTag(tag);
        ArgumentNullException.ThrowIfNull(text);
        Write(EncodeTextEvent(_clock(), step, tag, text), flush: FlushEachRecord);
    }

    /// <summary>Hands buffered events to the operating system.</summary>
    public void Flush()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _stream.Flush(flushToDisk: false);
        }
    }

    /// <summary>Flushes the events to the disk and closes the file.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _stream.Flush(flushToDisk: true);
            _stream.Dispose();
        }
    }

    void IMetricsSink.Log(long step, IReadOnlyDictionary<string, double> metrics) => AddScalars(metrics, step);

    private void Write(byte[] eventBytes, bool flush)
    {
        byte[] record = TfRecord.Frame(eventBytes);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _stream.Write(record);
            if (flush) _stream.Flush(flushToDisk: false);
        }
    }

    private static void CheckTag(string tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        if (tag.Length == 0) throw new ArgumentException("TensorBoardWriter: the tag is empty; give each series a name such as \"rollout/ep_rew_mean\".", nameof(tag));
    }

    private static double UnixNow() => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / (double)TimeSpan.TicksPerSecond;

    private static string SanitizeHost(string host)
    {
        var sb = new StringBuilder(host.Length);
        foreach (char c in host) sb.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_');
        return sb.Length == 0 ? "localhost" : sb.ToString();
    }

    // Field numbers from tensorboard/compat/proto/event.proto, summary.proto and tensor.proto.
    private const int EventWallTime = 1, EventStep = 2, EventFileVersion = 3, EventSummary = 5;
    private const int SummaryValue = 1;
    private const int ValueTag = 1, ValueSimpleValue = 2, ValueTensor = 8, ValueMetadata = 9;
    private const int MetadataPluginData = 1, PluginDataName = 1;
    private const int TensorDType = 1, TensorShape = 2, TensorStringVal = 8;
    private const int DTypeString = 7;

    /// <summary>The <c>Event</c> that opens every event file.</summary>
    internal static byte[] EncodeFileVersionEvent(double wallTime)
    {
        var w = new ProtoWriter();
        w.Double(EventWallTime, wallTime);
        w.String(EventFileVersion, FileVersion);
        return w.ToArray();
    }

    /// <summary>An <c>Event</c> holding one scalar <c>Summary.Value</c>.</summary>
    internal static byte[] EncodeScalarEvent(double wallTime, long step, string tag, float value)
    {
        var w = new ProtoWriter();
        w.Double(EventWallTime, wallTime);
        w.Int64(EventStep, step);
        w.Message(EventSummary, summary => summary.Message(SummaryValue, v =>
        {
            v.String(ValueTag, tag);
            v.Float(ValueSimpleValue, value, always: true);
        }));
        return w.ToArray();
    }

    /// <summary>
    /// An <c>Event</c> holding a text summary the way TensorBoard's own <c>text_pb</c> builds it: a scalar
    /// DT_STRING tensor plus metadata naming the "text" plugin (its content, TextPluginData version 0, is empty).
    /// </summary>
    internal static byte[] EncodeTextEvent(double wallTime, long step, string tag, string text)
    {
        var w = new ProtoWriter();
        w.Double(EventWallTime, wallTime);
        w.Int64(EventStep, step);
        w.Message(EventSummary, summary => summary.Message(SummaryValue, v =>
        {
            v.String(ValueTag, tag);
            v.Message(ValueTensor, t =>
            {
                t.Int64(TensorDType, DTypeString);
                t.Message(TensorShape, _ => { });
                t.Bytes(TensorStringVal, Encoding.UTF8.GetBytes(text), always: true);
            });
            v.Message(ValueMetadata, m => m.Message(MetadataPluginData, p => p.String(PluginDataName, "text")));
        }));
        return w.ToArray();
    }
}
