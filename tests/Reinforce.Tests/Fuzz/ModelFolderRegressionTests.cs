using System.Text.Json.Nodes;
using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.HuggingFace;
using Reinforce.Rlhf.Text;
using Reinforce.Tests.Rlhf;

namespace Reinforce.Tests.Fuzz;

/// <summary>
/// The crashes <see cref="ModelFolderFuzzTests"/> found in the Hugging Face readers, each as a named case: before the
/// fix each escaped as a runtime exception (InvalidOperation, Overflow, Format, NullReference, OutOfMemory); now each
/// is a <see cref="CheckpointFormatException"/> naming the file and the field.
/// </summary>
public sealed class ModelFolderRegressionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reinforce-hf-regress-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string CopyFolder()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "gpt2-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        foreach (var file in Directory.GetFiles(BpeTokenizerTests.DataPath("tiny-gpt2"))) File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        return folder;
    }

    /// <summary>config.json with one field's text replaced (the raw JSON text after the colon).</summary>
    private string FolderWithConfigField(string field, string rawValue)
    {
        var folder = CopyFolder();
        string path = Path.Combine(folder, "config.json");
        var lines = File.ReadAllLines(path).Select(l => l.TrimStart().StartsWith($"\"{field}\":", StringComparison.Ordinal) ? $"  \"{field}\": {rawValue}," : l);
        File.WriteAllLines(path, lines);
        return folder;
    }

    [Theory]
    [InlineData("n_layer", "\"two\"")]          // a wrong type (was InvalidOperationException from the JSON reader)
    [InlineData("n_embd", "1e300")]             // a huge number (was OverflowException)
    [InlineData("n_layer", "100000")]           // a shape far larger than the weights (was OutOfMemory before the bound)
    [InlineData("n_head", "null")]              // null where a count belongs
    [InlineData("model_type", "\"\\uD800\"")]   // a lone surrogate
    public void A_damaged_config_json_is_a_format_error_naming_the_file(string field, string rawValue)
    {
        var folder = FolderWithConfigField(field, rawValue);
        var e = Assert.Throws<CheckpointFormatException>(() => Gpt2Folder.Load(folder));
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void A_duplicated_key_in_config_json_is_a_format_error()
    {
        var folder = CopyFolder();
        string path = Path.Combine(folder, "config.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"n_embd\": 16,", "\"n_embd\": 16, \"n_embd\": 32,"));
        var e = Assert.Throws<CheckpointFormatException>(() => Gpt2Folder.Load(folder));
        Assert.Contains("config.json", e.Message);
        Assert.Contains("n_embd", e.Message);
    }

    [Fact]
    public void A_vocabulary_id_of_int_max_is_a_format_error_not_an_overflow()
    {
        var folder = CopyFolder();
        string vocab = Path.Combine(folder, "vocab.json");
        var json = JsonNode.Parse(File.ReadAllText(vocab))!.AsObject();
        json["zzz"] = int.MaxValue;
        File.WriteAllText(vocab, json.ToJsonString());
        var e = Assert.Throws<CheckpointFormatException>(() => ByteLevelBpeTokenizer.FromFiles(vocab, Path.Combine(folder, "merges.txt")));
        Assert.Contains("2147483647", e.Message);   // the message names the offending id
    }

    [Theory]
    [InlineData("vocab", "[1, 2, 3]")]
    [InlineData("merges", "[1, 2]")]
    [InlineData("merges", "null")]
    public void A_tokenizer_json_with_a_wrong_typed_model_field_is_a_format_error(string field, string rawValue)
    {
        var json = JsonNode.Parse(ModelFolderFuzzTests.TokenizerJson())!.AsObject();
        json["model"]![field] = JsonNode.Parse(rawValue);
        string path = Path.Combine(_dir, $"tokenizer-{field}-{rawValue.Length}.json");
        File.WriteAllText(path, json.ToJsonString());
        var e = Assert.Throws<CheckpointFormatException>(() => ByteLevelBpeTokenizer.FromTokenizerJson(path).Encode("hello world"));
        Assert.Contains(Path.GetFileName(path), e.Message);
    }

    [Theory]
    [InlineData("r", "100000")]      // a rank larger than the adapted weights (was an allocation or an index fault)
    [InlineData("r", "\"eight\"")]   // a wrong type
    [InlineData("target_modules", "42")]
    public void A_damaged_adapter_config_is_a_format_error_naming_the_file(string field, string rawValue)
    {
        var config = Gpt2Folder.ReadConfig(BpeTokenizerTests.DataPath("tiny-gpt2"));
        var folder = Directory.CreateDirectory(Path.Combine(_dir, $"adapter-{field}-{rawValue.Length}")).FullName;
        var lora = LoraAdapters.Attach(new Gpt(config, new Rng(1)), new LoraOptions { Rank = 2, Alpha = 4, TargetModules = ["c_attn"] });
        PeftAdapter.Save(folder, lora, "tiny-gpt2");
        string path = Path.Combine(folder, "adapter_config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json[field] = JsonNode.Parse(rawValue);
        File.WriteAllText(path, json.ToJsonString());
        var e = Assert.Throws<CheckpointFormatException>(() => PeftAdapter.Load(folder, new Gpt(config, new Rng(1))));
        Assert.Contains("adapter_config.json", e.Message);
    }
}
