using Reinforce.Envs;
using Reinforce.Spaces;
using Reinforce.Envs.ClassicControl;
using Reinforce.Envs.Textbook;
using Reinforce.Envs.Vector;
using Reinforce.Envs.Wrappers;

namespace Reinforce.Tests.Envs;

public class WrapperTests
{
    [Fact]
    public void TimeLimit_truncates_keeps_terminated_and_refuses_steps_after_the_end()
    {
        var env = new TimeLimit<float[], int>(new ShortCorridor(), 3);
        env.Reset(0);
        Assert.False(env.Step(0).Done);
        Assert.False(env.Step(0).Done);
        var last = env.Step(0);
        Assert.True(last.Truncated);
        Assert.False(last.Terminated);
        Assert.Equal(3, env.ElapsedSteps);
        Assert.Throws<InvalidOperationException>(() => env.Step(0));
        env.Reset();
        Assert.Equal(0, env.ElapsedSteps);
        // Right, (reversed) left, right reaches the goal on the limit's last step: terminated and truncated together, as Gymnasium.
        env.Step(1);
        env.Step(0);
        var both = env.Step(1);
        Assert.True(both.Terminated);
        Assert.True(both.Truncated);
    }

    [Fact]
    public void RecordEpisodeStatistics_puts_return_and_length_in_the_last_steps_info()
    {
        var env = new RecordEpisodeStatistics<float[], int>(new ShortCorridor());
        env.Reset(0);
        Step<float[]> step;
        int n = 0;
        do { step = env.Step(n % 2 == 0 ? 1 : 0); n++; } while (!step.Done);
        Assert.True(step.Info.TryGet("episode", out EpisodeRecord record));
        Assert.Equal(n, record.Length);
        Assert.Equal(-n, record.Return);
        Assert.True(record.Terminated);
        Assert.Equal(1, env.EpisodeCount);
        Assert.Equal(-n, env.MeanReturn);
    }

    [Fact]
    public void NormalizeObservation_keeps_gymnasiums_running_statistics()
    {
        var env = new NormalizeObservation<int>(new CartPole());
        var raw = new List<float[]>();
        var inner = new CartPole();
        var (first, _) = env.Reset(4);
        raw.Add(inner.Reset(4).Observation);
        var normalized = new List<float[]> { first };
        for (int t = 0; t < 15; t++)
        {
            int action = t % 3 == 0 ? 1 : 0;
            normalized.Add(env.Step(action).Observation);
            raw.Add(inner.Step(action).Observation);
        }
        // Chan's merge from (mean 0, var 1, count 1e-4) equals pooling a pseudo-sample of weight 1e-4 at mean 0, variance 1.
        const double eps = 1e-4;
        int n = raw.Count;
        for (int j = 0; j < 4; j++)
        {
            double mean = raw.Sum(x => (double)x[j]) / (eps + n);
            double m2 = eps * 1.0 + eps * mean * mean + raw.Sum(x => (x[j] - mean) * (x[j] - mean));
            double variance = m2 / (eps + n);
            Assert.Equal(mean, env.Statistics.Mean[j], 12);
            Assert.Equal(variance, env.Statistics.Var[j], 12);
            Assert.Equal((float)((raw[^1][j] - mean) / Math.Sqrt(variance + 1e-8)), normalized[^1][j], 5);
        }
        Assert.Equal(eps + n, env.Statistics.Count, 12);
    }

    [Fact]
    public void NormalizeObservation_statistics_restore_and_freeze()
    {
        var trained = new NormalizeObservation<int>(new CartPole());
        trained.Reset(1);
        for (int t = 0; t < 8; t++) trained.Step(t % 2);
        var evaluation = new NormalizeObservation<int>(new CartPole()) { Frozen = true };
        evaluation.Statistics.Restore(trained.Statistics.Save());
        trained.Frozen = true;
        var a = trained.Reset(7).Observation;
        var b = evaluation.Reset(7).Observation;
        Assert.Equal(a, b);
        double count = evaluation.Statistics.Count;
        evaluation.Step(0);
        Assert.Equal(count, evaluation.Statistics.Count); // frozen: not updated
        var bad = Assert.Throws<ArgumentException>(() => evaluation.Statistics.Restore([0.0], [1.0], 1));
        Assert.Equal("Running statistics of size 4 need 4 means and variances; got 1 and 1.", bad.Message);
    }

    [Fact]
    public void NormalizeReward_divides_by_the_running_std_of_the_discounted_return()
    {
        var env = new NormalizeReward<float[], int>(new ShortCorridor(), gamma: 0.9);
        env.Reset(0);
        double g = 0;
        var returns = new List<double>();
        for (int t = 0; t < 6; t++)
        {
            var step = env.Step(1);
            g = g * 0.9 * (step.Terminated ? 0 : 1) + -1.0;
            returns.Add(g);
            double mean = returns.Sum() / (1e-4 + returns.Count);
            double variance = (1e-4 + 1e-4 * mean * mean + returns.Sum(r => (r - mean) * (r - mean))) / (1e-4 + returns.Count);
            Assert.Equal(-1.0 / Math.Sqrt(variance + 1e-8), step.Reward, 10);
            if (step.Done) env.Reset();
        }
    }

    [Fact]
    public void ClipAction_clips_before_the_environment_sees_the_action()
    {
        var clipped = new ClipAction<float[]>(new MountainCarContinuous());
        var plain = new MountainCarContinuous();
        clipped.Reset(3);
        plain.Reset(3);
        var a = clipped.Step([4f]);
        var b = plain.Step([1f]);
        Assert.Equal(b.Observation, a.Observation);
        Assert.Equal(b.Reward, a.Reward); // the penalty is on the clipped action now
        Assert.Equal("Box(-inf, inf, [1])", clipped.ActionSpace.ToString());
    }

    [Fact]
    public void RescaleAction_maps_minus_one_to_one_onto_the_environments_bounds()
    {
        var rescaled = new RescaleAction<float[]>(new Pendulum());
        var plain = new Pendulum();
        rescaled.Reset(5);
        plain.Reset(5);
        var a = rescaled.Step([0.25f]);
        var b = plain.Step([0.5f]);
        Assert.Equal(b.Observation, a.Observation);
        Assert.Equal(b.Reward, a.Reward);
        Assert.Equal("Box(-1, 1, [1])", rescaled.ActionSpace.ToString());
    }

    [Fact]
    public void FlattenObservation_turns_discrete_observations_into_one_hot_vectors_that_vectorise()
    {
        var env = new FlattenObservation<int, int>(new DiscreteCells());
        Assert.Equal("Box(0, 1, [4])", env.ObservationSpace.ToString());
        Assert.Equal([1f, 0f, 0f, 0f], env.Reset(0).Observation);
        Assert.Equal([0f, 1f, 0f, 0f], env.Step(1).Observation);
        using var vector = new SyncVectorEnv([Vectorizable.From(new FlattenObservation<int, int>(new DiscreteCells())), Vectorizable.From(new FlattenObservation<int, int>(new DiscreteCells()))]);
        vector.Reset(0);
        vector.Step([1, 0]);
        Assert.Equal([0f, 1f, 0f, 0f, 1f, 0f, 0f, 0f], vector.Observations.ToArray());
        // Without the wrapper the vector environment flattens through the space itself (one-hot), to the same rows.
        using var direct = new SyncVectorEnv([Vectorizable.From(new DiscreteCells()), Vectorizable.From(new DiscreteCells())]);
        direct.Reset(0);
        direct.Step([1, 0]);
        Assert.Equal(vector.Observations.ToArray(), direct.Observations.ToArray());
    }

    [Fact]
    public void Unwrapped_reaches_the_innermost_environment()
    {
        var env = new NormalizeObservation<int>(new RecordEpisodeStatistics<float[], int>(Environments.Make<float[], int>("CartPole-v1")));
        Assert.IsType<CartPole>(env.Unwrapped());
        Assert.Equal("CartPole-v1", env.Name);
    }

    [Fact]
    public void VectorNormalizeObservation_updates_with_each_batch_and_normalises_final_observations()
    {
        var inner = new SyncVectorEnv([new CartPole(), new CartPole(), new CartPole()], maxEpisodeSteps: 500);
        using var vector = new VectorNormalizeObservation(inner);
        vector.Reset(2);
        var reference = new RunningMeanStd(4);
        reference.Update(inner.Observations);
        var actions = new[] { 1, 1, 1 };
        bool sawFinal = false;
        for (int t = 0; t < 40; t++)
        {
            vector.Step(actions);
            reference.Update(inner.Observations);
            var expected = new float[12];
            reference.Normalize(inner.Observations, expected, 1e-8);
            Assert.Equal(expected, vector.Observations.ToArray());
            for (int i = 0; i < 3; i++)
            {
                if (!vector.Terminated[i]) continue;
                var final = new float[4];
                reference.Normalize(inner.FinalObservation(i), final, 1e-8);
                Assert.Equal(final, vector.FinalObservation(i).ToArray());
                sawFinal = true;
            }
        }
        Assert.True(sawFinal, "always pushing right ends episodes");
        Assert.Equal(reference.Mean, vector.Statistics.Mean);
        Assert.Equal(reference.Count, vector.Statistics.Count);
        vector.Frozen = true;
        vector.Step(actions);
        Assert.Equal(reference.Count, vector.Statistics.Count);
    }

    [Fact]
    public void VectorNormalizeReward_scales_raw_rewards_and_leaves_episode_statistics_raw()
    {
        using var vector = new VectorNormalizeReward(Environments.MakeVector("CartPole-v1", 2, seed: 1), gamma: 0.99);
        vector.Reset(1);
        var returns = new double[2];
        var reference = new RunningMeanStd(1);
        for (int t = 0; t < 60; t++)
        {
            vector.Step([1, 0]);
            for (int i = 0; i < 2; i++) returns[i] = returns[i] * 0.99 * (vector.Terminated[i] ? 0 : 1) + vector.RawRewards[i];
            reference.Update(returns);
            for (int i = 0; i < 2; i++) Assert.Equal((float)(vector.RawRewards[i] / Math.Sqrt(reference.VarSpan[0] + 1e-8)), vector.Rewards[i]);
            Assert.All(vector.CompletedEpisodes.ToArray(), e => Assert.Equal(e.Length, e.Return)); // +1 per step, unnormalised
        }
    }
}
