using System.Text.Json;
using System.Text.Json.Nodes;
using Reinforce.IO;

namespace Reinforce.Rlhf.HuggingFace;

/// <summary>
/// Typed reads of a Hugging Face JSON file's fields (config.json, adapter_config.json): a value of the wrong type (a
/// number where text belongs, a string where a number belongs, a number too large for an int, an array where one value
/// belongs) is a <see cref="CheckpointFormatException"/> naming the file and the field, never a runtime exception.
/// A missing field or JSON null reads as null.
/// </summary>
internal sealed class JsonFields(JsonObject json, string path, string advice)
{
    /// <summary>The file, for messages.</summary>
    public string Path { get; } = path;

    private CheckpointFormatException Wrong(string key, JsonNode node, string expected) =>
        new(Path, $"\"{key}\" is {Shown(node)}, not {expected}", advice);

    /// <summary>A JSON value as it appears in a message (long values cut).</summary>
    public static string Shown(JsonNode node)
    {
        string text = node.ToJsonString();
        return text.Length > 60 ? text[..60] + "…" : text;
    }

    private JsonNode? Node(string key)
    {
        var node = json[key];
        return node is null || node.GetValueKind() == JsonValueKind.Null ? null : node;
    }

    /// <summary>Whether the field is present and not null.</summary>
    public bool Has(string key) => Node(key) is not null;

    /// <summary>A text field.</summary>
    public string? Text(string key) => Node(key) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        var n => throw Wrong(key, n, "a text"),
    };

    /// <summary>A finite number.</summary>
    public double? Number(string key) => Node(key) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out double d) && double.IsFinite(d) => d,
        var n => throw Wrong(key, n, "a number"),
    };

    /// <summary>A whole number that fits an int.</summary>
    public int? Int(string key) => Node(key) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out int i) => i,
        var n => throw Wrong(key, n, "a whole number up to 2147483647"),
    };

    /// <summary>true or false.</summary>
    public bool? Flag(string key) => Node(key) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        var n => throw Wrong(key, n, "true or false"),
    };

    /// <summary>A list of texts, or one text read as a list of one.</summary>
    public List<string>? Texts(string key) => Node(key) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => [v.GetValue<string>()],
        JsonArray a when a.All(e => e is JsonValue ev && ev.GetValueKind() == JsonValueKind.String) => [.. a.Select(e => e!.GetValue<string>())],
        var n => throw Wrong(key, n, "a text or a list of texts"),
    };
}
