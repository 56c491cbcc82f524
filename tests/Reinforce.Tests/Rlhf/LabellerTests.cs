using Reinforce.Rlhf.Data;


namespace Reinforce.Tests.Rlhf;

public sealed class LabellerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reinforce-label-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<LabelItem> Items(int count, int choices = 2) =>
        [.. Enumerable.Range(0, count).Select(i => new LabelItem($"prompt {i}:", [.. Enumerable.Range(0, choices).Select(c => $" answer {i}.{c}")]))];

    /// <summary>Hands out scripted answers; throws (as if the process were killed) once they run out, when asked to.</summary>
    private sealed class ScriptedInput(string[] answers, bool dieAtEnd, Action? beforeEachRead = null) : TextReader
    {
        private int _next;
        public override string? ReadLine()
        {
            beforeEachRead?.Invoke();
            if (_next < answers.Length) return answers[_next++];
            if (dieAtEnd) throw new OperationCanceledException("killed");
            return null;
        }
    }

    [Fact]
    public void Answers_become_pairs_ties_and_skips_in_the_file()
    {
        string path = Path.Combine(_dir, "prefs.jsonl");
        var output = new StringWriter();
        var summary = new TerminalLabeller(new StringReader("2\nt\ns\n1\n"), output).Run(Items(4), path);
        Assert.Equal((2, 1, 1, false), (summary.Preferred, summary.Ties, summary.Skipped, summary.Quit));
        var d = PreferenceFile.Load(path, strict: true);
        Assert.Equal(
            [new PreferencePair("prompt 0:", " answer 0.1", " answer 0.0"), new PreferencePair("prompt 1:", " answer 1.0", " answer 1.1", IsTie: true),
             new PreferencePair("prompt 3:", " answer 3.0", " answer 3.1")],
            d.Pairs);
        Assert.Equal(1, d.SkippedCount);
        Assert.Equal(4, d.LabelledItems.Count);
    }

    [Fact]
    public void Completions_are_shown_side_by_side_with_the_prompt()
    {
        var output = new StringWriter();
        var item = new LabelItem("Once upon a time", [" a cat sat.", " a dog ran\naway."]);
        new TerminalLabeller(new StringReader("q\n"), output, width: 60).Run([item], Path.Combine(_dir, "x.jsonl"));
        var lines = output.ToString().Split('\n');
        Assert.Contains(lines, l => l.Contains("Once upon a time", StringComparison.Ordinal));
        // Both completions on the same display row, the line break shown as ↵.
        Assert.Contains(lines, l => l.Contains("a cat sat.", StringComparison.Ordinal) && l.Contains("a dog ran↵", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("─ 1 ─", StringComparison.Ordinal) && l.Contains("─ 2 ─", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(_dir, "x.jsonl")));
    }

    [Fact]
    public void Invalid_answers_are_explained_and_asked_again()
    {
        string path = Path.Combine(_dir, "p.jsonl");
        var output = new StringWriter();
        var summary = new TerminalLabeller(new StringReader("3\nyes\n\n2\n"), output).Run(Items(1), path);
        Assert.Equal(1, summary.Preferred);
        Assert.Equal(3, output.ToString().Split("is not an answer").Length - 1);
        Assert.Equal(" answer 0.1", Assert.Single(PreferenceFile.Load(path).Pairs).Chosen);
    }

    [Fact]
    public void Four_completions_picking_one_gives_three_pairs()
    {
        string path = Path.Combine(_dir, "four.jsonl");
        new TerminalLabeller(new StringReader("3\n"), new StringWriter(), width: 120).Run(Items(1, choices: 4), path);
        var pairs = PreferenceFile.Load(path).Pairs;
        Assert.Equal(3, pairs.Count);
        Assert.All(pairs, p => Assert.Equal(" answer 0.2", p.Chosen));
        Assert.Equal([" answer 0.0", " answer 0.1", " answer 0.3"], pairs.Select(p => p.Rejected));
    }

    [Fact]
    public void Killed_session_keeps_every_answer_and_a_restart_resumes_after_them()
    {
        string path = Path.Combine(_dir, "resume.jsonl");
        var items = Items(5);
        int answered = 0;
        // Before each read, every answer given so far must already be in the file: nothing waits in a buffer.
        var input = new ScriptedInput(["2", "1"], dieAtEnd: true, beforeEachRead: () =>
        {
            int onDisk = File.Exists(path) ? File.ReadAllLines(path).Length : 0;
            Assert.Equal(answered, onDisk);
            answered++;
        });
        Assert.Throws<OperationCanceledException>(() => new TerminalLabeller(input, new StringWriter()).Run(items, path));
        Assert.Equal(2, PreferenceFile.Load(path).Pairs.Count);

        // A write cut short by the kill leaves a partial line; the restart reports it and carries on.
        File.AppendAllText(path, "{\"prompt\": \"prompt 2:\", \"chos");
        var output = new StringWriter();
        var summary = new TerminalLabeller(new StringReader("t\ns\n1\n"), output).Run(items, path);
        string shown = output.ToString();
        Assert.Equal((1, 1, 1, 2), (summary.Preferred, summary.Ties, summary.Skipped, summary.AlreadyLabelled));
        Assert.Contains("2 items already labelled", shown, StringComparison.Ordinal);
        Assert.Contains("line 3", shown, StringComparison.Ordinal);
        Assert.DoesNotContain("prompt 0:", shown, StringComparison.Ordinal);
        Assert.DoesNotContain("prompt 1:", shown, StringComparison.Ordinal);
        Assert.Contains("prompt 2:", shown, StringComparison.Ordinal);

        var d = PreferenceFile.Load(path);
        Assert.Equal(5, d.LabelledItems.Count);
        Assert.Equal(["prompt 0:", "prompt 1:", "prompt 2:", "prompt 4:"], d.Pairs.Select(p => p.Prompt));
        Assert.Equal(3, Assert.Single(d.Problems).LineNumber);

        // A third session finds nothing left to do.
        var again = new TerminalLabeller(new StringReader(""), new StringWriter()).Run(items, path);
        Assert.Equal((0, 5, false), (again.Answered, again.AlreadyLabelled, again.Quit));
    }

    [Fact]
    public void End_of_input_quits_without_recording_the_open_item()
    {
        string path = Path.Combine(_dir, "eof.jsonl");
        var summary = new TerminalLabeller(new StringReader("1\n"), new StringWriter()).Run(Items(3), path);
        Assert.True(summary.Quit);
        Assert.Single(PreferenceFile.Load(path).LabelledItems);
    }

    [Fact]
    public void Wrap_breaks_on_spaces_and_splits_long_words()
    {
        Assert.Equal(["the cat", "sat on", "the mat"], TerminalLabeller.Wrap("the cat sat on the mat", 7));
        Assert.Equal(["abcde", "fgh"], TerminalLabeller.Wrap("abcdefgh", 5));
        Assert.Equal(["one↵", "two"], TerminalLabeller.Wrap("one\ntwo", 10));
    }
}
