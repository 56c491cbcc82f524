using Reinforce.Algorithms.Textbook;

namespace Reinforce.Tests.Textbook;

/// <summary>Sutton &amp; Barto's published results, reproduced: Figures 13.1 and 13.2 (short corridor) and 2.5 (gradient bandit).</summary>
public class SuttonBartoTests
{
    private static readonly double OptimalPRight = 2 - Math.Sqrt(2); // 0.586, value ≈ −11.66

    [Fact]
    public void Figure_13_1_reinforce_with_alpha_2_pow_minus_12_reaches_the_optimum()
    {
        var curve = TextbookExperiments.ShortCorridorReinforce(alpha: Math.Pow(2, -12), runs: 100, episodes: 1000, seed: 1);
        Assert.InRange(curve.MeanOver(1, 10), -90, -40); // starts near the poor policy's value, ≈ −82 at p(right) = 0.05
        Assert.True(curve.MeanOver(901, 1000) > -12.5, $"episodes 901–1000 average {curve.MeanOver(901, 1000):F2}, expected better than −12.5");
        Assert.InRange(curve.FinalValue, OptimalPRight - 0.05, OptimalPRight + 0.05);
    }

    [Fact]
    public void Figure_13_1_a_smaller_step_learns_more_slowly()
    {
        var curve = TextbookExperiments.ShortCorridorReinforce(alpha: Math.Pow(2, -13), runs: 100, episodes: 1000, seed: 2);
        Assert.InRange(curve.MeanOver(91, 100), -42, -27);    // the book: about −34
        Assert.InRange(curve.MeanOver(901, 1000), -14, -11.7); // the book: about −12.6
    }

    [Fact]
    public void Figure_13_2_a_learned_baseline_learns_much_faster()
    {
        var withBaseline = TextbookExperiments.ShortCorridorReinforce(alpha: Math.Pow(2, -9), baselineAlpha: Math.Pow(2, -6), runs: 100, episodes: 1000, seed: 3);
        // The book's comparison: plain REINFORCE at its best step size, α = 2^-13, on the same episodes.
        var without = TextbookExperiments.ShortCorridorReinforce(alpha: Math.Pow(2, -13), baselineAlpha: null, runs: 100, episodes: 1000, seed: 3);
        Assert.True(withBaseline.MeanOver(91, 100) > -13, $"episodes 91–100 average {withBaseline.MeanOver(91, 100):F2}, expected better than −13");
        Assert.True(withBaseline.MeanOver(901, 1000) > -12.5);
        // Early on the baseline version is far ahead; by episode 1000 both approach the optimum v*(s0) ≈ −11.6.
        Assert.True(withBaseline.MeanOver(11, 100) > without.MeanOver(11, 100) + 5,
            $"episodes 11–100: with baseline {withBaseline.MeanOver(11, 100):F2}, without {without.MeanOver(11, 100):F2}; expected the baseline well ahead");
        Assert.True(withBaseline.MeanOver(1, 1000) > without.MeanOver(1, 1000),
            $"over all 1000 episodes: with baseline {withBaseline.MeanOver(1, 1000):F2}, without {without.MeanOver(1, 1000):F2}");
        Assert.True(without.MeanOver(901, 1000) > without.MeanOver(1, 100), "plain REINFORCE still learns, only slower");
    }

    [Fact]
    public void Figure_2_5_gradient_bandit_with_baseline_finds_the_best_arm_far_more_often()
    {
        var withBaseline = TextbookExperiments.GradientBandit(alpha: 0.1, useBaseline: true, runs: 2000, steps: 1000, meanReward: 4, seed: 4);
        var without = TextbookExperiments.GradientBandit(alpha: 0.1, useBaseline: false, runs: 2000, steps: 1000, meanReward: 4, seed: 4);
        Assert.InRange(withBaseline.FinalValue, 0.78, 0.90); // the book: about 84% optimal action at step 1000
        Assert.InRange(without.FinalValue, 0.40, 0.62);      // the book: about 50%
        Assert.InRange(withBaseline.OptimalActionFraction![0], 0.05, 0.15); // uniform at first: 1 in 10
    }

    [Fact]
    public void Gradient_bandit_update_matches_the_book_formula_by_hand()
    {
        var agent = new GradientBandit(3, alpha: 0.5, useBaseline: true);
        agent.Learn(action: 1, reward: 2.0); // baseline becomes 2.0, advantage 0: nothing moves
        Assert.All(agent.Preferences, h => Assert.Equal(0.0, h));
        agent.Learn(action: 2, reward: 5.0); // baseline (2+5)/2 = 3.5, advantage 1.5, π uniform 1/3
        Assert.Equal(-0.5 * 1.5 / 3, agent.Preferences[0], 12);
        Assert.Equal(0.5 * 1.5 * (2.0 / 3), agent.Preferences[2], 12);
    }
}
