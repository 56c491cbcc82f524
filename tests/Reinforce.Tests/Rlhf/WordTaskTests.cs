using Reinforce.Rlhf.Training;


namespace Reinforce.Tests.Rlhf;

public class WordTaskTests
{
    [Fact]
    public void Reverse_task_rewards_positions_and_checks_exact_answers()
    {
        var task = new ReverseWordTask();
        Assert.Equal("cba", task.Answer("abc"));
        Assert.True(task.IsCorrect("abc=", "cba\n"));
        Assert.True(task.IsCorrect("abc=", "cba\nextra"));
        Assert.False(task.IsCorrect("abc=", "cba"));   // not terminated
        Assert.False(task.IsCorrect("abc=", "cbaa\n"));
        Assert.Equal(1.0, task.Reward("abc=", "cba\n"));
        Assert.Equal(2.0 / 3.0, task.Reward("abc=", "cbx\n"), 10);
        Assert.Equal(0.75, task.Reward("abc=", "cbaa\n"));    // 3 right of 4 written
        Assert.Equal(0.75, task.Reward("abc=", "cba"));       // right but unterminated
        Assert.Equal(0.0, task.Reward("abc=", "\n"));
    }

    [Fact]
    public void Repeat_task_wants_the_word_itself()
    {
        var task = WordTask.Create("repeat");
        Assert.True(task.IsCorrect("abc=", "abc\n"));
        Assert.Equal([1f, 1f / 3f], task.Score(["abc=", "abc="], ["abc\n", "cba\n"]));
    }

    [Fact]
    public void Pretraining_text_shuffles_each_word_without_changing_its_letters()
    {
        var task = new ReverseWordTask("abcdef", 3, 5);
        var lines = task.PretrainingText(new Rng(1), 400).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(400, lines.Length);
        int reversed = 0;
        foreach (var line in lines)
        {
            var parts = line.Split('=');
            Assert.Equal(2, parts.Length);
            Assert.InRange(parts[0].Length, 3, 5);
            Assert.Equal(parts[0].Order(), parts[1].Order());
            if (task.IsCorrect(parts[0] + "=", parts[1] + "\n")) reversed++;
        }
        // A random shuffle is the reversal only by chance (about 1 in 3! to 5!, more with repeated letters).
        Assert.InRange(reversed, 5, 80);
    }

    [Fact]
    public void Unknown_task_names_the_built_in_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => WordTask.Create("sort"));
        Assert.Contains("'reverse' and 'repeat'", e.Message, StringComparison.Ordinal);
    }
}
