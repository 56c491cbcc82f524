using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Reinforce.Distributed;
using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.HuggingFace;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;
using Reinforce.Training;

namespace Reinforce.Cli.Commands;

internal static partial class RlhfCommand
{
    /// <summary>`reinforce rlhf dpo &lt;preferences.jsonl&gt; --model M`: Direct Preference Optimization, optionally with LoRA.</summary>
    private static Command CreateDpo()
    {
        var preferences = new Argument<string>("preferences") { Description = "TRL-format JSONL preference pairs: {\"prompt\", \"chosen\", \"rejected\"}." };
        var model = new Option<string>("--model", "-m") { Description = "The policy to start from: a Reinforce checkpoint or a Hugging Face GPT-2 folder.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Output folder (Hugging Face layout; with --lora, PEFT's adapter files).", DefaultValueFactory = _ => Path.Combine("runs", "dpo") };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => 100 };
        var batch = new Option<int>("--batch") { Description = "Pairs per step.", DefaultValueFactory = _ => 8 };
        var lr = new Option<float>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 1e-4f };
        var beta = new Option<double>("--beta") { Description = "β of the DPO loss (TRL's default 0.1).", DefaultValueFactory = _ => 0.1 };
        var lora = new LoraCliOptions();
        var dtype = new Option<string>("--dtype") { Description = "Weights written: a full fine-tuning's Hugging Face folder, or with --lora the adapter_model.safetensors: f32, f16 or bf16.", DefaultValueFactory = _ => "f32" };
        var force = new Option<bool>("--force") { Description = "Replace a model already in the output folder." };
        var rater = new Option<string?>("--rater") { Description = "Also report a simulated rater's mean score (simple, cheerful or spelling) of completions sampled from the pairs' prompts before and after (for preferences that rater wrote)." };
        rater.AcceptOnlyFromAmong("simple", "cheerful", "spelling");
        var seed = new Option<int>("--seed") { Description = "Seed of the batch order.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int?>("--threads") { Description = "Threads (default: the core count)." };
        var distributed = new Option<string?>("--distributed") { Description = "Data-parallel over MPI ranks: mpi (start with mpirun -np N reinforce rlhf dpo ... --distributed mpi). Each step's --batch pairs are split over the ranks; rank 0 writes --out." };
        var command = new Command("dpo", "Direct Preference Optimization (TRL's sigmoid loss) on preference pairs, optionally with LoRA.")
        {
            preferences, model, output, steps, batch, lr, beta, dtype, force, rater, seed, threads, distributed,
        };
        foreach (var option in lora.All) command.Options.Add(option);
        command.SetAction(parse => Guard(() =>
        {
            ApplyThreads(parse.GetValue(threads));
            return DistributedLm.Run(parse.GetValue(distributed), comm => Dpo(parse, comm));
        }));
        return command;

        // One process, or one rank of a data-parallel run (rank 0 prints and writes --out; the others only train).
        int Dpo(ParseResult parse, ICommunicator? comm)
        {
            bool leader = comm is null || comm.Rank == 0;
            string path = parse.GetValue(preferences)!;
            var data = PreferenceFile.Load(path);
            if (leader) PrintLineProblems("warning", path, data.Problems, " (skipped)");
            string modelPath = parse.GetValue(model)!;
            var (policy, tokenizer, _) = LoadLanguageModel(modelPath);
            var (readable, leftOut) = data.WithinVocabulary(tokenizer);
            if (leader) PrintLineProblems("note", path, leftOut, "");
            if (leader && leftOut.Count > 0) Console.WriteLine($"note: {leftOut.Count} pairs use characters outside the model's vocabulary and are left out.");
            var usable = readable.Where(p => !p.IsTie).ToList();
            var loraOptions = lora.Read(parse, parse.GetValue(seed));
            string weightsType = Gpt2Folder.ParseDType(parse.GetValue(dtype)!);
            string dir = parse.GetValue(output)!;
            // Refuse before training, not after: nothing the user wrote is replaced without --force.
            if (leader)
                foreach (var existing in new[] { "adapter_model.safetensors", "model.safetensors", "config.json" })
                    if (File.Exists(Path.Combine(dir, existing)) && !parse.GetValue(force))
                        throw new IOException($"'{dir}' already holds {existing}; choose another --out, or pass --force to replace it.");
            if (loraOptions is not null) LoraAdapters.Attach(policy, loraOptions);
            var options = new DpoOptions
            {
                Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), LearningRate = parse.GetValue(lr),
                Beta = parse.GetValue(beta), Seed = parse.GetValue(seed),
            };
            var watch = Stopwatch.StartNew();
            var trainer = new DpoTrainer(policy, tokenizer, usable, options);
            if (comm is not null)
            {
                // Every rank must train the same model on the same pairs with the same settings: compared by hash at start-up.
                DataParallel.EnsureSameConfiguration(comm, JsonFile.Serialize(new DpoRunIdentity(path, modelPath, trainer.PairCount, options, loraOptions)));
                trainer.Distribute(comm);
            }
            if (!leader)
            {
                for (int s = 0; s < options.Steps; s++) trainer.Step();
                return 0;
            }
            Console.WriteLine($"DPO on {trainer.PairCount:N0} pairs from {path}, β {options.Beta}, {(loraOptions is { Rank: int rank } ? $"LoRA rank {rank} ({policy.Lora!.ParameterCount:N0} trained parameters)" : $"full fine-tuning ({policy.ParameterCount:N0} parameters)")}" +
                $"{(comm is { Size: > 1 } ? $"; data-parallel over {comm.Size} ranks ({comm.Description}), each step's {options.BatchSize} pairs split over them" : "")}.");
            var (m0, a0) = trainer.Evaluate();
            Func<string, double>? score = parse.GetValue(rater) is string raterName ? Reinforce.Rlhf.Demos.PreferenceDemo.Rater(raterName, DemoCorpus.Stories) : null;
            var scorePrompts = usable.Select(p => p.Prompt).Distinct().Take(64).ToList();
            int scoreTokens = Math.Max(1, (int)usable.Average(p => tokenizer.Encode(p.Chosen).Length));
            string RaterScore() => score is null ? "" : string.Create(CultureInfo.InvariantCulture,
                $"; {parse.GetValue(rater)} rater's mean score of {scorePrompts.Count * 4} sampled completions {MeanSampledScore(policy, tokenizer, scorePrompts, score, scoreTokens, parse.GetValue(seed)):F3}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"before: implicit-reward margin {m0:F3}, pairs ordered right {a0:P1}{RaterScore()}"));
            var cadence = new PrintCadence();
            for (int s = 0; s < options.Steps; s++)
            {
                var st = trainer.Step();
                if (cadence.Due(st.Step == 1 || st.Step % 10 == 0 || st.Step == options.Steps))
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {st.Step,5}/{options.Steps}  loss {st.Loss:F4}  rewards chosen {st.ChosenReward:F3} rejected {st.RejectedReward:F3}  accuracy {st.Accuracy:P0}  {watch.Elapsed.TotalSeconds:F0}s"));
            }
            var (m1, a1) = trainer.Evaluate();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"after:  implicit-reward margin {m1:F3}, pairs ordered right {a1:P1}{RaterScore()} ({watch.Elapsed.TotalSeconds:F1} s)"));
            if (policy.Lora is { } adapters)
            {
                PeftAdapter.Save(dir, adapters, BaseModelName(modelPath), parse.GetValue(force), weightsType);
                Console.WriteLine($"Wrote the LoRA adapter to {dir} (adapter_config.json, adapter_model.safetensors).");
            }
            else if (tokenizer is ByteLevelBpeTokenizer bpe)
            {
                Gpt2Folder.Save(dir, policy, bpe, parse.GetValue(force), dtype: weightsType);
                Console.WriteLine($"Wrote the model to {dir} in Hugging Face's GPT-2 layout.");
            }
            else
            {
                string file = Path.Combine(dir, "model.safetensors");
                if (File.Exists(file) && !parse.GetValue(force)) throw new IOException($"'{file}' exists; choose another --out or pass --force.");
                LmCheckpoint.Save(file, policy, tokenizer, new Dictionary<string, string>
                {
                    ["dpo_step"] = trainer.StepCount.ToString(CultureInfo.InvariantCulture),
                    ["ranks"] = trainer.Communicator.Size.ToString(CultureInfo.InvariantCulture),
                });
                Console.WriteLine($"Wrote the model to {file}.");
            }
            return 0;
        }
    }

    /// <summary>What every rank of a data-parallel DPO run must agree on (hashed and compared at start-up).</summary>
    private sealed record DpoRunIdentity(string Preferences, string Model, int Pairs, DpoOptions Options, LoraOptions? Lora);

    /// <summary>The mean of <paramref name="score"/> over 4 pure samples of <paramref name="tokens"/> tokens per prompt (the same seed before and after training).</summary>
    internal static double MeanSampledScore(Gpt model, ITokenizer tokenizer, IReadOnlyList<string> prompts, Func<string, double> score, int tokens, int seed)
    {
        var encoded = prompts.SelectMany(p => Enumerable.Repeat(tokenizer.Encode(p), 4)).ToList();
        var generation = model.Generate(encoded, tokens, SamplingOptions.Pure, new Rng(seed + 1000));
        return generation.Completions.Average(c => score(tokenizer.Decode(c)));
    }
}
