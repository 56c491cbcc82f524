using System.Text.Json;

namespace Reinforce.Rlhf.Text;

/// <summary>
/// A tokenizer stored in a checkpoint's string metadata, so a checkpoint file alone rebuilds its model and tokenizer:
/// a <see cref="CharTokenizer"/> as its <c>vocabulary</c> string; a <see cref="ByteLevelBpeTokenizer"/> as
/// <c>bpe_vocab</c> (vocab.json's JSON) and <c>bpe_merges</c> (merges.txt's lines).
/// </summary>
public static class TokenizerMetadata
{
    /// <summary>Metadata keys this class writes.</summary>
    public static readonly IReadOnlySet<string> Keys = new HashSet<string>(StringComparer.Ordinal) { "vocabulary", "bpe_vocab", "bpe_merges" };

    /// <summary>Adds <paramref name="tokenizer"/> to <paramref name="metadata"/>.</summary>
    public static void Write(ITokenizer tokenizer, IDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(metadata);
        switch (tokenizer)
        {
            case CharTokenizer c:
                metadata["vocabulary"] = c.Vocabulary;
                break;
            case ByteLevelBpeTokenizer b:
                metadata["bpe_vocab"] = JsonSerializer.Serialize(Enumerable.Range(0, b.VocabSize).ToDictionary(b.TokenString, i => i, StringComparer.Ordinal));
                metadata["bpe_merges"] = string.Join('\n', b.Merges.Select(m => m.Left + " " + m.Right));
                break;
            default:
                throw new ArgumentException($"TokenizerMetadata: a {tokenizer.GetType().Name} cannot be stored in a checkpoint; use CharTokenizer or ByteLevelBpeTokenizer.", nameof(tokenizer));
        }
    }

    /// <summary>The tokenizer in <paramref name="metadata"/>, or null when it holds none.</summary>
    public static ITokenizer? Read(IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (metadata.TryGetValue("vocabulary", out var vocabulary)) return new CharTokenizer(vocabulary);
        if (metadata.TryGetValue("bpe_vocab", out var vocab) && metadata.TryGetValue("bpe_merges", out var merges))
        {
            var map = JsonSerializer.Deserialize<Dictionary<string, int>>(vocab) ?? throw new JsonException("bpe_vocab holds null");
            var pairs = merges.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).Select(p => (p[0], p[1])).ToList();
            return ByteLevelBpeTokenizer.FromVocabulary(map, pairs, $"byte-level BPE, {map.Count} tokens");
        }
        return null;
    }

    /// <summary>Whether two tokenizers give the same ids for every text (same kind, vocabulary and merges).</summary>
    public static bool Same(ITokenizer a, ITokenizer b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var da = new Dictionary<string, string>(StringComparer.Ordinal);
        var db = new Dictionary<string, string>(StringComparer.Ordinal);
        Write(a, da);
        Write(b, db);
        return da.Count == db.Count && da.All(kv => db.TryGetValue(kv.Key, out var v) && v == kv.Value);
    }
}
