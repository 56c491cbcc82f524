using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Text;


namespace Reinforce.Tests.Rlhf;

public class DemoCorpusTests
{
    [Fact]
    public void Shipped_corpus_is_a_few_hundred_stories_of_plain_text()
    {
        string text = DemoCorpus.Stories;
        Assert.InRange(text.Length, 80_000, 300_000);
        Assert.DoesNotContain('\r', text);
        var stories = DemoCorpus.SplitStories(text);
        Assert.InRange(stories.Count, 250, 400);
        var tok = CharTokenizer.FromText(text);
        Assert.InRange(tok.VocabSize, 40, 70);
    }

    [Fact]
    public void Openings_are_the_first_words_of_each_story_once()
    {
        var o = DemoCorpus.Openings("Once upon a time, a cat.\n\nOnce upon a hill, a dog.\n\nBen had a ball.\n\nHi.", words: 3);
        Assert.Equal(["Once upon a", "Ben had a"], o);
        Assert.True(DemoCorpus.Openings(DemoCorpus.Stories).Count > 100);
    }

    [Fact]
    public void Cheerfulness_counts_cheerful_minus_gloomy_words()
    {
        Assert.Equal(2, TextScores.Cheerfulness("She smiled and laughed."));
        Assert.Equal(-1, TextScores.Cheerfulness("He was SAD, but happy, then lonely."));
        Assert.Equal(0, TextScores.Cheerfulness("happ sadness"));
        // The stories hold both moods, so a model trained on them writes either.
        var scores = DemoCorpus.SplitStories(DemoCorpus.Stories).SelectMany(s => s.Split(". ")).Select(TextScores.Cheerfulness).ToList();
        Assert.True(scores.Count(s => s > 0) > 300);
        Assert.True(scores.Count(s => s < 0) > 300);
    }
}
