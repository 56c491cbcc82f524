using Reinforce.Envs;
using Reinforce.Envs.Textbook;

namespace Reinforce.Algorithms.Textbook;

/// <summary>The averaged learning curve of a textbook experiment.</summary>
/// <param name="MeanPerEpisode">Mean over runs of the return of each episode (or reward of each step, for bandits).</param>
/// <param name="FinalValue">Mean over runs of the experiment's final summary value (p(right) for the corridor).</param>
/// <param name="OptimalActionFraction">For bandits: the fraction of runs that took the optimal action at each step.</param>
public sealed record ExperimentCurve(double[] MeanPerEpisode, double FinalValue, double[]? OptimalActionFraction = null)
{
    /// <summary>The mean of <see cref="MeanPerEpisode"/> over episodes <paramref name="first"/>..<paramref name="last"/> (1-based, inclusive).</summary>
    public double MeanOver(int first, int last) => MeanPerEpisode.Skip(first - 1).Take(last - first + 1).Average();
}

/// <summary>
/// The experiments behind Sutton &amp; Barto's Figures 13.1/13.2 (REINFORCE on the short corridor) and 2.5
/// (the gradient bandit on the 10-armed testbed), run on the library's registered environments and averaged over runs.
/// Each run r uses the seed <c>Rng.DeriveSeed(seed, r)</c>, so results are reproducible bit for bit.
/// </summary>
public static class TextbookExperiments
{
    /// <summary>
    /// REINFORCE (optionally with a learned baseline) on ShortCorridor from θ = [−1.47, 1.47] (p(right) ≈ 0.05), γ = 1,
    /// <paramref name="runs"/> runs of <paramref name="episodes"/> episodes. The final value is the mean p(right) after the last episode.
    /// </summary>
    public static ExperimentCurve ShortCorridorReinforce(double alpha, double? baselineAlpha = null, int runs = 100, int episodes = 1000, ulong seed = 0)
    {
        var sum = new double[episodes];
        double finalPRight = 0;
        for (int run = 0; run < runs; run++)
        {
            var rng = new Rng(Rng.DeriveSeed(seed, run));
            // The bare corridor, without the registry's time limit: the book's episodes always run to the goal.
            var env = new ShortCorridor();
            var agent = LinearSoftmaxReinforce.ForShortCorridor(alpha, baselineAlpha);
            for (int e = 0; e < episodes; e++)
            {
                env.Reset(run * episodes + e);
                bool done = false;
                while (!done)
                {
                    int action = agent.Act(rng);
                    var step = env.Step(action);
                    agent.Observe(action, step.Reward);
                    done = step.Done;
                }
                sum[e] += agent.EndEpisode();
            }
            finalPRight += agent.Probabilities[1];
        }
        return new ExperimentCurve(sum.Select(s => s / runs).ToArray(), finalPRight / runs);
    }

    /// <summary>
    /// The gradient bandit on the 10-armed testbed with true values q*(a) ~ N(<paramref name="meanReward"/>, 1):
    /// <paramref name="runs"/> runs of <paramref name="steps"/> steps; reports the mean reward and the fraction of optimal actions per step.
    /// </summary>
    public static ExperimentCurve GradientBandit(double alpha, bool useBaseline, int runs = 2000, int steps = 1000, double meanReward = 4.0, int arms = 10, ulong seed = 0)
    {
        var rewardSum = new double[steps];
        var optimalCount = new double[steps];
        for (int run = 0; run < runs; run++)
        {
            var rng = new Rng(Rng.DeriveSeed(seed, run));
            var bandit = new KArmedBandit(arms, meanReward);
            bandit.Reset(unchecked((int)Rng.DeriveSeed(seed ^ 0xBA4D17, run)));
            var agent = new GradientBandit(arms, alpha, useBaseline);
            int best = bandit.OptimalAction;
            for (int t = 0; t < steps; t++)
            {
                if (t > 0) bandit.Reset(); // each pull is a one-step episode; the same problem persists until reseeded
                int action = agent.Act(rng);
                var step = bandit.Step(action);
                agent.Learn(action, step.Reward);
                rewardSum[t] += step.Reward;
                if (action == best) optimalCount[t]++;
            }
        }
        return new ExperimentCurve(rewardSum.Select(s => s / runs).ToArray(), optimalCount[^1] / runs, optimalCount.Select(c => c / runs).ToArray());
    }
}
