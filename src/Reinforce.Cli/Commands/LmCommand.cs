using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Demos;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;

namespace Reinforce.Cli.Commands;

/// <summary>`reinforce lm ...`: pretrain a small character-level GPT, sample from it, measure its speed.</summary>
internal static class LmCommand
{
    public static Command Create()
    {
        var command = new Command("lm", "A small character-level GPT: pretrain it on a text, sample from it, measure its speed.");
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
        var context = new Option<int>("--context") { Description = "Context length in characters.", DefaultValueFactory = _ => 64 };
        var evalEvery = new Option<int>("--eval-every") { Description = "Measure the held-out loss, show a sample and save a checkpoint every this many steps.", DefaultValueFactory = _ => 200 };
        var seed = new Option<int>("--seed") { Description = "Seed of the weights and the batches.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int?>("--threads") { Description = "Threads for the matrix products (default: the core count)." };
        var command = new Command("pretrain", "Train a GPT to predict the next character of a text, with held-out loss and checkpoints.")
        {
            corpus, output, steps, batch, lr, layers, width, heads, context, evalEvery, seed, threads,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(RlhfCommand.Guard(() =>
        {
            RlhfCommand.ApplyThreads(parse.GetValue(threads));
            string? path = parse.GetValue(corpus);
            string text = path is null ? DemoCorpus.Stories : DemoCorpus.NormalizeLineEnds(ReadText(path));
            var tokenizer = CharTokenizer.FromText(text);
            var config = new GptConfig
            {
                VocabSize = tokenizer.VocabSize, ContextLength = parse.GetValue(context), Layers = parse.GetValue(layers),
                Width = parse.GetValue(width), Heads = parse.GetValue(heads),
            };
            config.Validate();
            var options = new PretrainOptions
            {
                Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), LearningRate = parse.GetValue(lr),
                MinLearningRate = parse.GetValue(lr) / 10, Seed = parse.GetValue(seed),
            };
            string dir = parse.GetValue(output)!;
            Directory.CreateDirectory(dir);
            var model = new Gpt(config, new Rng(parse.GetValue(seed)));
            var trainer = new Pretrainer(model, tokenizer, text, options);
            JsonFile.Write(Path.Combine(dir, "config.json"), new Dictionary<string, object>
            {
                ["kind"] = "lm_pretrain", ["corpus"] = path ?? "(shipped demo stories)", ["corpus_characters"] = text.Length,
                ["vocabulary"] = tokenizer.Vocabulary, ["model"] = config, ["parameters"] = model.ParameterCount, ["options"] = options,
            });
            Console.WriteLine($"Pretraining a GPT of {model.ParameterCount:N0} parameters ({config.Layers} layers, {config.Width} wide, {config.Heads} heads, context {config.ContextLength}, " +
                $"{tokenizer.VocabSize} characters) on {(path ?? "the shipped stories")}: {trainer.TrainTokens:N0} characters to train on, {trainer.ValidationTokens:N0} held out.");
            Console.WriteLine($"Run folder {dir}; Ctrl+C stops and keeps the last checkpoint.");

            using var metrics = new MetricsLogger(CsvLogger.ForMetrics(Path.Combine(dir, "metrics.csv")), new TensorBoardWriter(dir));
            string best = Path.Combine(dir, "model.safetensors"), last = Path.Combine(dir, "last.safetensors");
            double bestLoss = double.PositiveInfinity;
            var clock = Stopwatch.StartNew();
            var prompt = DemoCorpus.Openings(text).FirstOrDefault(o => tokenizer.UnknownCharacters(o).Length == 0) ?? text[..Math.Min(8, text.Length)];
            int every = Math.Max(1, parse.GetValue(evalEvery));
            double recentLoss = 0;
            int recentCount = 0;
            for (int s = 1; s <= options.Steps; s++)
            {
                if (cancellationToken.IsCancellationRequested) { Console.WriteLine("Stopped."); break; }
                var step = trainer.Step();
                recentLoss += step.Loss;
                recentCount++;
                var row = new Dictionary<string, double> { ["loss"] = step.Loss, ["learning_rate"] = step.LearningRate, ["grad_norm"] = step.GradNorm, ["tokens_per_second"] = step.TokensPerSecond };
                bool evaluate = s % every == 0 || s == options.Steps;
                if (evaluate)
                {
                    double validation = trainer.ValidationLoss();
                    row["val_loss"] = validation;
                    var facts = new Dictionary<string, string> { ["step"] = s.ToString(CultureInfo.InvariantCulture), ["val_loss"] = LmCheckpoint.Fact(validation) };
                    LmCheckpoint.Save(last, model, tokenizer, facts);
                    if (validation < bestLoss) { bestLoss = validation; LmCheckpoint.Save(best, model, tokenizer, facts); }
                    string sample = TextGeneration.Continue(model, tokenizer, prompt, 60, new SamplingOptions { Temperature = 0.8f }, new Rng(s));
                    metrics.LogText("sample", prompt + sample, s);
                    double eta = clock.Elapsed.TotalSeconds / s * (options.Steps - s);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"step {s,6}/{options.Steps}  loss {recentLoss / recentCount:F3}  held-out {validation:F3}{(validation <= bestLoss ? "*" : " ")}  {step.TokensPerSecond,7:F0} tok/s  eta {eta:F0}s  | {prompt}{OneLine(sample)}"));
                    recentLoss = 0;
                    recentCount = 0;
                }
                metrics.Log(s, row);
            }
            if (!File.Exists(last) || trainer.StepCount % every != 0)
                LmCheckpoint.Save(last, model, tokenizer, new Dictionary<string, string> { ["step"] = trainer.StepCount.ToString(CultureInfo.InvariantCulture) });
            if (!File.Exists(best)) File.Copy(last, best);
            Console.WriteLine($"Done in {clock.Elapsed.TotalSeconds:F0} s. Best held-out loss {bestLoss:F3} nats per character: {best} (last step: {last}).");
            Console.WriteLine($"Try: reinforce lm sample {best} --prompt \"{prompt}\"");
            return 0;
        })));
        return command;
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
                throw new ArgumentException($"the prompt contains characters the model never saw: \"{unknown}\". Its vocabulary is: \"{tokenizer.Vocabulary.Replace("\n", "\\n", StringComparison.Ordinal)}\".");
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
        var steps = new Option<int>("--steps") { Description = "Timed training steps.", DefaultValueFactory = _ => 20 };
        var batch = new Option<int>("--batch") { Description = "Sequences per training step.", DefaultValueFactory = _ => 32 };
        var vocab = new Option<int>("--vocab") { Description = "Vocabulary size.", DefaultValueFactory = _ => 65 };
        var layers = new Option<int>("--layers") { Description = "Transformer blocks.", DefaultValueFactory = _ => 4 };
        var width = new Option<int>("--width") { Description = "Embedding width.", DefaultValueFactory = _ => 128 };
        var heads = new Option<int>("--heads") { Description = "Attention heads.", DefaultValueFactory = _ => 4 };
        var context = new Option<int>("--context") { Description = "Context length.", DefaultValueFactory = _ => 64 };
        var threads = new Option<int?>("--threads") { Description = "Threads (default: the core count)." };
        var command = new Command("bench", "Tokens per second for training and for sampling (default: the 0.8M-parameter demo GPT, batch 32).")
        {
            steps, batch, vocab, layers, width, heads, context, threads,
        };
        command.SetAction(parse => RlhfCommand.Guard(() =>
        {
            RlhfCommand.ApplyThreads(parse.GetValue(threads));
            var config = new GptConfig
            {
                VocabSize = parse.GetValue(vocab), ContextLength = parse.GetValue(context), Layers = parse.GetValue(layers),
                Width = parse.GetValue(width), Heads = parse.GetValue(heads),
            };
            Console.WriteLine($"GPT: {config.Layers} layers, {config.Width} wide, {config.Heads} heads, context {config.ContextLength}, vocabulary {config.VocabSize}, " +
                $"{config.ParameterCount:N0} parameters; batch {parse.GetValue(batch)}; {Environment.ProcessorCount} cores, {Tensors.Kernels.MaxThreads} threads.");
            var r = LmBenchmark.Run(config, parse.GetValue(batch), parse.GetValue(steps));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"training: {r.TrainTokensPerSecond,8:N0} tokens/s (median step {r.TrainMedianStepMilliseconds:F1} ms; best {r.TrainBestTokensPerSecond:N0} tokens/s)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sampling: {r.SampleTokensPerSecond,8:N0} tokens/s ({r.SampleBatchSize} sequences at once, key/value cache)"));
            Console.WriteLine("Reference: the same GPT trains at about 6,700 tokens/s in PyTorch 1.13 (OpenBLAS, 2 threads) on the machine the target was set on.");
            return 0;
        }));
        return command;
    }

    private static string ReadText(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no corpus file at '{path}'. Give a UTF-8 text file, or leave the argument out to use the shipped stories.", path);
        string text = File.ReadAllText(path);
        if (text.Length == 0) throw new ArgumentException($"the corpus '{path}' is empty.");
        return text;
    }

    internal static string OneLine(string text) => text.Replace("\n", "⏎", StringComparison.Ordinal);
}
