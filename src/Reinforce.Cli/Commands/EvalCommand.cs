using System.CommandLine;
using System.Globalization;
using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.IO;
using Reinforce.Training;

namespace Reinforce.Cli.Commands;

/// <summary>`reinforce eval &lt;run-dir|checkpoint&gt;`: evaluates a trained agent and prints mean ± std against the threshold.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("run-dir|checkpoint") { Description = "A run folder (its final/ or newest checkpoint is used) or a checkpoint folder." };
        var episodes = new Option<int>("--episodes") { Description = "Episodes to run.", DefaultValueFactory = _ => 100 };
        var stochastic = new Option<bool>("--stochastic") { Description = "Sample actions instead of taking the most likely one." };
        var seed = new Option<int>("--seed") { Description = "Seed of the evaluation environments.", DefaultValueFactory = _ => 12345 };
        var envAssembly = EnvironmentAssemblyOption.Create();
        var command = new Command("eval", "Evaluate a trained agent: mean ± std return against the environment's threshold.") { path, episodes, stochastic, seed, envAssembly };
        command.SetAction(parse =>
        {
            try
            {
                if (EnvironmentAssemblyOption.Apply(parse.GetValue(envAssembly)) is null) EnvironmentAssemblyOption.ApplyFromRun(parse.GetValue(path));
                string target = parse.GetValue(path)!;
                int count = parse.GetValue(episodes);
                if (count < 1) throw new ConfigurationException("--episodes", $"is {count}; evaluate at least 1 episode.");
                if (!Directory.Exists(target))
                    throw new ConfigurationException($"'{target}' does not exist. Pass a run folder made by `reinforce train` (for example runs/CartPole-v1-ppo-seed1-...) or a checkpoint folder (its final/ or checkpoints/step-N/).");
                string checkpoint = Checkpoint.Exists(target) ? target
                    : TrainingRun.LatestCheckpoint(target) ?? throw new ConfigurationException($"'{target}' is neither a checkpoint folder (with agent.json) nor a run folder with checkpoints.");
                using var agent = Checkpoint.Load(checkpoint);
                string envId = agent.EnvironmentId ?? throw new ConfigurationException($"The checkpoint '{checkpoint}' does not record its environment id.");
                using var env = Environments.MakeVector(envId, Math.Min(count, 10), unchecked((ulong)parse.GetValue(seed)));
                bool deterministic = !parse.GetValue(stochastic);
                var result = agent.Evaluate(env, count, deterministic, unchecked((ulong)parse.GetValue(seed)));
                double? threshold = Environments.Spec(envId).RewardThreshold;
                var c = CultureInfo.InvariantCulture;
                Console.WriteLine($"{agent.AlgorithmName.ToUpperInvariant()} on {envId}, checkpoint {checkpoint} (step {agent.StepsDone:N0})");
                Console.WriteLine($"{count} episodes ({(deterministic ? "deterministic" : "stochastic")}): mean return {result.Mean.ToString("F2", c)} ± {result.Std.ToString("F2", c)} " +
                    $"(min {result.Returns.Min().ToString("F1", c)}, max {result.Returns.Max().ToString("F1", c)}, mean length {result.MeanLength.ToString("F1", c)})");
                if (threshold is double t)
                    Console.WriteLine(result.Mean >= t ? $"Solved: the mean reaches the threshold {t.ToString("G", c)}." : $"Not solved: the mean is below the threshold {t.ToString("G", c)}.");
                return 0;
            }
            catch (Exception ex) when (ex is ConfigurationException or CheckpointFormatException or ArgumentException or IOException or Envs.EnvironmentOutputException or KeyNotFoundException)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return 2;
            }
        });
        return command;
    }
}
