using Reinforce.Envs;
using Reinforce.Envs.ClassicControl;
using Reinforce.Envs.Vector;

namespace Reinforce.Tests.Envs;

public class VectorEnvTests
{
    [Fact]
    public void MakeVector_resets_copy_i_with_the_derived_seed()
    {
        using var vector = Environments.MakeVector("CartPole-v1", 4, seed: 123);
        Assert.Equal(4, vector.NumEnvs);
        Assert.Equal(4, vector.ObservationSize);
        Assert.Equal(1, vector.ActionSize);
        Assert.Equal(500, vector.MaxEpisodeSteps);
        Assert.Equal(16, vector.Observations.Length);
        for (int i = 0; i < 4; i++)
        {
            var single = new CartPole();
            var obs = new float[4];
            single.ResetInto(Rng.DeriveSeed(123, i), obs);
            Assert.Equal(obs, vector.Observations.Slice(i * 4, 4).ToArray());
        }
    }

    /// <summary>
    /// The vector environment against a straightforward reference: step each copy alone, and when its episode ends
    /// keep the last observation and reset it (without a seed). Bit for bit, including final observations and statistics.
    /// </summary>
    [Fact]
    public void Sync_vector_steps_autoresets_and_keeps_final_observations_like_single_environments()
    {
        const int n = 5, steps = 400, limit = 60;
        var singles = Enumerable.Range(0, n).Select(_ => new CartPole()).ToArray();
        using var vector = new SyncVectorEnv(Enumerable.Range(0, n).Select(_ => (IVectorizableEnv)new CartPole()).ToArray(), maxEpisodeSteps: limit);
        vector.Reset(9);
        var obs = new float[n][];
        var length = new int[n];
        var episodeReturn = new double[n];
        for (int i = 0; i < n; i++)
        {
            obs[i] = new float[4];
            singles[i].ResetInto(Rng.DeriveSeed(9, i), obs[i]);
        }
        var rng = new Rng(4);
        var actions = new int[n];
        int finished = 0;
        for (int t = 0; t < steps; t++)
        {
            for (int i = 0; i < n; i++) actions[i] = rng.NextInt(2);
            vector.Step(actions);
            var expectedEpisodes = new List<EpisodeRecord>();
            for (int i = 0; i < n; i++)
            {
                var s = singles[i].Step(actions[i]);
                length[i]++;
                episodeReturn[i] += s.Reward;
                bool truncated = length[i] >= limit;
                Assert.Equal((float)s.Reward, vector.Rewards[i]);
                Assert.Equal(s.Terminated, vector.Terminated[i]);
                Assert.Equal(truncated, vector.Truncated[i]);
                if (s.Terminated || truncated)
                {
                    Assert.Equal(s.Observation, vector.FinalObservation(i).ToArray());
                    Assert.Equal(s.Observation, vector.FinalObservations.Slice(i * 4, 4).ToArray());
                    expectedEpisodes.Add(new EpisodeRecord(i, episodeReturn[i], length[i], s.Terminated));
                    singles[i].ResetInto(null, obs[i]);
                    length[i] = 0;
                    episodeReturn[i] = 0;
                    finished++;
                }
                else
                {
                    obs[i] = s.Observation;
                }
                Assert.Equal(obs[i], vector.Observations.Slice(i * 4, 4).ToArray());
            }
            Assert.Equal(expectedEpisodes, vector.CompletedEpisodes.ToArray());
        }
        Assert.True(finished > 50, $"{finished} episodes finished during the run");
    }

    [Fact]
    public void Time_limit_truncates_and_reports_the_episode()
    {
        using var vector = new SyncVectorEnv([new Pendulum(), new Pendulum()], maxEpisodeSteps: 7);
        vector.Reset(1);
        var actions = new float[] { 0.5f, -0.5f };
        for (int t = 1; t <= 7; t++)
        {
            vector.Step(actions);
            bool last = t == 7;
            Assert.Equal(last, vector.Truncated[0]);
            Assert.Equal(last, vector.Truncated[1]);
            Assert.False(vector.Terminated[0]);
            Assert.Equal(last ? 2 : 0, vector.CompletedEpisodes.Length);
        }
        Assert.All(vector.CompletedEpisodes.ToArray(), e => { Assert.Equal(7, e.Length); Assert.False(e.Terminated); Assert.True(e.Return < 0); });
        var e = Assert.Throws<InvalidOperationException>(() => { vector.Step(actions); vector.FinalObservation(0); });
        Assert.Equal("Pendulum-v1 x2: environment 0 did not finish an episode in the last step, so it has no final observation; check Terminated or Truncated first.", e.Message);
    }

    [Fact]
    public void Sync_stepping_allocates_nothing()
    {
        using var vector = Environments.MakeVector("CartPole-v1", 16, seed: 3);
        var actions = new int[16];
        var rng = new Rng(1);
        void Run(int steps)
        {
            for (int t = 0; t < steps; t++)
            {
                for (int i = 0; i < actions.Length; i++) actions[i] = rng.NextInt(2);
                vector.Step(actions);
            }
        }
        Run(2000); // warm up (JIT, tiering)
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(5000);
        long after = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(0, after - before);
    }

    [Fact]
    public void Continuous_sync_stepping_allocates_nothing()
    {
        using var vector = Environments.MakeVector("Pendulum-v1", 8, seed: 3);
        var actions = new float[8];
        for (int t = 0; t < 1000; t++) vector.Step(actions);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int t = 0; t < 1000; t++) vector.Step(actions);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData("CartPole-v1")]
    [InlineData("Pendulum-v1")]
    [InlineData("Acrobot-v1")]
    public void Threaded_vector_gives_the_same_numbers_as_sync(string id)
    {
        using var sync = Environments.MakeVector(id, 7, seed: 11);
        using var threaded = Environments.MakeVector(id, 7, seed: 11, threaded: true, workers: 3);
        Assert.Equal(3, ((ThreadedVectorEnv)threaded).Workers);
        var rng = new Rng(2);
        var intActions = new int[7];
        var floatActions = new float[7];
        for (int t = 0; t < 300; t++)
        {
            if (sync.SingleActionSpace is Reinforce.Spaces.Discrete d)
            {
                for (int i = 0; i < 7; i++) intActions[i] = rng.NextInt(d.N);
                sync.Step(intActions);
                threaded.Step(intActions);
            }
            else
            {
                for (int i = 0; i < 7; i++) floatActions[i] = (float)rng.Uniform(-2, 2);
                sync.Step(floatActions);
                threaded.Step(floatActions);
            }
            Assert.Equal(sync.Observations.ToArray(), threaded.Observations.ToArray());
            Assert.Equal(sync.Rewards.ToArray(), threaded.Rewards.ToArray());
            Assert.Equal(sync.Terminated.ToArray(), threaded.Terminated.ToArray());
            Assert.Equal(sync.Truncated.ToArray(), threaded.Truncated.ToArray());
            Assert.Equal(sync.CompletedEpisodes.ToArray(), threaded.CompletedEpisodes.ToArray());
        }
    }

    [Fact]
    public void Threaded_vector_surfaces_an_environments_exception()
    {
        using var threaded = Environments.MakeVector("CartPole-v1", 4, seed: 1, threaded: true, workers: 2);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => threaded.Step([0, 1, 0, 5]));
        Assert.StartsWith("CartPole-v1: action 5 is outside the action space Discrete(2)", e.Message);
    }

    [Fact]
    public void Bad_action_batches_name_the_problem()
    {
        using var vector = Environments.MakeVector("CartPole-v1", 3, seed: 1);
        var length = Assert.Throws<ArgumentException>(() => vector.Step([0, 1]));
        Assert.StartsWith("CartPole-v1 x3: got 2 action values but 3 environments with action space Discrete(2) need 3 (1 per environment, row-major).", length.Message);
        var kind = Assert.Throws<ArgumentException>(() => vector.Step(new float[3]));
        Assert.StartsWith("CartPole-v1 x3: the action space Discrete(2) takes integer actions; call Step(ReadOnlySpan<int>) with 3 ints.", kind.Message);
        using var continuous = Environments.MakeVector("Pendulum-v1", 2, seed: 1);
        var wrongKind = Assert.Throws<ArgumentException>(() => continuous.Step([0, 0]));
        Assert.StartsWith("Pendulum-v1 x2: the action space Box(-2, 2, [1]) takes float actions; call Step(ReadOnlySpan<float>) with 2 floats (1 per environment).", wrongKind.Message);
    }

    [Fact]
    public void Step_before_reset_and_mismatched_copies_are_refused()
    {
        using var vector = new SyncVectorEnv([new CartPole(), new CartPole()]);
        var e = Assert.Throws<InvalidOperationException>(() => vector.Step([0, 0]));
        Assert.Equal("CartPole-v1 x2: Step was called before Reset. Call Reset(seed) first.", e.Message);
        var shared = new CartPole();
        var twice = Assert.Throws<ArgumentException>(() => new SyncVectorEnv([shared, shared]));
        Assert.StartsWith("Environment 1 (CartPole-v1) appears twice", twice.Message);
        var mixed = Assert.Throws<ArgumentException>(() => new SyncVectorEnv([new CartPole(), new Acrobot()]));
        Assert.StartsWith("Environment 1 (Acrobot-v1", mixed.Message);
    }

    [Fact]
    public void A_users_environment_on_the_generic_base_is_adapted_for_vectors()
    {
        Environments.Register("LineWalk-test", () => new LineWalk(), maxEpisodeSteps: 50);
        try
        {
            using var vector = Environments.MakeVector("LineWalk-test", 3, seed: 2);
            var right = new[] { 1, 1, 1 };
            int finished = 0;
            for (int t = 0; t < 12; t++)
            {
                vector.Step(right);
                finished += vector.CompletedEpisodes.Length;
                for (int i = 0; i < 3; i++)
                {
                    if (vector.Terminated[i]) Assert.Equal([1f], vector.FinalObservation(i).ToArray());
                }
            }
            Assert.True(finished >= 9, "walking right finishes an episode every 4 steps at most");
        }
        finally
        {
            Environments.Unregister("LineWalk-test");
        }
    }

    [Fact]
    public void MultiDiscrete_actions_are_batched_row_major()
    {
        using var vector = new SyncVectorEnv([new TwoCounters(), new TwoCounters()]);
        vector.Reset(1);
        Assert.Equal(2, vector.ActionSize);
        var start = vector.Observations.ToArray();
        vector.Step([2, 1, 0, 1]);
        Assert.Equal(start[0] + 2, vector.Observations[0]);
        Assert.Equal(1f, vector.Observations[1]);
        Assert.Equal(start[2], vector.Observations[2]);
        Assert.Equal(1f, vector.Observations[3]);
        Assert.Equal([3f, 1f], vector.Rewards.ToArray());
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => vector.Step([3, 0, 0, 0]));
        Assert.Contains("TwoCounters: action [3, 0] is outside the action space MultiDiscrete([3, 2])", bad.Message);
    }
}
