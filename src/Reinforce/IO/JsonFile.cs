using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Reinforce.IO;

/// <summary>
/// JSON files for checkpoint metadata and configuration: System.Text.Json with the project's settings
/// (snake_case names like Hugging Face's config.json, enums as snake_case strings, indented, NaN and
/// infinities allowed as "NaN"/"Infinity"/"-Infinity"), written atomically, read with errors that name the
/// file, line and position. Numbers are written in shortest round-trip form, so float and double arrays
/// come back bit for bit.
/// </summary>
public static class JsonFile
{
    /// <summary>The shared serializer settings (read-only).</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var o = new JsonSerializerOptions
        {
            WriteIndented = true,
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            ReadCommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            IncludeFields = false,
            AllowDuplicateProperties = false,   // a key written twice is an error, not "the last one wins"
        };
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }

    /// <summary>The JSON text of <paramref name="value"/> with <see cref="Options"/>.</summary>
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>Parses <paramref name="json"/>; <paramref name="sourceName"/> names it in error messages.</summary>
    /// <exception cref="CheckpointFormatException">The text is not valid JSON for <typeparamref name="T"/>, or is JSON null.</exception>
    public static T Deserialize<T>(string json, string sourceName = "<memory>")
    {
        ArgumentNullException.ThrowIfNull(json);
        T? value;
        try
        {
            value = JsonSerializer.Deserialize<T>(json, Options);
        }
        catch (JsonException ex)
        {
            // Named by the field and the position, in the file's words: never the serializer's .NET type names.
            string where = ex.LineNumber is long line ? $" (line {line + 1}, position {ex.BytePositionInLine + 1})" : "";
            string field = (ex.Path ?? "$").TrimStart('$').TrimStart('.');
            string problem = ex.Message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase)
                ? $"a key appears twice{(field.Length > 0 ? $" in '{field}'" : "")}{where}; only one value can count, so keep one and delete the other"
                : ex.InnerException is InvalidOperationException inner && inner.Message.Contains("UTF-16", StringComparison.Ordinal)
                    ? $"'{field}' holds a string with a lone UTF-16 surrogate escape (such as \\uD800 without its partner){where}, which is not text"
                    : field.Length > 0 ? $"'{field}' has the wrong type{where}{Algorithms.ConfigJson.WrongTypeDetail(typeof(T), ex)}" : $"it is not valid JSON{where}";
            throw new CheckpointFormatException(sourceName, problem, "Fix the file by hand, or re-create it.", ex);
        }
        if (value is null)
            throw new CheckpointFormatException(sourceName, "the JSON is null where an object { ... } was expected", "Re-create the file.");
        return value;
    }

    /// <summary>Writes <paramref name="value"/> as JSON to <paramref name="path"/> atomically (with a final line feed).</summary>
    public static void Write<T>(string path, T value) => AtomicFile.WriteAllText(path, Serialize(value) + "\n");

    /// <summary>Reads a JSON file written by <see cref="Write{T}"/> (or by hand).</summary>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="CheckpointFormatException">The file is not valid JSON for <typeparamref name="T"/>.</exception>
    public static T Read<T>(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"JsonFile.Read: no file at '{path}'.", path);
        return Deserialize<T>(File.ReadAllText(path), path);
    }

    /// <summary>
    /// Reads a JSON file that must hold an object (a model's config.json, an adapter_config.json, ...), for readers that
    /// then take its fields one by one. Not JSON, not an object, or a string holding a lone UTF-16 surrogate escape
    /// (such as "\uD800", which System.Text.Json parses but refuses to read as text) is a
    /// <see cref="CheckpointFormatException"/> naming the file, with <paramref name="advice"/> as the fix.
    /// </summary>
    public static JsonObject ReadObject(string path, string advice)
    {
        ArgumentNullException.ThrowIfNull(path);
        var bytes = File.ReadAllBytes(path);
        JsonNode? node;
        try { node = JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { MaxDepth = 256, AllowDuplicateProperties = false }); }
        catch (JsonException e) { throw new CheckpointFormatException(path, $"it is not valid JSON ({e.Message})", advice, e); }
        catch (InvalidOperationException e) { throw new CheckpointFormatException(path, LoneSurrogate, advice, e); }
        if (node is not JsonObject o) throw new CheckpointFormatException(path, $"it holds {(node is null ? "null" : "a JSON " + node.GetValueKind())}, not a JSON object", advice);
        if (HoldsLoneSurrogate(bytes))
            throw new CheckpointFormatException(path, LoneSurrogate, advice);
        return o;
    }

    private const string LoneSurrogate = "it holds a name or string with a lone UTF-16 surrogate escape (such as \\uD800 without its partner), which is not text";

    /// <summary>Whether the JSON text holds a name or string that escapes half of a UTF-16 surrogate pair (false for text that is not JSON).</summary>
    public static bool HoldsLoneSurrogate(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 256, CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        try
        {
            while (reader.Read())
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName) reader.GetString();
            return false;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
