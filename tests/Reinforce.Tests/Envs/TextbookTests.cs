using Reinforce.Envs;
using Reinforce.Envs.Textbook;

namespace Reinforce.Tests.Envs;

public class TextbookTests
{
    private static (double Mean, double StandardError) Simulate(IEnvironment<float[], int> env, Func<Rng, float[], int> policy, int episodes, int seed)
    {
        var rng = new Rng(seed);
        double sum = 0, sumSquares = 0;
        env.Reset(seed);
        for (int e = 0; e < episodes; e++)
        {
            var (obs, _) = env.Reset();
            double episodeReturn = 0;
            Step<float[]> step;
            do
            {
                step = env.Step(policy(rng, obs));
                episodeReturn += step.Reward;
                obs = step.Observation;
            } while (!step.Done);
            sum += episodeReturn;
            sumSquares += episodeReturn * episodeReturn;
        }
        double mean = sum / episodes;
        double variance = sumSquares / episodes - mean * mean;
        return (mean, Math.Sqrt(variance / episodes));
    }

    [Theory]
    [InlineData(0.5857864376269049)] // 2 - sqrt(2), the best: v = -11.657
    [InlineData(0.4)]
    [InlineData(0.75)]
    public void ShortCorridor_value_of_a_fixed_probability_policy_matches_the_books_formula(double p)
    {
        var env = new ShortCorridor();
        var (mean, se) = Simulate(env, (rng, _) => rng.NextDouble() < p ? ShortCorridor.Right : ShortCorridor.Left, episodes: 20000, seed: 1);
        double expected = ShortCorridor.StartValue(p); // (2p - 4) / (p (1 - p)), Sutton & Barto Example 13.1
        Assert.True(se < 0.2, $"standard error {se}");
        Assert.True(Math.Abs(mean - expected) < 4 * se, $"p = {p}: simulated {mean:F3} ± {se:F3}, formula {expected:F3}");
    }

    [Fact]
    public void ShortCorridor_best_probability_and_value_are_the_books()
    {
        double best = 2 - Math.Sqrt(2);
        Assert.Equal(-11.657, ShortCorridor.StartValue(best), 3);
        // Simulated, the optimum beats its neighbours on either side by several standard errors.
        var env = new ShortCorridor();
        double Value(double p) => Simulate(env, (rng, _) => rng.NextDouble() < p ? 1 : 0, 20000, seed: 2).Mean;
        double atBest = Value(best);
        Assert.True(atBest > Value(0.45) + 0.4);
        Assert.True(atBest > Value(0.72) + 0.4);
    }

    [Fact]
    public void ShortCorridor_reverses_the_actions_in_its_second_state()
    {
        var env = new ShortCorridor();
        env.Reset(0);
        Assert.Equal(0, env.State);
        env.Step(ShortCorridor.Left);
        Assert.Equal(0, env.State); // left at the wall stays put
        env.Step(ShortCorridor.Right);
        Assert.Equal(1, env.State);
        env.Step(ShortCorridor.Right);
        Assert.Equal(0, env.State); // reversed: right goes left
        env.Step(ShortCorridor.Right);
        env.Step(ShortCorridor.Left);
        Assert.Equal(2, env.State); // reversed: left goes right
        var last = env.Step(ShortCorridor.Right);
        Assert.True(last.Terminated);
        Assert.Equal(-1.0, last.Reward);
        Assert.Equal([1f], last.Observation); // every state looks the same
    }

    [Fact]
    public void FryShack_rewards_a_fitting_order_and_ends_every_episode()
    {
        var env = new FryShack();
        double Policy(Func<float, int> choose, int seed) => Simulate(env, (_, obs) => choose(obs[0]), 20000, seed).Mean;
        double best = Policy(h => h > 0.5f ? FryShack.PlaceB : FryShack.PlaceA, 3);
        double alwaysB = Policy(_ => FryShack.PlaceB, 4);
        double worst = Policy(h => h > 0.5f ? FryShack.PlaceA : FryShack.PlaceB, 5);
        Assert.InRange(best, 0.57, 0.63);     // 0.8 - 0.2
        Assert.InRange(alwaysB, -0.03, 0.03); // hungry half the time
        Assert.InRange(worst, -0.63, -0.57);
    }

    [Fact]
    public void FryShack_serves_large_orders_at_norms_with_probability_0_8()
    {
        var env = new FryShack();
        env.Reset(9);
        int large = 0, hungry = 0;
        for (int i = 0; i < 10000; i++)
        {
            var (obs, _) = env.Reset();
            Assert.InRange(obs[0], 0f, 1f);
            if (obs[0] > 0.5f) hungry++;
            var step = env.Step(FryShack.PlaceB);
            Assert.True(step.Terminated);
            Assert.Equal(env.LastOrderWasLarge == obs[0] > 0.5f ? 1.0 : -1.0, step.Reward);
            if (env.LastOrderWasLarge) large++;
        }
        Assert.InRange(large / 10000.0, 0.78, 0.82);
        Assert.InRange(hungry / 10000.0, 0.48, 0.52);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(4.0)]
    public void Bandit_true_values_are_normal_around_the_mean_and_the_best_arm_averages_1_54_above_it(double mean)
    {
        var env = new KArmedBandit(10, mean);
        var values = new List<double>();
        double bestSum = 0;
        const int problems = 4000;
        for (int seed = 0; seed < problems; seed++)
        {
            env.Reset(seed);
            var q = env.TrueValues;
            values.AddRange(q);
            Assert.Equal(Array.IndexOf(q, q.Max()), env.OptimalAction);
            bestSum += q.Max();
        }
        double m = values.Average();
        double v = values.Average(x => (x - m) * (x - m));
        Assert.InRange(m, mean - 0.03, mean + 0.03);
        Assert.InRange(v, 0.96, 1.04);
        // The expected maximum of 10 standard normals is 1.5388: the best average reward in Sutton & Barto's Figure 2.2.
        Assert.InRange(bestSum / problems - mean, 1.50, 1.58);
    }

    [Fact]
    public void Bandit_rewards_are_normal_around_the_pulled_arms_true_value()
    {
        var env = new KArmedBandit();
        env.Reset(17);
        double q = env.TrueValues[3];
        var rewards = new List<double>();
        for (int i = 0; i < 10000; i++)
        {
            env.Reset(); // an unseeded reset keeps the problem
            var step = env.Step(3);
            Assert.True(step.Terminated);
            rewards.Add(step.Reward);
        }
        Assert.Equal(q, env.TrueValues[3]);
        double m = rewards.Average();
        Assert.InRange(m, q - 0.04, q + 0.04);
        Assert.InRange(rewards.Average(r => (r - m) * (r - m)), 0.95, 1.05);
    }

    [Fact]
    public void Bandit_vector_environment_holds_one_problem_per_copy_and_reports_the_optimal_action()
    {
        using var vector = Environments.MakeVector("Bandit-10arm-mean4", 8, seed: 5);
        var bandits = vector.Envs.Cast<KArmedBandit>().ToArray();
        Assert.Equal(8, bandits.Select(b => b.TrueValues[0]).Distinct().Count());
        Assert.All(bandits, b => Assert.Equal(4.0, b.Mean));
        var before = bandits.Select(b => b.TrueValues).ToArray();
        var optimal = bandits.Select(b => b.OptimalAction).ToArray();
        for (int t = 0; t < 20; t++) vector.Step(optimal);
        Assert.All(vector.Terminated.ToArray(), Assert.True);
        Assert.All(bandits, b => Assert.True(b.LastActionWasOptimal));
        for (int i = 0; i < 8; i++) Assert.Equal(before[i], bandits[i].TrueValues); // auto-resets keep each problem
    }
}
