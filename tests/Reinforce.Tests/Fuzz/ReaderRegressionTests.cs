using System.Text;
using System.Text.Json.Nodes;
using Reinforce.Algorithms;
using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;
using Reinforce.Tensors;
using Reinforce.Training;

namespace Reinforce.Tests.Fuzz;

/// <summary>Each crash found by hand or by <see cref="ReaderFuzzTests"/>, kept as a named test.</summary>
[Collection("Fuzz")]
public sealed class ReaderRegressionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reinforce-regress-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // ------------------------------------------------------------------ safetensors

    [Fact]
    public void SafeTensors_metadata_with_a_lone_surrogate_is_a_format_error_naming_the_file()
    {
        var bytes = ReaderFuzzTests.WithHeader("{\"__metadata__\":{\"note\":\"a\\uD800\"}}", []);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Deserialize(bytes, "x.safetensors"));
        Assert.Contains("x.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains("surrogate", e.Message, StringComparison.Ordinal);
        bytes = ReaderFuzzTests.WithHeader("{\"w\\uDC00\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", []);
        Assert.Contains("surrogate", Assert.Throws<CheckpointFormatException>(() => SafeTensors.Deserialize(bytes, "y")).Message, StringComparison.Ordinal);
    }

    // ------------------------------------------------------------------ TFRecord (found by the fuzzer: seed 20261204, case 231)

    [Fact]
    public void TFRecord_with_12_to_15_bytes_left_is_truncated_not_an_out_of_range_slice()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir, "tb")).FullName;
        using (var w = new TensorBoardWriter(dir)) w.AddScalar("loss", 1, 0);
        var valid = File.ReadAllBytes(Directory.GetFiles(dir)[0]);
        // A record header whose length field (0) and length checksum are valid, followed by 0-3 bytes instead of the data checksum.
        for (int extra = 0; extra < 4; extra++)
        {
            var path = Path.Combine(_dir, $"cut-{extra}.tfevents");
            File.WriteAllBytes(path, [.. valid, .. valid.AsSpan(0, 0), .. new byte[8], .. BitConverter.GetBytes(Crc32C.ComputeMasked(new byte[8])), .. new byte[extra]]);
            var e = Assert.Throws<InvalidDataException>(() => TensorBoardReader.ReadEvents(path));
            Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
        }
    }

    // ------------------------------------------------------------------ config.json (found by the fuzzer: seed 20261204, case 6)

    [Fact]
    public void Config_with_a_lone_surrogate_is_a_configuration_error()
    {
        var e = Assert.Throws<ConfigurationException>(() => TrainingConfig.Parse("{\"env\": \"Cart\\uD800Pole-v1\"}", "config.json"));
        Assert.Contains("surrogate", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ConfigurationException>(() => TrainingConfig.Parse("{\"e\\uD800nv\": 1}", "config.json"));
        Assert.Contains("surrogate", e.Message, StringComparison.Ordinal);
    }

    // ------------------------------------------------------------------ agent.json

    private string SavedCheckpoint()
    {
        var folder = Path.Combine(_dir, "ckpt");
        using var env = Reinforce.Envs.Environments.MakeVector("CartPole-v1", 2, 1);
        using var agent = new Ppo(env, new PpoOptions { Seed = 1, NumSteps = 8, BatchSize = 16, NormalizeObservations = true, Policy = new PolicyOptions { HiddenSizes = [8] } });
        agent.Learn(32);
        Checkpoint.Save(agent, folder, "CartPole-v1");
        return folder;
    }

    private static void Edit(string folder, Action<JsonObject> edit, bool reseal)
    {
        var path = Path.Combine(folder, Checkpoint.ManifestFile);
        var manifest = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(manifest);
        if (reseal) CheckpointManifest.Seal(manifest);
        File.WriteAllText(path, manifest.ToJsonString());
    }

    [Fact]
    public void Agent_json_carries_its_own_checksum_and_an_edit_is_caught()
    {
        var folder = SavedCheckpoint();
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, Checkpoint.ManifestFile)))!.AsObject();
        Assert.Matches("^[0-9a-f]{64}$", manifest[CheckpointManifest.ChecksumField]!.GetValue<string>());
        using (Checkpoint.Load(folder)) { }
        Edit(folder, m => m["training"]!["steps_done"] = 1, reseal: false);
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Load(folder));
        Assert.Contains(CheckpointManifest.ChecksumField, e.Message, StringComparison.Ordinal);
        Assert.Contains("agent.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Agent_json_without_a_checksum_from_before_checksums_still_loads()
    {
        var folder = SavedCheckpoint();
        Edit(folder, m => m.Remove(CheckpointManifest.ChecksumField), reseal: false);
        using var agent = Checkpoint.Load(folder);
        Assert.Equal(32, agent.StepsDone);
    }

    public static TheoryData<string, string, string> BadFields() => new()
    {
        // field path, raw JSON put there, what the message must name
        { "training.rng_state", "null", "training.rng_state" },
        { "training.rng_state", "[1, 2, 3, 4]", "training.rng_state[0]" },
        { "training.rng_state", "[\"1\", \"2\"]", "training.rng_state" },
        { "training.rng_state", "[\"0\", \"0\", \"0\", \"0\"]", "all zeros" },
        { "training.rng_state", "\"x\"", "training.rng_state" },
        { "environment.num_envs", "2147483647", "environment.num_envs" },
        { "environment.num_envs", "0", "environment.num_envs" },
        { "environment.num_envs", "\"2\"", "environment.num_envs" },
        { "environment.id", "3", "environment.id" },
        { "training.steps_done", "-5", "training.steps_done" },
        { "training.steps_done", "1e999", "training.steps_done" },
        { "training.iterations", "null", "training.iterations" },
        { "training.episodes.returns", "[1, \"x\"]", "training.episodes.returns[1]" },
        { "training.episodes.lengths", "[1]", "training.episodes.lengths" },
        { "training.episodes", "[]", "training.episodes" },
        { "normalization.observations.mean", "[0]", "normalization.observations.mean" },
        { "normalization.observations.var", "[-1, 1, 1, 1]", "normalization.observations.var[0]" },
        { "normalization.observations.count", "\"many\"", "normalization.observations.count" },
        { "files.model.safetensors", "null", "files.model.safetensors" },
        { "options", "7", "options" },
        { "environment", "null", "environment" },
    };

    [Theory]
    [MemberData(nameof(BadFields))]
    public void Every_agent_json_field_is_validated_with_a_message_naming_it(string field, string json, string named)
    {
        var folder = SavedCheckpoint();
        Edit(folder, m => Set(m, field, JsonNode.Parse(json)), reseal: true);
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Load(folder));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.Contains("agent.json", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Sets a dotted path ("files.model.safetensors" is the key "model.safetensors" of "files").</summary>
    private static void Set(JsonObject root, string field, JsonNode? value)
    {
        string[] parts = field.StartsWith("files.", StringComparison.Ordinal) ? ["files", field[6..]] : field.Split('.');
        JsonObject o = root;
        for (int i = 0; i < parts.Length - 1; i++) o = o[parts[i]]!.AsObject();
        o[parts[^1]] = value;
    }

    [Fact]
    public void Agent_json_with_a_lone_surrogate_is_a_format_error()
    {
        var folder = SavedCheckpoint();
        var path = Path.Combine(folder, Checkpoint.ManifestFile);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"ppo\"", "\"p\\uD800\"", StringComparison.Ordinal));
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Load(folder));
        Assert.Contains("surrogate", e.Message, StringComparison.Ordinal);
    }

    // ------------------------------------------------------------------ language-model checkpoints

    [Theory]
    [InlineData("mlp_ratio", 65536)]
    [InlineData("layers", 100000)]
    [InlineData("context_length", 2000000000)]
    [InlineData("width", 1048576)]
    public void A_language_model_shape_larger_than_its_weights_is_refused_before_allocating(string field, int value)
    {
        var path = Path.Combine(_dir, "lm.safetensors");
        LmCheckpoint.Save(path, new Gpt(new GptConfig { VocabSize = 11, ContextLength = 8, Layers = 1, Width = 8, Heads = 2, MlpRatio = 2 }, new Rng(2)), new CharTokenizer("abcdefghij "));
        var (header, data) = ReaderFuzzTests.Split(File.ReadAllBytes(path));
        var root = JsonNode.Parse(header)!.AsObject();
        var config = JsonNode.Parse(root["__metadata__"]!["gpt_config"]!.GetValue<string>())!.AsObject();
        config[field] = value;
        root["__metadata__"]!["gpt_config"] = config.ToJsonString();
        File.WriteAllBytes(path, ReaderFuzzTests.WithHeader(root.ToJsonString(), data));
        var e = Assert.Throws<CheckpointFormatException>(() => LmCheckpoint.LoadLanguageModel(path));
        Assert.Contains("gpt_config describes a model of", e.Message, StringComparison.Ordinal);
        Assert.Contains("but the file holds only", e.Message, StringComparison.Ordinal);
    }
}
