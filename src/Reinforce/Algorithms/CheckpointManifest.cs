using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Reinforce.IO;

namespace Reinforce.Algorithms;

/// <summary>
/// Reading and sealing a checkpoint's <c>agent.json</c>: its own SHA-256 (over the compact JSON without the checksum
/// field, so indentation does not matter) and typed, bounded reads of every field, each failure a
/// <see cref="CheckpointFormatException"/> naming the file and the field — never a null dereference, a cast error or
/// an allocation sized by an edited number.
/// </summary>
internal static class CheckpointManifest
{
    /// <summary>The field that holds the manifest's own checksum.</summary>
    public const string ChecksumField = "manifest_sha256";

    /// <summary>The most environment copies a checkpoint may declare (a bound on what loading allocates).</summary>
    public const int MaxEnvironments = 65_536;

    /// <summary>Adds <see cref="ChecksumField"/> to <paramref name="manifest"/>.</summary>
    public static void Seal(JsonObject manifest)
    {
        manifest.Remove(ChecksumField);
        // Hash what a reader will see: the written JSON parsed back (numbers and strings exactly as written).
        manifest[ChecksumField] = Checksum(JsonNode.Parse(manifest.ToJsonString())!.AsObject());
    }

    /// <summary>
    /// Checks <see cref="ChecksumField"/>. A manifest without one (written before checksums were added) is accepted;
    /// its fields are still validated one by one.
    /// </summary>
    public static void Verify(JsonObject manifest, string path)
    {
        if (!manifest.TryGetPropertyValue(ChecksumField, out var node) || node is null) return;
        if (node is not JsonValue v || !v.TryGetValue(out string? expected))
            throw Bad(path, ChecksumField, "must be a string of 64 hex digits");
        string actual = Checksum(manifest);
        if (!string.Equals(expected, actual, StringComparison.Ordinal))
            throw new CheckpointFormatException(path,
                $"its SHA-256 is {actual[..12]}…, but its {ChecksumField} field records {expected[..Math.Min(12, expected.Length)]}… (the file was edited or damaged)",
                "Use the checkpoint folder exactly as it was saved, or pick another checkpoint (runs keep one per checkpoint_every_steps).");
    }

    /// <summary>
    /// Rejects a manifest holding a name or string that cannot be read as text (a lone UTF-16 surrogate escape such as
    /// "\uD800"): System.Text.Json parses it, then throws InvalidOperationException on the first read.
    /// </summary>
    public static void CheckStrings(string text, string path)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (JsonFile.HoldsLoneSurrogate(Encoding.UTF8.GetBytes(text)))
            throw new CheckpointFormatException(path, "it holds a name or string with a lone UTF-16 surrogate escape (such as \\uD800 without its partner), which is not text", "The file was edited or damaged; pick another checkpoint.");
    }

    private static string Checksum(JsonObject manifest)
    {
        var copy = manifest.DeepClone().AsObject();
        copy.Remove(ChecksumField);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(copy.ToJsonString())));
    }

    public static CheckpointFormatException Missing(string path, string field) =>
        new(path, $"the field '{field}' is missing", "The file is damaged or was edited; pick another checkpoint.");

    public static CheckpointFormatException Bad(string path, string field, string what) =>
        new(path, $"the field '{field}' {what}", "The file is damaged or was edited; pick another checkpoint.");

    private static JsonNode Required(JsonObject o, string field, string path, string display) =>
        o.TryGetPropertyValue(field, out var node) && node is not null ? node : throw Missing(path, display);

    public static JsonObject Object(JsonObject o, string field, string path, string? display = null) =>
        Required(o, field, path, display ?? field) as JsonObject ?? throw Bad(path, display ?? field, $"must be a JSON object, found {Describe(o[field])}");

    public static JsonObject? OptionalObject(JsonObject o, string field, string path, string? display = null)
    {
        if (!o.TryGetPropertyValue(field, out var node) || node is null) return null;
        return node as JsonObject ?? throw Bad(path, display ?? field, $"must be a JSON object or null, found {Describe(node)}");
    }

    public static string String(JsonObject o, string field, string path, string? display = null) =>
        Required(o, field, path, display ?? field) is JsonValue v && v.TryGetValue(out string? s)
            ? s : throw Bad(path, display ?? field, $"must be a string, found {Describe(o[field])}");

    public static string? OptionalString(JsonObject o, string field, string path, string? display = null)
    {
        if (!o.TryGetPropertyValue(field, out var node) || node is null) return null;
        return node is JsonValue v && v.TryGetValue(out string? s) ? s : throw Bad(path, display ?? field, $"must be a string or null, found {Describe(node)}");
    }

    public static long Long(JsonObject o, string field, string path, long min, long max, string? display = null)
    {
        var node = Required(o, field, path, display ?? field);
        if (node is not JsonValue v || !v.TryGetValue(out long value))
            throw Bad(path, display ?? field, $"must be a whole number, found {Describe(node)}");
        if (value < min || value > max)
            throw Bad(path, display ?? field, string.Create(CultureInfo.InvariantCulture, $"is {value}, outside [{min}, {max}]"));
        return value;
    }

    public static int Int(JsonObject o, string field, string path, int min, int max, string? display = null) =>
        (int)Long(o, field, path, min, max, display);

    public static double Double(JsonObject o, string field, string path, double min, double max, string? display = null)
    {
        var node = Required(o, field, path, display ?? field);
        if (node is not JsonValue v || !v.TryGetValue(out double value))
            throw Bad(path, display ?? field, $"must be a number, found {Describe(node)}");
        if (!(value >= min && value <= max))
            throw Bad(path, display ?? field, string.Create(CultureInfo.InvariantCulture, $"is {value}, outside [{min}, {max}]"));
        return value;
    }

    public static JsonArray Array(JsonObject o, string field, string path, int? length, int maxLength, string? display = null)
    {
        var node = Required(o, field, path, display ?? field);
        var array = node as JsonArray ?? throw Bad(path, display ?? field, $"must be a list, found {Describe(node)}");
        if (length is int n && array.Count != n)
            throw Bad(path, display ?? field, string.Create(CultureInfo.InvariantCulture, $"has {array.Count} entries, but {n} are needed"));
        if (array.Count > maxLength)
            throw Bad(path, display ?? field, string.Create(CultureInfo.InvariantCulture, $"has {array.Count} entries, more than the {maxLength} allowed"));
        return array;
    }

    public static double[] Doubles(JsonObject o, string field, string path, int? length, double min, double max, string display)
    {
        var array = Array(o, field, path, length, 1 << 24, display);
        var values = new double[array.Count];
        for (int i = 0; i < values.Length; i++)
        {
            if (array[i] is not JsonValue v || !v.TryGetValue(out double d) || !(d >= min && d <= max))
                throw Bad(path, $"{display}[{i}]", string.Create(CultureInfo.InvariantCulture, $"must be a finite number in [{min}, {max}], found {Describe(array[i])}"));
            values[i] = d;
        }
        return values;
    }

    public static int[] Ints(JsonObject o, string field, string path, int? length, int min, int max, string display)
    {
        var array = Array(o, field, path, length, 1 << 24, display);
        var values = new int[array.Count];
        for (int i = 0; i < values.Length; i++)
        {
            if (array[i] is not JsonValue v || !v.TryGetValue(out int n) || n < min || n > max)
                throw Bad(path, $"{display}[{i}]", string.Create(CultureInfo.InvariantCulture, $"must be a whole number in [{min}, {max}], found {Describe(array[i])}"));
            values[i] = n;
        }
        return values;
    }

    /// <summary>A list of unsigned 64-bit integers written as decimal strings (JSON numbers lose bits above 2^53).</summary>
    public static ulong[] UInt64Strings(JsonObject o, string field, string path, int length, string display)
    {
        var array = Array(o, field, path, length, length, display);
        var values = new ulong[length];
        for (int i = 0; i < length; i++)
        {
            if (array[i] is not JsonValue v || !v.TryGetValue(out string? s) || !ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out values[i]))
                throw Bad(path, $"{display}[{i}]", $"must be an unsigned 64-bit integer written as a decimal string, found {Describe(array[i])}");
        }
        return values;
    }

    private static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "a list",
        JsonValue v when v.TryGetValue(out string? _) => "a string",
        JsonValue v when v.TryGetValue(out bool _) => "a boolean",
        JsonValue v => "the number " + Shorten(v.ToJsonString()),
        _ => "a " + node.GetValueKind().ToString().ToLowerInvariant(),
    };

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
