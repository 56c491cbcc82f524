using System.Text.RegularExpressions;

namespace Reinforce.Rlhf.Data;

/// <summary>
/// The small corpus shipped for the demos (286 short stories written for the project, about 95 KB), and helpers to turn
/// any story text into prompts.
/// </summary>
public static partial class DemoCorpus
{
    private static string? s_stories;

    /// <summary>The shipped stories, separated by blank lines, with '\n' line ends.</summary>
    public static string Stories => s_stories ??= Load();

    private static string Load()
    {
        using var stream = typeof(DemoCorpus).Assembly.GetManifestResourceStream("Reinforce.Rlhf.Data.Corpus.stories.txt")
            ?? throw new InvalidOperationException("The demo corpus is missing from the Reinforce assembly (embedded resource Reinforce.Rlhf.Data.Corpus.stories.txt); rebuild the library.");
        using var reader = new StreamReader(stream);
        return NormalizeLineEnds(reader.ReadToEnd());
    }

    /// <summary>Turns "\r\n" and lone "\r" into "\n", so text from any platform gives the same tokens.</summary>
    public static string NormalizeLineEnds(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
    }

    /// <summary>The stories (or paragraphs) of <paramref name="text"/>: the pieces between blank lines, trimmed.</summary>
    public static IReadOnlyList<string> SplitStories(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return [.. BlankLines().Split(NormalizeLineEnds(text)).Select(s => s.Trim()).Where(s => s.Length > 0)];
    }

    /// <summary>
    /// Prompts for the preference demo: the first <paramref name="words"/> words of each story ("Once upon a", "Ben had a"),
    /// each once, in order of first appearance.
    /// </summary>
    public static IReadOnlyList<string> Openings(string text, int words = 3)
    {
        if (words < 1) throw new ArgumentOutOfRangeException(nameof(words), words, "Openings: take at least one word.");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<string>();
        foreach (var story in SplitStories(text))
        {
            var parts = story.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length <= words) continue;
            string opening = string.Join(' ', parts.Take(words));
            if (seen.Add(opening)) result.Add(opening);
        }
        return result;
    }

    [GeneratedRegex(@"\n\s*\n")]
    private static partial Regex BlankLines();
}

/// <summary>
/// Scores of text written as code, for simulated raters. <see cref="Cheerfulness"/> is the demo rater's taste: a person who
/// likes happy stories.
/// </summary>
public static partial class TextScores
{
    /// <summary>Words a cheerful reader likes to see.</summary>
    public static IReadOnlySet<string> CheerfulWords { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "happy", "happily", "happier", "happiest", "glad", "smile", "smiled", "smiles", "smiling", "laugh", "laughed", "laughing",
        "laughter", "joy", "fun", "love", "loved", "loves", "lovely", "friend", "friends", "kind", "proud", "cheer", "cheered",
        "hug", "hugged", "beautiful", "wonderful", "best", "great", "good", "warm", "bright", "brave", "safe", "thank", "thanked",
        "delicious", "sweet", "amazing", "perfect", "danced", "sang",
    };

    /// <summary>Words a cheerful reader dislikes.</summary>
    public static IReadOnlySet<string> GloomyWords { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "sad", "sadly", "cry", "cried", "crying", "tears", "angry", "scared", "afraid", "lonely", "alone", "upset", "worried",
        "grumpy", "hurt", "bad", "terrible", "lost", "broke", "broken", "mean", "annoyed", "frustrated", "disappointed",
        "ashamed", "embarrassed", "bored", "furious", "dark", "cold", "hungry", "tired",
    };

    /// <summary>
    /// +1 for every cheerful word and −1 for every gloomy word in <paramref name="text"/> (whole words, any case).
    /// </summary>
    public static double Cheerfulness(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int score = 0;
        foreach (Match m in Word().Matches(text))
        {
            string w = m.Value.ToLowerInvariant();
            if (CheerfulWords.Contains(w)) score++;
            else if (GloomyWords.Contains(w)) score--;
        }
        return score;
    }

    /// <summary>
    /// The share of the words of <paramref name="text"/> that are in <paramref name="vocabulary"/> (lower case), from 0 to 1:
    /// a reader who likes well-formed text. A word cut off at the end of the text is not counted (it may be unfinished);
    /// text with no complete word scores 0.
    /// </summary>
    public static double WordQuality(string text, IReadOnlySet<string> vocabulary)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(vocabulary);
        int known = 0, total = 0;
        foreach (Match m in Word().Matches(text))
        {
            if (m.Index + m.Length == text.Length) continue;
            total++;
            if (vocabulary.Contains(m.Value.ToLowerInvariant())) known++;
        }
        return total == 0 ? 0 : (double)known / total;
    }

    /// <summary>
    /// Minus the mean length (in letters) of the words of <paramref name="text"/>: higher for simpler, shorter words, as a
    /// reader who likes easy text would judge (word length is the main term of readability formulas such as
    /// Flesch's). A word cut off at the end is not counted; text with no complete word scores −10.
    /// </summary>
    public static double Simplicity(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int letters = 0, words = 0;
        foreach (Match m in Word().Matches(text))
        {
            if (m.Index + m.Length == text.Length) continue;
            words++;
            letters += m.Length;
        }
        return words == 0 ? -10 : -(double)letters / words;
    }

    /// <summary>The distinct words of <paramref name="text"/>, in lower case.</summary>
    public static HashSet<string> Vocabulary(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match m in Word().Matches(text)) words.Add(m.Value.ToLowerInvariant());
        return words;
    }

    [GeneratedRegex("[A-Za-z]+")]
    private static partial Regex Word();
}
