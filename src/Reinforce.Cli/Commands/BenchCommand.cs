using System.CommandLine;
using System.Globalization;
using Reinforce.Algorithms;
using Reinforce.Training;
using Reinforce.Envs.ClassicControl;

namespace Reinforce.Cli.Commands;

/// <summary>
/// `reinforce bench`: for each seed, trains until an evaluation of 100 episodes reaches the threshold (or the budget
/// runs out) and prints a table: algorithm, environment, seed, steps to solve, training wall-clock, steps/s.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var env = new Option<string>("--env") { Description = "Environment id.", DefaultValueFactory = _ => "CartPole-v1" };
        var algo = TrainCommand.AlgoOption("the preset's or config's");
        var seeds = new Option<int>("--seeds") { Description = "Number of seeds (1, 2, ...).", DefaultValueFactory = _ => 10 }.AtLeast(1);
        var firstSeed = new Option<int>("--first-seed") { Description = "The first seed.", DefaultValueFactory = _ => 1 };
        var steps = new Option<long?>("--steps") { Description = "Budget per seed (default: the preset's total_steps)." };
        var evalEvery = new Option<long?>("--eval-every") { Description = "Evaluate every this many steps (default: every 10 rollouts, at most 50 times per budget)." };
        var episodes = new Option<int>("--episodes") { Description = "Episodes per evaluation.", DefaultValueFactory = _ => 100 }.AtLeast(1);
        var stochastic = new Option<bool>("--stochastic") { Description = "Evaluate with sampled actions instead of the most likely ones." };
        var config = new Option<string?>("--config") { Description = "A config file instead of the environment's preset." };
        var threads = new Option<int?>("--threads") { Description = "Threads for the network passes (default: the core count; results do not depend on it)." };
        var command = new Command("bench", "Measure steps and wall-clock seconds to solve an environment, over several seeds.")
        {
            env, algo, seeds, firstSeed, steps, evalEvery, episodes, stochastic, config, threads,
        };
        command.Subcommands.Add(SoakCommand.Create());
        command.SetAction(parse =>
        {
            try
            {
                var c = CultureInfo.InvariantCulture;
                TrainCommand.ApplyThreads(parse.GetValue(threads));
                var baseConfig = TrainCommand.BuildConfig(parse.GetValue(env), parse.GetValue(config), parse.GetValue(algo), parse.GetValue(steps), null, null);
                var resolved = baseConfig.Resolve();
                long rollout = (long)resolved.NumEnvs * resolved.AlgorithmOptions.NumSteps;
                long every = parse.GetValue(evalEvery) ?? Math.Max(10 * rollout, (resolved.TotalSteps / 50 + rollout - 1) / rollout * rollout);
                bool deterministic = !parse.GetValue(stochastic);
                Console.WriteLine($"{resolved.Algo.ToUpperInvariant()} on {resolved.Env}: budget {resolved.TotalSteps:N0} steps, {resolved.NumEnvs} envs, " +
                    $"evaluation of {parse.GetValue(episodes)} episodes ({(deterministic ? "deterministic" : "stochastic")}) every {every:N0} steps; {Environment.ProcessorCount} cores, {Tensors.Kernels.MaxThreads} threads.");
                Console.WriteLine($"{"algorithm",-9} {"env",-26} {"seed",4} {"steps to solve",14} {"seconds",8} {"steps/s",9} {"best eval",9}");
                var rows = new List<SolveBenchmarkRow>();
                for (int i = 0; i < parse.GetValue(seeds); i++)
                {
                    baseConfig.Seed = parse.GetValue(firstSeed) + i;
                    var row = SolveBenchmark.Run(baseConfig, every, parse.GetValue(episodes), deterministic);
                    rows.Add(row);
                    Console.WriteLine($"{row.Algorithm,-9} {row.Environment,-26} {row.Seed,4} {(row.StepsToSolve is long s ? s.ToString("N0", c) : "not solved"),14} " +
                        $"{row.TrainingSeconds.ToString("F2", c),8} {row.StepsPerSecond.ToString("N0", c),9} {row.BestEvaluation.ToString("F1", c),9}");
                }
                var solved = rows.Where(r => r.StepsToSolve is not null).ToList();
                Console.WriteLine($"solved {solved.Count} of {rows.Count}" + (solved.Count == 0 ? "." :
                    $"; median {Median(solved.Select(r => (double)r.StepsToSolve!.Value)).ToString("N0", c)} steps, " +
                    $"median {Median(solved.Select(r => r.TrainingSeconds)).ToString("F2", c)} s, worst {solved.Max(r => r.TrainingSeconds).ToString("F2", c)} s; " +
                    $"{(rows.Sum(r => r.Steps) / rows.Sum(r => r.TrainingSeconds)).ToString("N0", c)} steps/s overall."));
                // The distance to the machine's limit: stepping at its measured ns/step plus the network's products at their measured rate.
                var limit = SpeedLimit.Measure(baseConfig);
                double overall = rows.Sum(r => r.Steps) / rows.Sum(r => r.TrainingSeconds);
                double limitRate = limit.StepsPerSecond(resolved.NumEnvs);
                Console.WriteLine($"limit on this machine now: {limitRate.ToString("N0", c)} steps/s (stepping {limit.StepNanoseconds.ToString("F0", c)} ns/step, " +
                    $"rollout products {limit.RolloutGemmMicroseconds.ToString("F2", c)} µs/step, update products {(limit.UpdateGemmMicroseconds / 1e3).ToString("F2", c)} ms/update{(limit.UpdateOnTwoCores ? " (actor and critic on two cores: the slower side's)" : "")} " +
                    $"at {limit.UpdateGflops.ToString("F1", c)} GFLOP/s); this run at {(overall / limitRate).ToString("P0", c)} of it.");
                return solved.Count == rows.Count ? 0 : 1;
            }
            catch (ConfigurationException ex)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return 2;
            }
        });
        return command;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
