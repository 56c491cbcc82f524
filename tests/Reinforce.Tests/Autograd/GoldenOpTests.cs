using Reinforce.Autograd;
using Reinforce.Nn.Transformers;
using Reinforce.Tests.Golden;

namespace Reinforce.Tests.Autograd;

/// <summary>The differentiable operations against PyTorch 1.13 (float64) values and gradients (Data/pytorch-golden.jsonl).</summary>
public class GoldenOpTests
{
    [Fact] public void Tanh() => GoldenRunner.Check("tanh", i => Ops.Tanh(i["x"]));
    [Fact] public void Relu() => GoldenRunner.Check("relu", i => Ops.Relu(i["x"]));
    [Fact] public void Elu() => GoldenRunner.Check("elu", i => Ops.Elu(i["x"]));
    [Fact] public void Sigmoid() => GoldenRunner.Check("sigmoid", i => Ops.Sigmoid(i["x"]));
    [Fact] public void Softplus() => GoldenRunner.Check("softplus", i => Ops.Softplus(i["x"]));
    [Fact] public void GeluTanh() => GoldenRunner.Check("gelu_tanh", i => Ops.GeluTanh(i["x"]));
    [Fact] public void GeluErf() => GoldenRunner.Check("gelu_erf", i => Ops.GeluErf(i["x"]));
    [Fact] public void Softmax() => GoldenRunner.Check("softmax_lastdim", i => Ops.Softmax(i["x"]));
    [Fact] public void LogSoftmax() => GoldenRunner.Check("log_softmax_lastdim", i => Ops.LogSoftmax(i["x"]));

    [Fact]
    public void Linear() => GoldenRunner.Check("linear", i => Ops.Linear(i["x"], i["weight"], i["bias"]));

    [Fact]
    public void Linear_as_matmul_with_transposed_weight_plus_bias() =>
        GoldenRunner.Check("linear", i => Ops.MatMul(i["x"], i["weight"], transposeB: true) + i["bias"]);

    [Fact]
    public void CrossEntropy() =>
        GoldenRunner.Check("cross_entropy_mean", i => Ops.CrossEntropy(i["logits"], GoldenData.Case("cross_entropy_mean").Ints("targets")));

    [Fact]
    public void BinaryCrossEntropyWithLogits()
    {
        var targets = GoldenData.Case("bce_with_logits_mean").Doubles("targets").Select(v => (float)v).ToArray();
        GoldenRunner.Check("bce_with_logits_mean", i => Ops.BinaryCrossEntropyWithLogits(i["logits"], targets));
    }

    [Fact]
    public void MeanSquaredError()
    {
        var target = GoldenData.Case("mse_mean").TensorField("target").ToTensor();
        GoldenRunner.Check("mse_mean", i => Ops.MeanSquaredError(i["input"], target));
    }

    [Fact]
    public void LayerNorm() => GoldenRunner.Check("layer_norm_eps1e-5", i => Ops.LayerNorm(i["x"], i["weight"], i["bias"], 1e-5f));

    [Fact]
    public void Embedding()
    {
        var c = GoldenData.Case("embedding");
        int[] indices = c.Ints("indices");
        int[] shape = [c.Field("indices").GetArrayLength(), c.Field("indices")[0].GetArrayLength()];
        GoldenRunner.Check("embedding", i => Ops.Embedding(i["weight"], indices, shape));
    }

    [Fact]
    public void CausalSelfAttention()
    {
        int heads = (int)GoldenData.Case("causal_self_attention").Number("heads");
        GoldenRunner.Check("causal_self_attention",
            i => Ops.CausalSelfAttention(i["x"], i["c_attn_weight"], i["c_attn_bias"], i["c_proj_weight"], i["c_proj_bias"], heads));
    }
}
