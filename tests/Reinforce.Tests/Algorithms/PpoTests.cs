using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.Envs.ClassicControl;

namespace Reinforce.Tests.Algorithms;

[Collection("Kernel paths")]   // asserts zero allocation in steady state: runs alone (see KernelPathsCollection)
public class PpoTests
{
    private sealed class Record : TrainingCallback
    {
        public List<TrainingMetrics> Updates { get; } = [];

        public override bool OnUpdate(Agent agent, TrainingMetrics metrics)
        {
            Updates.Add(metrics);
            return true;
        }
    }

    private static PpoOptions Small() => new()
    {
        Seed = 2, NumSteps = 32, BatchSize = 32, NumEpochs = 4, LearningRate = 1e-3f,
        Policy = new PolicyOptions { HiddenSizes = [16] },
    };

    private static float[] Weights(OnPolicyAgent agent) => agent.Policy.StateDict().Values.SelectMany(t => t.Data).ToArray();

    private static (float[] Weights, List<TrainingMetrics> Updates) Train(PpoOptions options, long steps)
    {
        using var env = Environments.MakeVector("CartPole-v1", 4, 0);
        using var agent = new Ppo(env, options);
        var record = new Record();
        agent.Learn(steps, [record]);
        return (Weights(agent), record.Updates);
    }

    [Fact]
    public void Learning_rate_and_clip_range_fall_linearly_to_zero_over_the_budget()
    {
        var o = Small();
        o.LearningRateSchedule = Schedule.Linear;
        o.ClipRangeSchedule = Schedule.Linear;
        var (_, updates) = Train(o, 1024);
        Assert.Equal(8, updates.Count);
        foreach (var m in updates)
        {
            double remaining = 1 - m.Steps / 1024.0;
            Assert.Equal(1e-3 * remaining, m["train/learning_rate"]!.Value, 6);
            Assert.Equal(0.2 * remaining, m["train/clip_range"]!.Value, 6);
            Assert.InRange(m["train/clip_fraction"]!.Value, 0, 1);
            Assert.True(m["train/approx_kl"] >= 0);
        }
    }

    [Fact]
    public void A_tiny_target_kl_stops_the_update_after_the_first_step()
    {
        var o = Small();
        o.TargetKl = 1e-12f;
        var (_, updates) = Train(o, 256);
        // The first minibatch starts at the rollout policy (KL 0) and takes its step; the second sees KL > 0 and stops.
        Assert.All(updates, m => Assert.Equal(1, m["train/epochs"]));
        var (_, free) = Train(Small(), 256);
        Assert.All(free, m => Assert.Equal(4, m["train/epochs"]));
    }

    [Fact]
    public void Value_clipping_changes_the_update_only_when_it_binds()
    {
        var plain = Train(Small(), 256).Weights;
        var loose = Small();
        loose.ClipRangeVf = 1e6f;
        var tight = Small();
        tight.ClipRangeVf = 1e-4f;
        var looseWeights = Train(loose, 256).Weights;
        var tightWeights = Train(tight, 256).Weights;
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i], looseWeights[i], 5);
        Assert.NotEqual(plain, tightWeights);
    }

    [Fact]
    public void The_presets_update_and_rollout_allocate_nothing_once_warm()
    {
        // reinforce train CartPole-v1: one process, the MLP policy's categorical head, shuffled transitions. Each update is
        // 40 minibatch steps (forward, the fused loss, backward, clipping, Adam), their tensors, gradients and graph nodes
        // lent by the step's arena; a rollout is 32 batched forward passes of the frozen networks.
        using var env = Environments.MakeVector("CartPole-v1", 8, seed: 1);
        using var agent = new Ppo(env, PpoOptions.For("CartPole-v1"));
        agent.StartEnvironments();
        var metrics = new TrainingMetrics();
        for (int i = 0; i < 2; i++)
        {
            agent.CollectRollout();
            agent.RunUpdate(0.5, metrics);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        agent.RunUpdate(0.5, metrics);
        agent.RunUpdate(0.6, metrics);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        before = GC.GetAllocatedBytesForCurrentThread();
        agent.CollectRollout();
        agent.CollectRollout();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(16)]
    [InlineData(131)]
    public void The_approximate_kl_and_clip_fraction_are_the_sums_in_order(int n)
    {
        // Vectorised terms, the sum still added in order: the same bits as the one-element-at-a-time definitions.
        var rng = new Rng(9);
        var ratio = new float[n];
        var logRatio = new float[n];
        for (int i = 0; i < n; i++)
        {
            logRatio[i] = (float)((2 * rng.NextDouble() - 1) * (i % 4 == 0 ? 1e-6 : 0.4));
            ratio[i] = MathF.Exp(logRatio[i]);
        }
        ratio[n - 1] = 1.2f;   // exactly at the clip range: not clipped
        double kl = 0;
        int clipped = 0;
        for (int i = 0; i < n; i++)
        {
            kl += (ratio[i] - 1.0) - logRatio[i];
            if (Math.Abs(ratio[i] - 1f) > 0.2f) clipped++;
        }
        Assert.Equal(BitConverter.DoubleToInt64Bits(kl / n), BitConverter.DoubleToInt64Bits(Ppo.ApproximateKl(ratio, logRatio)));
        Assert.Equal((double)clipped / n, Ppo.ClipFraction(ratio, 0.2f));
        if (n > 100) Assert.InRange(clipped, 1, n - 1);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(16)]
    [InlineData(67)]
    [InlineData(256)]
    public void Standardised_advantages_are_the_same_bits_as_one_at_a_time(int n)
    {
        var rng = new Rng(4);
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = (float)((2 * rng.NextDouble() - 1) * (i % 3 == 0 ? 1e3 : 1e-3));
        var expected = (float[])values.Clone();
        double mean = 0;
        foreach (var v in expected) mean += v;
        mean /= n;
        double ss = 0;
        foreach (var v in expected) ss += (v - mean) * (v - mean);
        double std = Math.Sqrt(ss / (n - 1));
        for (int i = 0; i < n; i++) expected[i] = (float)((expected[i] - mean) / (std + 1e-8));
        Minibatch.Standardize(values);
        for (int i = 0; i < n; i++) Assert.Equal(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(values[i]));
    }
}
