using System.Text;

namespace Reinforce.Rlhf.Text;

/// <summary>
/// A character-level tokenizer: every distinct character of the corpus it was built from is one token,
/// numbered in ordinal (code-unit) order, so the same corpus always gives the same vocabulary.
/// A character outside the vocabulary is an error (it names the character and where it was), never a silent loss.
/// </summary>
public sealed class CharTokenizer : ITokenizer
{
    private readonly Dictionary<char, int> _ids;

    /// <summary>The vocabulary, one character per token id, in id order.</summary>
    public string Vocabulary { get; }

    /// <summary>Number of tokens.</summary>
    public int VocabSize => Vocabulary.Length;

    /// <inheritdoc/>
    public string Description => $"character tokenizer, {VocabSize} characters";

    /// <inheritdoc/>
    public bool TryGetSingleToken(string piece, out int id)
    {
        ArgumentNullException.ThrowIfNull(piece);
        id = -1;
        return piece.Length == 1 && _ids.TryGetValue(piece[0], out id);
    }

    /// <summary>A tokenizer whose token <c>i</c> is <c>vocabulary[i]</c>; the characters must be distinct.</summary>
    public CharTokenizer(string vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (vocabulary.Length == 0) throw new ArgumentException("CharTokenizer: the vocabulary is empty; build it from a non-empty corpus.", nameof(vocabulary));
        _ids = new Dictionary<char, int>(vocabulary.Length);
        for (int i = 0; i < vocabulary.Length; i++)
        {
            if (!_ids.TryAdd(vocabulary[i], i))
                throw new ArgumentException($"CharTokenizer: the vocabulary holds {Describe(vocabulary[i])} twice (at {_ids[vocabulary[i]]} and {i}); each character must appear once.", nameof(vocabulary));
        }
        Vocabulary = vocabulary;
    }

    /// <summary>
    /// The tokenizer of <paramref name="corpus"/>: its distinct characters in ordinal order, plus any
    /// <paramref name="extraCharacters"/> (for example a task's separator that the corpus may lack).
    /// </summary>
    public static CharTokenizer FromText(string corpus, string? extraCharacters = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        var set = new SortedSet<char>(corpus, Comparer<char>.Create((a, b) => a.CompareTo(b)));
        if (extraCharacters is not null) set.UnionWith(extraCharacters);
        if (set.Count == 0) throw new ArgumentException("CharTokenizer.FromText: the corpus is empty; give it some text to learn the characters from.", nameof(corpus));
        return new CharTokenizer(new string([.. set]));
    }

    /// <summary>Whether <paramref name="c"/> has a token.</summary>
    public bool Contains(char c) => _ids.ContainsKey(c);

    /// <summary>The token id of <paramref name="c"/>.</summary>
    public int Encode(char c)
    {
        if (_ids.TryGetValue(c, out int id)) return id;
        throw new ArgumentException($"CharTokenizer: {Describe(c)} is not in the vocabulary of {VocabSize} characters (the corpus the model was built from never contained it). Remove it from the text, or pretrain on a corpus that has it.");
    }

    /// <summary>The token ids of <paramref name="text"/>; an unknown character throws, naming it and its position.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new int[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            if (!_ids.TryGetValue(text[i], out ids[i]))
                throw new ArgumentException($"CharTokenizer: {Describe(text[i])} at position {i} of \"{Shorten(text)}\" is not in the vocabulary of {VocabSize} characters (the corpus the model was built from never contained it). Remove it from the text, or pretrain on a corpus that has it.", nameof(text));
        }
        return ids;
    }

    /// <summary>The token ids of the characters of <paramref name="text"/> that are in the vocabulary; unknown characters are dropped.</summary>
    public int[] EncodeKnown(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length);
        foreach (char c in text) if (_ids.TryGetValue(c, out int id)) ids.Add(id);
        return [.. ids];
    }

    /// <summary>The characters of <paramref name="text"/> that are not in the vocabulary, each once, in order of first appearance.</summary>
    public string UnknownCharacters(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var seen = new HashSet<char>();
        var sb = new StringBuilder();
        foreach (char c in text) if (!_ids.ContainsKey(c) && seen.Add(c)) sb.Append(c);
        return sb.ToString();
    }

    /// <summary>The text of <paramref name="ids"/>.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var chars = new char[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= (uint)Vocabulary.Length)
                throw new ArgumentOutOfRangeException(nameof(ids), $"CharTokenizer.Decode: token {ids[i]} at position {i} is outside the vocabulary [0, {VocabSize}).");
            chars[i] = Vocabulary[ids[i]];
        }
        return new string(chars);
    }

    /// <summary>The character of one token.</summary>
    public char Decode(int id)
    {
        if ((uint)id >= (uint)Vocabulary.Length)
            throw new ArgumentOutOfRangeException(nameof(id), $"CharTokenizer.Decode: token {id} is outside the vocabulary [0, {VocabSize}).");
        return Vocabulary[id];
    }

    /// <summary>"'x'" or "U+000A (line feed)" for messages.</summary>
    internal static string Describe(char c) => c switch
    {
        '\n' => "the line feed (\\n)",
        '\r' => "the carriage return (\\r)",
        '\t' => "the tab (\\t)",
        _ when char.IsControl(c) || char.IsSurrogate(c) || char.IsWhiteSpace(c) && c != ' ' => $"the character U+{(int)c:X4}",
        _ => $"the character '{c}' (U+{(int)c:X4})",
    };

    private static string Shorten(string text) => text.Length <= 40 ? text.Replace("\n", "\\n", StringComparison.Ordinal) : text[..37].Replace("\n", "\\n", StringComparison.Ordinal) + "...";
}
