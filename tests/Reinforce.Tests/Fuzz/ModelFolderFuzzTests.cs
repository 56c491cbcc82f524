using System.Text;
using System.Text.Json.Nodes;
using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.HuggingFace;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;
using Reinforce.Tests.Rlhf;

namespace Reinforce.Tests.Fuzz;

/// <summary>
/// The readers of Hugging Face files (GPT-2 model folders, PEFT adapters, tokenizer files) and of DPO preference files,
/// fed byte-damaged and structure-damaged copies of the tiny GPT-2 folder in Data/gpt2 (see <see cref="FuzzHarness"/>
/// for the seeds and the allowed outcomes). Each file of a folder is damaged on its own, the others left intact, so the
/// reader's checks behind the first file are reached too.
/// </summary>
[Collection("Fuzz")]
public sealed class ModelFolderFuzzTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reinforce-fuzz-hf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Original(string file) => BpeTokenizerTests.DataPath("tiny-gpt2", file);

    /// <summary>A copy of the tiny GPT-2 folder (config.json, model.safetensors, vocab.json, merges.txt).</summary>
    private string CopyFolder(string name)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        foreach (var file in Directory.GetFiles(BpeTokenizerTests.DataPath("tiny-gpt2"))) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        return folder;
    }

    /// <summary>JSON damage most of the time (wrong types, huge numbers, surrogates), byte damage otherwise.</summary>
    private static byte[] MutateJsonFile(byte[] valid, Rng rng) =>
        rng.NextInt(4) == 0 ? FuzzHarness.MutateBytes(valid, rng) : Encoding.UTF8.GetBytes(FuzzHarness.MutateJson(Encoding.UTF8.GetString(valid), rng));

    /// <summary>Damage to a safetensors file: its bytes, or its JSON header.</summary>
    private static byte[] MutateSafeTensors(byte[] valid, Rng rng)
    {
        if (rng.NextInt(2) == 0) return FuzzHarness.MutateBytes(valid, rng);
        var (header, data) = ReaderFuzzTests.Split(valid);
        return ReaderFuzzTests.WithHeader(FuzzHarness.MutateJson(header, rng), data);
    }

    /// <summary>Damage to merges.txt: bytes, or one line replaced by a damaged one (three symbols, a lone symbol, huge or odd text).</summary>
    private static byte[] MutateMerges(byte[] valid, Rng rng)
    {
        if (rng.NextInt(2) == 0) return FuzzHarness.MutateBytes(valid, rng);
        var lines = Encoding.UTF8.GetString(valid).Split('\n');
        string[] odd = ["a b c", "a", " ", "", "a  b", "\uFFFD \uFFFD", "Ġ Ġ", new string('x', 3000) + " y", "#version: 0.2", "\t\t"];
        lines[rng.NextInt(lines.Length)] = odd[rng.NextInt(odd.Length)];
        return Encoding.UTF8.GetBytes(string.Join('\n', lines));
    }

    /// <summary>Fuzzes one file of the folder through <paramref name="read"/>, putting the original back after each case.</summary>
    private static void FuzzFile(string reader, string folder, string file, int cases, Func<byte[], Rng, byte[]> mutate, Action read, params Type[] allowed)
    {
        string path = Path.Combine(folder, file);
        var valid = File.ReadAllBytes(path);
        FuzzHarness.Run(reader + " (" + file + ")", cases, r => mutate(valid, r), bytes =>
        {
            File.WriteAllBytes(path, bytes);
            try { read(); }
            finally { File.WriteAllBytes(path, valid); }
        }, allowed);
    }

    // ------------------------------------------------------------------ GPT-2 model folders

    [Fact]
    public void Gpt2_folder_reader_survives_damage_to_each_of_its_files()
    {
        var folder = CopyFolder("gpt2");
        Gpt2Folder.Load(folder); // the intact folder loads
        void Load() => Gpt2Folder.Load(folder);
        FuzzFile("Gpt2Folder.Load", folder, "config.json", 200, MutateJsonFile, Load, typeof(CheckpointFormatException));
        FuzzFile("Gpt2Folder.Load", folder, "model.safetensors", 150, MutateSafeTensors, Load, typeof(CheckpointFormatException));
        FuzzFile("Gpt2Folder.Load", folder, "vocab.json", 120, MutateJsonFile, Load, typeof(CheckpointFormatException));
        FuzzFile("Gpt2Folder.Load", folder, "merges.txt", 120, MutateMerges, Load, typeof(CheckpointFormatException));
    }

    // ------------------------------------------------------------------ tokenizer files

    /// <summary>A Hugging Face tokenizer.json (BPE model, added tokens) holding the tiny folder's vocabulary and merges.</summary>
    internal static string TokenizerJson()
    {
        var vocab = JsonNode.Parse(File.ReadAllText(Original("vocab.json")))!.AsObject();
        var merges = new JsonArray();
        foreach (var line in File.ReadAllLines(Original("merges.txt")).Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)))
            merges.Add(line);
        int eot = vocab["<|endoftext|>"]!.GetValue<int>();
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = eot, ["content"] = "<|endoftext|>", ["special"] = true }),
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab.DeepClone(), ["merges"] = merges },
        }.ToJsonString();
    }

    [Fact]
    public void Tokenizer_readers_survive_damaged_vocab_merges_and_tokenizer_json()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "tokenizer")).FullName;
        string vocab = Path.Combine(folder, "vocab.json"), merges = Path.Combine(folder, "merges.txt"), json = Path.Combine(folder, "tokenizer.json");
        File.Copy(Original("vocab.json"), vocab);
        File.Copy(Original("merges.txt"), merges);
        File.WriteAllText(json, TokenizerJson());
        Assert.Equal(ByteLevelBpeTokenizer.FromFiles(vocab, merges).Encode("hello world"), ByteLevelBpeTokenizer.FromTokenizerJson(json).Encode("hello world"));

        FuzzFile("ByteLevelBpeTokenizer.FromFiles", folder, "vocab.json", 200, MutateJsonFile, () => ByteLevelBpeTokenizer.FromFiles(vocab, merges), typeof(CheckpointFormatException));
        FuzzFile("ByteLevelBpeTokenizer.FromFiles", folder, "merges.txt", 200, MutateMerges, () => ByteLevelBpeTokenizer.FromFiles(vocab, merges), typeof(CheckpointFormatException));
        FuzzFile("ByteLevelBpeTokenizer.FromTokenizerJson", folder, "tokenizer.json", 300, MutateJsonFile,
            () => ByteLevelBpeTokenizer.FromTokenizerJson(json).Encode("hello world"), typeof(CheckpointFormatException));
    }

    // ------------------------------------------------------------------ PEFT adapters

    [Fact]
    public void Peft_adapter_reader_survives_damaged_adapter_files()
    {
        var config = Gpt2Folder.ReadConfig(BpeTokenizerTests.DataPath("tiny-gpt2"));
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "adapter")).FullName;
        var trained = new Gpt(config, new Rng(1));
        var lora = LoraAdapters.Attach(trained, new LoraOptions { Rank = 2, Alpha = 4, TargetModules = ["c_attn", "c_fc"] });
        PeftAdapter.Save(folder, lora, "tiny-gpt2");
        void Load()
        {
            var model = new Gpt(config, new Rng(1));
            PeftAdapter.Load(folder, model).Detach();
        }
        Load(); // the intact adapter loads
        FuzzFile("PeftAdapter.Load", folder, "adapter_config.json", 250, MutateJsonFile, Load, typeof(CheckpointFormatException));
        FuzzFile("PeftAdapter.Load", folder, "adapter_model.safetensors", 200, MutateSafeTensors, Load, typeof(CheckpointFormatException));
    }

    // ------------------------------------------------------------------ DPO preference files (TRL's format)

    private const string DpoLines =
        "{\"prompt\": \"hi\", \"chosen\": \" yes\", \"rejected\": \" no\"}\n" +
        "{\"prompt\": \"a b\", \"chosen\": \" c\", \"rejected\": \" d e\"}\n" +
        "{\"chosen\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\", \"content\": \"y\"}], \"rejected\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\", \"content\": \"z\"}]}\n";

    [Fact]
    public void Dpo_preference_files_load_and_prepare_or_fail_with_a_message()
    {
        var gpt2 = Gpt2Folder.Load(BpeTokenizerTests.DataPath("tiny-gpt2"));
        var path = Path.Combine(_dir, "dpo.jsonl");
        var options = new DpoOptions { Steps = 1, BatchSize = 2 };
        FuzzHarness.Run("PreferenceFile.Load + DpoTrainer (TRL pairs)", 250, r =>
        {
            if (r.NextInt(3) == 0) return FuzzHarness.MutateBytes(Encoding.UTF8.GetBytes(DpoLines), r);
            var lines = DpoLines.Split('\n');
            int i = r.NextInt(lines.Length - 1);
            lines[i] = FuzzHarness.MutateJson(lines[i], r).Replace('\n', ' ');
            return Encoding.UTF8.GetBytes(string.Join('\n', lines));
        }, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            var data = PreferenceFile.Load(path);
            Assert.Equal(data.Pairs.Count, data.PairLineNumbers.Count);
            _ = new DpoTrainer(gpt2.Model, gpt2.Tokenizer!, data.Decisive, options);
        }, typeof(ArgumentException));
    }
}
