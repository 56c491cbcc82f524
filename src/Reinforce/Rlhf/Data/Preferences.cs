using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Text;

namespace Reinforce.Rlhf.Data;

/// <summary>
/// One human (or simulated) judgement between two completions of the same prompt: <see cref="Chosen"/> was preferred
/// to <see cref="Rejected"/>, or, when <see cref="IsTie"/>, neither was.
/// </summary>
public sealed record PreferencePair(string Prompt, string Chosen, string Rejected, bool IsTie = false);

/// <summary>A prompt and the completions shown together for one judgement; <see cref="Key"/> identifies it across runs.</summary>
public sealed record LabelItem(string Prompt, IReadOnlyList<string> Completions)
{
    /// <summary>
    /// A stable identifier of the prompt and its completions (16 hex digits of SHA-256), written with every answer so a
    /// restarted labelling session recognises what is already labelled.
    /// </summary>
    public string Key { get; } = ComputeKey(Prompt, Completions);

    private static string ComputeKey(string prompt, IReadOnlyList<string> completions)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(completions);
        var sb = new StringBuilder(prompt);
        foreach (var c in completions) sb.Append('\0').Append(c);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString()));
        return Convert.ToHexStringLower(hash.AsSpan(0, 8));
    }
}

/// <summary>What was decided about one <see cref="LabelItem"/>.</summary>
public enum PreferenceOutcome
{
    /// <summary>One completion was preferred to the others.</summary>
    Preferred,
    /// <summary>The completions were judged equally good.</summary>
    Tie,
    /// <summary>The item was passed over; it is recorded so it is not shown again.</summary>
    Skipped,
}

/// <summary>
/// One line of a preference file. Decisive answers are written in TRL's explicit-prompt preference format
/// (<c>{"prompt", "chosen", "rejected"}</c>); ties add <c>"tie": true</c>; a skipped item is written as
/// <c>{"prompt", "completions", "skip": true}</c>. Every line carries the item's <c>"item"</c> key.
/// </summary>
public sealed record PreferenceRecord(PreferenceOutcome Outcome, string Prompt, string? Chosen, string? Rejected,
    IReadOnlyList<string>? Completions, string? ItemKey)
{
    /// <summary>A decisive answer.</summary>
    public static PreferenceRecord Preferred(string prompt, string chosen, string rejected, string? itemKey = null) =>
        new(PreferenceOutcome.Preferred, prompt, chosen, rejected, null, itemKey);

    /// <summary>A tie between two completions.</summary>
    public static PreferenceRecord Tie(string prompt, string first, string second, string? itemKey = null) =>
        new(PreferenceOutcome.Tie, prompt, first, second, null, itemKey);

    /// <summary>An item passed over.</summary>
    public static PreferenceRecord Skipped(string prompt, IReadOnlyList<string> completions, string? itemKey = null) =>
        new(PreferenceOutcome.Skipped, prompt, null, null, completions, itemKey);

    /// <summary>This record as one line of JSON (no trailing newline).</summary>
    public string ToJsonLine()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("prompt", Prompt);
            if (Outcome == PreferenceOutcome.Skipped)
            {
                w.WriteStartArray("completions");
                foreach (var c in Completions ?? []) w.WriteStringValue(c);
                w.WriteEndArray();
                w.WriteBoolean("skip", true);
            }
            else
            {
                w.WriteString("chosen", Chosen);
                w.WriteString("rejected", Rejected);
                if (Outcome == PreferenceOutcome.Tie) w.WriteBoolean("tie", true);
            }
            if (ItemKey is not null) w.WriteString("item", ItemKey);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}

/// <summary>A line of a preference file that could not be used, with its 1-based line number.</summary>
public sealed record PreferenceLineProblem(int LineNumber, string Message)
{
    public override string ToString() => $"line {LineNumber}: {Message}";
}

/// <summary>A broken line met while loading a preference file in strict mode.</summary>
public sealed class PreferenceFormatException : Exception
{
    public PreferenceFormatException() { }
    public PreferenceFormatException(string message) : base(message) { }
    public PreferenceFormatException(string message, Exception inner) : base(message, inner) { }

    /// <summary>
    /// Creates the exception for <paramref name="problem"/> in <paramref name="source"/>; <paramref name="fix"/> says what
    /// to do (by default: load without strict mode).
    /// </summary>
    public PreferenceFormatException(string source, PreferenceLineProblem problem, string? fix = null)
        : base($"{source}, line {problem?.LineNumber}: {problem?.Message} ({fix ?? "load without strict mode to skip broken lines and keep the rest"}).")
    {
        ArgumentNullException.ThrowIfNull(problem);
        FileName = source;
        LineNumber = problem.LineNumber;
    }

    /// <summary>The file (or source name) the broken line was read from.</summary>
    public string? FileName { get; }

    /// <summary>The 1-based number of the broken line.</summary>
    public int LineNumber { get; }
}

/// <summary>What a preference file held: the usable pairs, the broken lines, and what was already labelled.</summary>
public sealed class PreferenceDataset
{
    internal PreferenceDataset(List<PreferencePair> pairs, List<PreferenceLineProblem> problems, int skipped, HashSet<string> items, List<int>? pairLines = null)
    {
        Pairs = pairs;
        PairLineNumbers = pairLines ?? [];
        Problems = problems;
        SkippedCount = skipped;
        LabelledItems = items;
    }

    /// <summary>Every pair read, ties included (see <see cref="Decisive"/>).</summary>
    public IReadOnlyList<PreferencePair> Pairs { get; }

    /// <summary>The 1-based line each pair of <see cref="Pairs"/> was read from (same order).</summary>
    public IReadOnlyList<int> PairLineNumbers { get; }

    /// <summary>
    /// Splits the pairs into those a model with <paramref name="tokenizer"/>'s vocabulary can read and those it cannot;
    /// each left-out pair is reported with its line and the characters missing from the vocabulary.
    /// </summary>
    public (IReadOnlyList<PreferencePair> Usable, IReadOnlyList<PreferenceLineProblem> LeftOut) WithinVocabulary(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var usable = new List<PreferencePair>(Pairs.Count);
        var leftOut = new List<PreferenceLineProblem>();
        for (int i = 0; i < Pairs.Count; i++)
        {
            var pair = Pairs[i];
            string unknown = tokenizer.UnknownCharacters(pair.Prompt + pair.Chosen + pair.Rejected);
            if (unknown.Length == 0) { usable.Add(pair); continue; }
            string named = string.Join(", ", unknown.Select(CharTokenizer.Describe));
            leftOut.Add(new PreferenceLineProblem(i < PairLineNumbers.Count ? PairLineNumbers[i] : 0,
                $"uses {(unknown.Length == 1 ? "a character" : "characters")} outside the model's vocabulary ({named}), so the pair is left out (remove {(unknown.Length == 1 ? "it" : "them")}, or pretrain on a corpus that has {(unknown.Length == 1 ? "it" : "them")})"));
        }
        return (usable, leftOut);
    }

    /// <summary>The pairs with a winner.</summary>
    public IReadOnlyList<PreferencePair> Decisive => [.. Pairs.Where(p => !p.IsTie)];

    /// <summary>Number of tie pairs.</summary>
    public int TieCount => Pairs.Count(p => p.IsTie);

    /// <summary>Lines that could not be used, each with its line number and what was wrong.</summary>
    public IReadOnlyList<PreferenceLineProblem> Problems { get; }

    /// <summary>Number of lines recording a skipped item.</summary>
    public int SkippedCount { get; }

    /// <summary>The <c>"item"</c> keys of every answer in the file (decisive, tie or skip): what a resumed labeller will not show again.</summary>
    public IReadOnlySet<string> LabelledItems { get; }
}

/// <summary>
/// Preference files in JSON Lines: loading TRL-style pairs (explicit prompt, or the prompt implicit in
/// <c>chosen</c>/<c>rejected</c>, standard or conversational) and appending answers so none is lost if the process dies.
/// </summary>
public static class PreferenceFile
{
    /// <summary>
    /// Reads <paramref name="path"/>. A broken line is reported in <see cref="PreferenceDataset.Problems"/> with its line
    /// number and does not stop the rest from loading, unless <paramref name="strict"/>, which throws
    /// <see cref="PreferenceFormatException"/> at the first one.
    /// </summary>
    public static PreferenceDataset Load(string path, bool strict = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Preference file '{path}' does not exist. Label some pairs with `reinforce rlhf label`, or give the path of a JSONL file with \"chosen\" and \"rejected\" fields.", path);
        return Parse(DecodeLines(File.ReadAllBytes(path)), path, strict);
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Splits UTF-8 bytes into lines (a leading byte-order mark is dropped); a line that is not valid UTF-8 comes with what is wrong instead of its text.</summary>
    internal static IEnumerable<(string? Line, string? Problem)> DecodeLines(byte[] bytes)
    {
        int start = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        while (start < bytes.Length)
        {
            int length = bytes.AsSpan(start).IndexOf((byte)'\n');
            if (length < 0) length = bytes.Length - start;
            var span = bytes.AsSpan(start, length);
            if (span.Length > 0 && span[^1] == '\r') span = span[..^1];
            string? line = null, problem = null;
            try { line = StrictUtf8.GetString(span); }
            catch (DecoderFallbackException e)
            {
                int at = e.Index >= 0 ? e.Index : 0;
                problem = $"not valid UTF-8 (byte 0x{(at < span.Length ? span[at] : 0):X2} at column {at + 1}); save the file as UTF-8";
            }
            yield return (line, problem);
            start += length + 1;
        }
    }

    private static IEnumerable<(string? Line, string? Problem)> ReadLines(TextReader reader)
    {
        string? line;
        while ((line = reader.ReadLine()) is not null) yield return (line, null);
    }

    /// <summary>Reads preference lines from <paramref name="reader"/>; <paramref name="sourceName"/> names it in errors.</summary>
    public static PreferenceDataset Parse(TextReader reader, string sourceName = "preferences", bool strict = false)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return Parse(ReadLines(reader), sourceName, strict);
    }

    private static PreferenceDataset Parse(IEnumerable<(string? Line, string? Problem)> lines, string sourceName, bool strict)
    {
        var pairs = new List<PreferencePair>();
        var pairLines = new List<int>();
        var problems = new List<PreferenceLineProblem>();
        var items = new HashSet<string>(StringComparer.Ordinal);
        int skipped = 0, lineNumber = 0;
        foreach (var (line, decodeProblem) in lines)
        {
            lineNumber++;
            string? problem = decodeProblem;
            if (problem is null)
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                int before = pairs.Count;
                try
                {
                    problem = ParseLine(line, pairs, items, ref skipped);
                }
                catch (InvalidOperationException)
                {
                    // System.Text.Json refuses to unescape a lone UTF-16 surrogate ("\uD800") into a string.
                    problem = LoneSurrogate;
                }
                if (pairs.Count > before) pairLines.Add(lineNumber);
            }
            if (problem is null) continue;
            var p = new PreferenceLineProblem(lineNumber, problem);
            if (strict) throw new PreferenceFormatException(sourceName, p);
            problems.Add(p);
        }
        return new PreferenceDataset(pairs, problems, skipped, items, pairLines);
    }

    /// <summary>What is wrong with a line whose JSON string escapes half of a UTF-16 surrogate pair.</summary>
    internal const string LoneSurrogate = "a string holds a lone UTF-16 surrogate escape (such as \"\\uD800\" without its partner), which is not a character; fix the escape or remove the line";

    /// <summary>Parses one line into <paramref name="pairs"/>; returns what is wrong with it, or null.</summary>
    private static string? ParseLine(string line, List<PreferencePair> pairs, HashSet<string> items, ref int skipped)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(line); }
        catch (JsonException e) { return $"not valid JSON ({FirstSentence(e.Message)}); a line may have been cut short when a program was stopped while writing it"; }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return $"expected a JSON object with \"chosen\" and \"rejected\", found a {Kind(root.ValueKind)}";
            string? itemKey = root.TryGetProperty("item", out var item) && item.ValueKind == JsonValueKind.String ? item.GetString() : null;

            foreach (var flag in (string[])["tie", "skip"])
                if (root.TryGetProperty(flag, out var value) && value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    return $"\"{flag}\" must be true or false, found a {Kind(value.ValueKind)}";

            if (IsTrue(root, "skip"))
            {
                if (itemKey is not null) items.Add(itemKey);
                skipped++;
                return null;
            }

            if (!root.TryGetProperty("chosen", out var chosenEl)) return "missing the \"chosen\" field (each line needs \"chosen\" and \"rejected\", and optionally \"prompt\")";
            if (!root.TryGetProperty("rejected", out var rejectedEl)) return "missing the \"rejected\" field (each line needs \"chosen\" and \"rejected\", and optionally \"prompt\")";
            bool tie = IsTrue(root, "tie");

            string prompt, chosen, rejected;
            if (root.TryGetProperty("prompt", out var promptEl))
            {
                var (p, pe) = ReadText(promptEl, "prompt");
                if (pe is not null) return pe;
                var (c, ce) = ReadText(chosenEl, "chosen");
                if (ce is not null) return ce;
                var (r, re) = ReadText(rejectedEl, "rejected");
                if (re is not null) return re;
                (prompt, chosen, rejected) = (p!, c!, r!);
            }
            else if (chosenEl.ValueKind == JsonValueKind.Array && rejectedEl.ValueKind == JsonValueKind.Array)
            {
                // Conversational pairs with an implicit prompt: every message but the last is the shared prompt.
                var (cp, cl, ce) = SplitConversation(chosenEl, "chosen");
                if (ce is not null) return ce;
                var (rp, rl, re) = SplitConversation(rejectedEl, "rejected");
                if (re is not null) return re;
                if (!string.Equals(cp, rp, StringComparison.Ordinal)) return "\"chosen\" and \"rejected\" conversations differ before their last message, so they do not share a prompt";
                (prompt, chosen, rejected) = (cp!, cl!, rl!);
            }
            else
            {
                var (c, ce) = ReadText(chosenEl, "chosen");
                if (ce is not null) return ce;
                var (r, re) = ReadText(rejectedEl, "rejected");
                if (re is not null) return re;
                (prompt, chosen, rejected) = ExtractPrompt(c!, r!);
            }

            if (!tie && string.Equals(chosen, rejected, StringComparison.Ordinal))
                return "\"chosen\" and \"rejected\" are the same text, so the pair says nothing; mark it \"tie\": true or remove it";
            pairs.Add(new PreferencePair(prompt, chosen, rejected, tie));
            if (itemKey is not null) items.Add(itemKey);
            return null;
        }
    }

    /// <summary>
    /// Splits two texts that share a prompt into (prompt, chosen, rejected): the prompt is their longest common prefix,
    /// moved back by one character when that prefix ends in a space so the completions keep their leading space (TRL's rule).
    /// </summary>
    public static (string Prompt, string Chosen, string Rejected) ExtractPrompt(string chosen, string rejected)
    {
        ArgumentNullException.ThrowIfNull(chosen);
        ArgumentNullException.ThrowIfNull(rejected);
        int n = Math.Min(chosen.Length, rejected.Length), i = 0;
        while (i < n && chosen[i] == rejected[i]) i++;
        if (i > 0 && chosen[i - 1] == ' ') i--;
        return (chosen[..i], chosen[i..], rejected[i..]);
    }

    private static (string? Text, string? Error) ReadText(JsonElement e, string field)
    {
        if (e.ValueKind == JsonValueKind.String) return (e.GetString()!, null);
        if (e.ValueKind == JsonValueKind.Array)
        {
            var sb = new StringBuilder();
            foreach (var message in e.EnumerateArray())
            {
                var (content, error) = MessageContent(message, field);
                if (error is not null) return (null, error);
                if (sb.Length > 0) sb.Append('\n');
                sb.Append(content);
            }
            return (sb.ToString(), null);
        }
        return (null, $"\"{field}\" must be a string or a list of {{\"role\", \"content\"}} messages, found a {Kind(e.ValueKind)}");
    }

    private static (string? Prompt, string? Last, string? Error) SplitConversation(JsonElement e, string field)
    {
        var contents = new List<string>();
        foreach (var message in e.EnumerateArray())
        {
            var (content, error) = MessageContent(message, field);
            if (error is not null) return (null, null, error);
            contents.Add(content!);
        }
        if (contents.Count == 0) return (null, null, $"\"{field}\" is an empty conversation");
        return (string.Join('\n', contents.Take(contents.Count - 1)), contents[^1], null);
    }

    private static (string? Content, string? Error) MessageContent(JsonElement message, string field)
    {
        if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
            return (null, $"\"{field}\" holds a message that is not an object with a string \"content\"");
        return (content.GetString()!, null);
    }

    private static bool IsTrue(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "list",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString().ToLowerInvariant(),
    };

    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(". ", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd('.');
    }

    /// <summary>
    /// Appends <paramref name="records"/> to <paramref name="path"/> (created if missing) in one write, flushed to disk
    /// before returning, so an answer is never lost once this returns. If the file ends in a partial line (a write cut
    /// short by a crash) a line break is written first, so the partial line stays a single reportable broken line.
    /// </summary>
    public static void Append(string path, IReadOnlyList<PreferenceRecord> records)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0) return;
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        var sb = new StringBuilder();
        foreach (var r in records) sb.Append(r.ToJsonLine()).Append('\n');
        using var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        bool needsBreak = false;
        if (stream.Length > 0)
        {
            stream.Seek(-1, SeekOrigin.End);
            needsBreak = stream.ReadByte() != '\n';
        }
        stream.Seek(0, SeekOrigin.End);
        var bytes = Encoding.UTF8.GetBytes((needsBreak ? "\n" : "") + sb);
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }
}

/// <summary>Sources of items to label.</summary>
public static class LabelItems
{
    /// <summary>
    /// Items written by a model, without end: prompt i (cycling through <paramref name="prompts"/>) with
    /// <paramref name="choices"/> completions drawn with a generator seeded by (<paramref name="seed"/>, i). The same
    /// model, prompts and seed give the same items, so a resumed labelling session recognises what it already labelled.
    /// Items are made only as they are asked for.
    /// </summary>
    public static IEnumerable<LabelItem> FromModel(Gpt model, ITokenizer tokenizer, IReadOnlyList<string> prompts, int choices,
        int maxTokens, SamplingOptions sampling, int seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(sampling);
        if (prompts.Count == 0) throw new ArgumentException("LabelItems.FromModel: no prompts.", nameof(prompts));
        if (choices < 2) throw new ArgumentOutOfRangeException(nameof(choices), choices, "LabelItems.FromModel: compare at least two completions.");
        return Generate();

        IEnumerable<LabelItem> Generate()
        {
            for (int i = 0; ; i++)
            {
                string prompt = prompts[i % prompts.Count];
                var ids = tokenizer.Encode(prompt);
                var gen = model.Generate([.. Enumerable.Repeat(ids, choices)], maxTokens, sampling, new Rng(Rng.DeriveSeed((ulong)seed, i)));
                yield return new LabelItem(prompt, [.. gen.Completions.Select(c => tokenizer.Decode(c))]);
            }
        }
    }

    /// <summary>
    /// Reads items from a JSONL file of <c>{"prompt": "...", "completions": ["...", "..."]}</c> lines (completions
    /// produced elsewhere). A broken line throws, naming the file and line.
    /// </summary>
    public static List<LabelItem> ReadCandidates(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Candidates file '{path}' does not exist.", path);
        var items = new List<LabelItem>();
        int lineNumber = 0;
        foreach (var (line, decodeProblem) in PreferenceFile.DecodeLines(File.ReadAllBytes(path)))
        {
            lineNumber++;
            PreferenceFormatException Problem(string what) => new(path, new PreferenceLineProblem(lineNumber, what), "fix or remove the line");
            if (decodeProblem is not null) throw Problem(decodeProblem);
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException e) { throw Problem($"not valid JSON ({e.Message})"); }
            using (doc)
            {
                try { items.Add(ReadCandidate(doc.RootElement, Problem)); }
                catch (InvalidOperationException) { throw Problem(PreferenceFile.LoneSurrogate); }
            }
        }
        return items;
    }

    private static LabelItem ReadCandidate(JsonElement root, Func<string, PreferenceFormatException> problem)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("prompt", out var p) || p.ValueKind != JsonValueKind.String)
            throw problem("expected an object with a string \"prompt\"");
        if (!root.TryGetProperty("completions", out var c) || c.ValueKind != JsonValueKind.Array)
            throw problem("expected a \"completions\" list of strings");
        var completions = new List<string>();
        foreach (var e in c.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.String) throw problem("every completion must be a string");
            completions.Add(e.GetString()!);
        }
        if (completions.Count < 2) throw problem($"an item needs at least two completions to compare, found {completions.Count}");
        return new LabelItem(p.GetString()!, completions);
    }
}
