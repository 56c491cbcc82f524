using System.Globalization;
using System.Text;

namespace Reinforce.Rlhf.Data;

/// <summary>
/// A person labelling at a terminal: each prompt is shown with its completions side by side, and the answer typed
/// (a number, t for a tie, s to skip, q to quit) is appended to the preference file at once. Input and output are
/// injected, so the console, a test script or any other text stream can drive it.
/// </summary>
public sealed class TerminalLabeller : IPreferenceRater
{
    private readonly TextReader _input;
    private readonly TextWriter _output;
    private int _shown;

    /// <summary>A labeller reading answers from <paramref name="input"/> and drawing on <paramref name="output"/>, <paramref name="width"/> columns wide.</summary>
    public TerminalLabeller(TextReader input, TextWriter output, int width = 100)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        if (width < 40) throw new ArgumentOutOfRangeException(nameof(width), width, "TerminalLabeller: the display needs at least 40 columns.");
        _input = input;
        _output = output;
        Width = width;
    }

    /// <summary>Display width in characters.</summary>
    public int Width { get; }

    /// <summary>
    /// Runs a labelling session over <paramref name="items"/>, appending every answer to <paramref name="preferencePath"/>
    /// as it is given; items already answered in that file are passed over, so a killed session resumes where it stopped.
    /// </summary>
    public LabellingSummary Run(IEnumerable<LabelItem> items, string preferencePath, int maxItems = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(preferencePath);
        if (File.Exists(preferencePath))
        {
            var existing = PreferenceFile.Load(preferencePath);
            _output.WriteLine($"Resuming {preferencePath}: {Count(existing.LabelledItems.Count, "item")} already labelled ({Count(existing.Pairs.Count - existing.TieCount, "pair")}, {Count(existing.TieCount, "tie")}, {existing.SkippedCount} skipped).");
            foreach (var p in existing.Problems) _output.WriteLine($"  warning: {preferencePath} {p} (this line is ignored)");
        }
        else
        {
            _output.WriteLine($"Labelling into {preferencePath} (new file). Every answer is saved as soon as it is given.");
        }
        var summary = PreferenceLabelling.Run(items, this, preferencePath, maxItems);
        _output.WriteLine();
        _output.WriteLine($"{Count(summary.Answered, "answer")} saved to {preferencePath} ({Count(summary.Preferred, "pick")}, {Count(summary.Ties, "tie")}, {summary.Skipped} skipped){(summary.Quit ? "; run the same command again to continue." : ".")}");
        return summary;
    }

    /// <inheritdoc />
    public RaterDecision Judge(LabelItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        int n = item.Completions.Count;
        if (n < 2) throw new ArgumentException($"TerminalLabeller: an item needs at least two completions to compare, got {n}.", nameof(item));
        _shown++;
        Render(item);
        string choices = n == 2 ? "1 or 2" : $"1-{n}";
        while (true)
        {
            _output.Write($"Which is better? [{choices}]  t = tie, s = skip, q = quit > ");
            _output.Flush();
            string? line = _input.ReadLine();
            if (line is null) { _output.WriteLine(); return RaterDecision.Quit; }
            string answer = line.Trim().ToLowerInvariant();
            if (int.TryParse(answer, NumberStyles.None, CultureInfo.InvariantCulture, out int pick) && pick >= 1 && pick <= n)
                return RaterDecision.Pick(pick - 1);
            switch (answer)
            {
                case "t" or "tie" or "=": return RaterDecision.Tie;
                case "s" or "skip": return RaterDecision.Skip;
                case "q" or "quit" or "exit": return RaterDecision.Quit;
            }
            _output.WriteLine($"  \"{line.Trim()}\" is not an answer: type {choices} for the better completion, t if they are equally good, s to skip this prompt, or q to stop (everything answered so far is saved).");
        }
    }

    private void Render(LabelItem item)
    {
        int n = item.Completions.Count;
        _output.WriteLine();
        _output.WriteLine(Rule($" Prompt {_shown} "));
        foreach (var line in Wrap(item.Prompt, Width)) _output.WriteLine(line);
        // Side by side when each column keeps at least 24 characters; otherwise two per row.
        int perRow = (Width - 1) / n - 3 >= 24 ? n : 2;
        for (int start = 0; start < n; start += perRow)
        {
            int count = Math.Min(perRow, n - start);
            int colWidth = (Width - 1) / count - 3;
            var columns = new List<List<string>>();
            for (int c = 0; c < count; c++) columns.Add(Wrap(item.Completions[start + c], colWidth));
            int height = columns.Max(c => c.Count);
            var sb = new StringBuilder();
            for (int c = 0; c < count; c++) sb.Append(c == 0 ? '┌' : '┬').Append(Header(start + c + 1, colWidth + 2));
            _output.WriteLine(sb.Append('┐').ToString());
            for (int r = 0; r < height; r++)
            {
                sb.Clear();
                for (int c = 0; c < count; c++)
                    sb.Append("│ ").Append((r < columns[c].Count ? columns[c][r] : "").PadRight(colWidth)).Append(' ');
                _output.WriteLine(sb.Append('│').ToString());
            }
            sb.Clear();
            for (int c = 0; c < count; c++) sb.Append(c == 0 ? '└' : '┴').Append(new string('─', colWidth + 2));
            _output.WriteLine(sb.Append('┘').ToString());
        }
    }

    private static string Count(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";

    private string Rule(string title) => "──" + title + new string('─', Math.Max(0, Width - 2 - title.Length));

    private static string Header(int number, int width)
    {
        string label = $" {number} ";
        return "─" + label + new string('─', Math.Max(0, width - 1 - label.Length));
    }

    /// <summary>Word-wraps <paramref name="text"/> to <paramref name="width"/>; a line break in the text shows as ↵ and breaks the line.</summary>
    internal static List<string> Wrap(string text, int width)
    {
        var lines = new List<string>();
        var paragraphs = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (int p = 0; p < paragraphs.Length; p++)
        {
            string para = paragraphs[p] + (p < paragraphs.Length - 1 ? "↵" : "");
            if (para.Length == 0) { if (p == 0 && paragraphs.Length == 1) lines.Add(""); continue; }
            var current = new StringBuilder();
            foreach (var word in SplitKeepingSpaces(para))
            {
                if (current.Length + word.Length <= width) { current.Append(word); continue; }
                if (current.Length > 0) { lines.Add(current.ToString().TrimEnd()); current.Clear(); }
                string w = word.TrimStart();
                while (w.Length > width) { lines.Add(w[..width]); w = w[width..]; }
                current.Append(w);
            }
            if (current.Length > 0) lines.Add(current.ToString().TrimEnd());
        }
        if (lines.Count == 0) lines.Add("");
        return lines;
    }

    private static IEnumerable<string> SplitKeepingSpaces(string text)
    {
        int start = 0;
        for (int i = 1; i <= text.Length; i++)
        {
            if (i == text.Length || (text[i] == ' ' && text[i - 1] != ' '))
            {
                yield return text[start..i];
                start = i;
            }
        }
    }
}
