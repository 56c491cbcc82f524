using System.CommandLine;
using System.Globalization;
using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Demos;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;
using Reinforce.Training;

namespace Reinforce.Cli.Commands;

/// <summary>`reinforce lm ...`: pretrain a small character-level GPT, sample from it, measure its speed.</summary>
internal static class LmCommand
{
    public static Command Create()
    {
        var command = new Command("lm", "A GPT (characters or byte-level BPE): pretrain it on a text, sample from it, measure its speed.");
        command.Subcommands.Add(CreatePretrain());
        command.Subcommands.Add(CreateSample());
        command.Subcommands.Add(CreateBench());
        return command;
    }

    private static Command CreatePretrain()
    {
        var corpus = new Argument<string?>("corpus") { Description = "A UTF-8 text file (default: the shipped demo stories).", Arity = ArgumentArity.ZeroOrOne };
        var output = new Option<string>("--out", "-o") { Description = "Run folder: checkpoints, metrics.csv, TensorBoard events.", DefaultValueFactory = _ => Path.Combine("runs", "lm") };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => 2000 };
        var batch = new Option<int>("--batch") { Description = "Sequences per step.", DefaultValueFactory = _ => 32 };
        var lr = new Option<float>("--lr") { Description = "Peak learning rate (warm-up, then cosine decay to a tenth).", DefaultValueFactory = _ => 2e-3f };
        var layers = new Option<int>("--layers") { Description = "Transformer blocks.", DefaultValueFactory = _ => 4 };
        var width = new Option<int>("--width") { Description = "Embedding width.", DefaultValueFactory = _ => 128 };
        var heads = new Option<int>("--heads") { Description = "Attention heads.", DefaultValueFactory = _ => 4 };
        var context = new Option<int>("--context") { Description = "Context length in tokens.", DefaultValueFactory = _ => 64 };
        var tokenizerOption = new Option<string>("--tokenizer") { Description = "char (one token per character), bpe (a byte-level BPE learned from the corpus, GPT-2's kind), gpt2 (GPT-2's own 50,257 tokens), or a folder with vocab.json + merges.txt / tokenizer.json.", DefaultValueFactory = _ => "char" };
        var vocab = new Option<int>("--vocab") { Description = "Tokens of the BPE learned with --tokenizer bpe.", DefaultValueFactory = _ => 512 };
        var saveHf = new Option<string?>("--save-hf") { Description = "Also write the best model to this folder in Hugging Face's GPT-2 layout (default with a BPE tokenizer: hf/ in the run folder). Refused if it already holds a model." };
        var dtype = new Option<string>("--dtype") { Description = "Weights of the Hugging Face copy: f32, f16 or bf16.", DefaultValueFactory = _ => "f32" };
        var evalEvery = new Option<int>("--eval-every") { Description = "Measure the held-out loss, show a sample and save a checkpoint every this many steps.", DefaultValueFactory = _ => 200 };
        var seed = new Option<int>("--seed") { Description = "Seed of the weights and the batches.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int?>("--threads") { Description = "Threads for the matrix products (default: the core count)." };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder from its newest checkpoint, with the settings in its config.json." };
        var distributed = new Option<string?>("--distributed") { Description = "Data-parallel over MPI ranks: mpi (start with mpirun -np N reinforce lm pretrain ... --distributed mpi). Each step's --batch sequences are split over the ranks." };
        var command = new Command("pretrain", "Train a GPT to predict the next token of a text, with held-out loss and checkpoints (and a Hugging Face copy with a BPE tokenizer).")
        {
            corpus, output, steps, batch, lr, layers, width, heads, context, tokenizerOption, vocab, saveHf, dtype, evalEvery, seed, threads, resume, distributed,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(RlhfCommand.Guard(() =>
        {
            RlhfCommand.ApplyThreads(parse.GetValue(threads));
            string? resumeDir = parse.GetValue(resume);
            PretrainRunConfig? fresh = null;
            if (resumeDir is null)
            {
                float peak = parse.GetValue(lr);
                fresh = new PretrainRunConfig
                {
                    Corpus = parse.GetValue(corpus),
                    Model = new GptConfig { ContextLength = parse.GetValue(context), Layers = parse.GetValue(layers), Width = parse.GetValue(width), Heads = parse.GetValue(heads) },
                    Options = new PretrainOptions { Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), LearningRate = peak, MinLearningRate = peak / 10, Seed = parse.GetValue(seed) },
                    EvaluateEvery = parse.GetValue(evalEvery),
                    Tokenizer = parse.GetValue(tokenizerOption)!,
                    BpeVocabSize = parse.GetValue(vocab),
                    HuggingFaceFolder = parse.GetValue(saveHf),
                    HuggingFaceDType = Reinforce.Rlhf.HuggingFace.Gpt2Folder.ParseDType(parse.GetValue(dtype)!),
                };
                fresh.Validate();
            }
            return DistributedLm.Run(parse.GetValue(distributed), comm =>
            {
                bool leader = comm is null || comm.Rank == 0;
                PretrainingRun run;
                if (!leader)
                    run = PretrainingRun.Follower(fresh ?? PretrainingRun.ReadConfig(resumeDir!), DistributedTraining.ScratchFolder(comm!), resumeDir);
                else if (resumeDir is not null)
                {
                    run = PretrainingRun.Resume(resumeDir);
                    Console.WriteLine(run.ResumedFrom is null ? $"Resuming {resumeDir}: no checkpoint yet, starting from step 0." : $"Resuming {resumeDir} from {run.ResumedFrom} (step {((IRunTrainer)run.Trainer).Step}).");
                }
                else run = PretrainingRun.Create(parse.GetValue(output)!, fresh!);
                using (run)
                {
                    if (comm is not null) run.JoinRanks(comm);
                    var (config, trainer) = (run.Config.Model, run.Trainer);
                    if (leader)
                    {
                        Console.WriteLine($"Pretraining a GPT of {trainer.Model.ParameterCount:N0} parameters ({config.Layers} layers, {config.Width} wide, {config.Heads} heads, context {config.ContextLength}, " +
                            $"tokenizer: {trainer.Tokenizer.Description}) on {run.Config.Corpus ?? "the shipped stories"}: {trainer.TrainTokens:N0} tokens to train on, {trainer.ValidationTokens:N0} held out.");
                        if (comm is { Size: > 1 })
                            Console.WriteLine($"Data-parallel: {comm.Description}; each step's {run.Config.Options.BatchSize} sequences are split over the {comm.Size} ranks, gradients averaged.");
                        Console.WriteLine($"Run folder {run.Folder.Directory}; Ctrl+C stops and keeps a checkpoint (continue with --resume).");
                    }
                    var summary = run.Run(leader ? new PretrainProgressPrinter(trainer) : null, cancellationToken);
                    if (!leader) return 0;
                    if (summary.AlreadyFinished) Console.WriteLine("The run had already finished.");
                    if (summary.Stopped)
                    {
                        Console.WriteLine($"Stopped at step {summary.Steps}; continue with: reinforce lm pretrain --resume {run.Folder.Directory}{(comm is null ? "" : " --distributed mpi")}");
                        return 0;
                    }
                    string bestLoss = LmCheckpoint.LoadLanguageModel(run.BestModelPath).Facts.TryGetValue("val_loss", out var v)
                        ? double.Parse(v, CultureInfo.InvariantCulture).ToString("F3", CultureInfo.InvariantCulture) : "?";
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"Done in {run.Folder.Timing.WallSeconds:F0} s. Best held-out loss {bestLoss} nats per token: {run.BestModelPath} (last step: {run.LastModelPath})."));
                    if (comm is { Size: > 1 })
                        Console.WriteLine($"Data-parallel: the weights were identical on all {comm.Size} ranks after every step (compared by checksum).");
                    if (run.HuggingFacePath is string hf)
                        Console.WriteLine($"The best model in Hugging Face's GPT-2 layout: {hf} (rlhf commands take it as --model; transformers' GPT2LMHeadModel.from_pretrained reads it).");
                    Console.WriteLine($"Try: reinforce lm sample {run.HuggingFacePath ?? run.BestModelPath} --prompt \"{trainer.SamplePrompt}\"");
                    return 0;
                }
            });
        })));
        return command;
    }

    /// <summary>
    /// Prints a progress line after the first step, at every evaluation (with the held-out loss and a sample) and at
    /// least every PrintCadence.Every, so a redirected output shows the run is alive.
    /// </summary>
    private sealed class PretrainProgressPrinter(Pretrainer trainer) : IProgress<RunProgress>
    {
        private readonly PrintCadence _cadence = new();
        private double _best = double.PositiveInfinity;
        private double _lossSum;
        private int _lossCount;

        public void Report(RunProgress p)
        {
            _lossSum += p.Metrics["loss"];
            _lossCount++;
            bool evaluated = p.Metrics.TryGetValue("val_loss", out double validation);
            if (!_cadence.Due(evaluated)) return;
            string line = string.Create(CultureInfo.InvariantCulture,
                $"step {p.Step,6}/{p.TotalSteps}  loss {_lossSum / _lossCount:F3}  lr {p.Metrics["learning_rate"]:G3}  {p.Metrics["tokens_per_second"],7:F0} tok/s  eta {p.Left.TotalSeconds:F0}s");
            _lossSum = 0;
            _lossCount = 0;
            if (evaluated)
            {
                bool better = validation < _best;
                if (better) _best = validation;
                line += string.Create(CultureInfo.InvariantCulture, $"  held-out {validation:F3}{(better ? "*" : " ")} | {trainer.SamplePrompt}{OneLine(trainer.LastSample ?? "")}");
            }
            Console.WriteLine(line);
        }
    }

    private static Command CreateSample()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A model.safetensors written by `reinforce lm pretrain` or `reinforce rlhf train`." };
        var prompt = new Option<string>("--prompt", "-p") { Description = "Text to continue.", DefaultValueFactory = _ => "Once upon a time" };
        var maxTokens = new Option<int>("--max-tokens", "-n") { Description = "Characters to generate.", DefaultValueFactory = _ => 200 };
        var temperature = new Option<float>("--temperature", "-t") { Description = "Sampling temperature (0: always the most likely character).", DefaultValueFactory = _ => 0.8f };
        var topK = new Option<int>("--top-k") { Description = "Sample among the k most likely characters only (0: all)." };
        var topP = new Option<float>("--top-p") { Description = "Sample among the most likely characters holding this much probability (1: all).", DefaultValueFactory = _ => 1f };
        var count = new Option<int>("--count") { Description = "Number of samples.", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Seed of the sampling.", DefaultValueFactory = _ => 1 };
        var command = new Command("sample", "Continue a prompt with a trained model (temperature, top-k, top-p).")
        {
            checkpoint, prompt, maxTokens, temperature, topK, topP, count, seed,
        };
        command.SetAction(parse => RlhfCommand.Guard(() =>
        {
            var (model, tokenizer, _) = RlhfCommand.LoadLanguageModel(parse.GetValue(checkpoint)!);
            var options = new SamplingOptions { Temperature = parse.GetValue(temperature), TopK = parse.GetValue(topK), TopP = parse.GetValue(topP) };
            options.Validate();
            string text = parse.GetValue(prompt)!;
            string unknown = tokenizer.UnknownCharacters(text);
            if (unknown.Length > 0)
                throw new ArgumentException($"the prompt contains characters the model never saw: \"{unknown}\". The model's tokenizer is the {tokenizer.Description}.");
            var rng = new Rng(parse.GetValue(seed));
            for (int i = 0; i < parse.GetValue(count); i++)
            {
                if (i > 0) Console.WriteLine("---");
                Console.WriteLine(text + TextGeneration.Continue(model, tokenizer, text, parse.GetValue(maxTokens), options, rng));
            }
            return 0;
        }));
        return command;
    }

    private static Command CreateBench()
    {
        var preset = new Option<string>("--config") { Description = "demo (the 0.8M-parameter character GPT) or gpt2 (GPT-2 small's shape: 124M parameters, vocabulary 50,257, context 1,024, random weights).", DefaultValueFactory = _ => "demo" };
        preset.AcceptOnlyFromAmong("demo", "gpt2");
        var steps = new Option<int?>("--steps") { Description = "Timed training steps (default: demo 20, gpt2 3)." }.AtLeast(1);
        var batch = new Option<int?>("--batch") { Description = "Sequences per training step (default: demo 32, gpt2 1)." }.AtLeast(1);
        var vocab = new Option<int?>("--vocab") { Description = "Vocabulary size (overrides the preset)." };
        var layers = new Option<int?>("--layers") { Description = "Transformer blocks (overrides the preset)." };
        var width = new Option<int?>("--width") { Description = "Embedding width (overrides the preset)." };
        var heads = new Option<int?>("--heads") { Description = "Attention heads (overrides the preset)." };
        var context = new Option<int?>("--context") { Description = "Context length (overrides the preset)." };
        var sampleBatches = new Option<string?>("--sample-batch") { Description = "Comma-separated batch sizes sampling is timed at (default: demo 32, gpt2 1,16)." };
        var sampleTokens = new Option<int?>("--sample-tokens") { Description = "Tokens generated per sequence (default: demo the whole context, gpt2 128)." }.AtLeast(1);
        var lora = new Option<int>("--lora") { Description = "Train LoRA adapters of this rank on c_attn instead of every weight (0: full fine-tuning); compare peak memory with a run without it.", DefaultValueFactory = _ => 0 };
        var threads = new Option<int?>("--threads") { Description = "Threads (default: the core count)." };
        var command = new Command("bench", "Tokens per second for training and for sampling, and peak memory (default: the 0.8M-parameter demo GPT, batch 32; --config gpt2: GPT-2 small).")
        {
            preset, steps, batch, vocab, layers, width, heads, context, sampleBatches, sampleTokens, lora, threads,
        };
        command.SetAction(parse => RlhfCommand.Guard(() =>
        {
            RlhfCommand.ApplyThreads(parse.GetValue(threads));
            bool gpt2 = parse.GetValue(preset) == "gpt2";
            var basis = gpt2 ? LmBenchmark.Gpt2Small : new GptConfig { VocabSize = 65, ContextLength = 64, Layers = 4, Width = 128, Heads = 4 };
            var config = basis with
            {
                VocabSize = parse.GetValue(vocab) ?? basis.VocabSize, ContextLength = parse.GetValue(context) ?? basis.ContextLength,
                Layers = parse.GetValue(layers) ?? basis.Layers, Width = parse.GetValue(width) ?? basis.Width, Heads = parse.GetValue(heads) ?? basis.Heads,
            };
            config.Validate();
            List<int> batches;
            try { batches = [.. (parse.GetValue(sampleBatches) ?? (gpt2 ? "1,16" : "32")).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(b => int.Parse(b, CultureInfo.InvariantCulture))]; }
            catch (FormatException) { throw new ArgumentException($"--sample-batch is '{parse.GetValue(sampleBatches)}'; give comma-separated whole numbers such as 1,16."); }
            int rank = parse.GetValue(lora);
            if (rank < 0) throw new ArgumentException($"--lora is {rank}; give a rank of 1 or more, or 0 for full fine-tuning.");
            var options = new LmBenchmarkOptions
            {
                BatchSize = parse.GetValue(batch) ?? (gpt2 ? 1 : 32), Steps = parse.GetValue(steps) ?? (gpt2 ? 3 : 20), Warmup = gpt2 ? 1 : 3,
                SampleBatchSizes = batches, SampleTokens = parse.GetValue(sampleTokens) ?? (gpt2 ? 128 : null),
                Lora = rank > 0 ? new LoraOptions { Rank = rank, Alpha = 2 * rank, TargetModules = ["c_attn"] } : null,
            };
            Console.WriteLine($"GPT: {config.Layers} layers, {config.Width} wide, {config.Heads} heads, context {config.ContextLength}, vocabulary {config.VocabSize}, " +
                $"{config.ParameterCount:N0} parameters; training batch {options.BatchSize} x {config.ContextLength} tokens, {(options.Lora is null ? "every weight" : $"LoRA rank {rank} on c_attn")}; {Environment.ProcessorCount} cores, {Tensors.Kernels.MaxThreads} threads.");
            var r = LmBenchmark.Run(config, options);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"training: {r.TrainTokensPerSecond,8:N0} tokens/s (median step {r.TrainMedianStepMilliseconds:F1} ms; best {r.TrainBestTokensPerSecond:N0} tokens/s; {r.TrainedParameters:N0} parameters trained)"));
            if (r.Limit is { } limit)
            {
                double limitTokens = limit.TokensPerSecond(options.BatchSize * config.ContextLength);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"limit on this machine now: {limitTokens:N0} tokens/s (the step's matrix products alone, {limit.Flops / 1e9:N1} GFLOP, take {limit.Milliseconds:N1} ms at {limit.Gflops:N1} GFLOP/s); this run at {100 * r.TrainTokensPerSecond / limitTokens:N0} % of it."));
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"peak memory (RSS) after training: {r.PeakResidentBytesAfterTraining / 1048576.0:N0} MiB"));
            foreach (var s in r.Sampling)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"sampling: {s.TokensPerSecond,8:N0} tokens/s ({s.BatchSize} sequence{(s.BatchSize == 1 ? "" : "s")} at once, {s.TokensPerSequence} tokens each, key/value cache)"));
            Console.WriteLine(gpt2
                ? "Peer: /usr/bin/python3 tools/bench/gpt2_torch.py (same shapes in PyTorch; --lora 8 for the adapters)."
                : "Reference: the same GPT trains at 12,415 tokens/s in PyTorch 1.13 with OpenBLAS at its best thread count (1; 6,401 on 2), the median of four rounds measured beside this bench on the 2-core development machine on 2026-12-06 (tools/bench/gpt2_torch.py).");
            return 0;
        }));
        return command;
    }

    internal static string OneLine(string text) => text.Replace("\n", "⏎", StringComparison.Ordinal);
}
