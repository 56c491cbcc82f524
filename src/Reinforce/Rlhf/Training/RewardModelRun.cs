using System.Globalization;
using Reinforce.Algorithms;
using Reinforce.Distributed;
using Reinforce.IO;
using Reinforce.Rlhf.Data;
using Reinforce.Training;

namespace Reinforce.Rlhf.Training;

/// <summary>
/// Everything that defines a reward-model run (written to the run's <c>config.json</c>, read back to resume it): the
/// preference file, the language model whose trunk the reward model starts from, the held-out share and the trainer's settings.
/// </summary>
public sealed record RewardRunConfig
{
    /// <summary>The JSONL preference pairs.</summary>
    public string Preferences { get; init; } = "";

    /// <summary>The language model (a checkpoint, a run folder or a Hugging Face GPT-2 folder) whose trunk the reward model starts from.</summary>
    public string Model { get; init; } = "";

    /// <summary>Share of the pairs held out, by prompt, to measure accuracy.</summary>
    public double Holdout { get; init; } = 0.2;

    /// <summary>Stop at the first broken line of the preference file instead of skipping it.</summary>
    public bool Strict { get; init; }

    /// <summary>The trainer's settings (epochs, batch, learning rate, seed of the head, split and shuffling).</summary>
    public RewardModelOptions Options { get; init; } = new();

    /// <summary>A checkpoint every this many steps (0: only the final one).</summary>
    public int CheckpointEvery { get; init; } = 50;

    /// <summary>Periodic checkpoints to keep (the newest; 0: all).</summary>
    public int KeepCheckpoints { get; init; } = 3;

    /// <summary>The published model's file name at the top of the run folder.</summary>
    public string ModelFile { get; init; } = RewardModelRun.DefaultModelFile;

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the first invalid setting and its fix.</summary>
    public void Validate()
    {
        ConfigurationException.Require(!string.IsNullOrWhiteSpace(Preferences), "preferences", "is empty; give the JSONL file of preference pairs.");
        ConfigurationException.Require(!string.IsNullOrWhiteSpace(Model), "model", "is empty; give the language model the reward model starts from (e.g. runs/lm/model.safetensors).");
        ConfigurationException.Require(Holdout is >= 0 and < 1, "holdout", $"is {Holdout.ToString(CultureInfo.InvariantCulture)}; hold out a share in [0, 1), e.g. 0.2.");
        ConfigurationException.Require(CheckpointEvery >= 0, "checkpoint_every", $"is {CheckpointEvery}; use 0 (final checkpoint only) or a positive number of steps.");
        ConfigurationException.Require(KeepCheckpoints >= 0, "keep_checkpoints", $"is {KeepCheckpoints}; use 0 (keep all) or a positive number.");
        ConfigurationException.Require(!string.IsNullOrWhiteSpace(ModelFile) && Path.GetFileName(ModelFile) == ModelFile, "model_file", $"is \"{ModelFile}\"; give a plain file name such as reward.safetensors.");
        ConfigurationException.Require(Options is not null, "options", "is null; leave it out for the defaults or give an object.");
        Options!.Validate();
    }
}

/// <summary>
/// Reward-model training in a run folder (the library side of <c>reinforce rlhf reward</c>): the <see cref="RunFolder"/>
/// drives a <see cref="RewardModelTrainer"/> — loss and accuracy per step to <c>metrics.csv</c> and TensorBoard, the
/// held-out accuracy every <see cref="RewardModelOptions.EvaluateEvery"/> steps, periodic checkpoints, <c>final/</c>,
/// resume from the newest checkpoint that loads — and the trained reward model is published at the top of the folder
/// (<see cref="RewardRunConfig.ModelFile"/>, with its held-out accuracy among its facts).
/// </summary>
public sealed class RewardModelRun : IDisposable
{
    /// <summary>The trained reward model's default file name, at the top of the run folder.</summary>
    public const string DefaultModelFile = "reward.safetensors";

    private RewardModelRun(RunFolder folder, RewardRunConfig config, PreferenceDataset data, IReadOnlyList<PreferenceLineProblem> leftOut,
        RewardModelTrainer trainer, int validationPairs)
    {
        Folder = folder;
        Config = config;
        Data = data;
        LeftOut = leftOut;
        Trainer = trainer;
        ValidationPairs = validationPairs;
    }

    /// <summary>The run folder (on a follower rank of a data-parallel run: its scratch folder).</summary>
    public RunFolder Folder { get; }

    /// <summary>The configuration.</summary>
    public RewardRunConfig Config { get; }

    /// <summary>The preference file as read (its broken lines in <see cref="PreferenceDataset.Problems"/>).</summary>
    public PreferenceDataset Data { get; }

    /// <summary>Pairs left out because the model's tokenizer cannot write them.</summary>
    public IReadOnlyList<PreferenceLineProblem> LeftOut { get; }

    /// <summary>The trainer.</summary>
    public RewardModelTrainer Trainer { get; }

    /// <summary>Pairs held out (by prompt).</summary>
    public int ValidationPairs { get; }

    /// <summary>The checkpoint a resumed run continued from (null for a fresh run, or a resumed run that had none).</summary>
    public string? ResumedFrom { get; private set; }

    /// <summary>The published reward model's path.</summary>
    public string ModelPath => Path.Combine(Folder.Directory, Config.ModelFile);

    /// <summary>Starts a new run in <paramref name="directory"/> (which must not hold anything yet).</summary>
    public static RewardModelRun Create(string directory, RewardRunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var run = Build(config, () => RunFolder.Create(directory, JsonFile.Serialize(config)));
        return run;
    }

    /// <summary>Continues the run in <paramref name="directory"/> with the settings of its <c>config.json</c>, from its newest checkpoint that loads.</summary>
    public static RewardModelRun Resume(string directory)
    {
        var folder = RunFolder.Open(directory);
        var config = JsonFile.Deserialize<RewardRunConfig>(folder.ReadConfig(), folder.ConfigPath);
        config.Validate();
        var run = Build(config, () => folder);
        run.ResumedFrom = folder.ResumeTrainer(run.Trainer);
        return run;
    }

    /// <summary>
    /// Rank r &gt; 0 of a data-parallel run: the same trainer over the same data, in a scratch folder of its own (rank 0
    /// owns the run folder). With <paramref name="resumeFrom"/> it starts from rank 0's newest checkpoint there, read
    /// without writing to that folder.
    /// </summary>
    public static RewardModelRun Follower(RewardRunConfig config, string scratchDirectory, string? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var run = Build(config, () => RunFolder.Create(scratchDirectory, JsonFile.Serialize(config)));
        if (resumeFrom is not null)
        {
            var source = RunFolder.Open(resumeFrom);
            run.ResumedFrom = source.Resume(path => { run.Trainer.Load(path); return path; })?.Path;
        }
        return run;
    }

    /// <summary>The configuration of the run folder <paramref name="directory"/> (its <c>config.json</c>), validated.</summary>
    public static RewardRunConfig ReadConfig(string directory)
    {
        var folder = RunFolder.Open(directory);
        var config = JsonFile.Deserialize<RewardRunConfig>(folder.ReadConfig(), folder.ConfigPath);
        config.Validate();
        return config;
    }

    private static RewardModelRun Build(RewardRunConfig config, Func<RunFolder> folder)
    {
        var data = PreferenceFile.Load(config.Preferences, config.Strict);
        var (lm, tokenizer, _) = LanguageModelFiles.Load(config.Model);
        var (usable, leftOut) = data.WithinVocabulary(tokenizer);
        var (train, validation) = RewardModelTraining.Split(usable, config.Holdout, config.Options.Seed);
        if (train.Count == 0) throw new ArgumentException($"{config.Preferences} holds no usable pairs to train on (after holding out {validation.Count}); label more pairs.");
        var model = new RewardModel(lm, tokenizer, new Rng(config.Options.Seed));
        var trainer = new RewardModelTrainer(model, train, validation, config.Options);
        return new RewardModelRun(folder(), config, data, leftOut, trainer, validation.Count);
    }

    /// <summary>
    /// Makes this run one rank of a data-parallel run over <paramref name="communicator"/> (every rank with the same
    /// configuration, checked by hash): rank 0's weights everywhere, each global batch split over the ranks.
    /// </summary>
    public void JoinRanks(ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        DataParallel.EnsureSameConfiguration(communicator, JsonFile.Serialize(Config));
        DataParallelRuns.EnsureSameStep(communicator, Trainer.StepCount);
        Trainer.Distribute(communicator);
    }

    /// <summary>
    /// Trains to the end (or until <paramref name="cancellation"/>, keeping a checkpoint where it stopped); progress after
    /// every step. Publishes the reward model when it finishes (rank 0 only in a data-parallel run).
    /// </summary>
    public RunSummary Run(IProgress<RunProgress>? progress = null, CancellationToken cancellation = default)
    {
        bool leader = Trainer.Communicator.Rank == 0;
        var schedule = new RunSchedule
        {
            TotalSteps = Trainer.TotalSteps, EvaluateEvery = leader ? Math.Max(0, Config.Options.EvaluateEvery) : 0,
            CheckpointEvery = leader ? Config.CheckpointEvery : 0, KeepCheckpoints = Config.KeepCheckpoints, Ranks = Trainer.Communicator,
        };
        if (leader && schedule.EvaluateEvery == 0) schedule.EvaluateEvery = Trainer.TotalSteps;   // at least at the end
        var summary = Folder.Train(Trainer, schedule, progress, cancellation);
        if (leader && !summary.Stopped)
        {
            var facts = new Dictionary<string, string>
            {
                ["pairs"] = Trainer.TrainPairs.ToString(CultureInfo.InvariantCulture), ["reward_step"] = Trainer.StepCount.ToString(CultureInfo.InvariantCulture),
                ["ranks"] = Trainer.Communicator.Size.ToString(CultureInfo.InvariantCulture),
            };
            if (summary.LastEvaluation is { } e && e.TryGetValue("val_accuracy", out double accuracy))
            {
                facts["heldout_accuracy"] = LmCheckpoint.Fact(accuracy);
                facts["heldout_margin"] = LmCheckpoint.Fact(e["val_margin"]);
            }
            else if (summary.AlreadyFinished && File.Exists(ModelPath)) return summary;
            LmCheckpoint.Save(ModelPath, Trainer.Model, facts);
        }
        return summary;
    }

    /// <summary>Closes the run's metric files.</summary>
    public void Dispose() => Folder.Dispose();
}
