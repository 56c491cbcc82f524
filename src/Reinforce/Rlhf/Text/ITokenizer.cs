namespace Reinforce.Rlhf.Text;

/// <summary>
/// Text to token ids and back: what the language model, the trainers and the commands need from a tokenizer.
/// <see cref="CharTokenizer"/> (one token per character, for the teaching demos) and <see cref="ByteLevelBpeTokenizer"/>
/// (GPT-2's byte-level BPE) implement it.
/// </summary>
public interface ITokenizer
{
    /// <summary>Number of token ids (the model's embedding must have this many rows).</summary>
    int VocabSize { get; }

    /// <summary>A short description for messages and logs, e.g. "65 characters" or "GPT-2 byte-level BPE, 50257 tokens".</summary>
    string Description { get; }

    /// <summary>The token ids of <paramref name="text"/>; text the tokenizer cannot represent throws, naming it.</summary>
    int[] Encode(string text);

    /// <summary>The text of <paramref name="ids"/>.</summary>
    string Decode(ReadOnlySpan<int> ids);

    /// <summary>
    /// The characters of <paramref name="text"/> the tokenizer cannot represent, each once, in order of first appearance
    /// (always empty for a byte-level tokenizer, which represents every string).
    /// </summary>
    string UnknownCharacters(string text);

    /// <summary>
    /// Whether <paramref name="piece"/> (for example a stop character such as "\n") is exactly one token, and which.
    /// </summary>
    bool TryGetSingleToken(string piece, out int id);
}

/// <summary>Helpers shared by every <see cref="ITokenizer"/>.</summary>
public static class TokenizerExtensions
{
    /// <summary>The one token of <paramref name="stop"/>, or −1 when it is not a single token of <paramref name="tokenizer"/>.</summary>
    public static int StopToken(this ITokenizer tokenizer, char? stop)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return stop is char c && tokenizer.TryGetSingleToken(c.ToString(), out int id) ? id : -1;
    }

    /// <summary>
    /// Throws unless <paramref name="tokenizer"/> has exactly <paramref name="embeddingRows"/> tokens, naming
    /// <paramref name="source"/> and the fix: a model reads token ids as rows of its embedding, so a tokenizer of another
    /// size gives ids the model never learned (or ids outside its table).
    /// </summary>
    public static void RequireVocabulary(this ITokenizer tokenizer, int embeddingRows, string source)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (tokenizer.VocabSize != embeddingRows)
            throw new ArgumentException($"{source}: the tokenizer ({tokenizer.Description}) has {tokenizer.VocabSize} tokens but the model's embedding has {embeddingRows} rows; use the tokenizer the model was trained with (its vocab.json/merges.txt or tokenizer.json).");
    }
}
