using Reinforce.Algorithms;
using Reinforce.Distributed;
using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Text;
using Reinforce.Training;

namespace Reinforce.Rlhf.Training;

/// <summary>
/// Everything that defines a pretraining run (written to the run's <c>config.json</c>, read back to resume it): the
/// corpus, the model's shape, the trainer's options and the cadence.
/// </summary>
public sealed record PretrainRunConfig
{
    /// <summary>The corpus: a UTF-8 text file, or null for the shipped demo stories.</summary>
    public string? Corpus { get; init; }

    /// <summary>The model's shape; its vocabulary size is set from the corpus.</summary>
    public GptConfig Model { get; init; } = new();

    /// <summary>The trainer's settings (steps, batch, learning rates, seed).</summary>
    public PretrainOptions Options { get; init; } = new();

    /// <summary>Held-out loss, a sample and a checkpoint every this many steps (and at the end); the best held-out loss is kept.</summary>
    public int EvaluateEvery { get; init; } = 200;

    /// <summary>Periodic checkpoints to keep (the newest).</summary>
    public int KeepCheckpoints { get; init; } = 3;

    /// <summary>
    /// The tokenizer: <c>char</c> (one token per character of the corpus, the teaching demos' default), <c>bpe</c> (a
    /// byte-level BPE of <see cref="BpeVocabSize"/> tokens learned from the corpus as GPT-2's was), <c>gpt2</c> (GPT-2's
    /// own 50,257-token BPE), or a folder holding <c>vocab.json</c> + <c>merges.txt</c> or <c>tokenizer.json</c>.
    /// </summary>
    public string Tokenizer { get; init; } = "char";

    /// <summary>Tokens of the BPE learned from the corpus (<see cref="Tokenizer"/> <c>bpe</c>): the 256 bytes, the merges and <c>&lt;|endoftext|&gt;</c>.</summary>
    public int BpeVocabSize { get; init; } = 512;

    /// <summary>
    /// Where the best model is also written in Hugging Face's GPT-2 layout (config.json, model.safetensors, vocab.json,
    /// merges.txt) when the run finishes; null: <c>hf/</c> inside the run folder for a BPE tokenizer, nothing for
    /// characters (a character vocabulary has no Hugging Face tokenizer).
    /// </summary>
    public string? HuggingFaceFolder { get; init; }

    /// <summary>The dtype of the Hugging Face copy's weights: F32, F16 or BF16.</summary>
    public string HuggingFaceDType { get; init; } = "F32";

    /// <summary>Whether the tokenizer is a byte-level BPE (so the run can be written in Hugging Face's layout).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool UsesBpe => Tokenizer != "char";

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        ConfigurationException.Require(EvaluateEvery >= 1, "evaluate_every", $"is {EvaluateEvery}; evaluate every 1 or more steps.");
        ConfigurationException.Require(KeepCheckpoints >= 0, "keep_checkpoints", $"is {KeepCheckpoints}; use 0 (keep all) or a positive number.");
        ConfigurationException.Require(!string.IsNullOrWhiteSpace(Tokenizer), "tokenizer", "is empty; use char, bpe, gpt2 or a folder with vocab.json + merges.txt (or tokenizer.json).");
        ConfigurationException.Require(Tokenizer != "bpe" || BpeVocabSize >= 258, "bpe_vocab_size", $"is {BpeVocabSize}; a byte-level BPE needs the 256 bytes, a merge and <|endoftext|>: 258 or more (512 to 4096 suit the shipped stories).");
        ConfigurationException.Require(HuggingFaceFolder is null || UsesBpe, "hugging_face_folder", "needs a BPE tokenizer (Hugging Face's GPT-2 reads vocab.json + merges.txt); pretrain with --tokenizer bpe or gpt2.");
        try { Reinforce.Rlhf.HuggingFace.Gpt2Folder.ParseDType(HuggingFaceDType); }
        catch (ArgumentException e) { throw new ConfigurationException("hugging_face_dtype", e.Message); }
        Options.Validate();
    }

    /// <summary>The tokenizer <see cref="Tokenizer"/> names, built for <paramref name="text"/> (the same text gives the same tokenizer, so a resumed run rebuilds it).</summary>
    public ITokenizer CreateTokenizer(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        switch (Tokenizer)
        {
            case "char": return CharTokenizer.FromText(text);
            case "bpe": return ByteLevelBpeTokenizer.Train(text, BpeVocabSize);
            case "gpt2": return ByteLevelBpeTokenizer.Gpt2();
            default:
                if (!Directory.Exists(Tokenizer))
                    throw new ConfigurationException("tokenizer", $"is '{Tokenizer}', which is neither char, bpe, gpt2 nor a folder; give a folder holding vocab.json + merges.txt or tokenizer.json.");
                return ByteLevelBpeTokenizer.FromFolder(Tokenizer)
                    ?? throw new FileNotFoundException($"the tokenizer folder '{Tokenizer}' holds neither vocab.json + merges.txt nor tokenizer.json; copy a GPT-2-family model's tokenizer files into it.");
        }
    }

    /// <summary>The folder the Hugging Face copy goes to for a run in <paramref name="runDirectory"/> (null: none).</summary>
    public string? HuggingFaceOutput(string runDirectory) => HuggingFaceFolder ?? (UsesBpe ? Path.Combine(runDirectory, "hf") : null);

    /// <summary>The corpus text (line ends normalised); a missing or empty file is an error naming it.</summary>
    public string ReadCorpus()
    {
        if (Corpus is null) return DemoCorpus.Stories;
        if (!File.Exists(Corpus)) throw new FileNotFoundException($"no corpus file at '{Corpus}'. Give a UTF-8 text file, or leave the argument out to use the shipped stories.", Corpus);
        string text = File.ReadAllText(Corpus);
        if (text.Length == 0) throw new ArgumentException($"the corpus '{Corpus}' is empty.");
        return DemoCorpus.NormalizeLineEnds(text);
    }
}

/// <summary>
/// Language-model pretraining in a run folder (the library side of <c>reinforce lm pretrain</c>): the
/// <see cref="RunFolder"/> drives a <see cref="Pretrainer"/> — metrics to <c>metrics.csv</c> and TensorBoard, the held-out
/// loss and a sample every <see cref="PretrainRunConfig.EvaluateEvery"/> steps, periodic checkpoints, <c>best/</c> by
/// held-out loss, <c>final/</c>, resume from the newest checkpoint that loads. At the end the best and last models are
/// published at the top of the folder as <see cref="BestModelFile"/> and <see cref="LastModelFile"/>.
/// </summary>
public sealed class PretrainingRun : IDisposable
{
    /// <summary>The best model by held-out loss, at the top of the run folder.</summary>
    public const string BestModelFile = "model.safetensors";

    /// <summary>The model after the last step, at the top of the run folder.</summary>
    public const string LastModelFile = "last.safetensors";

    private PretrainingRun(RunFolder folder, PretrainRunConfig config, Pretrainer trainer)
    {
        Folder = folder;
        Config = config;
        Trainer = trainer;
    }

    /// <summary>The run folder.</summary>
    public RunFolder Folder { get; }

    /// <summary>The resolved configuration (vocabulary size filled in).</summary>
    public PretrainRunConfig Config { get; }

    /// <summary>The trainer (its model, tokenizer and held-out split).</summary>
    public Pretrainer Trainer { get; }

    /// <summary>The checkpoint a resumed run continued from (null for a fresh run, or a resumed run that had none).</summary>
    public string? ResumedFrom { get; private set; }

    /// <summary>The best model's path (written by <see cref="Run"/>).</summary>
    public string BestModelPath => Path.Combine(Folder.Directory, BestModelFile);

    /// <summary>The last model's path (written by <see cref="Run"/>).</summary>
    public string LastModelPath => Path.Combine(Folder.Directory, LastModelFile);

    /// <summary>Starts a new run in <paramref name="directory"/> (which must not hold anything yet).</summary>
    public static PretrainingRun Create(string directory, PretrainRunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var resolved = Resolve(config, out string text, out var tokenizer);
        // Refuse before training, not after: a model the user already has in the Hugging Face folder is never replaced.
        if (resolved.HuggingFaceFolder is string hf) Reinforce.Rlhf.HuggingFace.Gpt2Folder.RequireNoModel(hf, overwrite: false);
        var trainer = Build(resolved, text, tokenizer);
        var folder = RunFolder.Create(directory, JsonFile.Serialize(resolved));
        return new PretrainingRun(folder, resolved, trainer);
    }

    /// <summary>Continues the run in <paramref name="directory"/> with the settings of its <c>config.json</c>, from its newest checkpoint that loads.</summary>
    public static PretrainingRun Resume(string directory)
    {
        var folder = RunFolder.Open(directory);
        var config = ReadConfig(directory);
        var run = new PretrainingRun(folder, config, BuildResolved(config));
        run.ResumedFrom = folder.ResumeTrainer(run.Trainer);
        return run;
    }

    /// <summary>The resolved configuration of the run folder <paramref name="directory"/> (its <c>config.json</c>), validated.</summary>
    public static PretrainRunConfig ReadConfig(string directory)
    {
        var folder = RunFolder.Open(directory);
        var config = JsonFile.Deserialize<PretrainRunConfig>(folder.ReadConfig(), folder.ConfigPath);
        config.Validate();
        return config;
    }

    /// <summary>
    /// Rank r &gt; 0 of a data-parallel run: the same trainer (same corpus, tokenizer and model shape) in a scratch folder
    /// of its own (rank 0 owns the run folder and alone writes the best, last and Hugging Face copies). Give it the
    /// configuration rank 0 was given (a fresh run) or <see cref="ReadConfig"/> of rank 0's folder (a resume). With
    /// <paramref name="resumeFrom"/> it starts from rank 0's newest checkpoint there, read without writing to that folder.
    /// </summary>
    public static PretrainingRun Follower(PretrainRunConfig config, string scratchDirectory, string? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        PretrainRunConfig resolved;
        Pretrainer trainer;
        if (resumeFrom is null)
        {
            resolved = Resolve(config, out string text, out var tokenizer);
            trainer = Build(resolved, text, tokenizer);
        }
        else
        {
            resolved = config;
            trainer = BuildResolved(resolved);
        }
        var run = new PretrainingRun(RunFolder.Create(scratchDirectory, JsonFile.Serialize(resolved)), resolved, trainer);
        if (resumeFrom is not null)
            run.ResumedFrom = RunFolder.Open(resumeFrom).Resume(path => { run.Trainer.Load(path); return path; })?.Path;
        return run;
    }

    /// <summary>
    /// Makes this run one rank of a data-parallel run over <paramref name="communicator"/> (every rank with the same
    /// resolved configuration, checked by hash, and at the same step): rank 0's weights everywhere, each global batch
    /// split over the ranks, gradients averaged at every step; checkpoints record the rank count.
    /// </summary>
    public void JoinRanks(ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        DataParallel.EnsureSameConfiguration(communicator, JsonFile.Serialize(Config));
        DataParallelRuns.EnsureSameStep(communicator, Trainer.StepCount);
        Trainer.Distribute(communicator);
    }

    /// <summary>The configuration with the vocabulary size of its corpus and tokenizer filled in.</summary>
    private static PretrainRunConfig Resolve(PretrainRunConfig config, out string text, out ITokenizer tokenizer)
    {
        text = config.ReadCorpus();
        tokenizer = config.CreateTokenizer(text);
        var resolved = config with { Model = config.Model with { VocabSize = tokenizer.VocabSize } };
        resolved.Model.Validate();
        return resolved;
    }

    /// <summary>The trainer of a configuration read back from a run folder (its corpus must still give its vocabulary).</summary>
    private static Pretrainer BuildResolved(PretrainRunConfig config)
    {
        string text = config.ReadCorpus();
        var tokenizer = config.CreateTokenizer(text);
        if (tokenizer.VocabSize != config.Model.VocabSize)
            throw new ConfigurationException("corpus", $"'{config.Corpus ?? "(shipped stories)"}' now gives {tokenizer.VocabSize} tokens ({tokenizer.Description}), but the run was started with {config.Model.VocabSize}; resume with the corpus and tokenizer the run was started on.");
        return Build(config, text, tokenizer);
    }

    private static Pretrainer Build(PretrainRunConfig config, string text, ITokenizer tokenizer)
    {
        var model = new Gpt(config.Model, new Rng(config.Options.Seed));
        return new Pretrainer(model, tokenizer, text, config.Options)
        {
            SamplePrompt = DemoCorpus.Openings(text).FirstOrDefault(o => tokenizer.UnknownCharacters(o).Length == 0) ?? text[..Math.Min(8, text.Length)],
        };
    }

    /// <summary>
    /// Trains to <see cref="PretrainOptions.Steps"/> (or until <paramref name="cancellation"/>, keeping a checkpoint where
    /// it stopped); progress after every step (an evaluation's row carries <c>val_loss</c>, and <see cref="Pretrainer.LastSample"/>
    /// is then fresh). Publishes <see cref="BestModelFile"/> and <see cref="LastModelFile"/> when it finishes.
    /// </summary>
    /// <remarks>In a data-parallel run rank 0 alone evaluates, keeps checkpoints and publishes; a follower rank only trains.</remarks>
    public RunSummary Run(IProgress<RunProgress>? progress = null, CancellationToken cancellation = default)
    {
        bool leader = Trainer.Communicator.Rank == 0;
        var schedule = new RunSchedule
        {
            TotalSteps = Config.Options.Steps, EvaluateEvery = leader ? Config.EvaluateEvery : 0, CheckpointEvery = leader ? Config.EvaluateEvery : 0,
            KeepCheckpoints = Config.KeepCheckpoints, BestMetric = leader ? "val_loss" : null, HigherIsBetter = false,
            Ranks = Trainer.Communicator,
        };
        var reporter = new SampleLogger(this, progress);
        var summary = Folder.Train(Trainer, schedule, reporter, cancellation);
        if (leader && !summary.Stopped)
        {
            Publish(Path.Combine(Folder.FinalPath, LmCheckpoint.ModelFile), LastModelPath);
            string best = Path.Combine(Folder.BestPath, LmCheckpoint.ModelFile);
            Publish(File.Exists(best) ? best : Path.Combine(Folder.FinalPath, LmCheckpoint.ModelFile), BestModelPath);
            if (HuggingFacePath is string hf && Trainer.Tokenizer is ByteLevelBpeTokenizer bpe)
            {
                var (model, _, _) = LmCheckpoint.LoadLanguageModel(BestModelPath);
                // The run's own copy is replaced freely; a folder the user named was checked to be free when the run was created.
                Reinforce.Rlhf.HuggingFace.Gpt2Folder.Save(hf, model, bpe, overwrite: true, dtype: Config.HuggingFaceDType);
            }
        }
        return summary;
    }

    /// <summary>Where the best model is written in Hugging Face's GPT-2 layout when the run finishes (null: not at all).</summary>
    public string? HuggingFacePath => Config.HuggingFaceOutput(Folder.Directory);

    private static void Publish(string from, string to)
    {
        string temp = to + ".tmp";
        File.Copy(from, temp, overwrite: true);
        File.Move(temp, to, overwrite: true);
    }

    /// <summary>Logs each evaluation's sample to TensorBoard, then passes the progress on.</summary>
    private sealed class SampleLogger(PretrainingRun run, IProgress<RunProgress>? inner) : IProgress<RunProgress>
    {
        public void Report(RunProgress value)
        {
            if (value.Metrics.ContainsKey("val_loss") && run.Trainer.LastSample is string sample)
                run.Folder.LogText("sample", run.Trainer.SamplePrompt + sample, value.Step);
            inner?.Report(value);
        }
    }

    /// <summary>Closes the run's metric files.</summary>
    public void Dispose() => Folder.Dispose();
}
