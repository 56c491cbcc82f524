using Reinforce.Rlhf.Text;


namespace Reinforce.Tests.Rlhf;

public class CharTokenizerTests
{
    [Fact]
    public void Vocabulary_is_the_distinct_characters_in_ordinal_order()
    {
        var tok = CharTokenizer.FromText("hello world\n");
        Assert.Equal("\n dehlorw", tok.Vocabulary);
        Assert.Equal(9, tok.VocabSize);
        Assert.Equal([4, 3, 5, 5, 6], tok.Encode("hello"));
    }

    [Fact]
    public void Encode_then_decode_gives_back_the_text()
    {
        const string text = "The cat sat.\nIt was happy!";
        var tok = CharTokenizer.FromText(text);
        Assert.Equal(text, tok.Decode(tok.Encode(text)));
    }

    [Fact]
    public void Extra_characters_join_the_vocabulary()
    {
        var tok = CharTokenizer.FromText("abc", "=\n");
        Assert.Equal("\n=abc", tok.Vocabulary);
    }

    [Fact]
    public void Unknown_character_is_named_with_its_position()
    {
        var tok = CharTokenizer.FromText("abc");
        var e = Assert.Throws<ArgumentException>(() => tok.Encode("abxc"));
        Assert.Contains("'x'", e.Message, StringComparison.Ordinal);
        Assert.Contains("position 2", e.Message, StringComparison.Ordinal);
        Assert.Equal([0, 1, 2], tok.EncodeKnown("abxc"));
        Assert.Equal("xy", tok.UnknownCharacters("axbycx"));
    }

    [Fact]
    public void Duplicate_vocabulary_characters_are_rejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new CharTokenizer("abca"));
        Assert.Contains("twice", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_rejects_ids_outside_the_vocabulary()
    {
        var tok = new CharTokenizer("ab");
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([0, 2]));
    }
}
