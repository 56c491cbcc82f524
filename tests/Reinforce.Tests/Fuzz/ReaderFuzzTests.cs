using System.Buffers.Binary;
using System.Text;
using Reinforce.Algorithms;
using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;
using Reinforce.Tensors;
using Reinforce.Training;

namespace Reinforce.Tests.Fuzz;

/// <summary>
/// Every reader of user files, fed bounded numbers of byte-damaged and structure-damaged inputs (see
/// <see cref="FuzzHarness"/> for the seeds, the allowed outcomes and how to add a reader). The whole class runs in
/// well under a minute.
/// </summary>
[Collection("Fuzz")]
public sealed class ReaderFuzzTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reinforce-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Scratch(string name) => Path.Combine(_dir, name);

    // ------------------------------------------------------------------ safetensors (RL and LM checkpoints)

    internal static byte[] WithHeader(string header, ReadOnlySpan<byte> data)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)h.Length);
        h.CopyTo(file, 8);
        data.CopyTo(file.AsSpan(8 + h.Length));
        return file;
    }

    internal static (string Header, byte[] Data) Split(byte[] file)
    {
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        return (Encoding.UTF8.GetString(file, 8, length), file[(8 + length)..]);
    }

    private static byte[] MutateSafeTensors(byte[] valid, Rng rng)
    {
        if (rng.NextInt(2) == 0) return FuzzHarness.MutateBytes(valid, rng);
        var (header, data) = Split(valid);
        return WithHeader(FuzzHarness.MutateJson(header, rng), data);
    }

    [Fact]
    public void SafeTensors_reader_survives_damaged_files()
    {
        var rng = new Rng(1);
        var valid = SafeTensors.Serialize(
            new Dictionary<string, Tensor> { ["a"] = Tensor.RandomNormal(rng, [2, 3]), ["b"] = Tensor.RandomNormal(rng, [4]) },
            new Dictionary<string, string> { ["format"] = "reinforce-policy", ["note"] = "x" });
        FuzzHarness.Run("SafeTensors.Deserialize", 400, r => MutateSafeTensors(valid, r),
            bytes => SafeTensors.Deserialize(bytes, "fuzz.safetensors"), typeof(CheckpointFormatException));
    }

    [Fact]
    public void Language_model_checkpoint_reader_survives_damaged_files()
    {
        var path = Scratch("lm.safetensors");
        var tokenizer = new CharTokenizer("abcdefghij ");
        LmCheckpoint.Save(path, new Gpt(new GptConfig { VocabSize = 11, ContextLength = 8, Layers = 1, Width = 8, Heads = 2, MlpRatio = 2 }, new Rng(2)), tokenizer);
        var valid = File.ReadAllBytes(path);
        var target = Scratch("lm-fuzz.safetensors");
        FuzzHarness.Run("LmCheckpoint.LoadLanguageModel", 150, r => MutateLmCheckpoint(valid, r), bytes =>
        {
            File.WriteAllBytes(target, bytes);
            LmCheckpoint.LoadLanguageModel(target);
        }, typeof(CheckpointFormatException));
    }

    /// <summary>Byte damage, header damage, or damage to the gpt_config JSON inside the metadata (sizes are what matter there).</summary>
    private static byte[] MutateLmCheckpoint(byte[] valid, Rng rng)
    {
        if (rng.NextInt(3) != 0) return MutateSafeTensors(valid, rng);
        var (header, data) = Split(valid);
        var root = System.Text.Json.Nodes.JsonNode.Parse(header)!.AsObject();
        var metadata = root["__metadata__"]!.AsObject();
        metadata["gpt_config"] = FuzzHarness.MutateJson(metadata["gpt_config"]!.GetValue<string>(), rng);
        return WithHeader(root.ToJsonString(), data);
    }

    // ------------------------------------------------------------------ agent.json (RL checkpoints)

    [Fact]
    public void Agent_checkpoint_reader_survives_damaged_agent_json()
    {
        var folder = Scratch("ckpt");
        using (var env = Reinforce.Envs.Environments.MakeVector("CartPole-v1", 2, 1))
        using (var agent = new Ppo(env, new PpoOptions { Seed = 1, NumSteps = 8, BatchSize = 16, NormalizeObservations = true, Policy = new PolicyOptions { HiddenSizes = [8] } }))
        {
            agent.Learn(32);
            Checkpoint.Save(agent, folder, "CartPole-v1");
        }
        string manifestPath = Path.Combine(folder, Checkpoint.ManifestFile);
        string valid = File.ReadAllText(manifestPath);
        FuzzHarness.Run("Checkpoint.Load (agent.json)", 60, r =>
        {
            var mutated = FuzzHarness.MutateJson(valid, r);
            // Half the cases keep a matching checksum, so the field checks behind it are reached too.
            if (r.NextInt(2) == 0) mutated = Reseal(mutated);
            return Encoding.UTF8.GetBytes(mutated);
        }, bytes =>
        {
            File.WriteAllBytes(manifestPath, bytes);
            using var loaded = Checkpoint.Load(folder);
        }, typeof(CheckpointFormatException), typeof(ConfigurationException), typeof(ArgumentException));
    }

    /// <summary>Recomputes agent.json's own checksum after an edit (or leaves non-objects alone).</summary>
    internal static string Reseal(string manifest)
    {
        try
        {
            if (System.Text.Json.Nodes.JsonNode.Parse(manifest) is not System.Text.Json.Nodes.JsonObject o) return manifest;
            CheckpointManifest.Seal(o);
            return o.ToJsonString();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or ArgumentException)
        {
            return manifest;
        }
    }

    // ------------------------------------------------------------------ config.json and presets

    [Fact]
    public void Training_config_reader_survives_damaged_configs_and_presets()
    {
        var presets = new[] { "CartPole-v1", "Pendulum-v1", "Acrobot-v1" }.Select(id => TrainingConfig.Preset(id).ToJson()).ToArray();
        var path = Scratch("config.json");
        FuzzHarness.Run("TrainingConfig.Load + Validate", 300, r =>
        {
            string text = presets[r.NextInt(presets.Length)];
            return r.NextInt(4) == 0 ? FuzzHarness.MutateBytes(Encoding.UTF8.GetBytes(text), r) : Encoding.UTF8.GetBytes(FuzzHarness.MutateJson(text, r));
        }, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            TrainingConfig.Load(path).Validate();
        }, typeof(ConfigurationException));
    }

    // ------------------------------------------------------------------ preference and candidate JSONL

    private const string PreferenceLines =
        "{\"prompt\": \"The sky is\", \"chosen\": \" blue.\", \"rejected\": \" green.\", \"item\": \"k1\"}\n" +
        "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\", \"tie\": true}\n" +
        "{\"chosen\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"}], \"rejected\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Go\"}]}\n" +
        "{\"prompt\": \"p\", \"completions\": [\"x\", \"y\"], \"skip\": true, \"item\": \"k2\"}\n";

    private static byte[] MutateLines(string text, Rng rng)
    {
        if (rng.NextInt(3) == 0) return FuzzHarness.MutateBytes(Encoding.UTF8.GetBytes(text), rng);
        var lines = text.Split('\n');
        int i = rng.NextInt(lines.Length - 1);
        lines[i] = FuzzHarness.MutateJson(lines[i], rng).Replace('\n', ' ');
        return Encoding.UTF8.GetBytes(string.Join('\n', lines));
    }

    [Fact]
    public void Preference_reader_reports_broken_lines_and_never_throws()
    {
        var path = Scratch("prefs.jsonl");
        FuzzHarness.Run("PreferenceFile.Load", 400, r => MutateLines(PreferenceLines, r), bytes =>
        {
            File.WriteAllBytes(path, bytes);
            var data = PreferenceFile.Load(path);
            Assert.Equal(data.Pairs.Count, data.PairLineNumbers.Count);
            data.WithinVocabulary(new CharTokenizer("abc "));
        });
        FuzzHarness.Run("PreferenceFile.Load (strict)", 200, r => MutateLines(PreferenceLines, r), bytes =>
        {
            File.WriteAllBytes(path, bytes);
            PreferenceFile.Load(path, strict: true);
        }, typeof(PreferenceFormatException));
    }

    [Fact]
    public void Candidate_reader_names_the_broken_line()
    {
        const string candidates = "{\"prompt\": \"p\", \"completions\": [\"a\", \"b\"]}\n{\"prompt\": \"q\", \"completions\": [\"c\", \"d\", \"e\"]}\n";
        var path = Scratch("candidates.jsonl");
        FuzzHarness.Run("LabelItems.ReadCandidates", 300, r => MutateLines(candidates, r), bytes =>
        {
            File.WriteAllBytes(path, bytes);
            LabelItems.ReadCandidates(path);
        }, typeof(PreferenceFormatException));
    }

    // ------------------------------------------------------------------ TensorBoard event files

    [Fact]
    public void TensorBoard_reader_survives_damaged_event_files()
    {
        var dir = Directory.CreateDirectory(Scratch("tb")).FullName;
        using (var w = new TensorBoardWriter(dir))
        {
            for (int s = 0; s < 4; s++) w.AddScalar("loss", 1.0 / (s + 1), s);
            w.AddText("note", "hello", 0);
        }
        var valid = File.ReadAllBytes(Directory.GetFiles(dir)[0]);
        var path = Scratch("events.out.tfevents.fuzz");
        FuzzHarness.Run("TensorBoardReader.ReadEvents", 400, r => FuzzHarness.MutateBytes(valid, r), bytes =>
        {
            File.WriteAllBytes(path, bytes);
            TensorBoardReader.ReadEvents(path);
        }, typeof(InvalidDataException));
        // Records whose checksums are right but whose payload is damaged reach the protobuf decoder itself.
        FuzzHarness.Run("TensorBoardReader.DecodeEvent", 400, r =>
        {
            var records = TfRecord.ReadAll(valid, "valid");
            return FuzzHarness.MutateBytes(records[r.NextInt(records.Count)].ToArray(), r);
        }, bytes => TensorBoardReader.DecodeEvent(bytes, "fuzz"), typeof(InvalidDataException));
    }
}

/// <summary>The fuzz tests run one at a time: each already uses a thread per case and the machine is shared.</summary>
[CollectionDefinition("Fuzz", DisableParallelization = true)]
public sealed class FuzzCollection;
