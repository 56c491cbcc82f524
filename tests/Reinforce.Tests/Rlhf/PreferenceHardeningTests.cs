using System.Text;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Text;

namespace Reinforce.Tests.Rlhf;

/// <summary>Preference and candidate files with damage a real file can carry: each is reported with its line, and the rest loads.</summary>
public sealed class PreferenceHardeningTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reinforce-prefs-hard-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(byte[] bytes)
    {
        var path = Path.Combine(_dir, $"{Guid.NewGuid():N}.jsonl");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string Write(string text) => Write(Encoding.UTF8.GetBytes(text));

    private const string Good = "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n";

    [Fact]
    public void A_lone_surrogate_escape_is_a_broken_line_with_its_number_and_the_rest_loads()
    {
        var path = Write(Good + "{\"prompt\": \"a\\uD800\", \"chosen\": \"b\", \"rejected\": \"c\"}\n" + Good + "{\"prompt\": \"a\", \"chosen\": \"\\uDC00x\", \"rejected\": \"c\"}\n");
        var d = PreferenceFile.Load(path);
        Assert.Equal(2, d.Pairs.Count);
        Assert.Equal([2, 4], d.Problems.Select(p => p.LineNumber));
        Assert.All(d.Problems, p => Assert.Contains("surrogate", p.Message, StringComparison.Ordinal));
        var strict = Assert.Throws<PreferenceFormatException>(() => PreferenceFile.Load(path, strict: true));
        Assert.Equal(2, strict.LineNumber);
        Assert.Contains(path, strict.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_UTF8_is_reported_with_its_line_instead_of_being_replaced()
    {
        var bytes = new List<byte>(Encoding.UTF8.GetBytes(Good));
        bytes.AddRange(Encoding.UTF8.GetBytes("{\"prompt\": \"a\", \"chosen\": \"b"));
        bytes.Add(0xFF);
        bytes.AddRange(Encoding.UTF8.GetBytes("\", \"rejected\": \"c\"}\n"));
        bytes.AddRange(Encoding.UTF8.GetBytes(Good));
        var d = PreferenceFile.Load(Write([.. bytes]));
        Assert.Equal(2, d.Pairs.Count);
        var problem = Assert.Single(d.Problems);
        Assert.Equal(2, problem.LineNumber);
        Assert.Contains("UTF-8", problem.Message, StringComparison.Ordinal);
        Assert.Contains("0xFF", problem.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(d.Pairs, p => p.Chosen.Contains('\uFFFD', StringComparison.Ordinal));
    }

    [Fact]
    public void A_byte_order_mark_and_CRLF_line_ends_are_accepted()
    {
        var d = PreferenceFile.Load(Write([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Good.Replace("\n", "\r\n", StringComparison.Ordinal) + Good)]));
        Assert.Equal(2, d.Pairs.Count);
        Assert.Empty(d.Problems);
        Assert.Equal("a", d.Pairs[0].Prompt);
        Assert.Equal("c", d.Pairs[0].Rejected);
    }

    [Theory]
    [InlineData("\"yes\"", "string")]
    [InlineData("1", "number")]
    [InlineData("null", "null")]
    public void A_tie_or_skip_flag_that_is_not_a_boolean_is_rejected(string value, string kind)
    {
        var d = PreferenceFile.Load(Write(Good + $"{{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\", \"tie\": {value}}}\n" + $"{{\"prompt\": \"a\", \"completions\": [\"b\", \"c\"], \"skip\": {value}}}\n"));
        Assert.Single(d.Pairs);
        Assert.Equal(0, d.TieCount);
        Assert.Equal([2, 3], d.Problems.Select(p => p.LineNumber));
        Assert.Contains($"\"tie\" must be true or false, found a {kind}", d.Problems[0].Message, StringComparison.Ordinal);
        Assert.Contains("\"skip\" must be true or false", d.Problems[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pairs_outside_the_vocabulary_are_named_with_their_line_and_characters()
    {
        var d = PreferenceFile.Load(Write(Good + "\n" + "{\"prompt\": \"a\", \"chosen\": \"b\u00e9\", \"rejected\": \"c\u2192\"}\n" + Good));
        Assert.Equal([1, 3, 4], d.PairLineNumbers);
        var (usable, leftOut) = d.WithinVocabulary(new CharTokenizer("abc"));
        Assert.Equal(2, usable.Count);
        var problem = Assert.Single(leftOut);
        Assert.Equal(3, problem.LineNumber);
        Assert.Contains("'\u00e9'", problem.Message, StringComparison.Ordinal);
        Assert.Contains("'\u2192'", problem.Message, StringComparison.Ordinal);
        Assert.Contains("vocabulary", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Candidate_files_name_the_line_of_a_lone_surrogate_or_invalid_UTF8()
    {
        var surrogate = Write("{\"prompt\": \"p\", \"completions\": [\"a\", \"b\"]}\n{\"prompt\": \"p\", \"completions\": [\"a\\uD800\", \"b\"]}\n");
        var e = Assert.Throws<PreferenceFormatException>(() => LabelItems.ReadCandidates(surrogate));
        Assert.Equal(2, e.LineNumber);
        Assert.Contains("surrogate", e.Message, StringComparison.Ordinal);
        var utf8 = Write([.. Encoding.UTF8.GetBytes("{\"prompt\": \"p\", \"completions\": [\"a\", \"b"), 0xC3, 0x28, .. Encoding.UTF8.GetBytes("\"]}\n")]);
        e = Assert.Throws<PreferenceFormatException>(() => LabelItems.ReadCandidates(utf8));
        Assert.Equal(1, e.LineNumber);
        Assert.Contains("UTF-8", e.Message, StringComparison.Ordinal);
    }
}
