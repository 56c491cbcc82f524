using System.CommandLine;
using System.Globalization;
using Reinforce.Algorithms;
using Reinforce.Training;

namespace Reinforce.Cli.Commands;

/// <summary>
/// `reinforce bench soak`: a long run of an environment's preset (checkpoints and evaluations as configured) that
/// prints resident memory, the live managed heap and the run folder's size at intervals, then their growth per
/// million steps: memory and disk must stay flat however long a run is.
/// </summary>
internal static class SoakCommand
{
    public static Command Create()
    {
        var env = new Option<string>("--env") { Description = "Environment id (its preset gives the settings).", DefaultValueFactory = _ => "CartPole-v1" };
        var steps = new Option<long>("--steps") { Description = "Environment steps to train.", DefaultValueFactory = _ => 10_000_000 };
        var every = new Option<long>("--every") { Description = "Print a reading every this many steps.", DefaultValueFactory = _ => 1_000_000 };
        var config = new Option<string?>("--config") { Description = "A config file instead of the environment's preset." };
        var output = new Option<string?>("--out") { Description = "The run folder (default: a temporary folder, deleted at the end)." };
        var threads = new Option<int?>("--threads") { Description = "Threads for the network passes (default: the core count)." };
        var command = new Command("soak", "Train for a long time and print resident memory and run-folder size at intervals (they must stay flat).")
        {
            env, steps, every, config, output, threads,
        };
        command.SetAction(parse =>
        {
            string? temporary = null;
            try
            {
                TrainCommand.ApplyThreads(parse.GetValue(threads));
                var cfg = TrainCommand.BuildConfig(parse.GetValue(env), parse.GetValue(config), null, parse.GetValue(steps), null, null);
                string dir = parse.GetValue(output) ?? (temporary = Path.Combine(Path.GetTempPath(), "reinforce-soak-" + Guid.NewGuid().ToString("N")[..8]));
                var c = CultureInfo.InvariantCulture;
                Console.WriteLine($"Soak: {cfg.Algo.ToUpperInvariant()} on {cfg.Env} for {cfg.TotalSteps:N0} steps, checkpoint every {cfg.CheckpointEverySteps:N0} (keep {cfg.KeepCheckpoints}), " +
                    $"evaluation every {cfg.Eval.EverySteps:N0}; run folder {dir}.");
                Console.WriteLine($"{"steps",12} {"seconds",8} {"RSS MB",8} {"heap MB",8} {"folder MB",9} {"ckpts",5}");
                static string Mb(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
                var samples = SoakBenchmark.Run(cfg, dir, parse.GetValue(every), s =>
                    Console.WriteLine($"{s.Steps,12:N0} {s.Elapsed.TotalSeconds.ToString("F0", c),8} {Mb(s.ResidentBytes),8} {Mb(s.ManagedBytes),8} {Mb(s.FolderBytes),9} {s.Checkpoints,5}"));
                Console.WriteLine($"Growth per million steps after the first reading: RSS {Mb((long)SoakBenchmark.GrowthPerMillionSteps(samples, s => s.ResidentBytes))} MB, " +
                    $"heap {Mb((long)SoakBenchmark.GrowthPerMillionSteps(samples, s => s.ManagedBytes))} MB, folder {Mb((long)SoakBenchmark.GrowthPerMillionSteps(samples, s => s.FolderBytes))} MB " +
                    $"(RSS {Mb(samples.Skip(1).Min(s => s.ResidentBytes))} to {Mb(samples.Skip(1).Max(s => s.ResidentBytes))} MB; folder at the end {Mb(samples[^1].FolderBytes)} MB).");
                return 0;
            }
            catch (Exception ex) when (ex is ConfigurationException or IOException or Envs.EnvironmentOutputException or ArgumentException or KeyNotFoundException)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return 2;
            }
            finally
            {
                if (temporary is not null && Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
            }
        });
        return command;
    }
}
