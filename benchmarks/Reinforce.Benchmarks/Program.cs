using BenchmarkDotNet.Running;
using Reinforce.Benchmarks.Engine;

namespace Reinforce.Benchmarks;

public static class Program
{
    /// <summary>
    /// BenchmarkDotNet's switcher (e.g. <c>--filter *MatMul* --job short</c>), or <c>gflops</c> for a quick matrix-multiply
    /// throughput table (<c>gflops --help</c>), or <c>ppo-cpu [repeats] [--config FILE]</c> for the PPO update and rollout in CPU time (the CartPole-v1 preset, or the configuration given).
    /// </summary>
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "gflops")
        {
            GflopsReport.Run(args[1..]);
            return;
        }
        if (args.Length > 0 && args[0] == "ppo-cpu")
        {
            Algorithms.PpoUpdateCpuTime.Run(args[1..]);
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
