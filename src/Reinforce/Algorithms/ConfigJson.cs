using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Reinforce.Algorithms;

/// <summary>
/// Reads and writes configuration JSON (options, presets, run configs, checkpoint metadata) with snake_case
/// names as rl-baselines3-zoo, and turns every mistake into a <see cref="ConfigurationException"/> that names
/// the setting, its line, and the fix: an unknown setting gets a "did you mean" suggestion and the list of
/// known ones, a value of the wrong type says which type was expected.
/// </summary>
public static class ConfigJson
{
    /// <summary>The serializer settings: snake_case property and enum names, indented output, comments and trailing commas allowed on input.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            WriteIndented = true,
            ReadCommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>Serialises <paramref name="value"/> with <see cref="Options"/>.</summary>
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>
    /// Parses <paramref name="json"/> as a <typeparamref name="T"/>, checking every property name against the type first.
    /// <paramref name="source"/> names the file (or preset) in messages.
    /// </summary>
    public static T Parse<T>(string json, string source) where T : class
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new ConfigurationException($"{source}: not valid JSON at line {(ex.LineNumber ?? 0) + 1}: {FirstSentence(ex.Message)} Check for a missing comma, quote or brace there.", ex);
        }
        using (document) return Parse<T>(document.RootElement, "", source);
    }

    /// <summary>Parses one element (the root or a section at <paramref name="path"/>) as a <typeparamref name="T"/>.</summary>
    public static T Parse<T>(JsonElement element, string path, string source) where T : class => (T)Parse(element, typeof(T), path, source);

    /// <summary>As <see cref="Parse{T}(JsonElement, string, string)"/>, for a type known at run time (an algorithm's settings).</summary>
    public static object Parse(JsonElement element, Type type, string path, string source)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (element.ValueKind != JsonValueKind.Object)
            throw new ConfigurationException(Display(path), $"in {source} must be a JSON object {{ ... }}, found {Describe(element.ValueKind)}.");
        try
        {
            CheckNames(element, type, path, source);
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException(Display(path), $"in {source} holds a name or string with a lone UTF-16 surrogate escape (such as \\uD800 without its partner), which is not text; fix the escape.", ex);
        }
        try
        {
            return element.Deserialize(type, Options) ?? throw new ConfigurationException(Display(path), $"in {source} is null.");
        }
        catch (JsonException ex) when (ex.InnerException is InvalidOperationException inner && inner.Message.Contains("UTF-16", StringComparison.Ordinal))
        {
            string at = JoinPath(path, (ex.Path ?? "$").TrimStart('$').TrimStart('.'));
            throw new ConfigurationException(Display(at), $"in {source} holds a string with a lone UTF-16 surrogate escape (such as \\uD800 without its partner), which is not text; fix the escape.", ex);
        }
        catch (JsonException ex)
        {
            string at = JoinPath(path, (ex.Path ?? "$").TrimStart('$').TrimStart('.'));
            throw new ConfigurationException(Display(at), $"in {source} has the wrong type{WrongTypeDetail(type, ex)}.", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException(Display(path), $"in {source} holds a string with a lone UTF-16 surrogate escape (such as \\uD800 without its partner), which is not text; fix the escape.", ex);
        }
    }

    /// <summary>The JSON name of each settable property of <paramref name="type"/>.</summary>
    public static IReadOnlyDictionary<string, PropertyInfo> JsonProperties(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var result = new Dictionary<string, PropertyInfo>(StringComparer.Ordinal);
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetCustomAttribute<JsonIgnoreAttribute>() is not null || p.GetCustomAttribute<JsonExtensionDataAttribute>() is not null
                || p.SetMethod is null || !p.SetMethod.IsPublic) continue;
            string name = p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name);
            result[name] = p;
        }
        return result;
    }

    private static void CheckNames(JsonElement element, Type type, string path, string source)
    {
        var known = JsonProperties(type);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            string at = JoinPath(path, property.Name);
            if (!seen.Add(property.Name))
                throw new ConfigurationException(Display(at), $"appears twice in {source}; only one value can count, so keep one and delete the other.");
            if (!known.TryGetValue(property.Name, out var info))
            {
                // Types with extension data (the training config) hold one section per registered algorithm.
                bool sectioned = HasAlgorithmSections(type);
                if (sectioned && AlgorithmRegistry.Find(property.Name) is { } algorithm)
                {
                    if (property.Value.ValueKind == JsonValueKind.Object) CheckNames(property.Value, algorithm.OptionsType, at, source);
                    continue;
                }
                var names = sectioned ? known.Keys.Concat(AlgorithmRegistry.Names) : known.Keys;
                string? guess = Closest(property.Name, names);
                throw new ConfigurationException(Display(at),
                    $"unknown setting in {source}.{(guess is null ? "" : $" Did you mean '{guess}'?")} Known settings{(path.Length == 0 ? "" : $" of '{path}'")}: {string.Join(", ", known.Keys.Order(StringComparer.Ordinal))}" +
                    (sectioned ? $"; algorithm sections: {string.Join(", ", AlgorithmRegistry.Names)}." : "."));
            }
            if (property.Value.ValueKind == JsonValueKind.Object && IsSection(info.PropertyType))
                CheckNames(property.Value, info.PropertyType, at, source);
            if (property.Value.ValueKind == JsonValueKind.Number && (Nullable.GetUnderlyingType(info.PropertyType) ?? info.PropertyType) == typeof(float))
                CheckSingle(property.Value, at, source);
        }
    }

    /// <summary>A number that a 32-bit float cannot hold (it would silently become 0 or infinity) is reported as written.</summary>
    private static void CheckSingle(JsonElement value, string at, string source)
    {
        if (!value.TryGetDouble(out double d)) return;
        string written = value.GetRawText();
        if (d != 0 && (float)d == 0)
            throw new ConfigurationException(Display(at), $"is {written} in {source}, which is too small for this setting (a 32-bit float: the smallest positive value is about 1.4e-45) and would become 0. Use 0 if you mean zero, or a value such as 1e-8.");
        if (double.IsFinite(d) && float.IsInfinity((float)d))
            throw new ConfigurationException(Display(at), $"is {written} in {source}, which is too large for this setting (a 32-bit float holds at most about 3.4e38).");
    }

    /// <summary>
    /// What a serializer's <see cref="JsonException"/> about <paramref name="root"/> expected at its path, in the
    /// file's words ("; expected a whole number"). The serializer's own message names .NET types
    /// (System.Nullable`1[System.Int64]); this never does.
    /// </summary>
    internal static string WrongTypeDetail(Type root, JsonException ex)
    {
        var expected = ExpectedType(root, (ex.Path ?? "$").TrimStart('$').TrimStart('.'));
        return expected is not null ? $"; expected {expected}" : $" ({WithoutTypeNames(FirstSentence(ex.Message))})";
    }

    /// <summary>Replaces .NET type names in a serializer message with plain words.</summary>
    private static string WithoutTypeNames(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, @"System\.[\w`.]+(\[[^\]]*\])?", "the expected type");

    private static bool HasAlgorithmSections(Type t) =>
        t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Any(p => p.GetCustomAttribute<JsonExtensionDataAttribute>() is not null);

    private static bool IsSection(Type t) =>
        t.IsClass && t != typeof(string) && !t.IsArray && !typeof(System.Collections.IEnumerable).IsAssignableFrom(t);

    private static string? ExpectedType(Type root, string path)
    {
        Type t = root;
        foreach (var segment in path.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            string name = segment;
            int bracket = name.IndexOf('[', StringComparison.Ordinal);
            bool indexed = bracket >= 0;
            if (indexed) name = name[..bracket];
            if (!JsonProperties(t).TryGetValue(name, out var p)) return null;
            t = p.PropertyType;
            if (indexed && t.IsArray) t = t.GetElementType()!;
        }
        return Friendly(t);
    }

    private static string Friendly(Type t)
    {
        var u = Nullable.GetUnderlyingType(t);
        if (u is not null) return Friendly(u) + " or null";
        if (t == typeof(int) || t == typeof(long)) return "a whole number";
        if (t == typeof(float) || t == typeof(double)) return "a number";
        if (t == typeof(bool)) return "true or false";
        if (t == typeof(string)) return "a string in quotes";
        if (t.IsEnum) return "one of " + string.Join(", ", Enum.GetNames(t).Select(n => $"\"{JsonNamingPolicy.SnakeCaseLower.ConvertName(n)}\""));
        if (t.IsArray) return $"a list [ ... ] of {Friendly(t.GetElementType()!)}s";
        return "an object { ... }";
    }

    private static string JoinPath(string path, string name) => path.Length == 0 ? name : name.Length == 0 ? path : $"{path}.{name}";

    private static string Display(string path) => path.Length == 0 ? "(root)" : path;

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString().ToLowerInvariant(),
    };

    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(". ", StringComparison.Ordinal);
        return cut < 0 ? message : message[..(cut + 1)];
    }

    /// <summary>The known name closest to <paramref name="name"/> by edit distance, when it is close enough to be a likely typo.</summary>
    internal static string? Closest(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            int d = EditDistance(name.ToLowerInvariant(), c);
            if (d < bestDistance) { bestDistance = d; best = c; }
        }
        return bestDistance <= Math.Max(2, name.Length / 3) ? best : null;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    /// <summary>Formats a number for files (invariant culture, round-trippable).</summary>
    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
