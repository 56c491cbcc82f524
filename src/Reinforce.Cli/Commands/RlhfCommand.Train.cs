using System.CommandLine;
using System.Globalization;
using Reinforce.Algorithms;
using Reinforce.Distributed;
using Reinforce.IO;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Demos;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;
using Reinforce.Training;

namespace Reinforce.Cli.Commands;

internal static partial class RlhfCommand
{
    /// <summary>`reinforce rlhf train`: RL fine-tuning (RLOO, GRPO or PPO) of a language model against a reward model or a reward written as code.</summary>
    private static Command CreateTrain()
    {
        var model = new Option<string?>("--model", "-m") { Description = "Language-model checkpoint to fine-tune (it also becomes the frozen reference)." };
        var reward = new Option<string?>("--reward", "-r") { Description = "Reward-model checkpoint (from `reinforce rlhf reward`)." };
        var task = new Option<string?>("--task") { Description = "Instead of a reward model: a verifiable task, reverse or repeat (prompts and rewards come from it)." };
        task.AcceptOnlyFromAmong("reverse", "repeat");
        var rater = new Option<string?>("--rater") { Description = "Instead of a reward model: a simulated rater's score used directly as the reward: simple, cheerful or spelling." };
        rater.AcceptOnlyFromAmong("simple", "cheerful", "spelling");
        var algorithm = new Option<string>("--algorithm", "-a") { Description = "rloo (leave-one-out baseline, KL in the reward), grpo (group-normalised, k3 KL in the loss) or ppo (value head, GAE).", DefaultValueFactory = _ => "rloo" };
        algorithm.AcceptOnlyFromAmong("rloo", "grpo", "ppo");
        var steps = new Option<int>("--steps") { Description = "RL steps.", DefaultValueFactory = _ => 200 };
        var prompts = new Option<string?>("--prompts") { Description = "Text file of prompts, one per line (default: the openings of the shipped stories)." };
        var group = new Option<int>("--group", "-k") { Description = "Completions per prompt.", DefaultValueFactory = _ => 4 };
        var perStep = new Option<int>("--prompts-per-step") { Description = "Prompts per step (per rank in a data-parallel run).", DefaultValueFactory = _ => 16 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Completion length in characters (a task sets its own).", DefaultValueFactory = _ => 48 };
        var beta = new Option<float>("--beta") { Description = "KL coefficient.", DefaultValueFactory = _ => 0.05f };
        var lr = new Option<float>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 1e-4f };
        var epochs = new Option<int?>("--epochs") { Description = "Passes over each batch (default: 1, PPO 4)." };
        var minibatches = new Option<int?>("--minibatches") { Description = "Minibatches per pass (default: 1, PPO 4)." };
        var noNormalize = new Option<bool>("--no-normalize") { Description = "Use the reward model's raw scores (by default they are scaled to mean 0, std 1 on the starting policy's samples)." };
        var output = new Option<string>("--out", "-o") { Description = "Run folder: metrics.csv, TensorBoard events, samples, the fine-tuned model.", DefaultValueFactory = _ => Path.Combine("runs", "rlhf") };
        var saveEvery = new Option<int>("--save-every") { Description = "Save the policy every this many steps (and at the end).", DefaultValueFactory = _ => 50 };
        var seed = new Option<int>("--seed") { Description = "Seed of prompts and sampling.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int?>("--threads") { Description = "Threads (default: the core count)." };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder from its newest checkpoint, with the settings in its config.json (LoRA settings included)." };
        var distributed = new Option<string?>("--distributed") { Description = "Data-parallel over MPI ranks: mpi (start with mpirun -np N reinforce rlhf train ... --distributed mpi)." };
        var lora = new LoraCliOptions();
        var saveHf = new Option<string?>("--save-hf") { Description = "Also write the fine-tuned model (with LoRA: merged) to this folder in Hugging Face's GPT-2 layout. Refused if it holds a model, unless --force." };
        var dtype = new Option<string>("--dtype") { Description = "Weights of the --save-hf folder: f32, f16 or bf16.", DefaultValueFactory = _ => "f32" };
        var force = new Option<bool>("--force") { Description = "Let --save-hf replace a model already in its folder." };
        var command = new Command("train", "RL fine-tuning of a language model against a reward model or a reward written as code (optionally LoRA).")
        {
            model, reward, task, rater, algorithm, steps, prompts, group, perStep, maxTokens, beta, lr, epochs, minibatches, noNormalize, output, saveEvery, seed, threads, resume, distributed, saveHf, dtype, force,
        };
        foreach (var option in lora.All) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => Task.FromResult(Guard(() =>
        {
            ApplyThreads(parse.GetValue(threads));
            string? resumeDir = parse.GetValue(resume);
            // Checked before training, so a run never ends by refusing to save (nothing the user wrote is replaced without --force).
            string? hfDir = parse.GetValue(saveHf);
            string weightsType = Reinforce.Rlhf.HuggingFace.Gpt2Folder.ParseDType(parse.GetValue(dtype)!);
            if (hfDir is not null) Reinforce.Rlhf.HuggingFace.Gpt2Folder.RequireNoModel(hfDir, parse.GetValue(force));
            RlhfRunConfig? config = null;
            if (resumeDir is not null)
            {
                if (parse.GetValue(model) is not null || parse.GetValue(reward) is not null || parse.GetValue(task) is not null || parse.GetValue(rater) is not null || parse.GetValue(lora.Rank) != 0)
                    throw new ConfigurationException("--resume continues a run with the settings in its config.json; leave out --model, the reward (--reward, --task, --rater) and --lora.");
            }
            else
            {
                var algo = parse.GetValue(algorithm) switch { "grpo" => RlAlgorithm.Grpo, "ppo" => RlAlgorithm.Ppo, _ => RlAlgorithm.Rloo };
                var defaults = RlhfOptions.For(algo);
                config = new RlhfRunConfig
                {
                    Model = parse.GetValue(model) ?? throw new ConfigurationException("--model", "is missing; give the language model to fine-tune, e.g. --model runs/lm/model.safetensors (or --resume RUN_DIR to continue a run)."),
                    RewardModel = parse.GetValue(reward), Task = parse.GetValue(task), Rater = parse.GetValue(rater), Prompts = parse.GetValue(prompts),
                    NormalizeReward = !parse.GetValue(noNormalize), Steps = parse.GetValue(steps), SaveEvery = Math.Max(1, parse.GetValue(saveEvery)),
                    Lora = lora.Read(parse, parse.GetValue(seed)),
                    Options = defaults with
                    {
                        GroupSize = parse.GetValue(group), PromptsPerStep = parse.GetValue(perStep), MaxNewTokens = parse.GetValue(maxTokens),
                        KlCoefficient = parse.GetValue(beta), LearningRate = parse.GetValue(lr), Epochs = parse.GetValue(epochs) ?? defaults.Epochs,
                        MiniBatches = parse.GetValue(minibatches) ?? defaults.MiniBatches, Seed = parse.GetValue(seed),
                    },
                };
                if (new[] { config.RewardModel, config.Task, config.Rater }.Count(x => x is not null) != 1)
                    throw new ConfigurationException("--reward", "give exactly one reward: --reward <reward model>, --task reverse|repeat, or --rater simple|cheerful|spelling.");
                config.Validate();
            }
            return DistributedLm.Run(parse.GetValue(distributed), comm =>
            {
                RlhfRun run;
                bool leader = comm is null || comm.Rank == 0;
                if (leader)
                {
                    string dir = resumeDir ?? parse.GetValue(output)!;
                    run = resumeDir is null ? RlhfRun.Create(dir, config!) : RlhfRun.Resume(dir);
                    if (comm is not null) DataParallelRuns.BroadcastText(comm, JsonFile.Serialize(run.Config));
                }
                else
                {
                    // Rank 0's resolved configuration (with its reward calibration), whether or not this machine sees its folder.
                    var resolved = JsonFile.Deserialize<RlhfRunConfig>(DataParallelRuns.BroadcastText(comm!, null), "rank 0's configuration");
                    run = RlhfRun.Follower(resolved, DistributedTraining.ScratchFolder(comm!), resumeDir);
                }
                using (run)
                {
                    if (comm is not null) run.JoinRanks(comm);
                    var o = run.Config.Options;
                    var policy = run.Trainer.Policy;
                    if (leader)
                    {
                        if (hfDir is not null && run.Trainer.Tokenizer is not ByteLevelBpeTokenizer)
                            throw new ArgumentException($"--save-hf needs a byte-level BPE model; this one uses {run.Trainer.Tokenizer.Description}. Pretrain with `reinforce lm pretrain --tokenizer bpe` (or start from a Hugging Face GPT-2 folder).");
                        if (run.PromptsLeftOut > 0) Console.WriteLine($"note: {run.PromptsLeftOut} prompts use characters the model never saw and are left out.");
                        if (run.RewardVocabularyDiffers) Console.WriteLine("note: the reward model was trained with a different vocabulary; completions are scored through its own tokenizer.");
                        if (run.Reward is ScaledReward scaled)
                            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Reward model scores on the starting policy: mean {scaled.Shift:F3}, std {scaled.Scale:F3}; rewards are rescaled to mean 0, std 1."));
                        if (resumeDir is not null)
                            Console.WriteLine(run.ResumedFrom is null ? $"Resuming {resumeDir}: no checkpoint yet, starting from step 0." : $"Resuming {resumeDir} from {run.ResumedFrom} (step {run.Trainer.StepCount}).");
                        Console.WriteLine($"{o.Algorithm} fine-tuning against {run.Reward.Name}: {o.PromptsPerStep} prompts x {o.GroupSize} completions of up to {o.MaxNewTokens} tokens per step" +
                            $"{(comm is { Size: > 1 } ? $" on each of {comm.Size} ranks" : "")}, beta {o.KlCoefficient}, lr {o.LearningRate}, " +
                            (policy.Lora is { } l ? $"LoRA rank {l.Options.Rank} on {string.Join(",", l.Options.TargetModules)} ({l.ParameterCount:N0} trained parameters; the reference is the base with the adapters off)" : $"every weight ({policy.ParameterCount:N0})") +
                            $". Run folder {run.Folder.Directory}.");
                    }
                    var summary = run.Run(leader ? new StepPrinter(run.Trainer, run.Config.Steps) : null, cancellationToken);
                    if (!leader) return 0;
                    if (summary.AlreadyFinished) Console.WriteLine("The run had already finished.");
                    if (summary.Stopped)
                    {
                        Console.WriteLine($"Stopped at step {summary.Steps}; continue with: reinforce rlhf train --resume {run.Folder.Directory}");
                        return 0;
                    }
                    Console.WriteLine($"Done in {run.Folder.Timing.WallSeconds:F0} s; the fine-tuned model is {Path.Combine(run.Folder.Directory, RlhfRun.ModelFile)}{(policy.Lora is null ? "" : " (merged)")}.");
                    if (policy.Lora is not null)
                        Console.WriteLine($"The LoRA adapter (PEFT layout: adapter_config.json, adapter_model.safetensors) is in {run.Folder.Directory}.");
                    if (hfDir is not null)
                    {
                        SaveHuggingFace(hfDir, policy, run.Trainer.Tokenizer, weightsType);
                        Console.WriteLine($"The fine-tuned model{(policy.Lora is null ? "" : " (merged)")} in Hugging Face's GPT-2 layout: {hfDir}.");
                    }
                    return 0;
                }
            });
        })));
        return command;
    }

    /// <summary>Prints the first step, every tenth, the last, and any step after five seconds without a line, with one sample.</summary>
    private sealed class StepPrinter(RlhfTrainer trainer, int total) : IProgress<RunProgress>
    {
        private readonly PrintCadence _cadence = new();

        public void Report(RunProgress value)
        {
            if (trainer.LastStep is not RlhfStepMetrics m || !_cadence.Due(m.Step % 10 == 0 || m.Step == 1 || m.Step == total)) return;
            Console.WriteLine(Describe(m));
            Console.WriteLine($"        {m.Samples[0].Prompt}|{LmCommand.OneLine(m.Samples[0].Completion)}");
        }
    }
}
