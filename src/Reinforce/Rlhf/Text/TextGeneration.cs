using Reinforce.Nn.Transformers;

namespace Reinforce.Rlhf.Text;

/// <summary>Text in, text out: continuing a prompt with a <see cref="Gpt"/> and its tokenizer.</summary>
public static class TextGeneration
{
    /// <summary>
    /// Continues <paramref name="prompt"/> with up to <paramref name="maxTokens"/> characters. Longer than the context
    /// allows, generation goes on from the last half-context of text (a sliding window). Stops early after
    /// <paramref name="stop"/> when given. Characters of the prompt outside the vocabulary are an error.
    /// </summary>
    public static string Continue(Gpt model, ITokenizer tokenizer, string prompt, int maxTokens, SamplingOptions options, Rng rng, char? stop = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Length == 0) throw new ArgumentException("TextGeneration.Continue: the prompt is empty; give at least one character to continue from.", nameof(prompt));
        int context = model.Config.ContextLength;
        int stopToken = tokenizer.StopToken(stop);
        var text = new List<int>(tokenizer.Encode(prompt));
        int promptLength = text.Count, produced = 0;
        while (produced < maxTokens)
        {
            // The window: as much recent text as fits, leaving room to generate (at least half the context).
            int keep = Math.Min(text.Count, produced == 0 ? context - 1 : context / 2);
            var window = text.GetRange(text.Count - keep, keep).ToArray();
            var gen = model.Generate([window], maxTokens - produced, options, rng, stopToken);
            var tokens = gen.Completions[0];
            text.AddRange(tokens);
            produced += tokens.Length;
            if (gen.Stopped[0] || tokens.Length == 0) break;
        }
        return tokenizer.Decode(text.GetRange(promptLength, text.Count - promptLength).ToArray());
    }
}
