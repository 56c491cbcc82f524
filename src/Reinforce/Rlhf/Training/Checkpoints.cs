using System.Globalization;
using System.Text.Json;
using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Text;

namespace Reinforce.Rlhf.Training;

/// <summary>What a checkpoint file holds.</summary>
public enum CheckpointKind
{
    /// <summary>A <see cref="Gpt"/> language model.</summary>
    LanguageModel,
    /// <summary>A <see cref="RewardModel"/> (a GPT trunk and a scalar head).</summary>
    RewardModel,
}

/// <summary>
/// Language-model and reward-model checkpoints: one safetensors file holding the weights under GPT-2's names, with
/// the model shape, the tokenizer's vocabulary and any run facts (step, losses) in its metadata, so the file alone
/// is enough to rebuild the model. Written to a temporary file and renamed, so a crash never leaves half a file.
/// </summary>
public static class LmCheckpoint
{
    private const string FormatKey = "format", FormatValue = "reinforce-rlhf/1";
    private const string KindKey = "kind", ConfigKey = "gpt_config";

    /// <summary>Saves a language model and its tokenizer, with <paramref name="facts"/> (free-form, e.g. "step") in the metadata.</summary>
    public static void Save(string path, Gpt model, ITokenizer tokenizer, IReadOnlyDictionary<string, string>? facts = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Write(path, CheckpointKind.LanguageModel, model.Config, tokenizer, model.StateDict(), facts);
    }

    /// <summary>Saves a reward model (trunk and head) and its tokenizer.</summary>
    public static void Save(string path, RewardModel model, IReadOnlyDictionary<string, string>? facts = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Write(path, CheckpointKind.RewardModel, model.Config, model.Tokenizer, model.StateDict(), facts);
    }

    /// <summary>Loads a language model saved by <see cref="Save(string, Gpt, ITokenizer, IReadOnlyDictionary{string, string}?)"/>.</summary>
    public static (Gpt Model, ITokenizer Tokenizer, IReadOnlyDictionary<string, string> Facts) LoadLanguageModel(string path)
    {
        var (kind, config, tokenizer, tensors, facts) = Read(path);
        if (kind != CheckpointKind.LanguageModel)
            throw new CheckpointFormatException(path, "it holds a reward model, not a language model", "Give the checkpoint written by `reinforce lm pretrain` (or by RL fine-tuning).");
        var model = new Gpt(config, new Rng(0));
        LoadState(path, model, tensors);
        return (model, tokenizer, facts);
    }

    /// <summary>Loads a reward model saved by <see cref="Save(string, RewardModel, IReadOnlyDictionary{string, string}?)"/>.</summary>
    public static (RewardModel Model, IReadOnlyDictionary<string, string> Facts) LoadRewardModel(string path)
    {
        var (kind, config, tokenizer, tensors, facts) = Read(path);
        if (kind != CheckpointKind.RewardModel)
            throw new CheckpointFormatException(path, "it holds a language model, not a reward model", "Give the checkpoint written by `reinforce rlhf reward`.");
        var model = new RewardModel(new Gpt(config, new Rng(0)), tokenizer, new Rng(0));
        LoadState(path, model, tensors);
        return (model, facts);
    }

    /// <summary>The kind of model a checkpoint holds, from its header alone.</summary>
    public static CheckpointKind KindOf(string path)
    {
        var (_, metadata) = SafeTensors.ReadHeader(path);
        return ParseKind(path, metadata);
    }

    private static void Write(string path, CheckpointKind kind, GptConfig config, ITokenizer tokenizer,
        IReadOnlyDictionary<string, Tensor> state, IReadOnlyDictionary<string, string>? facts)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (facts is not null)
            foreach (var (k, v) in facts) metadata[k] = v;
        metadata[FormatKey] = FormatValue;
        metadata[KindKey] = kind == CheckpointKind.LanguageModel ? "language_model" : "reward_model";
        metadata[ConfigKey] = JsonSerializer.Serialize(new Dictionary<string, int>
        {
            ["vocab_size"] = config.VocabSize, ["context_length"] = config.ContextLength, ["layers"] = config.Layers,
            ["width"] = config.Width, ["heads"] = config.Heads, ["mlp_ratio"] = config.MlpRatio,
        });
        TokenizerMetadata.Write(tokenizer, metadata);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        SafeTensors.Save(path, state, metadata);
    }

    private static (CheckpointKind, GptConfig, ITokenizer, Dictionary<string, Tensor>, IReadOnlyDictionary<string, string>) Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var (tensors, metadata) = SafeTensors.Load(path);
        if (!metadata.TryGetValue(FormatKey, out var format) || format != FormatValue)
            throw new CheckpointFormatException(path, "it is a safetensors file, but not a Reinforce language-model checkpoint (no \"format\": \"reinforce-rlhf/1\" in its metadata)", "Give a checkpoint written by `reinforce lm pretrain` or `reinforce rlhf`.");
        var kind = ParseKind(path, metadata);
        if (!metadata.TryGetValue(ConfigKey, out var configJson)) throw new CheckpointFormatException(path, "the model shape (gpt_config) is missing from the metadata", "Re-create the checkpoint.");
        GptConfig config;
        try
        {
            var c = JsonSerializer.Deserialize<Dictionary<string, int>>(configJson) ?? [];
            config = new GptConfig
            {
                VocabSize = c["vocab_size"], ContextLength = c["context_length"], Layers = c["layers"],
                Width = c["width"], Heads = c["heads"], MlpRatio = c["mlp_ratio"],
            };
            config.Validate();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or ArgumentException)
        {
            throw new CheckpointFormatException(path, $"the model shape in the metadata cannot be read ({e.Message})", "Re-create the checkpoint.", e);
        }
        // Bound the shape before anything is allocated: the file must hold at least the weights the shape describes.
        double described = config.ParameterCountEstimate;
        long present = tensors.Values.Sum(t => (long)t.Size);
        if (described > present)
            throw new CheckpointFormatException(path,
                string.Create(CultureInfo.InvariantCulture, $"gpt_config describes a model of {described:N0} weights ({config.Layers} layers, width {config.Width}, {config.Heads} heads, MLP ratio {config.MlpRatio}, context {config.ContextLength}, vocabulary {config.VocabSize}), but the file holds only {present:N0}"),
                "The metadata was edited or belongs to another model; re-create the checkpoint.");
        ITokenizer? tokenizer;
        try { tokenizer = TokenizerMetadata.Read(metadata); }
        catch (Exception e) when (e is JsonException or ArgumentException or IndexOutOfRangeException)
        { throw new CheckpointFormatException(path, $"the tokenizer in the metadata cannot be read ({e.Message})", "Re-create the checkpoint.", e); }
        if (tokenizer is null || tokenizer.VocabSize != config.VocabSize)
            throw new CheckpointFormatException(path, $"the tokenizer is missing or does not have {config.VocabSize} tokens", "Re-create the checkpoint.");
        var facts = metadata.Where(kv => kv.Key is not (FormatKey or KindKey or ConfigKey) && !TokenizerMetadata.Keys.Contains(kv.Key))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return (kind, config, tokenizer, tensors, facts);
    }

    private static CheckpointKind ParseKind(string path, IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(KindKey, out var kind) ? kind switch
        {
            "language_model" => CheckpointKind.LanguageModel,
            "reward_model" => CheckpointKind.RewardModel,
            _ => throw new CheckpointFormatException(path, $"unknown model kind '{kind}'", "Give a checkpoint written by `reinforce lm pretrain` or `reinforce rlhf reward`."),
        } : throw new CheckpointFormatException(path, "the metadata does not say what model the file holds", "Give a checkpoint written by `reinforce lm pretrain` or `reinforce rlhf reward`.");

    private static void LoadState(string path, Nn.Module model, Dictionary<string, Tensor> tensors)
    {
        try { model.LoadStateDict(tensors); }
        catch (Nn.StateDictException e)
        {
            throw new CheckpointFormatException(path, $"its weights do not fit the model its metadata describes: {e.Message}", "Re-create the checkpoint.", e);
        }
    }

    /// <summary>The model file in a training checkpoint folder (a language-model checkpoint by itself).</summary>
    public const string ModelFile = "model.safetensors";

    /// <summary>The training-state file in a checkpoint folder: the optimizer's moments, the generator and the step.</summary>
    public const string TrainingStateFile = "training_state.safetensors";

    private const string ExtraPrefix = "extra.";
    private const string LoraDropoutRngKey = "lora_dropout_rng";

    /// <summary>
    /// Saves everything a language-model trainer needs to continue bit-exactly into <paramref name="directory"/>: the
    /// model as <see cref="ModelFile"/> (with <paramref name="facts"/>) and <see cref="TrainingStateFile"/> (the optimizer
    /// state, the generator's state and <paramref name="step"/>). Each file is written to a temporary name and renamed.
    /// </summary>
    /// <remarks>Parameters trained beside the model (a value head, LoRA adapters) go in <paramref name="extra"/>, stored
    /// under their names. <paramref name="modelState"/> replaces the weights written as the model file (a LoRA model's
    /// merged weights, so the file alone is the fine-tuned model).</remarks>
    public static void SaveTrainingState(string directory, Gpt model, ITokenizer tokenizer, Optim.Optimizer optimizer, Rng rng, long step,
        IReadOnlyDictionary<string, string>? facts = null, Nn.Module? extra = null, IReadOnlyDictionary<string, Tensor>? modelState = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentNullException.ThrowIfNull(model);
        Directory.CreateDirectory(directory);
        Write(Path.Combine(directory, ModelFile), CheckpointKind.LanguageModel, model.Config, tokenizer, modelState ?? model.StateDict(), facts);
        var (tensors, metadata) = optimizer.GetState().ToTensors();
        if (extra is not null)
            foreach (var (name, tensor) in extra.StateDict()) tensors[ExtraPrefix + name] = tensor;
        metadata["step"] = step.ToString(CultureInfo.InvariantCulture);
        metadata["rng"] = string.Join(',', rng.GetState().Select(s => s.ToString(CultureInfo.InvariantCulture)));
        // LoRA dropout draws from its own stream: without it a resumed run would drop other inputs than the uninterrupted one.
        if (model.Lora is { } lora) metadata[LoraDropoutRngKey] = string.Join(',', lora.DropoutRng.GetState().Select(s => s.ToString(CultureInfo.InvariantCulture)));
        SafeTensors.Save(Path.Combine(directory, TrainingStateFile), tensors, metadata);
    }

    /// <summary>
    /// Restores what <see cref="SaveTrainingState"/> wrote into <paramref name="model"/>, <paramref name="optimizer"/> and
    /// <paramref name="rng"/>; returns the step. A missing or damaged file, or a model of another shape or vocabulary,
    /// is a <see cref="CheckpointFormatException"/> naming it. With <paramref name="restoreWeights"/> false the model's own
    /// weights are left as they are (LoRA: the frozen base comes from the base model; the adapters are in <paramref name="extra"/>).
    /// </summary>
    public static long LoadTrainingState(string directory, Gpt model, ITokenizer tokenizer, Optim.Optimizer optimizer, Rng rng, Nn.Module? extra = null,
        bool restoreWeights = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(rng);
        string modelPath = Path.Combine(directory, ModelFile), statePath = Path.Combine(directory, TrainingStateFile);
        foreach (var path in new[] { modelPath, statePath })
            if (!File.Exists(path)) throw new CheckpointFormatException(path, "the file is missing", "Resume from a checkpoint folder written by the same trainer.");
        var (saved, savedTokenizer, _) = LoadLanguageModel(modelPath);
        if (saved.Config != model.Config || !TokenizerMetadata.Same(savedTokenizer, tokenizer))
            throw new CheckpointFormatException(modelPath, "the model's shape or vocabulary differs from the run's", "Resume the run with the settings in its config.json.");
        var (tensors, metadata) = SafeTensors.Load(statePath);
        try
        {
            long step = long.Parse(metadata["step"], CultureInfo.InvariantCulture);
            var rngState = metadata["rng"].Split(',').Select(s => ulong.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            var extraTensors = tensors.Where(kv => kv.Key.StartsWith(ExtraPrefix, StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key[ExtraPrefix.Length..], kv => kv.Value, StringComparer.Ordinal);
            foreach (var name in extraTensors.Keys) tensors.Remove(ExtraPrefix + name);
            optimizer.SetState(Optim.OptimizerState.FromTensors(tensors, metadata));
            extra?.LoadStateDict(extraTensors);
            rng.SetState(rngState);
            if (model.Lora is { } lora && metadata.TryGetValue(LoraDropoutRngKey, out var dropoutState))
                lora.DropoutRng.SetState(dropoutState.Split(',').Select(s => ulong.Parse(s, CultureInfo.InvariantCulture)).ToArray());
            if (restoreWeights) model.CopyFrom(saved);
            return step;
        }
        catch (Exception e) when (e is KeyNotFoundException or FormatException or OverflowException or ArgumentException or InvalidOperationException or Nn.StateDictException)
        {
            throw new CheckpointFormatException(statePath, $"the training state cannot be read ({e.Message})", "Resume from an older checkpoint, or start the run again.", e);
        }
    }

    /// <summary>Formats a number for checkpoint facts (invariant culture, round-trip).</summary>
    public static string Fact(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
