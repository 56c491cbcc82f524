using System.CommandLine;
using System.Globalization;
using Reinforce.Algorithms;
using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Nn;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;
using Reinforce.Training;

namespace Reinforce.Cli.Commands;

/// <summary>
/// `reinforce rlhf ...`: collect human feedback (label), train a reward model on it (reward), fine-tune a language model
/// against it or against a reward written as code (train), and the two end-to-end demos (demo).
/// </summary>
internal static partial class RlhfCommand
{
    public static Command Create()
    {
        var command = new Command("rlhf", "Fine-tune a small language model from human feedback: label, reward, train, demo.");
        command.Subcommands.Add(CreateLabel());
        command.Subcommands.Add(CreateReward());
        command.Subcommands.Add(CreateTrain());
        command.Subcommands.Add(CreateDemo());
        command.Subcommands.Add(CreateDpo());
        return command;
    }

    /// <summary>Runs a command body, turning the expected failures (bad files, bad settings) into one clear line and exit code 2.</summary>
    internal static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception ex) when (ex is ArgumentException or FileNotFoundException or DirectoryNotFoundException or CheckpointFormatException
            or PreferenceFormatException or StateDictException or ConfigurationException or IOException or InvalidOperationException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 2;
        }
    }

    /// <summary>
    /// Prints the first 20 of a preference file's <paramref name="problems"/> (broken lines, or pairs left out), each
    /// with its line number, and how many more there are: `rlhf reward`, `rlhf dpo` and `rlhf label` say it alike.
    /// </summary>
    internal static void PrintLineProblems(string label, string path, IReadOnlyList<PreferenceLineProblem> problems, string suffix)
    {
        foreach (var problem in problems.Take(20)) Console.WriteLine($"{label}: {path} {problem}{suffix}");
        if (problems.Count > 20) Console.WriteLine($"{label}: ... and {problems.Count - 20} more lines like these{suffix}.");
    }

    /// <summary>Sets <see cref="Tensors.Kernels.MaxThreads"/> from --threads.</summary>
    internal static void ApplyThreads(int? threads)
    {
        if (threads is null) return;
        if (threads < 1) throw new ArgumentException($"--threads is {threads}; use 1 or more.");
        Tensors.Kernels.MaxThreads = threads.Value;
    }

    /// <summary>Loads a language-model checkpoint, or says clearly what the file is instead.</summary>
    internal static (Gpt Model, ITokenizer Tokenizer, IReadOnlyDictionary<string, string> Facts) LoadLanguageModel(string path) => LanguageModelFiles.Load(path);

    /// <summary>The prompts of a text file (one per non-empty line), or the openings of the shipped stories.</summary>
    internal static List<string> ReadPrompts(string? path, ITokenizer tokenizer)
    {
        var (prompts, leftOut) = PromptFile.Read(path, tokenizer);
        if (leftOut > 0) Console.WriteLine($"note: {leftOut} prompts use characters the model never saw and are left out.");
        return prompts;
    }

    /// <summary>
    /// The log of a demo run, on the shared run-folder service: <c>config.json</c>, step figures to <c>metrics.csv</c> and
    /// TensorBoard, samples to <c>samples.jsonl</c>; an evaluation's figures join the row of its step.
    /// </summary>
    internal sealed class RunLog : IDisposable
    {
        private readonly RunFolder _folder;
        private readonly StreamWriter _samples;
        private Dictionary<string, double>? _pending;
        private long _pendingStep;

        public RunLog(string directory, object config)
        {
            _folder = RunFolder.Create(directory, JsonFile.Serialize(config));
            _samples = new StreamWriter(Path.Combine(directory, RlhfRun.SamplesFile), append: false);
        }

        /// <summary>Records a step; its row is written with any <see cref="Extra"/> figures of the same step.</summary>
        public void Step(RlhfStepMetrics m)
        {
            FlushPending();
            _pending = m.ToDictionary();
            _pendingStep = m.Step;
            RlhfRun.LogSamples(_folder, _samples, m);
        }

        /// <summary>Figures measured at <paramref name="step"/> (an evaluation), joined to that step's row.</summary>
        public void Extra(long step, IReadOnlyDictionary<string, double> metrics)
        {
            if (_pending is not null && _pendingStep == step)
            {
                foreach (var (k, v) in metrics) _pending[k] = v;
                return;
            }
            FlushPending();
            _folder.Log(step, metrics);
        }

        private void FlushPending()
        {
            if (_pending is null) return;
            _folder.Log(_pendingStep, _pending);
            _pending = null;
        }

        public void Dispose()
        {
            FlushPending();
            _folder.Dispose();
            _samples.Dispose();
        }
    }

    /// <summary>A one-line summary of an RL step for the console.</summary>
    internal static string Describe(RlhfStepMetrics m) => string.Create(CultureInfo.InvariantCulture,
        $"step {m.Step,5}  reward {m.RewardMean,7:F3} ±{m.RewardStd:F2}  KL {m.Kl,6:F2}  entropy {m.Entropy:F2}  length {m.CompletionLengthMean,5:F1}  flat groups {m.ZeroVarianceGroupFraction:P0}  clip {m.ClipFraction:F2}  {m.Seconds:F2}s");
}
