using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Text;

namespace Reinforce.Rlhf.HuggingFace;

/// <summary>A GPT-2-family model read from a Hugging Face folder, with its tokenizer and how its weights were stored.</summary>
public sealed record Gpt2Checkpoint(Gpt Model, ByteLevelBpeTokenizer? Tokenizer, string Folder, bool TransformerPrefix, string DType);

/// <summary>
/// Hugging Face's GPT-2 folder layout (<c>config.json</c> + <c>model.safetensors</c>, the tokenizer's <c>vocab.json</c> +
/// <c>merges.txt</c> or <c>tokenizer.json</c>), read into a <see cref="Gpt"/> and written back so <c>transformers</c>'
/// <c>GPT2LMHeadModel.from_pretrained</c> and <c>AutoTokenizer</c> load the result. Weight names may carry the
/// <c>transformer.</c> prefix (as <c>save_pretrained</c> writes them) or not (as the hub's gpt2 files); the attention-mask
/// buffers (<c>attn.bias</c>, <c>attn.masked_bias</c>) are ignored; the head is tied to <c>wte</c> (a separate
/// <c>lm_head.weight</c> must equal it). F32, F16 and BF16 weights load (as float32).
/// </summary>
public static class Gpt2Folder
{
    /// <summary>The architectures this loader reads (<c>model_type</c> in config.json).</summary>
    public static readonly IReadOnlyList<string> SupportedModelTypes = ["gpt2"];

    /// <summary>Whether <paramref name="path"/> is a folder holding a <c>config.json</c>.</summary>
    public static bool IsModelFolder(string path) => Directory.Exists(path) && File.Exists(Path.Combine(path, "config.json"));

    /// <summary>The model shape config.json describes; throws, naming the file and the fix, on anything this loader cannot run.</summary>
    public static GptConfig ReadConfig(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"No model folder at '{folder}'. Give a folder holding config.json and model.safetensors (for example a downloaded gpt2 or distilgpt2).");
        string path = Path.Combine(folder, "config.json");
        if (!File.Exists(path))
            throw new CheckpointFormatException(path, "the model folder has no config.json", "Give the folder as downloaded from Hugging Face (config.json, model.safetensors, vocab.json, merges.txt), or one written by `reinforce lm pretrain --hf`.");
        var json = JsonFile.ReadObject(path, "Restore config.json from the model's original download.");

        var fields = new JsonFields(json, path, "Restore config.json from the model's original download.");
        string? Text(string key) => fields.Text(key);
        int Int(string key, int? fallback = null) =>
            fields.Int(key) ?? fallback ?? throw new CheckpointFormatException(path, $"it has no \"{key}\"", $"Add \"{key}\" (GPT-2 small: n_layer 12, n_head 12, n_embd 768, n_positions 1024, vocab_size 50257).");

        string modelType = Text("model_type") ?? "";
        if (!SupportedModelTypes.Contains(modelType))
            throw new CheckpointFormatException(path, modelType.Length == 0
                ? "it has no model_type"
                : $"its model_type is \"{modelType}\", an architecture Reinforce does not implement",
                "Reinforce runs GPT-2-family models (model_type \"gpt2\": gpt2, gpt2-medium/large/xl, distilgpt2 and fine-tunes of them).");
        int width = Int("n_embd");
        if (width < 1) throw new CheckpointFormatException(path, $"n_embd is {width}", "Set n_embd to a positive integer (GPT-2 small: 768).");
        int inner = Int("n_inner", (int)Math.Min(4L * width, int.MaxValue));
        if (inner < 1 || inner % width != 0)
            throw new CheckpointFormatException(path, $"n_inner {inner} is not a positive multiple of n_embd {width}", "Reinforce's GPT-2 blocks use an MLP k·n_embd wide; set n_inner to null or a multiple of n_embd.");
        string activation = Text("activation_function") ?? "gelu_new";
        if (activation is not ("gelu_new" or "gelu_pytorch_tanh"))
            throw new CheckpointFormatException(path, $"activation_function is \"{activation}\"", "Reinforce's GPT-2 uses GELU in its tanh form (\"gelu_new\", GPT-2's own).");
        double eps = fields.Number("layer_norm_epsilon") ?? 1e-5;
        if (Math.Abs(eps - 1e-5) > 1e-12)
            throw new CheckpointFormatException(path, $"layer_norm_epsilon is {eps.ToString(CultureInfo.InvariantCulture)}", "Reinforce's GPT-2 LayerNorms use GPT-2's 1e-5.");
        foreach (var flag in new[] { "scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn" })
            if (fields.Flag(flag) == true)
                throw new CheckpointFormatException(path, $"\"{flag}\" is true", "Reinforce implements GPT-2's attention as published; set it to false only if the weights were trained that way.");
        var config = new GptConfig
        {
            VocabSize = Int("vocab_size"),
            ContextLength = Int("n_positions", fields.Int("n_ctx")),
            Layers = Int("n_layer"),
            Width = width,
            Heads = Int("n_head"),
            MlpRatio = inner / width,
        };
        try { config.Validate(); }
        catch (ArgumentException e) { throw new CheckpointFormatException(path, $"the shape it describes is impossible ({e.Message})", "Restore config.json from the model's original download.", e); }
        return config;
    }

    /// <summary>
    /// Loads the model (and its tokenizer, when the folder has one) from <paramref name="folder"/>. Every mismatch between
    /// the weights and config.json, and between the tokenizer and the embedding, is an error naming the file.
    /// </summary>
    public static Gpt2Checkpoint Load(string folder)
    {
        var config = ReadConfig(folder);
        string weightsPath = Path.Combine(folder, "model.safetensors");
        if (!File.Exists(weightsPath))
        {
            string hint = File.Exists(Path.Combine(folder, "pytorch_model.bin"))
                ? "The folder has pytorch_model.bin (a pickle); convert it to model.safetensors with transformers (model.save_pretrained(folder, safe_serialization=True)), which Reinforce reads without running any code from the file."
                : "Download model.safetensors with the model, or write the folder with `reinforce lm pretrain --hf`.";
            throw new CheckpointFormatException(weightsPath, "the model folder has no model.safetensors", hint);
        }
        var (tensors, _) = SafeTensors.Load(weightsPath);
        var header = SafeTensors.ReadHeader(weightsPath).Tensors;
        string dtype = header.Count == 0 ? "F32" : header.GroupBy(t => t.DType).OrderByDescending(g => g.Count()).First().Key;
        bool prefixed = tensors.Keys.Any(k => k.StartsWith("transformer.", StringComparison.Ordinal));
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Tensor? head = null;
        foreach (var (name, tensor) in tensors)
        {
            string key = name.StartsWith("transformer.", StringComparison.Ordinal) ? name["transformer.".Length..] : name;
            if (key.EndsWith(".attn.bias", StringComparison.Ordinal) || key.EndsWith(".attn.masked_bias", StringComparison.Ordinal)) continue;
            if (key == "lm_head.weight") { head = tensor; continue; }
            state[key] = tensor;
        }
        // Bound the shape before allocating it: config.json cannot describe more weights than model.safetensors holds.
        long present = tensors.Values.Sum(t => (long)t.Size);
        // (a near miss goes on to the per-tensor comparison below, which names each weight that does not fit)
        if (config.ParameterCountEstimate > 4.0 * present + 1e6)
            throw new CheckpointFormatException(Path.Combine(folder, "config.json"),
                string.Create(CultureInfo.InvariantCulture, $"it describes a model of {config.ParameterCountEstimate:N0} weights ({config.Layers} layers, n_embd {config.Width}, {config.Heads} heads, MLP ×{config.MlpRatio}, n_positions {config.ContextLength}, vocab_size {config.VocabSize}), but model.safetensors holds only {present:N0}"),
                "Keep config.json and model.safetensors from the same model; if config.json was edited, restore it.");
        var model = new Gpt(config, new Rng(0));
        var expected = model.StateDict();
        var problems = new List<string>();
        foreach (var (name, want) in expected)
        {
            if (!state.TryGetValue(name, out var got)) problems.Add($"{name} is missing");
            else if (!got.Shape.SequenceEqual(want.Shape))
                problems.Add($"{name} is [{string.Join(", ", got.Shape)}] but config.json implies [{string.Join(", ", want.Shape)}]");
        }
        foreach (var name in state.Keys.Where(k => !expected.ContainsKey(k))) problems.Add($"{name} is not a GPT-2 weight");
        if (problems.Count > 0)
            throw new CheckpointFormatException(weightsPath, $"its weights do not fit config.json ({string.Join("; ", problems.Take(6))}{(problems.Count > 6 ? $"; and {problems.Count - 6} more" : "")})",
                "Keep config.json and model.safetensors from the same model; if config.json was edited, restore it.");
        model.LoadStateDict(state);
        if (head is not null && !head.Data.AsSpan().SequenceEqual(model.TokenEmbedding.Weight.Value.Data))
            throw new CheckpointFormatException(weightsPath, "lm_head.weight differs from transformer.wte.weight (an untied head)", "Reinforce's GPT-2 ties the output head to the token embedding, as GPT-2 does; re-save the model with tie_word_embeddings=true.");
        var tokenizer = ByteLevelBpeTokenizer.FromFolder(folder);
        if (tokenizer is not null && tokenizer.VocabSize != config.VocabSize)
            throw new CheckpointFormatException(Path.Combine(folder, File.Exists(Path.Combine(folder, "vocab.json")) ? "vocab.json" : "tokenizer.json"),
                $"the tokenizer has {tokenizer.VocabSize} tokens but config.json's vocab_size (the embedding's rows) is {config.VocabSize}",
                "Use the tokenizer files that came with this model (a tokenizer from another model gives ids this model never learned).");
        return new Gpt2Checkpoint(model, tokenizer, folder, prefixed, dtype);
    }

    /// <summary>
    /// Writes <paramref name="model"/> (and <paramref name="tokenizer"/>, when given) to <paramref name="folder"/> in Hugging
    /// Face's GPT-2 layout: config.json, model.safetensors (<paramref name="dtype"/> F32, F16 or BF16, names without the
    /// <c>transformer.</c> prefix unless <paramref name="transformerPrefix"/>, metadata <c>format: pt</c>), and the tokenizer
    /// files. Each file is written to a temporary name and renamed. A folder that already holds a model is replaced only
    /// when <paramref name="overwrite"/>. <paramref name="state"/> replaces the model's own weights (a LoRA model's merged
    /// weights, say); it must have the model's names and shapes.
    /// </summary>
    public static void Save(string folder, Gpt model, ByteLevelBpeTokenizer? tokenizer, bool overwrite = false, bool transformerPrefix = false,
        string dtype = "F32", IReadOnlyDictionary<string, Tensor>? state = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(model);
        RequireNoModel(folder, overwrite);
        dtype = ParseDType(dtype);
        tokenizer?.RequireVocabulary(model.Config.VocabSize, $"saving to '{folder}'");
        Directory.CreateDirectory(folder);
        var c = model.Config;
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("GPT2LMHeadModel"),
            ["model_type"] = "gpt2",
            ["vocab_size"] = c.VocabSize,
            ["n_positions"] = c.ContextLength,
            ["n_ctx"] = c.ContextLength,
            ["n_embd"] = c.Width,
            ["n_layer"] = c.Layers,
            ["n_head"] = c.Heads,
            ["n_inner"] = c.MlpRatio == 4 ? null : c.MlpRatio * c.Width,
            ["activation_function"] = "gelu_new",
            ["layer_norm_epsilon"] = 1e-5,
            ["initializer_range"] = 0.02,
            ["resid_pdrop"] = 0.1,
            ["embd_pdrop"] = 0.1,
            ["attn_pdrop"] = 0.1,
            ["scale_attn_weights"] = true,
            ["use_cache"] = true,
            ["tie_word_embeddings"] = true,
            ["bos_token_id"] = tokenizer?.EndOfText ?? c.VocabSize - 1,
            ["eos_token_id"] = tokenizer?.EndOfText ?? c.VocabSize - 1,
        };
        AtomicFile.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        string prefix = transformerPrefix ? "transformer." : "";
        var weights = (state ?? model.StateDict()).ToDictionary(kv => prefix + kv.Key, kv => kv.Value, StringComparer.Ordinal);
        SafeTensors.Save(Path.Combine(folder, "model.safetensors"), weights, new Dictionary<string, string> { ["format"] = "pt" }, dtype);
        tokenizer?.Save(folder, c.ContextLength);
    }

    /// <summary>
    /// Throws, writing nothing, when <paramref name="folder"/> already holds a model (config.json or model.safetensors)
    /// and <paramref name="overwrite"/> is false: call it before training so a run never ends by refusing to save.
    /// </summary>
    public static void RequireNoModel(string folder, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!overwrite && (File.Exists(Path.Combine(folder, "model.safetensors")) || File.Exists(Path.Combine(folder, "config.json"))))
            throw new IOException($"'{folder}' already holds a model (config.json or model.safetensors); nothing was written. Choose a new folder, or pass overwrite (--force) to replace it.");
    }

    /// <summary>The safetensors dtype for a user's <c>--dtype</c> (f32, f16/float16/half, bf16/bfloat16; any case), or an error naming the choices.</summary>
    public static string ParseDType(string dtype)
    {
        ArgumentNullException.ThrowIfNull(dtype);
        return dtype.ToLowerInvariant() switch
        {
            "f32" or "float32" or "fp32" => "F32",
            "f16" or "float16" or "fp16" or "half" => "F16",
            "bf16" or "bfloat16" => "BF16",
            _ => throw new ArgumentException($"--dtype is '{dtype}'; use f32 (exact), f16 or bf16 (half the size, rounded)."),
        };
    }

    /// <summary>Throws unless sequences of <paramref name="tokens"/> fit the model's n_positions, naming the setting and the fix.</summary>
    public static void RequireContext(GptConfig config, int tokens, string setting)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (tokens > config.ContextLength)
            throw new ArgumentException($"{setting} asks for {tokens} tokens but the model's context (n_positions in config.json) is {config.ContextLength}; use at most {config.ContextLength}.");
    }
}
