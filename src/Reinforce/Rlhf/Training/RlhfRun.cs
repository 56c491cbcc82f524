using System.Globalization;
using System.Text.Json;
using Reinforce.Training;

namespace Reinforce.Rlhf.Training;

/// <summary>
/// RL fine-tuning in a run folder (the library side of <c>reinforce rlhf train</c>): the <see cref="RunFolder"/> drives an
/// <see cref="RlhfTrainer"/> — each step's figures to <c>metrics.csv</c> and TensorBoard, a few completions per step to
/// <see cref="SamplesFile"/> and TensorBoard text, periodic checkpoints (policy and complete training state), <c>final/</c> —
/// and the fine-tuned policy is published at the top of the folder as <see cref="ModelFile"/>.
/// </summary>
public static class RlhfRun
{
    /// <summary>The fine-tuned policy, at the top of the run folder.</summary>
    public const string ModelFile = "model.safetensors";

    /// <summary>One JSON line per logged completion: step, prompt, completion, reward.</summary>
    public const string SamplesFile = "samples.jsonl";

    /// <summary>
    /// Trains to <paramref name="steps"/> RL steps, a checkpoint every <paramref name="saveEvery"/> (0: only the final one);
    /// progress after each step (<see cref="RlhfTrainer.LastStep"/> holds its figures and samples). Resume first with
    /// <see cref="RunFolder.ResumeTrainer"/> to continue a run. Stopped by <paramref name="cancellation"/>, it keeps a
    /// checkpoint where it stopped.
    /// </summary>
    public static RunSummary Train(RunFolder folder, RlhfTrainer trainer, int steps, int saveEvery,
        IProgress<RunProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(trainer);
        var schedule = new RunSchedule { TotalSteps = steps, CheckpointEvery = saveEvery };
        RunSummary summary;
        using (var samples = new StreamWriter(Path.Combine(folder.Directory, SamplesFile), append: true))
            summary = folder.Train(trainer, schedule, new SampleLog(folder, trainer, samples, progress), cancellation);
        if (!summary.Stopped && !summary.AlreadyFinished)
        {
            string temp = Path.Combine(folder.Directory, ModelFile + ".tmp");
            File.Copy(Path.Combine(folder.FinalPath, LmCheckpoint.ModelFile), temp, overwrite: true);
            File.Move(temp, Path.Combine(folder.Directory, ModelFile), overwrite: true);
        }
        return summary;
    }

    /// <summary>Logs a step's samples: TensorBoard text in <paramref name="folder"/>, and one JSON line each to <paramref name="samples"/>.</summary>
    public static void LogSamples(RunFolder folder, TextWriter samples, RlhfStepMetrics step)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(step);
        folder.LogText("samples", string.Join("\n\n", step.Samples.Select(s => string.Create(CultureInfo.InvariantCulture, $"`{s.Prompt}`**{s.Completion}** (reward {s.Reward:F3})"))), step.Step);
        foreach (var s in step.Samples)
            samples.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { ["step"] = step.Step, ["prompt"] = s.Prompt, ["completion"] = s.Completion, ["reward"] = s.Reward }));
        samples.Flush();
    }

    /// <summary>Writes each step's samples (JSON lines and TensorBoard text), then passes the progress on.</summary>
    private sealed class SampleLog(RunFolder folder, RlhfTrainer trainer, StreamWriter samples, IProgress<RunProgress>? inner) : IProgress<RunProgress>
    {
        public void Report(RunProgress value)
        {
            if (trainer.LastStep is RlhfStepMetrics m) LogSamples(folder, samples, m);
            inner?.Report(value);
        }
    }
}
