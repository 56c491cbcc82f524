using System.Text.Json;
using Reinforce.Autograd;
using Reinforce.IO;
using Reinforce.Tensors;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.HuggingFace;

namespace Reinforce.Tests.Rlhf;

/// <summary>
/// A Hugging Face GPT-2 folder written by tools/gpt2_reference/make_reference.py (PyTorch 1.13, a nanoGPT-style GPT-2
/// of our own) against our model: logits, loss, every gradient, and greedy KV-cache sampling. Tolerances: logits and
/// loss 1e-4 absolute, gradients 1e-4 absolute + 1e-3 relative (float32, different summation orders).
/// </summary>
public sealed class Gpt2FolderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reinforce-hf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Folder => BpeTokenizerTests.DataPath("tiny-gpt2");

    private static JsonElement Reference() => JsonDocument.Parse(File.ReadAllText(BpeTokenizerTests.DataPath("gpt2-reference.json"))).RootElement;

    private static int[] Flat(JsonElement rows) => [.. rows.EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetInt32()))];

    private static float[] Floats(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetSingle())];

    [Fact]
    public void Loads_the_folder_with_prefix_buffers_and_tokenizer()
    {
        var hf = Gpt2Folder.Load(Folder);
        Assert.Equal(new GptConfig { VocabSize = 512, ContextLength = 16, Layers = 2, Width = 16, Heads = 2 }, hf.Model.Config);
        Assert.True(hf.TransformerPrefix);
        Assert.Equal("F32", hf.DType);
        Assert.NotNull(hf.Tokenizer);
        Assert.Equal(512, hf.Tokenizer!.VocabSize);
    }

    [Fact]
    public void Forward_and_backward_match_pytorch()
    {
        var r = Reference();
        var model = Gpt2Folder.Load(Folder).Model;
        var inputs = Flat(r.GetProperty("inputs"));
        var targets = Flat(r.GetProperty("targets"));
        var logits = model.Logits(inputs, 2, 12);
        var expected = Floats(r.GetProperty("logits"));
        Assert.Equal(expected.Length, logits.Data.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - logits.Data[i]) < 1e-4, $"logit {i}: {logits.Data[i]} vs {expected[i]}");

        var loss = model.Loss(inputs, targets, 2, 12);
        Assert.Equal(r.GetProperty("loss").GetDouble(), loss.Item(), 1e-4);
        Graph.Backward(loss);
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        int checkedCount = 0;
        foreach (var g in r.GetProperty("grads").EnumerateObject())
        {
            var want = Floats(g.Value);
            var got = parameters[g.Name].Value.Grad!.Data;
            Assert.Equal(want.Length, got.Length);
            for (int i = 0; i < want.Length; i++)
                Assert.True(Math.Abs(want[i] - got[i]) <= 1e-4 + 1e-3 * Math.Abs(want[i]), $"{g.Name}[{i}]: {got[i]} vs {want[i]}");
            checkedCount++;
        }
        Assert.Equal(parameters.Count, checkedCount);
    }

    [Fact]
    public void Greedy_kv_cache_sampling_matches_pytorch()
    {
        var r = Reference();
        var model = Gpt2Folder.Load(Folder).Model;
        var prompts = r.GetProperty("prompts").EnumerateArray().Select(p => p.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToList();
        var greedy = r.GetProperty("greedy").EnumerateArray().Select(p => p.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToList();
        var gen = model.Generate(prompts, 8, SamplingOptions.Greedy, new Rng(1));
        for (int i = 0; i < prompts.Count; i++) Assert.Equal(greedy[i], gen.Completions[i]);
    }

    [Fact]
    public void Saves_back_in_the_same_layout_and_reloads_identically()
    {
        var hf = Gpt2Folder.Load(Folder);
        string outDir = Path.Combine(_dir, "out");
        Gpt2Folder.Save(outDir, hf.Model, hf.Tokenizer);
        var (tensors, metadata) = SafeTensors.Load(Path.Combine(outDir, "model.safetensors"));
        Assert.Equal("pt", metadata["format"]);
        Assert.Contains("h.1.mlp.c_fc.weight", tensors.Keys);
        var back = Gpt2Folder.Load(outDir);
        Assert.False(back.TransformerPrefix);
        foreach (var (name, t) in hf.Model.StateDict()) Assert.Equal(t.Data, back.Model.StateDict()[name].Data);
        Assert.Equal(hf.Tokenizer!.Encode("Once upon a time"), back.Tokenizer!.Encode("Once upon a time"));
        var e = Assert.Throws<IOException>(() => Gpt2Folder.Save(outDir, hf.Model, hf.Tokenizer));
        Assert.Contains("already holds a model", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Half_precision_weights_load()
    {
        var (tensors, _) = SafeTensors.Load(Path.Combine(Folder, "model.safetensors"));
        foreach (var dtype in new[] { "F16", "BF16" })
        {
            string dir = Path.Combine(_dir, dtype);
            Directory.CreateDirectory(dir);
            File.Copy(Path.Combine(Folder, "config.json"), Path.Combine(dir, "config.json"));
            WriteHalf(Path.Combine(dir, "model.safetensors"), tensors, dtype);
            var hf = Gpt2Folder.Load(dir);
            Assert.Equal(dtype, hf.DType);
            Assert.Null(hf.Tokenizer);
            var w = hf.Model.StateDict()["h.0.attn.c_attn.weight"].Data;
            var f = tensors["transformer.h.0.attn.c_attn.weight"].Data;
            for (int i = 0; i < w.Length; i++) Assert.True(Math.Abs(w[i] - f[i]) <= 0.01 * Math.Abs(f[i]) + 1e-3, $"{dtype} weight {i}");
        }
    }

    private static void WriteHalf(string path, Dictionary<string, Tensor> tensors, string dtype)
    {
        var header = new Dictionary<string, object>();
        var data = new MemoryStream();
        foreach (var (name, t) in tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            long begin = data.Length;
            foreach (float v in t.Data)
            {
                ushort bits = dtype == "F16" ? BitConverter.HalfToUInt16Bits((Half)v) : (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16);
                data.Write(BitConverter.GetBytes(bits));
            }
            header[name] = new { dtype, shape = t.Shape, data_offsets = new[] { begin, data.Length } };
        }
        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes((ulong)json.Length));
        f.Write(json);
        data.Position = 0;
        data.CopyTo(f);
    }

    [Theory]
    [InlineData("f16", "F16")]
    [InlineData("bf16", "BF16")]
    [InlineData("f32", "F32")]
    public void Saves_half_precision_and_loads_back_equal_to_rounding(string option, string dtype)
    {
        var hf = Gpt2Folder.Load(Folder);
        string outDir = Path.Combine(_dir, option);
        Gpt2Folder.Save(outDir, hf.Model, hf.Tokenizer, dtype: Gpt2Folder.ParseDType(option));
        var header = SafeTensors.ReadHeader(Path.Combine(outDir, "model.safetensors")).Tensors;
        Assert.All(header, t => Assert.Equal(dtype, t.DType));
        var back = Gpt2Folder.Load(outDir);
        Assert.Equal(dtype, back.DType);
        int changed = 0;
        foreach (var (name, t) in hf.Model.StateDict())
        {
            var got = back.Model.StateDict()[name].Data;
            for (int i = 0; i < got.Length; i++)
            {
                float v = t.Data[i];
                // Round to nearest, ties to even: what torch's .half() / .bfloat16() give.
                float want = dtype switch
                {
                    "F16" => (float)(Half)v,
                    "BF16" => BitConverter.Int32BitsToSingle(BfRound(v)),
                    _ => v,
                };
                Assert.Equal(want, got[i]);
                if (got[i] != v) changed++;
            }
        }
        if (dtype == "F32") Assert.Equal(0, changed);
        else Assert.True(changed > 0, "half precision rounds some weights");
        long f32Bytes = 4L * hf.Model.ParameterCount;
        long size = new FileInfo(Path.Combine(outDir, "model.safetensors")).Length;
        if (dtype != "F32") Assert.True(size < f32Bytes * 0.6, $"{dtype} file of {size} bytes for {hf.Model.ParameterCount} weights");
    }

    /// <summary>bfloat16 rounding written independently of SafeTensors.ToBFloat16Bits: through double arithmetic on the 16 dropped bits.</summary>
    private static int BfRound(float v)
    {
        int bits = BitConverter.SingleToInt32Bits(v);
        int upper = bits & unchecked((int)0xFFFF0000), lower = bits & 0xFFFF;
        int lsb = (bits >> 16) & 1;
        if (lower > 0x8000 || (lower == 0x8000 && lsb == 1)) upper += 0x10000;
        return upper;
    }

    [Fact]
    public void A_bad_dtype_is_named()
    {
        var e = Assert.Throws<ArgumentException>(() => Gpt2Folder.ParseDType("int8"));
        Assert.Contains("f16", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_folders_are_clear_errors_naming_the_file()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "empty"));
        var noConfig = Assert.Throws<CheckpointFormatException>(() => Gpt2Folder.Load(Path.Combine(_dir, "empty")));
        Assert.Contains("config.json", noConfig.Message, StringComparison.Ordinal);

        string Copy(string name, Func<string, string> editConfig)
        {
            string dir = Path.Combine(_dir, name);
            Directory.CreateDirectory(dir);
            foreach (var f in Directory.GetFiles(Folder)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            File.WriteAllText(Path.Combine(dir, "config.json"), editConfig(File.ReadAllText(Path.Combine(dir, "config.json"))));
            return dir;
        }
        var llama = Assert.Throws<CheckpointFormatException>(() => Gpt2Folder.Load(Copy("llama", c => c.Replace("\"gpt2\"", "\"llama\"", StringComparison.Ordinal))));
        Assert.Contains("\"llama\"", llama.Message, StringComparison.Ordinal);
        Assert.Contains("model_type", llama.Message, StringComparison.Ordinal);

        var shape = Assert.Throws<CheckpointFormatException>(() => Gpt2Folder.Load(Copy("wide", c => c.Replace("\"n_embd\": 16", "\"n_embd\": 32", StringComparison.Ordinal))));
        Assert.Contains("model.safetensors", shape.Message, StringComparison.Ordinal);
        Assert.Contains("config.json implies", shape.Message, StringComparison.Ordinal);

        var vocab = Assert.Throws<CheckpointFormatException>(() => Gpt2Folder.Load(Copy("vocab", c => c)
            .Also(d => File.WriteAllText(Path.Combine(d, "vocab.json"), "{\"a\": 0, \"<|endoftext|>\": 1}")).Also(d => File.WriteAllText(Path.Combine(d, "merges.txt"), "#version: 0.2\n"))));
        Assert.Contains("vocab.json", vocab.Message, StringComparison.Ordinal);
        Assert.Contains("vocab_size", vocab.Message, StringComparison.Ordinal);

        var context = Assert.Throws<ArgumentException>(() => Gpt2Folder.RequireContext(Gpt2Folder.ReadConfig(Folder), 1024, "--context"));
        Assert.Contains("n_positions", context.Message, StringComparison.Ordinal);
    }
}

internal static class FolderTestExtensions
{
    public static string Also(this string dir, Action<string> action)
    {
        action(dir);
        return dir;
    }
}
