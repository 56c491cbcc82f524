using System.Text.Json;
using System.Text.Json.Nodes;
using Reinforce.IO;
using Reinforce.Nn.Transformers;

namespace Reinforce.Rlhf.HuggingFace;

/// <summary>
/// LoRA adapters in PEFT's folder layout: <c>adapter_config.json</c> (peft_type LORA, r, lora_alpha, lora_dropout,
/// target_modules, fan_in_fan_out true for GPT-2's Conv1D) and <c>adapter_model.safetensors</c> with PEFT's names
/// (<c>base_model.model.transformer.h.0.attn.c_attn.lora_A.weight</c>, A [r, in], B [out, r]), so
/// <c>PeftModel.from_pretrained(gpt2, folder)</c> loads them. The safetensors metadata also carries a fingerprint of
/// the base model, so an adapter is refused on a base it was not trained for.
/// </summary>
public static class PeftAdapter
{
    private const string Prefix = "base_model.model.transformer.";
    private const string FingerprintKey = "reinforce_base_model";

    /// <summary>Writes <paramref name="lora"/> to <paramref name="folder"/>; refuses to replace an existing adapter unless <paramref name="overwrite"/>.</summary>
    public static void Save(string folder, LoraAdapters lora, string baseModelName, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(lora);
        string weights = Path.Combine(folder, "adapter_model.safetensors");
        if (!overwrite && (File.Exists(weights) || File.Exists(Path.Combine(folder, "adapter_config.json"))))
            throw new IOException($"'{folder}' already holds an adapter (adapter_config.json or adapter_model.safetensors); nothing was written. Choose a new folder, or pass overwrite (--force) to replace it.");
        Directory.CreateDirectory(folder);
        var o = lora.Options;
        var config = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = baseModelName,
            ["r"] = o.Rank,
            ["lora_alpha"] = o.Alpha,
            ["lora_dropout"] = o.Dropout,
            ["target_modules"] = new JsonArray([.. o.TargetModules.Select(t => (JsonNode?)JsonValue.Create(t))]),
            ["fan_in_fan_out"] = true,
            ["bias"] = "none",
            ["inference_mode"] = true,
            ["modules_to_save"] = null,
        };
        AtomicFile.WriteAllText(Path.Combine(folder, "adapter_config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in lora.PeftState()) tensors[Prefix + name] = t;
        SafeTensors.Save(weights, tensors, new Dictionary<string, string> { ["format"] = "pt", [FingerprintKey] = lora.BaseModel });
    }

    /// <summary>
    /// Reads the adapter in <paramref name="folder"/> and attaches it to <paramref name="model"/>. An adapter made for
    /// another base model (different shapes, or a different base fingerprint) is an error naming the file.
    /// </summary>
    public static LoraAdapters Load(string folder, Gpt model)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(model);
        string configPath = Path.Combine(folder, "adapter_config.json"), weights = Path.Combine(folder, "adapter_model.safetensors");
        if (!File.Exists(configPath))
            throw new CheckpointFormatException(configPath, "the adapter folder has no adapter_config.json", "Give a folder written by PEFT's save_pretrained or by `reinforce rlhf ... --lora`.");
        JsonObject json;
        try { json = JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject ?? throw new JsonException("not a JSON object"); }
        catch (JsonException e) { throw new CheckpointFormatException(configPath, $"it is not valid JSON ({e.Message})", "Restore the adapter's original adapter_config.json.", e); }
        string type = json["peft_type"]?.GetValue<string>() ?? "";
        if (type != "LORA")
            throw new CheckpointFormatException(configPath, $"its peft_type is \"{type}\", not LORA", "Reinforce reads LoRA adapters only.");
        var targets = json["target_modules"] switch
        {
            JsonArray a => a.Select(n => n!.GetValue<string>()).ToList(),
            JsonValue v => [v.GetValue<string>()],
            _ => throw new CheckpointFormatException(configPath, "it has no target_modules", "Restore the adapter's original adapter_config.json."),
        };
        LoraOptions options;
        try
        {
            options = new LoraOptions
            {
                Rank = json["r"]?.GetValue<int>() ?? 8,
                Alpha = json["lora_alpha"]?.GetValue<double>() ?? 8,
                Dropout = json["lora_dropout"]?.GetValue<double>() ?? 0,
                TargetModules = targets,
            };
            options.Validate();
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            throw new CheckpointFormatException(configPath, $"its LoRA settings cannot be used ({e.Message})", "Restore the adapter's original adapter_config.json.", e);
        }
        if (!File.Exists(weights))
            throw new CheckpointFormatException(weights, "the adapter folder has no adapter_model.safetensors", "Copy the adapter's weights next to its adapter_config.json.");
        var (tensors, metadata) = SafeTensors.Load(weights);
        string baseName = json["base_model_name_or_path"]?.GetValue<string>() ?? "(unnamed)";
        if (metadata.TryGetValue(FingerprintKey, out var fingerprint) && fingerprint != LoraAdapters.BaseFingerprint(model))
            throw new CheckpointFormatException(weights, $"the adapter was trained on another base model ({baseName}, fingerprint {fingerprint}; this model is {LoraAdapters.BaseFingerprint(model)})",
                "Load the adapter onto the base model it was trained from (base_model_name_or_path in adapter_config.json).");
        var lora = LoraAdapters.Attach(model, options);
        try
        {
            var problems = new List<string>();
            var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (name, t) in tensors)
            {
                string key = name.StartsWith(Prefix, StringComparison.Ordinal) ? name[Prefix.Length..] : name.Replace("base_model.model.", "", StringComparison.Ordinal);
                key = key.Replace(".default.", ".", StringComparison.Ordinal);
                state[key] = t;
            }
            var expected = lora.PeftState();
            foreach (var (name, want) in expected)
            {
                if (!state.TryGetValue(name, out var got)) problems.Add($"{name} is missing");
                else if (!got.Shape.SequenceEqual(want.Shape)) problems.Add($"{name} is [{string.Join(", ", got.Shape)}] but this model needs [{string.Join(", ", want.Shape)}]");
            }
            foreach (var name in state.Keys.Where(k => !expected.ContainsKey(k))) problems.Add($"{name} has no layer in this model");
            if (problems.Count > 0)
                throw new CheckpointFormatException(weights, $"the adapter does not fit this model, so it was made for another base model ({baseName}): {string.Join("; ", problems.Take(4))}{(problems.Count > 4 ? $"; and {problems.Count - 4} more" : "")}",
                    "Load the adapter onto the base model it was trained from (base_model_name_or_path in adapter_config.json).");
            foreach (var (name, t) in expected) state[name].Data.AsSpan().CopyTo(t.Data);
            return lora;
        }
        catch
        {
            lora.Detach();
            throw;
        }
    }
}
