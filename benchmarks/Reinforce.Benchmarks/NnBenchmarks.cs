using BenchmarkDotNet.Attributes;
using Reinforce.Autograd;
using Reinforce.Nn.Transformers;
using Reinforce.Nn;
using Tensor = Reinforce.Tensors.Tensor;

namespace Reinforce.Benchmarks;

/// <summary>
/// Forward + backward of the network shapes the project trains: a PPO-sized MLP policy and a small GPT block, plus one
/// cached generation step. Run: dotnet run -c Release --project benchmarks/Reinforce.Benchmarks -- --filter *NnBenchmarks*
/// </summary>
[MemoryDiagnoser]
public class NnBenchmarks
{
    private Mlp _mlp = null!;
    private Tensor _observations = null!;
    private GptBlock _block = null!;
    private Tensor _sequence = null!;
    private KvCache _cache = null!;
    private Tensor _token = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        _mlp = new Mlp([8, 64, 64, 4], Activation.Tanh, rng);
        _observations = Tensor.RandomNormal(rng, [256, 8]);
        _block = new GptBlock(128, 4, rng);
        _sequence = Tensor.RandomNormal(rng, [8, 64, 128]);
        _cache = _block.Attention.CreateCache(8, 128);
        _token = Tensor.RandomNormal(rng, [8, 1, 128]);
    }

    /// <summary>A minibatch of 256 observations through 8-64-64-4 (tanh), mean-square loss, backward.</summary>
    [Benchmark]
    public float MlpForwardBackward()
    {
        _mlp.ZeroGrad();
        var loss = Ops.Mean(Ops.Square(_mlp.Forward(_observations)));
        loss.Backward();
        return loss.Item();
    }

    /// <summary>A GPT block (dim 128, 4 heads) on 8 sequences of 64 tokens, forward and backward.</summary>
    [Benchmark]
    public float GptBlockForwardBackward()
    {
        _block.ZeroGrad();
        var loss = Ops.Mean(Ops.Square(_block.Forward(_sequence)));
        loss.Backward();
        return loss.Item();
    }

    /// <summary>One generated token for 8 sequences with 64 positions already cached.</summary>
    [Benchmark]
    public float GptBlockCachedStep()
    {
        using var _ = Graph.NoGrad();
        _cache.Truncate(Math.Min(_cache.Length, 64));
        if (_cache.Length < 64) _block.ForwardCached(Tensor.Zeros(8, 64 - _cache.Length, 128), _cache);
        return _block.ForwardCached(_token, _cache).Data[0];
    }
}
