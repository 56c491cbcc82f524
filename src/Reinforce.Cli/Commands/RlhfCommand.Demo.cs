using System.CommandLine;
using System.Globalization;
using System.Text;
using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Demos;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;

namespace Reinforce.Cli.Commands;

internal static partial class RlhfCommand
{
    /// <summary>`reinforce rlhf demo verifiable|preference`: the two end-to-end demos, each writing a run folder with curves and samples.</summary>
    private static Command CreateDemo()
    {
        var command = new Command("demo", "End-to-end demos: a verifiable task learned by RL, and RLHF with a simulated rater.");
        command.Subcommands.Add(CreateVerifiableDemo());
        command.Subcommands.Add(CreatePreferenceDemo());
        return command;
    }

    private static Command CreateVerifiableDemo()
    {
        var task = new Option<string>("--task") { Description = "reverse or repeat the prompt word.", DefaultValueFactory = _ => "reverse" };
        task.AcceptOnlyFromAmong("reverse", "repeat");
        var algorithm = new Option<string>("--algorithm", "-a") { Description = "rloo, grpo or ppo.", DefaultValueFactory = _ => "rloo" };
        algorithm.AcceptOnlyFromAmong("rloo", "grpo", "ppo");
        var pretrainSteps = new Option<int>("--pretrain-steps") { Description = "Pretraining steps on word=shuffle examples.", DefaultValueFactory = _ => new VerifiableDemoOptions().Pretrain.Steps };
        var steps = new Option<int>("--steps") { Description = "RL steps.", DefaultValueFactory = _ => new VerifiableDemoOptions().RlSteps };
        var width = new Option<int>("--width") { Description = "Model width.", DefaultValueFactory = _ => new VerifiableDemoOptions().Width };
        var layers = new Option<int>("--layers") { Description = "Transformer blocks.", DefaultValueFactory = _ => new VerifiableDemoOptions().Layers };
        var output = new Option<string>("--out", "-o") { Description = "Run folder.", DefaultValueFactory = _ => Path.Combine("runs", "rlhf-verifiable") };
        var seed = new Option<int>("--seed") { Description = "Seed of everything.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int?>("--threads") { Description = "Threads (default: the core count)." };
        var command = new Command("verifiable", "Pretrain a small GPT on word=shuffle, then RL-tune it to reverse (or repeat) the word; accuracy before and after.")
        {
            task, algorithm, pretrainSteps, steps, width, layers, output, seed, threads,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(Guard(() =>
        {
            ApplyThreads(parse.GetValue(threads));
            var algo = parse.GetValue(algorithm) switch { "grpo" => RlAlgorithm.Grpo, "ppo" => RlAlgorithm.Ppo, _ => RlAlgorithm.Rloo };
            var defaults = new VerifiableDemoOptions();
            var options = defaults with
            {
                Task = parse.GetValue(task)!, Seed = parse.GetValue(seed), RlSteps = parse.GetValue(steps), Width = parse.GetValue(width), Layers = parse.GetValue(layers),
                Pretrain = defaults.Pretrain with { Steps = parse.GetValue(pretrainSteps) },
                Rl = defaults.Rl with { Algorithm = algo, Epochs = algo == RlAlgorithm.Ppo ? 2 : 1, MiniBatches = algo == RlAlgorithm.Ppo ? 2 : 1 },
            };
            string dir = parse.GetValue(output)!;
            using var log = new RunLog(dir, new Dictionary<string, object> { ["kind"] = "rlhf_demo_verifiable", ["options"] = options });
            var result = VerifiableDemo.Run(options, Console.WriteLine, m => log.Step(m),
                p => log.Extra(p.Step, new Dictionary<string, double> { ["accuracy_greedy"] = p.Greedy, ["accuracy_sampled"] = p.Sampled }), cancellationToken);

            LmCheckpoint.Save(Path.Combine(dir, "model.safetensors"), result.Model, result.Tokenizer);
            var curveSteps = result.Curve.Select(p => (double)p.Step).ToList();
            SvgChart.Save(Path.Combine(dir, "accuracy.svg"), $"{result.Task.Name}: exact-match accuracy on held-out words", "RL step", "accuracy",
                [new ChartSeries("greedy", curveSteps, [.. result.Curve.Select(p => p.Greedy)]), new ChartSeries("sampled", curveSteps, [.. result.Curve.Select(p => p.Sampled)])],
                [new ReferenceLine(0.9, "90%")]);
            WriteRewardKlChart(dir, result.Steps);
            var report = new StringBuilder();
            report.AppendLine(CultureInfo.InvariantCulture, $"# Verifiable task: {result.Task.Name} the word");
            report.AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"Accuracy on {options.EvalPrompts} held-out words: {result.Before.Greedy:P1} greedy / {result.Before.Sampled:P1} sampled after pretraining, " +
                $"{result.After.Greedy:P1} / {result.After.Sampled:P1} after {options.RlSteps} steps of {algo.ToString().ToUpperInvariant()}.");
            AppendSamples(report, result.Samples, "greedy");
            AtomicFile.WriteAllText(Path.Combine(dir, "report.md"), report.ToString());
            Console.WriteLine();
            PrintSamples(result.Samples);
            PrintCurve("accuracy (greedy)", result.Curve.Select(p => (p.Step, p.Greedy)).ToList());
            Console.WriteLine($"Run folder {dir}: metrics.csv, TensorBoard events, accuracy.svg, reward-kl.svg, report.md, model.safetensors.");
            if (result.After.Greedy >= VerifiableTarget) return 0;
            Console.WriteLine(MissedTarget(result.Before.Greedy, result.After.Greedy, options, algo));
            return 1;
        })));
        return command;
    }

    private static Command CreatePreferenceDemo()
    {
        var rater = new Option<string>("--rater") { Description = "The simulated rater's taste: simple (short words), cheerful or spelling.", DefaultValueFactory = _ => "simple" };
        rater.AcceptOnlyFromAmong("simple", "cheerful", "spelling");
        var pretrained = new Option<string?>("--pretrained") { Description = "A checkpoint from `reinforce lm pretrain` (skips pretraining here)." };
        var pretrainSteps = new Option<int>("--pretrain-steps") { Description = "Pretraining steps when no --pretrained model is given.", DefaultValueFactory = _ => 1000 };
        var pairs = new Option<int>("--pairs") { Description = "Pairs of completions the rater judges.", DefaultValueFactory = _ => 2000 };
        var steps = new Option<int>("--steps") { Description = "RLOO steps.", DefaultValueFactory = _ => 100 };
        var beta = new Option<float>("--beta") { Description = "KL coefficient (rewards are scaled to std 1).", DefaultValueFactory = _ => 0.05f };
        var output = new Option<string>("--out", "-o") { Description = "Run folder.", DefaultValueFactory = _ => Path.Combine("runs", "rlhf-preference") };
        var seed = new Option<int>("--seed") { Description = "Seed of everything.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int?>("--threads") { Description = "Threads (default: the core count)." };
        var command = new Command("preference", "The RLHF pipeline with a simulated rater: pairs, reward model (held-out accuracy), RLOO (true score and KL).")
        {
            rater, pretrained, pretrainSteps, pairs, steps, beta, output, seed, threads,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(Guard(() =>
        {
            ApplyThreads(parse.GetValue(threads));
            var defaults = new PreferenceDemoOptions();
            var options = defaults with
            {
                Rater = parse.GetValue(rater)!, Pairs = parse.GetValue(pairs), RlSteps = parse.GetValue(steps), Seed = parse.GetValue(seed),
                Pretrain = defaults.Pretrain with { Steps = parse.GetValue(pretrainSteps) },
                Rl = defaults.Rl with { KlCoefficient = parse.GetValue(beta) },
                TieMargin = parse.GetValue(rater) switch { "cheerful" => 0, "spelling" => 0.1, _ => 0.3 },
            };
            Gpt? model = null;
            ITokenizer? tokenizer = null;
            if (parse.GetValue(pretrained) is string path) (model, tokenizer, _) = LoadLanguageModel(path);
            string dir = parse.GetValue(output)!;
            using var log = new RunLog(dir, new Dictionary<string, object> { ["kind"] = "rlhf_demo_preference", ["pretrained"] = parse.GetValue(pretrained) ?? "", ["options"] = options });
            var result = PreferenceDemo.Run(options, model, tokenizer, null, Console.WriteLine, m => log.Step(m),
                p => log.Extra(p.Step, new Dictionary<string, double> { ["true_score"] = p.TrueScore, ["eval_kl"] = p.Kl, ["eval_reward"] = p.RewardModelScore }), cancellationToken);

            LmCheckpoint.Save(Path.Combine(dir, "model.safetensors"), result.Policy, result.Tokenizer);
            LmCheckpoint.Save(Path.Combine(dir, "reference.safetensors"), result.Reference, result.Tokenizer);
            LmCheckpoint.Save(Path.Combine(dir, "reward.safetensors"), result.RewardModel, new Dictionary<string, string>
            {
                ["heldout_accuracy"] = LmCheckpoint.Fact(result.HeldOut.Accuracy), ["heldout_margin"] = LmCheckpoint.Fact(result.HeldOut.MeanMargin),
            });
            var x = result.Curve.Select(p => (double)p.Step).ToList();
            SvgChart.Save(Path.Combine(dir, "true-score.svg"), $"The '{options.Rater}' rater's true score on held-out prompts", "RLOO step", "true score",
                [new ChartSeries("true score", x, [.. result.Curve.Select(p => p.TrueScore)])]);
            SvgChart.Save(Path.Combine(dir, "kl.svg"), "KL to the pretrained model (nats per completion)", "RLOO step", "KL",
                [new ChartSeries("KL", x, [.. result.Curve.Select(p => p.Kl)])]);
            WriteRewardKlChart(dir, result.Steps);
            var report = new StringBuilder();
            report.AppendLine(CultureInfo.InvariantCulture, $"# RLHF with a simulated '{options.Rater}' rater");
            report.AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"- {result.PairCount:N0} pairs judged ({result.TieCount:N0} ties); reward model held-out accuracy {result.HeldOut.Accuracy:P1} over {result.HeldOut.Pairs} pairs, mean margin {result.HeldOut.MeanMargin:F2}.");
            report.AppendLine(CultureInfo.InvariantCulture, $"- True score on held-out prompts: {result.Before.TrueScore:F3} before RLOO, {result.After.TrueScore:F3} after {options.RlSteps} steps; KL to the pretrained model {result.After.Kl:F2} nats per completion.");
            report.AppendLine();
            report.AppendLine("| step | true score | KL | reward |");
            report.AppendLine("| ---: | ---: | ---: | ---: |");
            foreach (var p in result.Curve) report.AppendLine(CultureInfo.InvariantCulture, $"| {p.Step} | {p.TrueScore:F3} | {p.Kl:F2} | {p.RewardModelScore:F2} |");
            AppendSamples(report, result.Samples, "sampled");
            AtomicFile.WriteAllText(Path.Combine(dir, "report.md"), report.ToString());
            Console.WriteLine();
            PrintSamples(result.Samples);
            PrintCurve("true score", result.Curve.Select(p => (p.Step, p.TrueScore)).ToList());
            PrintCurve("KL to the reference", result.Curve.Select(p => (p.Step, p.Kl)).ToList());
            Console.WriteLine($"Run folder {dir}: metrics.csv, TensorBoard events, true-score.svg, kl.svg, report.md, model/reference/reward checkpoints.");
            return 0;
        })));
        return command;
    }

    /// <summary>The greedy exact-match accuracy the verifiable demo is expected to reach (its exit code says whether it did).</summary>
    internal const double VerifiableTarget = 0.9;

    /// <summary>What the verifiable demo reached when it missed its target, and what to try next.</summary>
    internal static string MissedTarget(double before, double after, VerifiableDemoOptions options, RlAlgorithm algorithm) =>
        string.Create(CultureInfo.InvariantCulture, $"Target not met: greedy accuracy {after:P1} after {options.RlSteps} {algorithm.ToString().ToUpperInvariant()} steps (from {before:P1} after pretraining); the demo aims for {VerifiableTarget:P0}.") +
        string.Create(CultureInfo.InvariantCulture, $" Try more RL steps (--steps {options.RlSteps * 2}), more pretraining (--pretrain-steps {options.Pretrain.Steps * 2}), {(algorithm == RlAlgorithm.Rloo ? "or another --seed." : "another --seed, or --algorithm rloo (the tuned default).")}") +
        " The model and curves of this run are kept in the run folder.";

    private static void WriteRewardKlChart(string dir, IReadOnlyList<RlhfStepMetrics> steps)
    {
        if (steps.Count == 0) return;
        var x = steps.Select(m => (double)m.Step).ToList();
        SvgChart.Save(Path.Combine(dir, "reward-kl.svg"), "Training reward and KL per step", "RL step", "value",
            [new ChartSeries("reward mean", x, [.. steps.Select(m => m.RewardMean)]), new ChartSeries("KL", x, [.. steps.Select(m => m.Kl)])]);
    }

    private static void AppendSamples(StringBuilder report, IReadOnlyList<BeforeAfterSample> samples, string how)
    {
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"## Samples ({how}, same prompts and seed)");
        report.AppendLine();
        report.AppendLine("| prompt | before | after |");
        report.AppendLine("| --- | --- | --- |");
        foreach (var s in samples) report.AppendLine(CultureInfo.InvariantCulture, $"| `{Cell(s.Prompt)}` | {Cell(s.Before)} | {Cell(s.After)} |");
    }

    private static string Cell(string text) => LmCommand.OneLine(text).Replace("|", "\\|", StringComparison.Ordinal);

    private static void PrintSamples(IReadOnlyList<BeforeAfterSample> samples)
    {
        Console.WriteLine("Samples (same prompt and seed), before -> after:");
        foreach (var s in samples)
        {
            Console.WriteLine($"  {s.Prompt}|{LmCommand.OneLine(s.Before)}");
            Console.WriteLine($"  {new string(' ', s.Prompt.Length)}|{LmCommand.OneLine(s.After)}");
        }
    }

    private static void PrintCurve(string name, IReadOnlyList<(int Step, double Value)> points)
    {
        if (points.Count < 2) return;
        Console.WriteLine();
        Console.WriteLine(name + ":");
        Console.WriteLine(TerminalChart.Render([new ChartSeries(name, [.. points.Select(p => (double)p.Step)], [.. points.Select(p => p.Value)])], 70, 12));
    }
}
