using BenchmarkDotNet.Attributes;
using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.Envs.Vector;

namespace Reinforce.Benchmarks.Algorithms;

/// <summary>
/// The two halves of a PPO iteration with the CartPole-v1 preset (8 environments × 32 steps, MLP 4-32-32 actor and
/// critic, 20 epochs of 2 minibatches of 128): <see cref="Update"/> is one whole update (40 minibatch steps: evaluate,
/// loss, backward, clip, Adam) on a fixed rollout, <see cref="Rollout"/> one rollout of 256 environment steps (stepping,
/// batched inference, buffer writes). The Allocated column is the steady-state allocation per update / rollout.
/// Run: <c>dotnet run -c Release --project benchmarks/Reinforce.Benchmarks -- --filter '*PpoUpdate*' --job short</c>
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class PpoUpdateBenchmarks
{
    private IVectorEnv _env = null!;
    private OnPolicyAgent _ppo = null!;
    private readonly TrainingMetrics _metrics = new();

    /// <summary>The run configuration measured (default: the CartPole-v1 preset; <c>ppo-cpu --config FILE</c> sets another).</summary>
    public Reinforce.Training.TrainingConfig Config { get; set; } = Reinforce.Training.TrainingConfig.Preset("CartPole-v1");

    [GlobalSetup]
    public void Setup()
    {
        var config = Config.Resolve();
        _env = Environments.MakeVector(config.Env, config.NumEnvs, unchecked((ulong)config.Seed));
        _ppo = Reinforce.Training.TrainingRun.CreateAgent(config, _env);
        _ppo.StartEnvironments();
        _ppo.CollectRollout();
        _ppo.RunUpdate(0.5, _metrics);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ppo.Dispose();
        _env.Dispose();
    }

    /// <summary>One PPO update on the same rollout (40 minibatch steps; divide by 40 for one step).</summary>
    [Benchmark]
    public void Update() => _ppo.RunUpdate(0.5, _metrics);

    /// <summary>One rollout: 32 steps of 8 environments with the policy's batched forward pass.</summary>
    [Benchmark]
    public void Rollout() => _ppo.CollectRollout();
}

/// <summary>
/// The same update and rollout timed by this thread's CPU time instead of wall time (<c>ppo-cpu [repeats] [--config FILE]</c>): on a
/// machine shared with other work, wall-clock benchmarks measure the queue for the cores, CPU time measures the work. When
/// PPO steps the critic on a second core (PpoPairedStep), this thread waits for it spinning, so its CPU time is the
/// update's critical path, not the work of both cores.
/// Prints the median CPU microseconds per update, per minibatch step and per rollout, and the bytes allocated per update and per rollout.
/// </summary>
public static class PpoUpdateCpuTime
{
    /// <summary>
    /// Runs <c>[repeats] [--config FILE]</c>: that many (default 200) updates and rollouts of the configuration (default the
    /// CartPole-v1 preset; e.g. <c>tools/bench/peers/cleanrl_cartpole.json</c>) and prints their medians and the limit.
    /// </summary>
    public static void Run(string[] args)
    {
        int configAt = Array.IndexOf(args, "--config");
        if (configAt >= 0 && configAt + 1 >= args.Length) throw new ArgumentException("ppo-cpu: --config needs a file (e.g. tools/bench/peers/cleanrl_cartpole.json).");
        var config = configAt >= 0 ? Reinforce.Training.TrainingConfig.Load(args[configAt + 1]) : Reinforce.Training.TrainingConfig.Preset("CartPole-v1");
        if (configAt >= 0) args = [.. args[..configAt], .. args[(configAt + 2)..]];
        int repeats = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 200;
        var bench = new PpoUpdateBenchmarks { Config = config };
        bench.Setup();
        var resolved = config.Resolve();
        int envs = resolved.NumEnvs, steps = resolved.AlgorithmOptions.NumSteps;
        var (batch, minibatches) = Reinforce.Training.SpeedLimit.Minibatches(resolved.AlgorithmOptions, envs);
        // Warm up for two seconds, not a fixed count: this process compiles in tiers, and a method reaches its final,
        // optimised code only after being called for a while (a 20-call warm-up left most of 300 samples measuring
        // earlier tiers: medians of 2.0-3.3 ms against 1.1-1.3 ms at 2,000 samples, same build, same minute).
        var warm = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 20 || warm.Elapsed.TotalSeconds < 2; i++) { bench.Update(); bench.Rollout(); }
        var update = new double[repeats];
        var rollout = new double[repeats];
        long allocated = 0, rolloutAllocated = 0;
        for (int i = 0; i < repeats; i++)
        {
            long bytes = GC.GetAllocatedBytesForCurrentThread();
            double t0 = ThreadCpuMicroseconds();
            bench.Update();
            double t1 = ThreadCpuMicroseconds();
            allocated += GC.GetAllocatedBytesForCurrentThread() - bytes;
            bytes = GC.GetAllocatedBytesForCurrentThread();
            bench.Rollout();
            double t2 = ThreadCpuMicroseconds();
            rolloutAllocated += GC.GetAllocatedBytesForCurrentThread() - bytes;
            update[i] = t1 - t0;
            rollout[i] = t2 - t1;
        }
        bench.Cleanup();
        Array.Sort(update);
        Array.Sort(rollout);
        var c = System.Globalization.CultureInfo.InvariantCulture;
        // The fastest tenth as well: on a shared machine other tenants only ever add time, so it moves less between sittings.
        Console.WriteLine(string.Create(c, $"{resolved.Env}, {envs} environments × {steps} steps, {minibatches} minibatches of {batch} per update"));
        Console.WriteLine(string.Create(c, $"update  median {update[repeats / 2]:F0} µs CPU ({update[repeats / 2] / minibatches:F1} µs per minibatch step; fastest tenth {update[repeats / 10]:F0} µs), {allocated / repeats} B allocated per update"));
        Console.WriteLine(string.Create(c, $"rollout median {rollout[repeats / 2]:F0} µs CPU ({rollout[repeats / 2] / steps:F2} µs per {envs}-environment step; fastest tenth {rollout[repeats / 10]:F0} µs), {rolloutAllocated / repeats} B allocated per rollout"));
        // The limit for the same shapes, measured now: the update's matrix products alone, and a rollout's stepping plus
        // its batched forward products (Training/SpeedLimit, as `reinforce bench` prints it).
        var limit = Reinforce.Training.SpeedLimit.Measure(config);
        double rolloutLimit = steps * (envs * limit.StepNanoseconds * 1e-3 + limit.RolloutGemmMicroseconds);
        Console.WriteLine(string.Create(c,
            $"limit: update products {limit.UpdateGemmMicroseconds:F0} µs at {limit.UpdateGflops:F1} GFLOP/s{(limit.UpdateOnTwoCores ? " (actor and critic on two cores: the slower side's)" : "")}, the update at {100 * limit.UpdateGemmMicroseconds / update[repeats / 2]:F0} % of it; " +
            $"rollout {rolloutLimit:F0} µs (stepping {limit.StepNanoseconds:F0} ns, products {limit.RolloutGemmMicroseconds:F2} µs per step), the rollout at {100 * rolloutLimit / rollout[repeats / 2]:F0} % of it"));
    }

    /// <summary>This thread's CPU time (Linux clock_gettime CLOCK_THREAD_CPUTIME_ID), in microseconds.</summary>
    private static double ThreadCpuMicroseconds()
    {
        ClockGetTime(3, out var time);
        return time.Seconds * 1e6 + time.Nanoseconds / 1e3;
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds, Nanoseconds;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);
}
