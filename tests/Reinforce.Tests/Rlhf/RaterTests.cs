using Reinforce.Rlhf.Data;


namespace Reinforce.Tests.Rlhf;

public class RaterTests
{
    private static double CountE(string text) => text.Count(c => c == 'e');

    [Fact]
    public void Deterministic_rater_picks_the_best_score_and_ties_within_the_margin()
    {
        var rater = new SimulatedRater(CountE, tieMargin: 1.5);
        Assert.Equal(RaterDecision.Pick(2), rater.Judge(new LabelItem("p", ["a", "e", "eeee"])));
        Assert.Equal(RaterDecision.Tie, rater.Judge(new LabelItem("p", ["ee", "e"])));
        Assert.Equal(RaterDecision.Tie, new SimulatedRater(CountE).Judge(new LabelItem("p", ["ae", "be"])));
    }

    [Fact]
    public void Noisy_rater_follows_the_bradley_terry_probability()
    {
        // Scores 1 and 0 at temperature 1: the first wins with probability sigmoid(1) = 0.731.
        var rater = new SimulatedRater(CountE, temperature: 1, rng: new Rng(3));
        var item = new LabelItem("p", ["e", "a"]);
        int wins = 0;
        const int n = 20_000;
        for (int i = 0; i < n; i++) if (rater.Judge(item).Index == 0) wins++;
        double expected = 1 / (1 + Math.Exp(-1));
        Assert.InRange((double)wins / n, expected - 0.015, expected + 0.015);
    }

    [Fact]
    public void Collect_turns_decisions_into_pairs()
    {
        var rater = new SimulatedRater((prompt, completion) => completion.Length);
        var pairs = PreferenceLabelling.Collect([new LabelItem("p", ["aa", "a", "aaa"]), new LabelItem("q", ["b", "b"])], rater);
        Assert.Equal(
            [new PreferencePair("p", "aaa", "aa"), new PreferencePair("p", "aaa", "a"), new PreferencePair("q", "b", "b", IsTie: true)],
            pairs);
    }

    [Fact]
    public void Simulated_rater_labels_a_file_and_resumes_like_a_person()
    {
        string path = Path.Combine(Path.GetTempPath(), $"reinforce-sim-{Guid.NewGuid():N}.jsonl");
        try
        {
            var items = Enumerable.Range(0, 6).Select(i => new LabelItem($"p{i}", [new string('e', i), "x"])).ToList();
            var rater = new SimulatedRater(CountE);
            var first = PreferenceLabelling.Run(items, rater, path, maxItems: 4);
            var second = PreferenceLabelling.Run(items, rater, path);
            Assert.Equal(4, first.Answered);
            Assert.Equal((2, 4), (second.Answered, second.AlreadyLabelled));
            var d = PreferenceFile.Load(path, strict: true);
            Assert.Equal(1, d.TieCount); // item 0: "" vs "x" both score 0
            Assert.Equal(5, d.Decisive.Count);
        }
        finally { File.Delete(path); }
    }
}
