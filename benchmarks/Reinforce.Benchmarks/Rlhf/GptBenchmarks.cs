using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Reinforce.Autograd;
using Reinforce.Nn.Transformers;
using Reinforce.Optim;
using Tensor = Reinforce.Tensors.Tensor;

namespace Reinforce.Benchmarks.Rlhf;

/// <summary>
/// The RLHF GPT's speed: one training step (forward, cross-entropy, backward, clipping, AdamW) of the 0.8M-parameter
/// demo model (4 layers, 128 wide, 4 heads, context 64, vocabulary 65) on a batch of 32 sequences, as the issue's
/// PyTorch figure was measured (about 6,700 tokens/s with OpenBLAS on 2 threads); the attention and GELU operations alone; and cached sampling of 32 sequences to the end of the context. The Tokens/s column is
/// tokens processed (training) or generated (sampling) per second at the median time.
/// Run: dotnet run -c Release --project benchmarks/Reinforce.Benchmarks -- --filter *GptBenchmarks*
/// </summary>
[MemoryDiagnoser]
[Config(typeof(TokensConfig))]
public class GptBenchmarks
{
    private const int Batch = 32, Context = 64;
    private Gpt _model = null!;
    private AdamW _optimizer = null!;
    private int[] _inputs = null!, _targets = null!;
    private List<int[]> _prompts = null!;
    private Tensor _x = null!, _attnWeight = null!, _attnBias = null!, _projWeight = null!, _projBias = null!, _hidden = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        _model = new Gpt(new GptConfig { VocabSize = 65 }, rng);
        _optimizer = AdamW.DecayingMatrices(_model, 1e-4f, 0.1f, beta2: 0.99f);
        _inputs = new int[Batch * Context];
        _targets = new int[Batch * Context];
        for (int i = 0; i < _inputs.Length; i++) { _inputs[i] = rng.NextInt(65); _targets[i] = rng.NextInt(65); }
        _prompts = [.. Enumerable.Range(0, Batch).Select(i => new[] { i % 65 })];
        Tensor P(params int[] shape) => Tensor.RandomNormal(rng, shape, 0f, 0.02f).RequireGrad();
        _x = P(Batch, Context, 128);
        _attnWeight = P(128, 384); _attnBias = P(384); _projWeight = P(128, 128); _projBias = P(128);
        _hidden = P(Batch, Context, 512);
    }

    /// <summary>A full training step on 32 × 64 tokens.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("tokens:2048")]
    public float TrainStep()
    {
        _optimizer.ZeroGrad();
        var loss = _model.Loss(_inputs, _targets, Batch, Context);
        loss.Backward();
        GradientClipping.ClipGlobalNorm(_optimizer, 1f, errorIfNonFinite: true);
        _optimizer.Step();
        return loss.Item();
    }

    /// <summary>Pure sampling of 32 sequences from one token to the end of the context (63 new tokens each).</summary>
    [Benchmark]
    [BenchmarkCategory("tokens:2016")]
    public int Sample() => _model.Generate(_prompts, Context - 1, SamplingOptions.Pure, new Rng(2)).Completions.Sum(c => c.Length);

    /// <summary>The causal self-attention operation of one layer (the one the model trains and samples with), forward and backward.</summary>
    [Benchmark]
    [BenchmarkCategory("tokens:2048")]
    public float Attention() => Backward(Ops.CausalSelfAttention(_x, _attnWeight, _attnBias, _projWeight, _projBias, 4));

    /// <summary>GELU (tanh form) on one MLP's hidden activations, forward and backward.</summary>
    [Benchmark]
    [BenchmarkCategory("tokens:2048")]
    public float Gelu() => Backward(Ops.GeluTanh(_hidden));

    private static float Backward(Tensor y)
    {
        var loss = Ops.Mean(y);
        loss.Backward();
        return loss.Item();
    }

    private sealed class TokensConfig : ManualConfig
    {
        public TokensConfig() => AddColumn(new TokensPerSecondColumn());
    }

    /// <summary>Tokens per second at the median time, from the benchmark's "tokens:N" category.</summary>
    private sealed class TokensPerSecondColumn : IColumn
    {
        public string Id => nameof(TokensPerSecondColumn);
        public string ColumnName => "Tokens/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "Tokens processed (training) or generated (sampling) per second at the median time";
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public bool IsAvailable(Summary summary) => true;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var statistics = summary[benchmarkCase]?.ResultStatistics;
            var category = benchmarkCase.Descriptor.Categories.FirstOrDefault(c => c.StartsWith("tokens:", StringComparison.Ordinal));
            if (statistics is null || category is null) return "-";
            double tokens = double.Parse(category["tokens:".Length..], CultureInfo.InvariantCulture);
            return (tokens / statistics.Median * 1e9).ToString("N0", CultureInfo.InvariantCulture);
        }
    }
}
