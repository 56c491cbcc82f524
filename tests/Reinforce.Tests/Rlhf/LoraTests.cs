using Reinforce.Autograd;
using Reinforce.IO;
using Reinforce.Nn;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.HuggingFace;
using Reinforce.Tensors;

namespace Reinforce.Tests.Rlhf;

public sealed class LoraTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("reinforce-lora-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly int[] Tokens = [1, 5, 9, 3, 7, 2, 8, 4, 6, 0, 5, 3];
    private static readonly int[] Targets = [5, 9, 3, 7, 2, 8, 4, 6, 0, 5, 3, 1];

    private static Gpt Model(int seed = 3) => new(new GptConfig { VocabSize = 10, ContextLength = 8, Layers = 2, Width = 8, Heads = 2 }, new Rng(seed));

    private static LoraAdapters Attach(Gpt model, double dropout = 0)
    {
        var lora = LoraAdapters.Attach(model, new LoraOptions { Rank = 2, Alpha = 4, Dropout = dropout, TargetModules = ["c_attn", "c_proj", "c_fc"] });
        var rng = new Rng(5);
        foreach (var (_, a) in lora.Adapters) Init.Normal(a.B.Value, 0.3, rng);   // B = 0 at first; make the update visible
        return lora;
    }

    private static float[] Logits(Gpt model)
    {
        using (Graph.NoGrad()) return model.Logits(Tokens, 2, 6).Data;
    }

    [Fact]
    public void Fresh_adapters_leave_the_model_unchanged_and_freeze_the_base()
    {
        var model = Model();
        var before = Logits(model);
        var lora = LoraAdapters.Attach(model, new LoraOptions { TargetModules = ["c_attn", "c_fc"] });
        Assert.Equal(4, lora.Adapters.Count);
        Assert.Equal(before, Logits(model));
        var loss = model.Loss(Tokens, Targets, 2, 6);
        Graph.Backward(loss);
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad));
        Assert.All(lora.Parameters(), p => Assert.NotNull(p.Grad));
    }

    [Fact]
    public void Adapter_gradients_match_finite_differences()
    {
        var model = Model();
        var lora = Attach(model);
        Graph.Backward(model.Loss(Tokens, Targets, 2, 6));
        int checkedCount = 0;
        foreach (var p in lora.Parameters())
        {
            var data = p.Value.Data;
            for (int i = 0; i < data.Length; i += Math.Max(1, data.Length / 3))
            {
                float saved = data[i];
                const float h = 2e-3f;
                data[i] = saved + h;
                double up;
                using (Graph.NoGrad()) up = model.Loss(Tokens, Targets, 2, 6).Item();
                data[i] = saved - h;
                double down;
                using (Graph.NoGrad()) down = model.Loss(Tokens, Targets, 2, 6).Item();
                data[i] = saved;
                double numeric = (up - down) / (2 * h);
                Assert.True(Math.Abs(numeric - p.Grad!.Data[i]) <= 2e-3 + 0.02 * Math.Abs(numeric), $"{p.Name}[{i}]: autograd {p.Grad!.Data[i]} vs numeric {numeric}");
                checkedCount++;
            }
        }
        Assert.True(checkedCount >= 30);
    }

    [Fact]
    public void Merged_equals_unmerged_and_disabled_equals_the_base()
    {
        var model = Model();
        var baseLogits = Logits(model);
        var baseWeight = (float[])model.Blocks[0].Attention.Attn.Weight.Value.Data.Clone();
        var lora = Attach(model);
        var adapted = Logits(model);
        Assert.True(adapted.Zip(baseLogits).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, "the adapters change the output");
        using (lora.Disabled()) Assert.Equal(baseLogits, Logits(model));
        lora.Merge();
        var merged = Logits(model);
        for (int i = 0; i < adapted.Length; i++) Assert.Equal(adapted[i], merged[i], 1e-5);
        lora.Unmerge();
        for (int i = 0; i < baseWeight.Length; i++) Assert.Equal(baseWeight[i], model.Blocks[0].Attention.Attn.Weight.Value.Data[i], 1e-6);
        Assert.Equal(adapted, Logits(model));
        Assert.Throws<InvalidOperationException>(() => LoraAdapters.Attach(model, new LoraOptions()));
    }

    [Fact]
    public void Sampling_sees_the_adapters_and_follows_their_updates()
    {
        var model = Model();
        var lora = Attach(model);
        var prompts = new List<int[]> { new[] { 1, 2 } };
        var a = model.Generate(prompts, 5, SamplingOptions.Greedy, new Rng(1)).Completions[0];
        lora.Merge();
        var merged = model.Generate(prompts, 5, SamplingOptions.Greedy, new Rng(1)).Completions[0];
        lora.Unmerge();
        Assert.Equal(merged, a);
        foreach (var (_, ad) in lora.Adapters) Init.Normal(ad.B.Value, 1.0, new Rng(99));   // an optimizer step changes B in place
        lora.Merge();
        var afterStep = model.Generate(prompts, 5, SamplingOptions.Greedy, new Rng(1)).Completions[0];
        lora.Unmerge();
        Assert.Equal(afterStep, model.Generate(prompts, 5, SamplingOptions.Greedy, new Rng(1)).Completions[0]);
    }

    [Fact]
    public void Dropout_acts_only_while_training()
    {
        var model = Model();
        Attach(model, dropout: 0.5);
        var eval = Logits(model);
        Assert.Equal(eval, Logits(model));
        var train = model.Logits(Tokens, 2, 6).Data;
        Assert.NotEqual(eval, train);
    }

    [Fact]
    public void Peft_files_round_trip_with_peft_names()
    {
        var model = Model();
        var lora = Attach(model);
        var adapted = Logits(model);
        PeftAdapter.Save(_dir, lora, "tiny");
        var (tensors, _) = SafeTensors.Load(Path.Combine(_dir, "adapter_model.safetensors"));
        Assert.Contains("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", tensors.Keys);
        Assert.Equal([2, 8], tensors["base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"].Shape);
        Assert.Equal([24, 2], tensors["base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"].Shape);
        var config = File.ReadAllText(Path.Combine(_dir, "adapter_config.json"));
        Assert.Contains("\"peft_type\": \"LORA\"", config, StringComparison.Ordinal);
        Assert.Contains("\"fan_in_fan_out\": true", config, StringComparison.Ordinal);

        var fresh = Model();
        PeftAdapter.Load(_dir, fresh);
        Assert.Equal(adapted, Logits(fresh));
        Assert.Throws<IOException>(() => PeftAdapter.Save(_dir, lora, "tiny"));
    }

    [Theory]
    [InlineData("F16")]
    [InlineData("BF16")]
    public void Half_precision_adapters_save_and_load_as_peft_writes_them(string dtype)
    {
        var model = Model();
        var lora = Attach(model);
        PeftAdapter.Save(_dir, lora, "tiny", dtype: dtype);
        string file = Path.Combine(_dir, "adapter_model.safetensors");
        var (header, _) = SafeTensors.ReadHeader(file);
        Assert.All(header, t => Assert.Equal(dtype, t.DType));
        var fresh = Model();
        var loaded = PeftAdapter.Load(_dir, fresh);
        // Every adapter weight is the original rounded to the half format, and nothing else changed.
        foreach (var ((name, want), (_, got)) in lora.NamedParameters().Zip(loaded.NamedParameters()))
            for (int i = 0; i < want.Size; i++)
            {
                float v = want.Value.Data[i];
                float rounded = dtype == "F16" ? (float)(Half)v : BitConverter.Int32BitsToSingle(SafeTensors.ToBFloat16Bits(v) << 16);
                Assert.True(rounded == got.Value.Data[i], $"{name}[{i}]: {got.Value.Data[i]} is not {v} rounded to {dtype} ({rounded})");
            }
        Assert.Contains(loaded.NamedParameters(), p => p.Parameter.Value.Data.Any(x => x != 0f));
    }

    [Fact]
    public void An_adapter_for_another_base_model_is_refused()
    {
        var lora = Attach(Model());
        PeftAdapter.Save(_dir, lora, "tiny");
        var other = Model(seed: 4);   // same shape, other weights
        var e = Assert.Throws<CheckpointFormatException>(() => PeftAdapter.Load(_dir, other));
        Assert.Contains("another base model", e.Message, StringComparison.Ordinal);
        Assert.Null(other.Lora);
        var wider = new Gpt(new GptConfig { VocabSize = 10, ContextLength = 8, Layers = 2, Width = 16, Heads = 2 }, new Rng(3));
        Assert.Contains("another base model", Assert.Throws<CheckpointFormatException>(() => PeftAdapter.Load(_dir, wider)).Message, StringComparison.Ordinal);
    }
}
