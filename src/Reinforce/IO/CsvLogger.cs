using System.Globalization;
using System.Text;

namespace Reinforce.IO;

/// <summary>
/// Appends rows of named numbers to a CSV file (comma-separated, invariant culture, shortest
/// round-trip numbers, <c>NaN</c>/<c>Infinity</c>/<c>-Infinity</c> for non-finite values, an empty cell
/// for a missing value). Each row is handed to the operating system as soon as it is logged.
/// </summary>
/// <remarks>
/// Columns may appear later than the first row (an episode-return metric exists only once an episode
/// has finished): a row with a new name extends the header, and the file is rewritten atomically
/// (temporary file + rename) with the header grown and earlier rows padded with empty cells. That costs
/// one rewrite per new column, never per row. An existing file is never truncated: its columns are kept
/// and new rows are appended, so a resumed run continues its log.
/// </remarks>
public sealed class CsvLogger : IMetricsSink
{
    private readonly List<string> _columns = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private FileStream? _stream;
    private bool _disposed;

    /// <summary>Opens (or creates) <paramref name="path"/> with at least <paramref name="columns"/>, in that order.</summary>
    public CsvLogger(string path, IEnumerable<string> columns)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(columns);
        FilePath = path;
        var requested = columns.ToList();
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        foreach (string c in requested)
        {
            CheckColumnName(c);
            if (!distinct.Add(c)) throw new ArgumentException($"CsvLogger: column '{c}' is listed twice.", nameof(columns));
        }

        string? existing = File.Exists(path) ? File.ReadAllText(path) : null;
        if (!string.IsNullOrEmpty(existing))
        {
            int end = existing.IndexOf('\n');
            string header = (end < 0 ? existing : existing[..end]).TrimEnd('\r');
            foreach (string c in ParseLine(header)) AddColumn(c);
            int before = _columns.Count;
            foreach (string c in requested) if (!_index.ContainsKey(c)) AddColumn(c);
            if (_columns.Count != before || !existing.EndsWith('\n')) Rewrite(existing, before);
        }
        else
        {
            foreach (string c in requested) AddColumn(c);
            AtomicFile.WriteAllText(path, HeaderLine() + "\n");
        }
        Open();
    }

    /// <summary>A logger for <see cref="MetricsLogger"/>: a <c>step</c> column first, metrics after it as they appear.</summary>
    public static CsvLogger ForMetrics(string path) => new(path, ["step"]);

    /// <summary>The CSV file.</summary>
    public string FilePath { get; }

    /// <summary>The columns, in file order.</summary>
    public IReadOnlyList<string> Columns
    {
        get { lock (_lock) return _columns.ToArray(); }
    }

    /// <summary>
    /// Whether each row is handed to the operating system as it is logged (the default). A training loop that logs every
    /// few milliseconds turns this off and flushes on a clock instead (<see cref="MetricsLogger.FlushInterval"/>): a write
    /// call per row was 2-3 % of a CartPole run.
    /// </summary>
    public bool FlushEachRow { get; set; } = true;

    /// <summary>Appends one row; names not yet in the header become new columns (see remarks).</summary>
    public void Log(IReadOnlyDictionary<string, double> row)
    {
        ArgumentNullException.ThrowIfNull(row);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int before = _columns.Count;
            foreach (string key in row.Keys)
            {
                if (_index.ContainsKey(key)) continue;
                CheckColumnName(key);
                AddColumn(key);
            }
            if (_columns.Count != before)
            {
                _stream!.Dispose();
                Rewrite(File.ReadAllText(FilePath), before);
                Open();
            }

            var cells = new string[_columns.Count];
            foreach (var (key, value) in row) cells[_index[key]] = FormatNumber(value);
            var sb = new StringBuilder();
            for (int i = 0; i < cells.Length; i++)
            {
                if (i > 0) sb.Append(',');
                sb.Append(cells[i]);
            }
            sb.Append('\n');
            _stream!.Write(Encoding.UTF8.GetBytes(sb.ToString()));
            if (FlushEachRow) _stream.Flush(flushToDisk: false);
        }
    }

    void IMetricsSink.Log(long step, IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var row = new Dictionary<string, double>(metrics.Count + 1, StringComparer.Ordinal) { ["step"] = step };
        foreach (var (k, v) in metrics) row[k] = v;
        Log(row);
    }

    /// <summary>Hands written rows to the operating system (each <see cref="Log"/> already does, unless <see cref="FlushEachRow"/> is off).</summary>
    public void Flush()
    {
        lock (_lock) _stream?.Flush(flushToDisk: false);
    }

    /// <summary>Flushes the file to the disk and closes it.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _stream?.Flush(flushToDisk: true);
            _stream?.Dispose();
        }
    }

    /// <summary>Formats a value as the logger writes it: shortest round-trip invariant form.</summary>
    public static string FormatNumber(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// Reads a CSV file written by <see cref="CsvLogger"/> (or any comma-separated file of numbers with a
    /// header). Empty cells become NaN.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file is empty or a cell is not a number.</exception>
    public static CsvTable Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string[] lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0].Length == 0)
            throw new CheckpointFormatException(path, "the CSV file has no header line", "Check that the path points to a metrics CSV file.");
        var columns = ParseLine(lines[0]);
        var rows = new List<double[]>();
        for (int li = 1; li < lines.Length; li++)
        {
            if (lines[li].Length == 0) continue;
            var cells = ParseLine(lines[li]);
            if (cells.Count > columns.Count)
                throw new CheckpointFormatException(path, $"line {li + 1} has {cells.Count} cells but the header has {columns.Count} columns", "Fix or remove that line.");
            var row = new double[columns.Count];
            for (int c = 0; c < columns.Count; c++)
            {
                if (c >= cells.Count || cells[c].Length == 0) { row[c] = double.NaN; continue; }
                if (!double.TryParse(cells[c], NumberStyles.Float, CultureInfo.InvariantCulture, out row[c]))
                    throw new CheckpointFormatException(path, $"line {li + 1}, column '{columns[c]}': '{cells[c]}' is not a number", "Fix or remove that line.");
            }
            rows.Add(row);
        }
        return new CsvTable(columns, rows);
    }

    private void AddColumn(string name)
    {
        _index[name] = _columns.Count;
        _columns.Add(name);
    }

    private void Open() =>
        _stream = new FileStream(FilePath, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 12);

    /// <summary>Rewrites the file with the current header, padding each of its rows (which had <paramref name="oldCount"/> cells) to the new width.</summary>
    private void Rewrite(string existing, int oldCount)
    {
        var lines = existing.Split('\n');
        var sb = new StringBuilder(existing.Length + 64);
        sb.Append(HeaderLine()).Append('\n');
        string padding = new(',', _columns.Count - oldCount);
        for (int i = 1; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0) continue;
            sb.Append(line).Append(padding).Append('\n');
        }
        AtomicFile.WriteAllText(FilePath, sb.ToString());
    }

    private string HeaderLine() => string.Join(",", _columns.Select(Quote));

    private static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"") >= 0 ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field;

    private static void CheckColumnName(string name)
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("CsvLogger: a column name is empty; every metric needs a name.");
        if (name.AsSpan().IndexOfAny('\n', '\r') >= 0)
            throw new ArgumentException($"CsvLogger: column name '{name.ReplaceLineEndings(" ")}' contains a line break; use a single-line name.");
    }

    /// <summary>Splits one CSV line (RFC 4180 quoting, no line breaks inside fields).</summary>
    internal static List<string> ParseLine(string line)
    {
        var cells = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                    else quoted = false;
                }
                else sb.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { cells.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(c);
        }
        cells.Add(sb.ToString());
        return cells;
    }
}

/// <summary>A CSV file of numbers read back: its columns and rows (NaN for empty cells).</summary>
public sealed class CsvTable(IReadOnlyList<string> columns, IReadOnlyList<double[]> rows)
{
    /// <summary>The header's column names.</summary>
    public IReadOnlyList<string> Columns { get; } = columns;

    /// <summary>The rows; each has one value per column.</summary>
    public IReadOnlyList<double[]> Rows { get; } = rows;

    /// <summary>All values of one column, in row order.</summary>
    /// <exception cref="KeyNotFoundException">There is no such column; the message lists the columns there are.</exception>
    public double[] Column(string name)
    {
        int index = -1;
        for (int i = 0; i < Columns.Count; i++) if (Columns[i] == name) { index = i; break; }
        if (index < 0) throw new KeyNotFoundException($"CsvTable: no column '{name}'. Columns: {string.Join(", ", Columns)}.");
        return Rows.Select(r => r[index]).ToArray();
    }
}
