using BenchmarkDotNet.Attributes;
using Reinforce.Envs;
using Reinforce.Envs.ClassicControl;
using Reinforce.Envs.Vector;

namespace Reinforce.Benchmarks.Envs;

/// <summary>
/// Raw stepping of the vectorised CartPole-v1 (SyncVectorEnv: time limit, auto-reset, final observations and episode
/// statistics included) with uniformly random actions drawn from Rng, on one thread. The reported time is per
/// environment step, so steps per second per core = 1e9 / (mean ns). Target: at least 20 million per core.
/// Run: dotnet run -c Release --project benchmarks/Reinforce.Benchmarks -- --filter '*CartPoleVector*' --job short
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class CartPoleVectorBenchmark
{
    private const int NumEnvs = 16;
    private const int StepsPerInvoke = 1024;

    private IVectorEnv _env = null!;
    private int[] _actions = null!;
    private Rng _rng = null!;

    [GlobalSetup]
    public void Setup()
    {
        _env = Environments.MakeVector("CartPole-v1", NumEnvs, seed: 1);
        _actions = new int[NumEnvs];
        _rng = new Rng(2UL);
    }

    [GlobalCleanup]
    public void Cleanup() => _env.Dispose();

    /// <summary>One environment step (of 16 × 1024 per invocation), including drawing its random action.</summary>
    [Benchmark(OperationsPerInvoke = NumEnvs * StepsPerInvoke)]
    public int StepRandomActions()
    {
        var env = _env;
        var actions = _actions;
        var rng = _rng;
        int finished = 0;
        for (int t = 0; t < StepsPerInvoke; t++)
        {
            for (int i = 0; i < actions.Length; i++) actions[i] = (int)(rng.NextUInt64() >> 63);
            env.Step(actions);
            finished += env.CompletedEpisodes.Length;
        }
        return finished;
    }
}
