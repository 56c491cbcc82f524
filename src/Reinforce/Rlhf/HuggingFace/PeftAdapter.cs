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

    /// <summary>
    /// Writes <paramref name="lora"/> to <paramref name="folder"/>, its weights as <paramref name="dtype"/> (F32, F16 or
    /// BF16, as PEFT saves half-precision adapters); refuses to replace an existing adapter unless <paramref name="overwrite"/>.
    /// </summary>
    public static void Save(string folder, LoraAdapters lora, string baseModelName, bool overwrite = false, string dtype = "F32")
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
        SafeTensors.Save(weights, tensors, new Dictionary<string, string> { ["format"] = "pt", [FingerprintKey] = lora.BaseModel }, dtype);
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
        const string Advice = "Restore the adapter's original adapter_config.json.";
        var fields = new JsonFields(JsonFile.ReadObject(configPath, Advice), configPath, Advice);
        string type = fields.Text("peft_type") ?? "";
        if (type != "LORA")
            throw new CheckpointFormatException(configPath, $"its peft_type is \"{type}\", not LORA", "Reinforce reads LoRA adapters only.");
        var targets = fields.Texts("target_modules") ?? throw new CheckpointFormatException(configPath, "it has no target_modules", Advice);
        LoraOptions options;
        try
        {
            options = new LoraOptions
            {
                Rank = fields.Int("r") ?? 8,
                Alpha = fields.Number("lora_alpha") ?? 8,
                Dropout = fields.Number("lora_dropout") ?? 0,
                TargetModules = targets,
            };
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CheckpointFormatException(configPath, $"its LoRA settings cannot be used ({e.Message})", Advice, e);
        }
        if (!File.Exists(weights))
            throw new CheckpointFormatException(weights, "the adapter folder has no adapter_model.safetensors", "Copy the adapter's weights next to its adapter_config.json.");
        var (tensors, metadata) = SafeTensors.Load(weights);
        string baseName = fields.Text("base_model_name_or_path") ?? "(unnamed)";
        if (metadata.TryGetValue(FingerprintKey, out var fingerprint) && fingerprint != LoraAdapters.BaseFingerprint(model))
            throw new CheckpointFormatException(weights, $"the adapter was trained on another base model ({baseName}, fingerprint {fingerprint}; this model is {LoraAdapters.BaseFingerprint(model)})",
                "Load the adapter onto the base model it was trained from (base_model_name_or_path in adapter_config.json).");
        // Bound the rank before attaching (which allocates r·(in + out) per adapted layer): every adapted layer of a GPT-2
        // is at least n_embd wide on both sides, so the file must hold at least 2·r·n_embd weights per layer and target.
        double least = 2.0 * options.Rank * model.Config.Width * model.Config.Layers * targets.Distinct(StringComparer.Ordinal).Count();
        long present = tensors.Values.Sum(t => (long)t.Size);
        if (least > present)
            throw new CheckpointFormatException(configPath, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"its rank r = {options.Rank} on {string.Join(", ", targets)} needs at least {least:N0} adapter weights, but adapter_model.safetensors holds only {present:N0}"),
                "Keep adapter_config.json and adapter_model.safetensors from the same adapter; if r was edited, restore it.");
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
