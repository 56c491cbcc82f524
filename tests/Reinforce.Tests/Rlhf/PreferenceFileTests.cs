using Reinforce.Rlhf.Data;


namespace Reinforce.Tests.Rlhf;

public sealed class PreferenceFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reinforce-prefs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static PreferenceDataset Parse(string text, bool strict = false) =>
        PreferenceFile.Parse(new StringReader(text), "test.jsonl", strict);

    [Fact]
    public void Explicit_prompt_pairs_load_as_given()
    {
        var d = Parse("{\"prompt\": \"The sky is\", \"chosen\": \" blue.\", \"rejected\": \" green.\"}\n");
        var p = Assert.Single(d.Pairs);
        Assert.Equal(new PreferencePair("The sky is", " blue.", " green."), p);
        Assert.Empty(d.Problems);
    }

    [Fact]
    public void Implicit_prompt_is_the_common_prefix_keeping_the_leading_space_in_the_completions()
    {
        var d = Parse("{\"chosen\": \"The sky is blue.\", \"rejected\": \"The sky is green.\"}");
        Assert.Equal(new PreferencePair("The sky is", " blue.", " green."), Assert.Single(d.Pairs));
        // Without a space at the split point the prefix is kept whole.
        Assert.Equal(("ab", "c", "d"), PreferenceFile.ExtractPrompt("abc", "abd"));
    }

    [Fact]
    public void Conversational_pairs_are_flattened()
    {
        const string line = """
            {"chosen": [{"role": "user", "content": "Colour of the sky?"}, {"role": "assistant", "content": "Blue."}], "rejected": [{"role": "user", "content": "Colour of the sky?"}, {"role": "assistant", "content": "Green."}]}
            """;
        Assert.Equal(new PreferencePair("Colour of the sky?", "Blue.", "Green."), Assert.Single(Parse(line).Pairs));
        const string explicitPrompt = """
            {"prompt": [{"role": "user", "content": "Hi"}], "chosen": [{"role": "assistant", "content": "Hello!"}], "rejected": [{"role": "assistant", "content": "Go away."}]}
            """;
        Assert.Equal(new PreferencePair("Hi", "Hello!", "Go away."), Assert.Single(Parse(explicitPrompt).Pairs));
    }

    [Fact]
    public void Broken_lines_are_reported_with_their_line_numbers_and_the_rest_loads()
    {
        const string text =
            "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n" +   // 1 ok
            "not json at all\n" +                                            // 2 broken
            "\n" +                                                           // 3 blank: ignored
            "{\"prompt\": \"a\", \"chosen\": \"b\"}\n" +                     // 4 missing rejected
            "[1, 2]\n" +                                                     // 5 not an object
            "{\"prompt\": \"a\", \"chosen\": 3, \"rejected\": \"c\"}\n" +    // 6 wrong type
            "{\"prompt\": \"a\", \"chosen\": \"same\", \"rejected\": \"same\"}\n" + // 7 says nothing
            "{\"prompt\": \"x\", \"chosen\": \"y\", \"rejected\": \"z\"}\n" + // 8 ok
            "{\"prompt\": \"x\", \"cho";                                     // 9 cut short
        var d = Parse(text);
        Assert.Equal(2, d.Pairs.Count);
        Assert.Equal([2, 4, 5, 6, 7, 9], d.Problems.Select(p => p.LineNumber));
        Assert.Contains("rejected", d.Problems[1].Message, StringComparison.Ordinal);
        Assert.Contains("list", d.Problems[2].Message, StringComparison.Ordinal);
        Assert.Contains("number", d.Problems[3].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Strict_loading_stops_at_the_first_broken_line_naming_it()
    {
        const string text = "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n{oops\n{\"chosen\": \"x\"}\n";
        var e = Assert.Throws<PreferenceFormatException>(() => Parse(text, strict: true));
        Assert.Equal(2, e.LineNumber);
        Assert.Contains("test.jsonl, line 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Records_round_trip_through_a_file_including_ties_and_skips()
    {
        string path = Path.Combine(_dir, "p.jsonl");
        PreferenceFile.Append(path, [PreferenceRecord.Preferred("Q: \"hi\"\n", "héllo ✓", "bye", "k1")]);
        PreferenceFile.Append(path, [PreferenceRecord.Tie("q", "a", "b", "k2"), PreferenceRecord.Skipped("q2", ["x", "y"], "k3")]);
        var d = PreferenceFile.Load(path, strict: true);
        Assert.Equal([new PreferencePair("Q: \"hi\"\n", "héllo ✓", "bye"), new PreferencePair("q", "a", "b", IsTie: true)], d.Pairs);
        Assert.Single(d.Decisive);
        Assert.Equal(1, d.TieCount);
        Assert.Equal(1, d.SkippedCount);
        Assert.Equal(["k1", "k2", "k3"], d.LabelledItems.Order());
        Assert.Equal(3, File.ReadAllLines(path).Length);
    }

    [Fact]
    public void Appending_after_a_cut_short_line_keeps_the_new_answers_on_their_own_lines()
    {
        string path = Path.Combine(_dir, "cut.jsonl");
        File.WriteAllText(path, "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n{\"prompt\": \"a\", \"cho");
        PreferenceFile.Append(path, [PreferenceRecord.Preferred("p", "good", "bad")]);
        var d = PreferenceFile.Load(path);
        Assert.Equal(2, d.Pairs.Count);
        Assert.Equal(2, Assert.Single(d.Problems).LineNumber);
    }

    [Fact]
    public void A_missing_file_says_how_to_make_one()
    {
        var e = Assert.Throws<FileNotFoundException>(() => PreferenceFile.Load(Path.Combine(_dir, "none.jsonl")));
        Assert.Contains("rlhf label", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Candidate_files_load_items_and_name_a_broken_line()
    {
        string path = Path.Combine(_dir, "candidates.jsonl");
        File.WriteAllLines(path, ["{\"prompt\": \"p\", \"completions\": [\"a\", \"b\", \"c\"]}", "", "{\"prompt\": \"q\", \"completions\": [\"x\"]}"]);
        var e = Assert.Throws<PreferenceFormatException>(() => LabelItems.ReadCandidates(path));
        Assert.Equal(3, e.LineNumber);
        Assert.Contains("at least two completions", e.Message, StringComparison.Ordinal);
        File.WriteAllLines(path, ["{\"prompt\": \"p\", \"completions\": [\"a\", \"b\", \"c\"]}"]);
        var item = Assert.Single(LabelItems.ReadCandidates(path));
        Assert.Equal(["a", "b", "c"], item.Completions);
        Assert.Equal(new LabelItem("p", ["a", "b", "c"]).Key, item.Key);
        Assert.NotEqual(new LabelItem("p", ["a", "c", "b"]).Key, item.Key);
    }
}
