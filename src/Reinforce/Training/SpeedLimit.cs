using System.Diagnostics;
using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.Envs.Vector;
using Reinforce.Tensors;

namespace Reinforce.Training;

/// <summary>
/// The machine's limit for a training configuration: the time a run of <c>steps</c> steps would take if it did nothing
/// but step the environments (at their measured ns per step, random actions) and run the network's matrix products
/// (timed here at the real shapes: the rollout's batched forward pass and every minibatch's forward and backward
/// products). Everything else a run does (autograd bookkeeping, element-wise passes, the optimizer, buffers, logging)
/// is overhead above this limit. <c>reinforce bench</c> prints its figure as a fraction of it.
/// </summary>
/// <param name="StepNanoseconds">One environment step (of the vector), measured.</param>
/// <param name="RolloutGemmMicroseconds">The policy's matrix products for one batched step of all environments.</param>
/// <param name="UpdateGemmMicroseconds">The matrix products (forward, weight gradients, input gradients) of one update.</param>
/// <param name="UpdateFlops">Floating-point operations of those products per update.</param>
/// <param name="StepsPerUpdate">Environment steps per update (environments × n_steps).</param>
public sealed record SpeedLimit(double StepNanoseconds, double RolloutGemmMicroseconds, double UpdateGemmMicroseconds, double UpdateFlops, long StepsPerUpdate)
{
    /// <summary>The limit's seconds for <paramref name="steps"/> environment steps of training.</summary>
    public double Seconds(long steps, int numEnvs)
    {
        double updates = (double)steps / StepsPerUpdate;
        return steps * StepNanoseconds * 1e-9 + (double)steps / numEnvs * RolloutGemmMicroseconds * 1e-6 + updates * UpdateGemmMicroseconds * 1e-6;
    }

    /// <summary>The limit's steps per second.</summary>
    public double StepsPerSecond(int numEnvs) => StepsPerUpdate / Seconds(StepsPerUpdate, numEnvs);

    /// <summary>The matrix products' rate at the update's shapes, GFLOP/s.</summary>
    public double UpdateGflops => UpdateFlops / (UpdateGemmMicroseconds * 1e3);

    /// <summary>Whether the update's products are split over two cores (PPO's actor and critic, <c>PpoPairedStep</c>): the limit is then the slower side's.</summary>
    public bool UpdateOnTwoCores { get; init; }

    /// <summary>
    /// Measures the limit for <paramref name="config"/> on this machine, now (a second or so): an agent is built to read
    /// its network's layer shapes; nothing is trained.
    /// </summary>
    public static SpeedLimit Measure(TrainingConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var resolved = config.Resolve();
        using var env = Environments.MakeVector(resolved.Env, resolved.NumEnvs, unchecked((ulong)resolved.Seed));
        using var agent = TrainingRun.CreateAgent(resolved, env);
        int envs = resolved.NumEnvs;
        var options = resolved.AlgorithmOptions;
        long rollout = (long)envs * options.NumSteps;
        var (batch, minibatches) = Minibatches(options, envs);

        // Layers: every rank-2 parameter is a weight [out, in]; the ones reading the observation need no input gradient.
        var weights = agent.Policy.NamedParameters().Select(n => n.Parameter.Value).Where(w => w.Rank == 2).ToArray();
        var layers = weights.Select(w => (Out: w.Shape[0], In: w.Shape[1])).ToArray();
        int observation = env.ObservationSize;

        double rolloutGemm = Time(layers, envs, observation, backward: false, out _);
        double minibatchGemm = Time(layers, batch, observation, backward: true, out double flops);
        // PPO's actor and critic on two cores (PpoPairedStep): the limit is the slower side's products.
        var paired = (agent as Ppo)?.PairedStep;
        bool twoCores = paired?.Applies(batch) == true;
        if (twoCores)
        {
            var critic = weights.Select(paired!.IsCritics).ToArray();
            double actorGemm = Time([.. layers.Where((_, i) => !critic[i])], batch, observation, backward: true, out _);
            double criticGemm = Time([.. layers.Where((_, i) => critic[i])], batch, observation, backward: true, out _);
            minibatchGemm = Math.Max(actorGemm, criticGemm);
        }
        return new SpeedLimit(MeasureStepNanoseconds(resolved.Env, envs, resolved.Seed), rolloutGemm, minibatchGemm * minibatches, flops * minibatches, rollout)
        {
            UpdateOnTwoCores = twoCores,
        };
    }

    /// <summary>
    /// The rows of one minibatch and the minibatches of one update for <paramref name="options"/> over
    /// <paramref name="envs"/> environments: PPO's batch size (at most the rollout) times its epochs; one minibatch of
    /// the whole rollout for the other algorithms.
    /// </summary>
    internal static (int Rows, long Count) Minibatches(OnPolicyOptions options, int envs)
    {
        long rollout = (long)envs * options.NumSteps;
        int batch = options is PpoOptions ppo ? (int)Math.Min(ppo.BatchSize, rollout) : (int)rollout;
        int epochs = options is PpoOptions p ? p.NumEpochs : 1;
        return (batch, epochs * ((rollout + batch - 1) / batch));
    }

    /// <summary>Median microseconds of one pass of the layers' products at <paramref name="rows"/> rows.</summary>
    private static double Time((int Out, int In)[] layers, int rows, int observation, bool backward, out double flops)
    {
        int largest = layers.Max(l => Math.Max(l.Out, l.In));
        var a = new float[rows * largest];
        var b = new float[largest * largest];
        var c = new float[Math.Max(rows, largest) * largest];
        Array.Fill(a, 0.5f);
        Array.Fill(b, 0.25f);
        flops = 0;
        foreach (var (o, i) in layers)
        {
            flops += 2.0 * rows * o * i;
            if (backward) flops += 2.0 * rows * o * i * (i == observation ? 1 : 2);
        }
        void Pass()
        {
            foreach (var (o, i) in layers)
            {
                // y = x·Wᵀ: from W as stored in a minibatch's pass; a rollout's step reads the Wᵀ the policy froze for it
                // (FusedMlp.Freeze), so its few rows take the same unpacked path as in training.
                Kernels.MatMul(a, b, c, rows, i, o, transposeB: backward);
                if (!backward) continue;
                Kernels.MatMul(a, a, b, o, rows, i, transposeA: true, accumulate: true);                   // dW += dzᵀ·x
                if (i != observation) Kernels.MatMul(a, b, c, rows, o, i);                                 // dx = dz·W
            }
        }
        for (int w = 0; w < 20; w++) Pass();
        var samples = new double[31];
        int reps = Math.Max(1, (int)(2e6 / Math.Max(flops, 1)));
        for (int s = 0; s < samples.Length; s++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int r = 0; r < reps; r++) Pass();
            samples[s] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds / reps;
        }
        Array.Sort(samples);
        return samples[samples.Length / 2];
    }

    /// <summary>Median ns per environment step of the vector with uniformly random actions.</summary>
    private static double MeasureStepNanoseconds(string envId, int envs, int seed)
    {
        using var env = Environments.MakeVector(envId, envs, unchecked((ulong)seed) + 17);
        env.Reset(unchecked((ulong)seed) + 17);
        var rng = new Rng(3);
        var samples = new double[15];
        const int steps = 200;
        for (int s = 0; s < samples.Length; s++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int t = 0; t < steps; t++) RandomStep(env, rng);
            samples[s] = Stopwatch.GetElapsedTime(t0).TotalNanoseconds / (steps * envs);
        }
        Array.Sort(samples);
        return samples[samples.Length / 2];
    }

    private static void RandomStep(IVectorEnv env, Rng rng)
    {
        int count = env.NumEnvs * Math.Max(env.ActionSize, 1);
        if (env.SingleActionSpace is Spaces.Box)
        {
            Span<float> continuous = stackalloc float[count];
            env.Step(continuous);
            return;
        }
        Span<int> actions = stackalloc int[count];
        if (env.SingleActionSpace is Spaces.Discrete discrete)
            for (int i = 0; i < actions.Length; i++) actions[i] = discrete.Start + (int)(rng.NextDouble() * discrete.N);
        env.Step(actions);
    }
}
