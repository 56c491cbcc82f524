using System.Text.Json;
using Reinforce.IO;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Data;

namespace Reinforce.Tests.Rlhf;

/// <summary>
/// GPT-2's byte-level BPE against an independent implementation: tools/gpt2_reference/bpe_reference.py (written from
/// OpenAI's encoder.py algorithm) encoded fixed strings with GPT-2's vocab.json/merges.txt and with a small vocabulary
/// trained here; see Data/REFERENCE.md. "Hello world" → [15496, 995] is also the example in Hugging Face's
/// GPT2Tokenizer documentation.
/// </summary>
public sealed class BpeTokenizerTests : IDisposable
{
    private static readonly Lazy<ByteLevelBpeTokenizer> Gpt2 = new(ByteLevelBpeTokenizer.Gpt2);
    private readonly string _dir = Directory.CreateTempSubdirectory("reinforce-bpe-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static string DataPath(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "Data", "gpt2", .. parts]);

    private static List<(string Text, int[] Ids)> Cases(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(DataPath(file)));
        return [.. doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => (c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray()))];
    }

    [Fact]
    public void Builtin_gpt2_matches_the_documented_ids()
    {
        Assert.Equal(50257, Gpt2.Value.VocabSize);
        Assert.Equal([15496, 995], Gpt2.Value.Encode("Hello world"));
        Assert.Equal([18435, 995], Gpt2.Value.Encode(" Hello world"));
        Assert.Equal(50256, Gpt2.Value.EndOfText);
    }

    [Fact]
    public void Builtin_gpt2_matches_the_python_reference_and_round_trips()
    {
        var cases = Cases("bpe-gpt2-reference.json");
        Assert.True(cases.Count >= 8);
        foreach (var (text, ids) in cases)
        {
            Assert.Equal(ids, Gpt2.Value.Encode(text));
            Assert.Equal(text, Gpt2.Value.Decode(ids));
        }
    }

    [Fact]
    public void Vocab_and_merges_files_match_the_python_reference()
    {
        var tokenizer = ByteLevelBpeTokenizer.FromFiles(DataPath("small-bpe", "vocab.json"), DataPath("small-bpe", "merges.txt"));
        Assert.Equal(512, tokenizer.VocabSize);
        foreach (var (text, ids) in Cases("bpe-small-reference.json"))
        {
            Assert.True(ids.SequenceEqual(tokenizer.Encode(text)), $"{text}: expected {string.Join(",", ids)} got {string.Join(",", tokenizer.Encode(text))}");
            Assert.Equal(text, tokenizer.Decode(ids));
        }
    }

    [Fact]
    public void Tokenizer_json_gives_the_same_ids_as_vocab_and_merges()
    {
        var vocab = File.ReadAllText(DataPath("small-bpe", "vocab.json"));
        var merges = File.ReadAllLines(DataPath("small-bpe", "merges.txt")).Skip(1).Where(l => l.Length > 0).ToList();
        var json = $"{{\"version\":\"1.0\",\"added_tokens\":[],\"model\":{{\"type\":\"BPE\",\"vocab\":{vocab},\"merges\":{JsonSerializer.Serialize(merges)}}}}}";
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), json);
        var fromJson = ByteLevelBpeTokenizer.FromFolder(_dir)!;
        foreach (var (text, ids) in Cases("bpe-small-reference.json")) Assert.Equal(ids, fromJson.Encode(text));
    }

    [Fact]
    public void Saved_folder_loads_back_to_the_same_tokenizer()
    {
        var small = ByteLevelBpeTokenizer.FromFiles(DataPath("small-bpe", "vocab.json"), DataPath("small-bpe", "merges.txt"));
        small.Save(_dir, modelMaxLength: 64);
        Assert.Equal(File.ReadAllText(DataPath("small-bpe", "merges.txt")), File.ReadAllText(Path.Combine(_dir, "merges.txt")));
        var back = ByteLevelBpeTokenizer.FromFolder(_dir)!;
        foreach (var (text, ids) in Cases("bpe-small-reference.json")) Assert.Equal(ids, back.Encode(text));
        Assert.Contains("GPT2Tokenizer", File.ReadAllText(Path.Combine(_dir, "tokenizer_config.json")), StringComparison.Ordinal);
    }

    [Fact]
    public void Training_is_deterministic_and_learns_frequent_words()
    {
        const string text = "the cat sat on the mat. the cat ate the rat. ";
        var a = ByteLevelBpeTokenizer.Train(text, 265);
        var b = ByteLevelBpeTokenizer.Train(text, 265);
        Assert.Equal(a.Merges, b.Merges);
        Assert.Equal(265, a.VocabSize);
        Assert.Equal(8, a.Merges.Count);
        Assert.Equal(("a", "t"), a.Merges[0]);   // "at" (cat, sat, mat, ate, rat: 6 times) is the most frequent pair
        Assert.True(a.Encode(text).Length < text.Length * 3 / 4, "merges shorten the text");
        Assert.Equal(text, a.Decode(a.Encode(text)));
    }

    [Fact]
    public void Stop_characters_and_unknowns()
    {
        Assert.True(Gpt2.Value.TryGetSingleToken("\n", out int newline));
        Assert.Equal(198, newline);
        Assert.Equal("", Gpt2.Value.UnknownCharacters("any text at all 🙂"));
        ITokenizer chars = CharTokenizer.FromText("ab\n");
        Assert.Equal(0, chars.StopToken('\n'));
        Assert.Equal(-1, chars.StopToken('z'));
        Assert.Equal("z", chars.UnknownCharacters("abz"));
    }

    [Fact]
    public void Bad_tokenizer_files_are_clear_errors()
    {
        File.WriteAllText(Path.Combine(_dir, "vocab.json"), "{\"a\": 0}");
        var e = Assert.Throws<FileNotFoundException>(() => ByteLevelBpeTokenizer.FromFolder(_dir));
        Assert.Contains("merges.txt", e.Message, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(_dir, "vocab.json"), "not json");
        File.WriteAllText(Path.Combine(_dir, "merges.txt"), "#version: 0.2\na b\n");
        var f = Assert.Throws<CheckpointFormatException>(() => ByteLevelBpeTokenizer.FromFolder(_dir));
        Assert.Contains("vocab.json", f.Message, StringComparison.Ordinal);
        Assert.Contains("ids must run", Assert.ThrowsAny<Exception>(() => ByteLevelBpeTokenizer.FromVocabulary(new Dictionary<string, int> { ["a"] = 0, ["b"] = 2 }, [])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gpt2.Value.Decode([50257]));
    }

    [Fact]
    public void Model_and_tokenizer_sizes_must_agree()
    {
        var e = Assert.Throws<ArgumentException>(() => Gpt2.Value.RequireVocabulary(512, "gpt2/model.safetensors"));
        Assert.Contains("50257 tokens", e.Message, StringComparison.Ordinal);
        Assert.Contains("512 rows", e.Message, StringComparison.Ordinal);
    }
}
