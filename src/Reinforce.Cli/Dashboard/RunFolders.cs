using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Reinforce.Cli.Dashboard;

/// <summary>
/// Reads training runs for the dashboard: every folder under the runs directory (or the directory itself)
/// that holds a <c>metrics.csv</c> (what every trainer's run folder writes); its configuration is the first of <c>config.json</c> / <c>run.json</c> found.
/// Files are opened with sharing so a run that is still writing is read safely; a last line without its
/// newline is an unfinished write and is left for the next poll.
/// </summary>
public sealed class RunFolders(string root)
{
    private static readonly string[] ConfigNames = ["config.json", "run.json", "run-config.json"];
    private static readonly string[] MetricsNames = [Reinforce.Training.RunFolder.MetricsFile];

    /// <summary>The folder that is watched.</summary>
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>Runs, by name (the folder's path relative to the root; "." for the root itself).</summary>
    public IReadOnlyList<RunSummary> List()
    {
        var runs = new List<RunSummary>();
        if (!Directory.Exists(Root)) return runs;
        var folders = MetricsNames
            .SelectMany(n => Directory.EnumerateFiles(Root, n, SearchOption.AllDirectories))
            .Select(f => Path.GetDirectoryName(f)!)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal);
        foreach (var folder in folders)
        {
            var csv = MetricsFile(folder);
            if (csv is null || !IsUnderRoot(folder)) continue;
            var name = Path.GetRelativePath(Root, folder).Replace('\\', '/');
            var table = ReadMetrics(csv, 0);
            runs.Add(new RunSummary(name, table.Columns, table.NextRow, ReadConfig(folder), File.GetLastWriteTimeUtc(csv)));
        }
        return runs;
    }

    /// <summary>The rows of run <paramref name="name"/> from row index <paramref name="fromRow"/> on.</summary>
    public MetricsTable? Metrics(string name, int fromRow)
    {
        var folder = Resolve(name);
        if (folder is null) return null;
        var csv = MetricsFile(folder);
        return csv is null ? null : ReadMetrics(csv, fromRow);
    }

    /// <summary>The folder's metrics file, when it has one whose real location (symbolic links followed) is inside the root.</summary>
    private string? MetricsFile(string folder) =>
        MetricsNames.Select(n => Path.Combine(folder, n)).FirstOrDefault(f => File.Exists(f) && IsUnderRoot(f));

    /// <summary>
    /// The run folder for a name, or null when the name escapes the root or does not exist. The check compares whole
    /// path segments ("runs-other" is not inside "runs") on real locations, so a symbolic link leading out of the
    /// root is refused too.
    /// </summary>
    private string? Resolve(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('\0', StringComparison.Ordinal) || Path.IsPathRooted(name)) return null;
        var folder = Path.GetFullPath(Path.Combine(Root, name));
        if (!IsInside(Root, folder) || !Directory.Exists(folder) || !IsUnderRoot(folder)) return null;
        return folder;
    }

    /// <summary>Whether <paramref name="path"/>'s real location (every symbolic link on the way followed) lies inside the root's real location.</summary>
    private bool IsUnderRoot(string path)
    {
        try
        {
            return IsInside(RealPath(Root), RealPath(path));
        }
        catch (IOException)
        {
            return false; // a link loop or an unreadable link: not served
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="root"/> or below it, comparing whole path segments.</summary>
    internal static bool IsInside(string root, string path)
    {
        root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (string.Equals(root, path, StringComparison.Ordinal)) return true;
        var prefix = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, StringComparison.Ordinal);
    }

    /// <summary>The absolute path with every symbolic link resolved, segment by segment (like POSIX realpath; missing segments are kept as written).</summary>
    internal static string RealPath(string path) => RealPath(path, 0);

    private static string RealPath(string path, int links)
    {
        path = Path.GetFullPath(path);
        var root = Path.GetPathRoot(path) ?? "/";
        var current = root;
        foreach (var segment in path[root.Length..].Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, segment);
            var target = new FileInfo(next).LinkTarget;
            if (target is null)
            {
                current = next;
                continue;
            }
            if (++links > 40) throw new IOException($"Too many levels of symbolic links at {next}.");
            current = RealPath(Path.GetFullPath(target, current), links);
        }
        return current;
    }

    private JsonNode? ReadConfig(string folder)
    {
        foreach (var file in ConfigNames)
        {
            var path = Path.Combine(folder, file);
            if (!File.Exists(path) || !IsUnderRoot(path)) continue;
            try { return JsonNode.Parse(ReadShared(path)); }
            catch (JsonException e) { return new JsonObject { ["error"] = $"{file} is not valid JSON: {e.Message}" }; }
        }
        return null;
    }

    /// <summary>Parses metrics.csv: a header of column names, then numeric rows (empty or non-numeric cells become null).</summary>
    internal static MetricsTable ReadMetrics(string path, int fromRow)
    {
        var text = ReadShared(path);
        int end = text.LastIndexOf('\n');
        var lines = end < 0 ? [] : text[..end].Split('\n');
        if (lines.Length == 0) return new MetricsTable([], [], 0);
        var columns = lines[0].TrimEnd('\r').Split(',');
        var rows = new List<double?[]>();
        int dataRows = lines.Length - 1;
        for (int i = Math.Max(fromRow, 0) + 1; i < lines.Length; i++)
        {
            var cells = lines[i].TrimEnd('\r').Split(',');
            var row = new double?[columns.Length];
            for (int c = 0; c < columns.Length && c < cells.Length; c++)
                row[c] = double.TryParse(cells[c], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : null;
            rows.Add(row);
        }
        return new MetricsTable(columns, rows, dataRows);
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>One run as the dashboard lists it.</summary>
public sealed record RunSummary(string Name, IReadOnlyList<string> Columns, int Rows, JsonNode? Config, DateTime UpdatedUtc);

/// <summary>Metric rows from some index on; <see cref="NextRow"/> is the index to ask for next time.</summary>
public sealed record MetricsTable(IReadOnlyList<string> Columns, IReadOnlyList<double?[]> Rows, int NextRow);
