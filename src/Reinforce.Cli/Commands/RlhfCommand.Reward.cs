using System.CommandLine;
using System.Globalization;
using Reinforce.Algorithms;
using Reinforce.Rlhf.Training;
using Reinforce.Training;

namespace Reinforce.Cli.Commands;

internal static partial class RlhfCommand
{
    /// <summary>`reinforce rlhf reward &lt;preferences.jsonl&gt;`: trains a reward model on preference pairs in a run folder and reports held-out accuracy.</summary>
    private static Command CreateReward()
    {
        var preferences = new Argument<string?>("preferences") { Description = "JSONL preference pairs: {\"prompt\", \"chosen\", \"rejected\"} or TRL's implicit-prompt {\"chosen\", \"rejected\"}.", Arity = ArgumentArity.ZeroOrOne };
        var model = new Option<string?>("--model", "-m") { Description = "Language-model checkpoint whose trunk the reward model starts from." };
        var output = new Option<string>("--out", "-o") { Description = "Run folder (config.json, metrics.csv, TensorBoard events, checkpoints); the reward model is its reward.safetensors. A path ending in .safetensors names the model file inside its folder.", DefaultValueFactory = _ => Path.Combine("runs", "reward") };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training pairs.", DefaultValueFactory = _ => 4 };
        var batch = new Option<int>("--batch") { Description = "Pairs per step.", DefaultValueFactory = _ => 32 };
        var lr = new Option<float>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => 1e-3f };
        var holdout = new Option<double>("--holdout") { Description = "Share of the pairs held out (by prompt) to measure accuracy.", DefaultValueFactory = _ => 0.2 };
        var noTies = new Option<bool>("--no-ties") { Description = "Leave ties out of training (by default they pull the two rewards together)." };
        var strict = new Option<bool>("--strict") { Description = "Stop at the first broken line of the preference file instead of skipping it." };
        var evalEvery = new Option<int>("--eval-every") { Description = "Measure the held-out accuracy every this many steps (and at the end).", DefaultValueFactory = _ => 50 };
        var saveEvery = new Option<int>("--save-every") { Description = "Save a checkpoint every this many steps (and at the end).", DefaultValueFactory = _ => 50 };
        var seed = new Option<int>("--seed") { Description = "Seed of the head, the split and the shuffling.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int?>("--threads") { Description = "Threads (default: the core count)." };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder from its newest checkpoint, with the settings in its config.json." };
        var distributed = new Option<string?>("--distributed") { Description = "Data-parallel over MPI ranks: mpi (start with mpirun -np N reinforce rlhf reward ... --distributed mpi)." };
        var command = new Command("reward", "Train a reward model (GPT trunk + scalar head, Bradley-Terry loss) on preference pairs.")
        {
            preferences, model, output, epochs, batch, lr, holdout, noTies, strict, evalEvery, saveEvery, seed, threads, resume, distributed,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(Guard(() =>
        {
            ApplyThreads(parse.GetValue(threads));
            string? resumeDir = parse.GetValue(resume);
            RewardRunConfig? config = null;
            string dir;
            if (resumeDir is not null)
            {
                if (parse.GetValue(preferences) is not null || parse.GetValue(model) is not null)
                    throw new ConfigurationException("--resume continues a run with the settings in its config.json; leave out the preference file and --model.");
                dir = resumeDir;
            }
            else
            {
                string path = parse.GetValue(preferences) ?? throw new ConfigurationException("preferences", "is missing; give the JSONL file of preference pairs (or --resume RUN_DIR to continue a run).");
                string lm = parse.GetValue(model) ?? throw new ConfigurationException("--model", "is missing; give the language model the reward model starts from, e.g. --model runs/lm/model.safetensors.");
                dir = parse.GetValue(output)!;
                string modelFile = RewardModelRun.DefaultModelFile;
                if (dir.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
                {
                    modelFile = Path.GetFileName(dir);
                    dir = Path.GetDirectoryName(dir) is { Length: > 0 } parent ? parent : ".";
                }
                config = new RewardRunConfig
                {
                    Preferences = path, Model = lm, Holdout = parse.GetValue(holdout), Strict = parse.GetValue(strict), ModelFile = modelFile,
                    CheckpointEvery = parse.GetValue(saveEvery),
                    Options = new RewardModelOptions
                    {
                        Epochs = parse.GetValue(epochs), BatchSize = parse.GetValue(batch), LearningRate = parse.GetValue(lr),
                        UseTies = !parse.GetValue(noTies), Seed = parse.GetValue(seed), EvaluateEvery = parse.GetValue(evalEvery),
                    },
                };
                config.Validate();
            }
            return DistributedLm.Run(parse.GetValue(distributed), comm =>
            {
                RewardModelRun run;
                if (comm is { Rank: > 0 })
                    run = RewardModelRun.Follower(config ?? RewardModelRun.ReadConfig(dir), DistributedTraining.ScratchFolder(comm), resumeDir);
                else if (config is null)
                {
                    run = RewardModelRun.Resume(dir);
                    Console.WriteLine(run.ResumedFrom is null ? $"Resuming {dir}: no checkpoint yet, starting from step 0." : $"Resuming {dir} from {run.ResumedFrom} (step {run.Trainer.StepCount}).");
                }
                else run = RewardModelRun.Create(dir, config);
                using (run)
                {
                    if (comm is not null) run.JoinRanks(comm);
                    bool leader = comm is null || comm.Rank == 0;
                    string path = run.Config.Preferences;
                    if (leader)
                    {
                        PrintLineProblems("warning", path, run.Data.Problems, " (skipped)");
                        Console.WriteLine($"{path}: {run.Data.Pairs.Count - run.Data.TieCount:N0} pairs, {run.Data.TieCount:N0} ties, {run.Data.SkippedCount:N0} skipped items, {run.Data.Problems.Count:N0} broken lines.");
                        PrintLineProblems("note", path, run.LeftOut, "");
                        if (run.LeftOut.Count > 0) Console.WriteLine($"note: {run.LeftOut.Count} pairs use characters outside the model's vocabulary and are left out.");
                        Console.WriteLine($"Training on {run.Trainer.TrainPairs:N0} pairs, holding out {run.ValidationPairs:N0} (their prompts are never trained on): {run.Trainer.TotalSteps} steps. Run folder {run.Folder.Directory}.");
                    }
                    var summary = run.Run(leader ? new RewardPrinter() : null, cancellationToken);
                    if (!leader) return 0;
                    if (summary.AlreadyFinished) Console.WriteLine("The run had already finished.");
                    if (summary.Stopped)
                    {
                        Console.WriteLine($"Stopped at step {summary.Steps}; continue with: reinforce rlhf reward --resume {run.Folder.Directory}");
                        return 0;
                    }
                    var facts = LmCheckpoint.LoadRewardModel(run.ModelPath).Facts;
                    Console.WriteLine(facts.TryGetValue("heldout_accuracy", out var accuracy)
                        ? string.Create(CultureInfo.InvariantCulture, $"Held-out accuracy {double.Parse(accuracy, CultureInfo.InvariantCulture):P1} over {run.ValidationPairs} pairs, mean margin {double.Parse(facts["heldout_margin"], CultureInfo.InvariantCulture):F2}. Saved {run.ModelPath}.")
                        : $"Saved {run.ModelPath} (no pairs held out, so no accuracy to report).");
                    return 0;
                }
            });
        })));
        return command;
    }

    /// <summary>Prints each held-out evaluation, the first step, and a step after five seconds without a line.</summary>
    private sealed class RewardPrinter : IProgress<RunProgress>
    {
        private readonly PrintCadence _cadence = new();

        public void Report(RunProgress p)
        {
            bool evaluated = p.Metrics.TryGetValue("val_accuracy", out double accuracy);
            if (!_cadence.Due(evaluated || p.Step == 1)) return;
            Console.WriteLine(evaluated
                ? string.Create(CultureInfo.InvariantCulture, $"step {p.Step,5}/{p.TotalSteps}  loss {p.Metrics["loss"]:F3}  held-out accuracy {accuracy:P1}  margin {p.Metrics["val_margin"]:F2}")
                : string.Create(CultureInfo.InvariantCulture, $"step {p.Step,5}/{p.TotalSteps}  loss {p.Metrics["loss"]:F3}"));
        }
    }
}
