using System.Globalization;
using System.Text.Json;
using Reinforce.Algorithms;
using Reinforce.Distributed;
using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.HuggingFace;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Demos;
using Reinforce.Rlhf.Text;
using Reinforce.Training;

namespace Reinforce.Rlhf.Training;

/// <summary>
/// Everything that defines an RL fine-tuning run (written to the run's <c>config.json</c>, read back to resume it): the
/// starting model, exactly one reward (a reward model, a verifiable task or a simulated rater), the prompts, the
/// trainer's settings and the cadence. A reward model's calibration is recorded here when the run starts, so a resume
/// scores with the very same shift and scale.
/// </summary>
public sealed record RlhfRunConfig
{
    /// <summary>The language model to fine-tune (a checkpoint, a run folder or a Hugging Face GPT-2 folder); it is also the frozen reference.</summary>
    public string Model { get; init; } = "";

    /// <summary>A reward-model checkpoint (from <c>rlhf reward</c>), or null.</summary>
    public string? RewardModel { get; init; }

    /// <summary>A verifiable task (reverse or repeat), or null.</summary>
    public string? Task { get; init; }

    /// <summary>A simulated rater (simple, cheerful or spelling) whose score is the reward, or null.</summary>
    public string? Rater { get; init; }

    /// <summary>A text file of prompts, one per line (null: the openings of the shipped stories; a task makes its own).</summary>
    public string? Prompts { get; init; }

    /// <summary>Rescale a reward model's scores to mean 0, std 1 on the starting policy's samples.</summary>
    public bool NormalizeReward { get; init; } = true;

    /// <summary>The calibration's mean (filled in when the run starts; null without a reward model or normalisation).</summary>
    public float? RewardShift { get; init; }

    /// <summary>The calibration's standard deviation (filled in when the run starts).</summary>
    public float? RewardScale { get; init; }

    /// <summary>The trainer's settings.</summary>
    public RlhfOptions Options { get; init; } = new();

    /// <summary>
    /// LoRA adapters to train instead of every weight (null: full fine-tuning). The KL reference is then the base model
    /// with the adapters off; a resume rebuilds the adapters from these settings and loads their trained values.
    /// </summary>
    public LoraOptions? Lora { get; init; }

    /// <summary>RL steps.</summary>
    public int Steps { get; init; } = 200;

    /// <summary>A checkpoint every this many steps (and at the end).</summary>
    public int SaveEvery { get; init; } = 50;

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the first invalid setting and its fix.</summary>
    public void Validate()
    {
        ConfigurationException.Require(!string.IsNullOrWhiteSpace(Model), "model", "is empty; give the language model to fine-tune (e.g. runs/lm/model.safetensors).");
        int rewards = new[] { RewardModel, Task, Rater }.Count(x => x is not null);
        ConfigurationException.Require(rewards == 1, "reward", $"{(rewards == 0 ? "is missing" : "is given more than once")}; give exactly one: reward_model (a checkpoint from `rlhf reward`), task (reverse or repeat) or rater (simple, cheerful or spelling).");
        ConfigurationException.Require(Task is null or "reverse" or "repeat", "task", $"is \"{Task}\"; use reverse or repeat.");
        ConfigurationException.Require(Rater is null or "simple" or "cheerful" or "spelling", "rater", $"is \"{Rater}\"; use simple, cheerful or spelling.");
        ConfigurationException.Require(Steps >= 1, "steps", $"is {Steps}; train for at least one step.");
        ConfigurationException.Require(SaveEvery >= 1, "save_every", $"is {SaveEvery}; save every 1 or more steps.");
        ConfigurationException.Require(RewardScale is null || (float.IsFinite(RewardScale.Value) && RewardScale > 0), "reward_scale", $"is {RewardScale}; leave it out (it is measured when the run starts).");
        ConfigurationException.Require(Options is not null, "options", "is null; leave it out for the defaults or give an object.");
        Options!.Validate();
        if (Lora is not null)
        {
            try { Lora.Validate(); }
            catch (ArgumentException e) { throw new ConfigurationException("lora", $"is invalid: {e.Message}", e); }
        }
    }
}

/// <summary>The prompts of a text file, or of the shipped stories, that a tokenizer can write.</summary>
public static class PromptFile
{
    /// <summary>
    /// The prompts of <paramref name="path"/> (one per non-empty line; null: the openings of the shipped stories) that
    /// <paramref name="tokenizer"/> can write, and how many were left out. None usable is an <see cref="ArgumentException"/>.
    /// </summary>
    public static (List<string> Prompts, int LeftOut) Read(string? path, ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        List<string> prompts;
        if (path is null) prompts = [.. DemoCorpus.Openings(DemoCorpus.Stories)];
        else
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"no prompts file at '{path}'. Give a text file with one prompt per line.", path);
            prompts = [.. File.ReadLines(path).Where(l => !string.IsNullOrWhiteSpace(l))];
        }
        var usable = prompts.Where(p => tokenizer.UnknownCharacters(p).Length == 0).ToList();
        if (usable.Count == 0)
            throw new ArgumentException($"none of the {prompts.Count} prompts can be written by the model's tokenizer ({tokenizer.Description}).");
        return (usable, prompts.Count - usable.Count);
    }
}


/// <summary>
/// RL fine-tuning in a run folder (the library side of <c>reinforce rlhf train</c>): the <see cref="RunFolder"/> drives an
/// <see cref="RlhfTrainer"/> — each step's figures to <c>metrics.csv</c> and TensorBoard, a few completions per step to
/// <see cref="SamplesFile"/> and TensorBoard text, periodic checkpoints (policy and complete training state), <c>final/</c> —
/// and the fine-tuned policy is published at the top of the folder as <see cref="ModelFile"/>.
/// </summary>
public sealed class RlhfRun : IDisposable
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
        var schedule = new RunSchedule { TotalSteps = steps, CheckpointEvery = saveEvery, Ranks = trainer.Communicator };
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

    private RlhfRun(RunFolder folder, RlhfRunConfig config, RlhfTrainer trainer, IRewardSource reward, int promptsLeftOut, bool rewardVocabularyDiffers)
    {
        Folder = folder;
        Config = config;
        Trainer = trainer;
        Reward = reward;
        PromptsLeftOut = promptsLeftOut;
        RewardVocabularyDiffers = rewardVocabularyDiffers;
    }

    /// <summary>The run folder (on a follower rank of a data-parallel run: its scratch folder).</summary>
    public RunFolder Folder { get; }

    /// <summary>The resolved configuration (a task's completion length and stop character, a reward model's calibration filled in).</summary>
    public RlhfRunConfig Config { get; }

    /// <summary>The trainer.</summary>
    public RlhfTrainer Trainer { get; }

    /// <summary>The reward the policy is trained against.</summary>
    public IRewardSource Reward { get; }

    /// <summary>Prompts left out because the model's tokenizer cannot write them.</summary>
    public int PromptsLeftOut { get; }

    /// <summary>Whether the reward model was trained with another vocabulary (it then scores through its own tokenizer).</summary>
    public bool RewardVocabularyDiffers { get; }

    /// <summary>The checkpoint a resumed run continued from (null for a fresh run, or a resumed run that had none).</summary>
    public string? ResumedFrom { get; private set; }

    /// <summary>Starts a new run in <paramref name="directory"/> (which must not hold anything yet); a reward model is calibrated now and its calibration recorded.</summary>
    public static RlhfRun Create(string directory, RlhfRunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return Build(config, resolved => RunFolder.Create(directory, JsonFile.Serialize(resolved)));
    }

    /// <summary>Continues the run in <paramref name="directory"/> with the settings of its <c>config.json</c>, from its newest checkpoint that loads.</summary>
    public static RlhfRun Resume(string directory)
    {
        var folder = RunFolder.Open(directory);
        var run = Build(ReadConfig(directory), _ => folder);
        run.ResumedFrom = folder.ResumeTrainer(run.Trainer);
        return run;
    }

    /// <summary>The configuration of the run folder <paramref name="directory"/> (its <c>config.json</c>), validated.</summary>
    public static RlhfRunConfig ReadConfig(string directory)
    {
        var folder = RunFolder.Open(directory);
        var config = JsonFile.Deserialize<RlhfRunConfig>(folder.ReadConfig(), folder.ConfigPath);
        config.Validate();
        return config;
    }

    /// <summary>
    /// Rank r &gt; 0 of a data-parallel run, in a scratch folder of its own (rank 0 owns the run folder). Give it rank 0's
    /// resolved configuration (<see cref="ReadConfig"/> of the run folder, which rank 0 writes first) so the calibration is
    /// the same. With <paramref name="resumeFrom"/> it starts from rank 0's newest checkpoint there, read without writing.
    /// </summary>
    public static RlhfRun Follower(RlhfRunConfig config, string scratchDirectory, string? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var run = Build(config, resolved => RunFolder.Create(scratchDirectory, JsonFile.Serialize(resolved)));
        if (resumeFrom is not null)
            run.ResumedFrom = RunFolder.Open(resumeFrom).Resume(path => { run.Trainer.Load(path); return path; })?.Path;
        return run;
    }

    private static RlhfRun Build(RlhfRunConfig config, Func<RlhfRunConfig, RunFolder> folder)
    {
        var (policy, tokenizer, _) = LanguageModelFiles.Load(config.Model);
        if (config.Lora is not null) LoraAdapters.Attach(policy, config.Lora);
        var options = config.Options;
        IRewardSource source;
        Func<Rng, string> promptSource;
        int leftOut = 0;
        bool differs = false;
        if (config.Task is string taskName)
        {
            var wordTask = WordTask.Create(taskName);
            string missing = tokenizer.UnknownCharacters(wordTask.Characters);
            if (missing.Length > 0)
                throw new ArgumentException($"the model's vocabulary lacks \"{missing.Replace("\n", "⏎", StringComparison.Ordinal)}\", which the {taskName} task writes; use a model pretrained on the task's format (`reinforce rlhf demo verifiable` makes one).");
            source = wordTask;
            promptSource = wordTask.SamplePrompt;
            options = options with { MaxNewTokens = wordTask.MaxLength + 2, StopCharacter = WordTask.Terminator };
        }
        else
        {
            var (prompts, dropped) = PromptFile.Read(config.Prompts, tokenizer);
            leftOut = dropped;
            int longest = prompts.Max(p => tokenizer.Encode(p).Length);
            if (longest + options.MaxNewTokens > policy.Config.ContextLength)
                throw new ArgumentException($"the longest prompt has {longest} tokens and max_new_tokens (--max-tokens) is {options.MaxNewTokens}, {longest + options.MaxNewTokens} in all, but the model's context " +
                    $"(n_positions in config.json) is {policy.Config.ContextLength}; lower --max-tokens to at most {Math.Max(0, policy.Config.ContextLength - longest)} or give shorter prompts.");
            promptSource = r => prompts[r.NextInt(prompts.Count)];
            if (config.Rater is string raterName)
            {
                source = RewardFunction.OfCompletion(raterName, PreferenceDemo.Rater(raterName, DemoCorpus.Stories));
            }
            else
            {
                var (rm, _) = LmCheckpoint.LoadRewardModel(config.RewardModel!);
                differs = !TokenizerMetadata.Same(rm.Tokenizer, tokenizer);
                source = rm;
                if (config.NormalizeReward)
                {
                    var scaled = config.RewardShift is float shift && config.RewardScale is float scale
                        ? new ScaledReward(rm, shift, scale)
                        : ScaledReward.Calibrate(rm, policy, tokenizer, prompts, options.MaxNewTokens, options.Seed);
                    config = config with { RewardShift = scaled.Shift, RewardScale = scaled.Scale };
                    source = scaled;
                }
            }
        }
        config = config with { Options = options };
        var trainer = new RlhfTrainer(policy, tokenizer, source, promptSource, options);
        return new RlhfRun(folder(config), config, trainer, source, leftOut, differs);
    }

    /// <summary>
    /// Makes this run one rank of a data-parallel run over <paramref name="communicator"/> (every rank with the same
    /// configuration, checked by hash, and at the same step): rank 0's weights everywhere, prompts and samples per rank
    /// from (seed, rank), gradients averaged at every optimizer step, the step's figures averaged over the ranks.
    /// </summary>
    public void JoinRanks(ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        DataParallel.EnsureSameConfiguration(communicator, JsonFile.Serialize(Config));
        DataParallelRuns.EnsureSameStep(communicator, Trainer.StepCount);
        Trainer.Distribute(communicator);
    }

    /// <summary>
    /// Trains to <see cref="RlhfRunConfig.Steps"/> (see <see cref="Train"/>): rank 0 (or the single process) keeps the
    /// run folder's checkpoints, samples and published model (with LoRA: the merged model, and the adapter in PEFT's
    /// layout, <see cref="PeftAdapter"/>); a follower rank only trains.
    /// </summary>
    public RunSummary Run(IProgress<RunProgress>? progress = null, CancellationToken cancellation = default)
    {
        bool leader = Trainer.Communicator.Rank == 0;
        var summary = Train(Folder, Trainer, Config.Steps, leader ? Config.SaveEvery : 0, progress, cancellation);
        if (leader && !summary.Stopped && Trainer.Policy.Lora is { } adapters)
            PeftAdapter.Save(Folder.Directory, adapters, Path.TrimEndingDirectorySeparator(Config.Model), overwrite: true);
        return summary;
    }

    /// <summary>Closes the run's metric files.</summary>
    public void Dispose() => Folder.Dispose();

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
