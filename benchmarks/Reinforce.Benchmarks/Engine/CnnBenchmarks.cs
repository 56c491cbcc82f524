using BenchmarkDotNet.Attributes;
using Reinforce.Autograd;
using Reinforce.Nn;
using Tensor = Reinforce.Tensors.Tensor;

namespace Reinforce.Benchmarks.Engine;

/// <summary>
/// The image encoders at the batch sizes PPO uses, forward (inference, as in the rollout) and forward + backward (as in
/// the update): Mnih et al. (2015)'s Nature CNN on 84x84x4 (CleanRL's ppo_atari: 8 environments act, minibatches of
/// 256) and MinAtar's small CNN on 10x10x4 (PureJaxRL's MinAtar PPO: 64 environments act, minibatches of 1024).
/// The same shapes in PyTorch: tools/bench/cnn_torch.py. Run:
/// <c>dotnet run -c Release --project benchmarks/Reinforce.Benchmarks -- --filter *CnnBenchmarks* --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class CnnBenchmarks
{
    /// <summary>"nature-8", "nature-256", "minatar-64", "minatar-1024": network and batch.</summary>
    [Params("nature-8", "nature-256", "minatar-64", "minatar-1024")]
    public string Case { get; set; } = "nature-8";

    private Cnn _net = null!;
    private Tensor _x = null!;
    private float[] _features = [];
    private int _batch;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        var parts = Case.Split('-');
        _batch = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        _net = parts[0] == "nature" ? Cnn.Nature(4, 84, 84, rng) : Cnn.Small(4, 10, 10, rng);
        _x = Tensor.RandomUniform(rng, [_batch, 4, _net.Height, _net.Width]);
        _features = new float[_batch * _net.FeaturesDim];
    }

    /// <summary>Inference through the allocation-free path (what the rollout runs each step).</summary>
    [Benchmark]
    public float Forward()
    {
        _net.Infer(_x.Data, _batch, _features);
        return _features[0];
    }

    /// <summary>Forward recorded, mean of the features as the loss, backward to every weight and the input.</summary>
    [Benchmark]
    public float ForwardBackward()
    {
        _net.ZeroGrad();
        var loss = Ops.Mean(_net.Forward(_x));
        loss.Backward();
        return loss.Item();
    }
}
