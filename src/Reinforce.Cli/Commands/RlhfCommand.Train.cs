using System.CommandLine;
using System.Globalization;
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
        var model = new Option<string>("--model", "-m") { Description = "Language-model checkpoint to fine-tune (it also becomes the frozen reference).", Required = true };
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
        var perStep = new Option<int>("--prompts-per-step") { Description = "Prompts per step.", DefaultValueFactory = _ => 16 };
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
        var lora = new LoraCliOptions();
        var saveHf = new Option<string?>("--save-hf") { Description = "Also write the fine-tuned model (with LoRA: merged) to this folder in Hugging Face's GPT-2 layout. Refused if it holds a model, unless --force." };
        var dtype = new Option<string>("--dtype") { Description = "Weights of the --save-hf folder: f32, f16 or bf16.", DefaultValueFactory = _ => "f32" };
        var force = new Option<bool>("--force") { Description = "Let --save-hf replace a model already in its folder." };
        var command = new Command("train", "RL fine-tuning of a language model against a reward model or a reward written as code (optionally LoRA).")
        {
            model, reward, task, rater, algorithm, steps, prompts, group, perStep, maxTokens, beta, lr, epochs, minibatches, noNormalize, output, saveEvery, seed, threads, saveHf, dtype, force,
        };
        foreach (var option in lora.All) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => Task.FromResult(Guard(() =>
        {
            ApplyThreads(parse.GetValue(threads));
            string? rewardPath = parse.GetValue(reward), taskName = parse.GetValue(task), raterName = parse.GetValue(rater);
            if (new[] { rewardPath, taskName, raterName }.Count(x => x is not null) != 1)
                throw new ArgumentException("give exactly one reward: --reward <reward model>, --task reverse|repeat, or --rater simple|cheerful|spelling.");
            var (policy, tokenizer, _) = LoadLanguageModel(parse.GetValue(model)!);
            // Checked before training, so a run never ends by refusing to save (nothing the user wrote is replaced without --force).
            string? hfDir = parse.GetValue(saveHf);
            string weightsType = Reinforce.Rlhf.HuggingFace.Gpt2Folder.ParseDType(parse.GetValue(dtype)!);
            if (hfDir is not null)
            {
                if (tokenizer is not ByteLevelBpeTokenizer) throw new ArgumentException($"--save-hf needs a byte-level BPE model; this one uses {tokenizer.Description}. Pretrain with `reinforce lm pretrain --tokenizer bpe` (or start from a Hugging Face GPT-2 folder).");
                Reinforce.Rlhf.HuggingFace.Gpt2Folder.RequireNoModel(hfDir, parse.GetValue(force));
            }
            var loraOptions = lora.Read(parse, parse.GetValue(seed));
            if (loraOptions is not null) Reinforce.Nn.Transformers.LoraAdapters.Attach(policy, loraOptions);
            var algo = parse.GetValue(algorithm) switch { "grpo" => RlAlgorithm.Grpo, "ppo" => RlAlgorithm.Ppo, _ => RlAlgorithm.Rloo };
            var defaults = RlhfOptions.For(algo);
            var options = defaults with
            {
                GroupSize = parse.GetValue(group), PromptsPerStep = parse.GetValue(perStep), MaxNewTokens = parse.GetValue(maxTokens),
                KlCoefficient = parse.GetValue(beta), LearningRate = parse.GetValue(lr), Epochs = parse.GetValue(epochs) ?? defaults.Epochs,
                MiniBatches = parse.GetValue(minibatches) ?? defaults.MiniBatches, Seed = parse.GetValue(seed),
            };

            IRewardSource source;
            Func<Rng, string> promptSource;
            if (taskName is not null)
            {
                var wordTask = WordTask.Create(taskName);
                string missing = tokenizer.UnknownCharacters(wordTask.Characters);
                if (missing.Length > 0)
                    throw new ArgumentException($"the model's vocabulary lacks \"{LmCommand.OneLine(missing)}\", which the {taskName} task writes; use a model pretrained on the task's format (`reinforce rlhf demo verifiable` makes one).");
                source = wordTask;
                promptSource = wordTask.SamplePrompt;
                options = options with { MaxNewTokens = wordTask.MaxLength + 2, StopCharacter = WordTask.Terminator };
            }
            else
            {
                var promptList = ReadPrompts(parse.GetValue(prompts), tokenizer);
                int longest = promptList.Max(p => tokenizer.Encode(p).Length);
                if (longest + options.MaxNewTokens > policy.Config.ContextLength)
                    throw new ArgumentException($"the longest prompt has {longest} tokens and --max-tokens is {options.MaxNewTokens}, {longest + options.MaxNewTokens} in all, but the model's context " +
                        $"(n_positions in config.json) is {policy.Config.ContextLength}; lower --max-tokens to at most {Math.Max(0, policy.Config.ContextLength - longest)} or give shorter prompts.");
                promptSource = r => promptList[r.NextInt(promptList.Count)];
                if (raterName is not null)
                {
                    var score = PreferenceDemo.Rater(raterName, DemoCorpus.Stories);
                    source = RewardFunction.OfCompletion(raterName, score);
                }
                else
                {
                    var (rm, _) = LmCheckpoint.LoadRewardModel(rewardPath!);
                    if (!TokenizerMetadata.Same(rm.Tokenizer, tokenizer))
                        Console.WriteLine("note: the reward model was trained with a different vocabulary; completions are scored through its own tokenizer.");
                    source = rm;
                    if (!parse.GetValue(noNormalize))
                    {
                        var scaled = ScaledReward.Calibrate(rm, policy, tokenizer, promptList, options.MaxNewTokens, options.Seed);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Reward model scores on the starting policy: mean {scaled.Shift:F3}, std {scaled.Scale:F3}; rewards are rescaled to mean 0, std 1."));
                        source = scaled;
                    }
                }
            }

            string dir = parse.GetValue(output)!;
            var trainer = new RlhfTrainer(policy, tokenizer, source, promptSource, options);
            using var folder = RunFolder.Create(dir, JsonFile.Serialize(new Dictionary<string, object>
            {
                ["kind"] = "rlhf_train", ["model"] = parse.GetValue(model)!, ["reward"] = rewardPath ?? taskName ?? raterName!, ["options"] = options,
                ["lora"] = loraOptions is null ? "none" : loraOptions,
            }));
            Console.WriteLine($"{algo} fine-tuning against {source.Name}: {options.PromptsPerStep} prompts x {options.GroupSize} completions of up to {options.MaxNewTokens} tokens per step, beta {options.KlCoefficient}, lr {options.LearningRate}, " +
                (policy.Lora is { } l ? $"LoRA rank {l.Options.Rank} on {string.Join(",", l.Options.TargetModules)} ({l.ParameterCount:N0} trained parameters; the reference is the base with the adapters off)" : $"every weight ({policy.ParameterCount:N0})") + $". Run folder {dir}.");
            int total = parse.GetValue(steps);
            var summary = RlhfRun.Train(folder, trainer, total, Math.Max(1, parse.GetValue(saveEvery)), new StepPrinter(trainer, total), cancellationToken);
            if (summary.Stopped) Console.WriteLine($"Stopped at step {summary.Steps}; the policy so far is in {folder.CheckpointPath(summary.Steps)}.");
            else
            {
                Console.WriteLine($"Done in {folder.Timing.WallSeconds:F0} s; the fine-tuned model is {Path.Combine(dir, RlhfRun.ModelFile)}{(policy.Lora is null ? "" : " (merged)")}.");
                if (policy.Lora is { } adapters)
                {
                    Reinforce.Rlhf.HuggingFace.PeftAdapter.Save(dir, adapters, BaseModelName(parse.GetValue(model)!), overwrite: true);
                    Console.WriteLine($"The LoRA adapter (PEFT layout: adapter_config.json, adapter_model.safetensors) is in {dir}.");
                }
                if (hfDir is not null)
                {
                    SaveHuggingFace(hfDir, policy, tokenizer, weightsType);
                    Console.WriteLine($"The fine-tuned model{(policy.Lora is null ? "" : " (merged)")} in Hugging Face's GPT-2 layout: {hfDir}.");
                }
            }
            return 0;
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
