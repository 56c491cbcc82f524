using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.Tensors;

namespace Reinforce.Tests.Algorithms;

/// <summary>
/// PPO's actor and critic on two cores (PpoPairedStep) against the one-thread step: the same bits in the weights, the
/// optimizer's moments and every logged figure, with and without clipping, early stopping and other optimizers. Runs in
/// the non-parallel collection because it sets the process-wide thread count.
/// </summary>
[Collection("Kernel paths")]
public class PpoPairedStepTests
{
    private sealed class Recorder : TrainingCallback
    {
        public List<string> Rows { get; } = [];

        public override bool OnUpdate(Agent agent, TrainingMetrics metrics)
        {
            Rows.Add(string.Join(",", metrics.Scalars.Where(s => !s.Key.StartsWith("time/", StringComparison.Ordinal))
                .OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}={BitConverter.DoubleToInt64Bits(s.Value):x}")));
            return true;
        }
    }

    /// <summary>Runs <paramref name="body"/> with <see cref="Kernels.MaxThreads"/> at <paramref name="threads"/>.</summary>
    private static T OnThreads<T>(int threads, Func<T> body)
    {
        int saved = Kernels.MaxThreads;
        Kernels.MaxThreads = threads;
        try
        {
            return body();
        }
        finally
        {
            Kernels.MaxThreads = saved;
        }
    }

    private static void OnThreads(int threads, Action body) => OnThreads(threads, () => { body(); return 0; });

    private const int Epochs = 6;

    private sealed record Outcome(float[][] Weights, float[][] Moments, long OptimizerSteps, List<string> Metrics, long Paired, long Shared);

    private static Outcome Train(int threads, Action<PpoOptions>? configure = null, int hidden = 64)
    {
        return OnThreads(threads, () =>
        {
            var options = PpoOptions.For("CartPole-v1");
            options.Policy.HiddenSizes = [hidden, hidden];
            options.NumEpochs = Epochs;
            configure?.Invoke(options);
            using var env = Environments.MakeVector("CartPole-v1", 8, 11);
            using var agent = new Ppo(env, options);
            var recorder = new Recorder();
            agent.Learn(6 * options.NumSteps * 8, [recorder]);
            var state = agent.Optimizer.GetState();
            return new Outcome(
                [.. agent.Policy.NamedParameters().Select(p => p.Parameter.Value.ToArray())],
                [.. state.Parameters.SelectMany(p => p.Buffers.OrderBy(b => b.Key, StringComparer.Ordinal).Select(b => b.Value))],
                state.StepCount, recorder.Rows, agent.PairedStep?.Minibatches ?? 0, agent.PairedStep?.SharedUpdates ?? 0);
        });
    }

    private static void AssertSameBits(Outcome one, Outcome two)
    {
        Assert.Equal(one.Weights.Length, two.Weights.Length);
        for (int i = 0; i < one.Weights.Length; i++) Assert.Equal(one.Weights[i], two.Weights[i]);   // float equality: the same bits (no NaN here)
        Assert.Equal(one.Moments.Length, two.Moments.Length);
        for (int i = 0; i < one.Moments.Length; i++) Assert.Equal(one.Moments[i], two.Moments[i]);
        Assert.Equal(one.OptimizerSteps, two.OptimizerSteps);
        Assert.Equal(one.Metrics, two.Metrics);
    }

    [Fact]
    public void Two_cores_give_the_same_bits_as_one_for_the_CartPole_preset_with_CleanRL_s_64_wide_networks()
    {
        var one = Train(1);
        var two = Train(2);
        Assert.Equal(0, one.Paired);
        // Whether an update pairs depends on timing (PairNextUpdate measures both ways), so the run mixes both: each is the same bits.
        Assert.True(two.Paired > 0 && two.Shared == two.Paired, $"the paired step ran {two.Paired} minibatches, {two.Shared} with shared updates");
        AssertSameBits(one, two);
        Assert.NotEqual(one.Weights[0], Train(1, o => o.Seed = 5).Weights[0]);   // the comparison can tell runs apart
    }

    [Fact]
    public void Two_cores_give_the_same_bits_with_three_layers_no_clipping_and_value_clipping()
    {
        void Configure(PpoOptions o)
        {
            o.MaxGradNorm = null;
            o.ClipRangeVf = 0.2f;
            o.EntropyCoef = 0.01f;
        }
        void ThreeLayers(PpoOptions o)
        {
            Configure(o);
            o.Policy.HiddenSizes = [48, 64, 48];
        }
        var one = Train(1, ThreeLayers);
        var two = Train(2, ThreeLayers);
        Assert.True(two.Paired > 0);
        AssertSameBits(one, two);
    }

    [Fact]
    public void Two_cores_give_the_same_bits_when_the_KL_stops_an_update_early()
    {
        void Configure(PpoOptions o) => o.TargetKl = 1e-4f;
        var one = Train(1, Configure);
        var two = Train(2, Configure);
        Assert.Contains(one.Metrics, row => !row.Contains($"train/epochs={BitConverter.DoubleToInt64Bits(Epochs):x}", StringComparison.Ordinal));   // some update stopped early
        Assert.True(two.Paired > 0);
        AssertSameBits(one, two);
    }

    [Fact]
    public void An_optimizer_that_steps_parameters_together_runs_its_step_on_one_thread_with_the_same_bits()
    {
        void Configure(PpoOptions o) => o.Optimizer = OptimizerKind.RmsProp;
        var one = Train(1, Configure);
        var two = Train(2, Configure);
        Assert.True(two.Paired > 0);
        Assert.Equal(0, two.Shared);
        AssertSameBits(one, two);
    }

    [Fact]
    public void Each_update_runs_the_way_that_measured_faster_and_now_and_then_the_other()
    {
        // Updates whose two-core minibatches take `factor` times the one-thread time; returns each update's choice.
        static List<bool> Choices(double factor, int updates, double laterFactor = double.NaN, int from = int.MaxValue) => OnThreads(2, () =>
        {
            var options = PpoOptions.For("CartPole-v1");
            options.Policy.HiddenSizes = [64, 64];
            using var env = Environments.MakeVector("CartPole-v1", 8, 11);
            using var agent = new Ppo(env, options);
            var paired = agent.PairedStep!;
            Assert.False(paired.Applies(16));   // too little work to pay for the hand-overs
            var choices = new List<bool>();
            for (int u = 1; u <= updates; u++)
            {
                bool pair = paired.PairNextUpdate(128);
                double f = u >= from ? laterFactor : factor;
                // Each way's first update compiles its code: a second, not counted.
                bool first = choices.Count(c => c == pair) == 0;
                paired.Record(pair, first ? 1.0 : pair ? 20e-6 * f : 20e-6);
                choices.Add(pair);
            }
            return choices;
        });

        // Two cores 10 % faster: one thread twice (the first not counted), two twice, then two cores except every eighth
        // update (the 8th, 16th, 24th), which measures one thread again.
        var close = Choices(0.9, 24);
        Assert.Equal([false, false, true, true], close.Take(4));
        for (int u = 5; u <= 24; u++) Assert.Equal(u % PpoPairedStep.ProbeEvery != 0, close[u - 1]);

        // Two cores twice as fast: the slower way is probed four times as rarely (the 32nd update, not the 8th or 16th).
        var far = Choices(0.5, 40);
        for (int u = 5; u <= 40; u++) Assert.Equal(u % (4 * PpoPairedStep.ProbeEvery) != 0, far[u - 1]);

        // When two cores turn slower (another process took a core), the updates go back to one thread.
        var turned = Choices(0.9, 40, laterFactor: 4.0, from: 12);
        Assert.Equal([false, false, false, false], turned.Skip(36).Take(4));   // updates 37-40: one thread, no probe due
    }

    [Fact]
    public void A_paired_update_allocates_nothing_once_warm_on_either_thread()
    {
        OnThreads(2, () =>
        {
            var options = PpoOptions.For("CartPole-v1");
            options.Policy.HiddenSizes = [64, 64];
            using var env = Environments.MakeVector("CartPole-v1", 8, seed: 1);
            using var agent = new Ppo(env, options);
            agent.StartEnvironments();
            var metrics = new TrainingMetrics();
            var step = agent.PairedStep!;
            // Both ways warm, then updates that switch between them (as the per-update choice does).
            for (int i = 0; i < 6; i++)
            {
                step.Forced = i % 2 == 0;
                agent.CollectRollout();
                agent.RunUpdate(0.5, metrics);
            }
            long paired = step.Minibatches, byWorker = step.Pieces.ByWorker;
            // This thread's allocations, and the worker thread's while it runs the critic's pieces (the test host's own
            // threads allocate meanwhile, so the process's total cannot tell).
            long mine = GC.GetAllocatedBytesForCurrentThread();
            long workers = step.WorkerAllocatedBytes;
            // At least four updates, and on until the worker has run one of the critic's pieces: on a busy machine (the
            // parallel tests, a background compiler) the caller may run every piece of a few updates itself.
            for (int i = 0; i < 4 || (step.Pieces.ByWorker == byWorker && i < 60); i++)
            {
                step.Forced = i % 2 == 0;
                agent.RunUpdate(0.5, metrics);
            }
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - mine);
            Assert.Equal(0, step.WorkerAllocatedBytes - workers);
            Assert.True(step.Minibatches > paired, "no update was paired");
            Assert.True(step.Pieces.ByWorker > byWorker, "the worker ran no piece");
        });
    }

    [Fact]
    public void A_diverged_actor_fails_the_update_with_the_same_message_on_two_cores_and_the_agent_can_go_on()
    {
        string Fail(int threads)
        {
            return OnThreads(threads, () =>
            {
                var options = PpoOptions.For("CartPole-v1");
                options.Policy.HiddenSizes = [64, 64];
                using var env = Environments.MakeVector("CartPole-v1", 8, seed: 1);
                using var agent = new Ppo(env, options);
                if (threads > 1) agent.PairedStep!.Forced = true;   // the failing update is a paired one
                agent.StartEnvironments();
                var metrics = new TrainingMetrics();
                for (int i = 0; i < 5; i++)
                {
                    agent.CollectRollout();
                    agent.RunUpdate(0.5, metrics);
                }
                var weight = agent.Policy.NamedParameters().First(p => p.Name == "actor.0.weight").Parameter.Value.Data;
                float kept = weight[0];
                weight[0] = float.NaN;
                var e = Assert.Throws<ArgumentException>(() => agent.RunUpdate(0.5, metrics));
                weight[0] = kept;
                long before = agent.PairedStep?.Minibatches ?? 0;
                agent.RunUpdate(0.5, metrics);   // no piece left in flight: the next update runs
                if (threads > 1) Assert.True(agent.PairedStep!.Minibatches > before);
                return e.Message;
            });
        }
        string one = Fail(1);
        Assert.Contains("Logits must be finite", one, StringComparison.Ordinal);
        Assert.Equal(one, Fail(2));
    }
}
