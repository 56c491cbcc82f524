using Reinforce.Autograd;
using Reinforce.Nn.Transformers;
using Reinforce.Nn;
using Reinforce.Tensors;

namespace Reinforce.Tests.Autograd;

/// <summary>Bad shapes give an exception that names the operation and both shapes.</summary>
public class ShapeErrorTests
{
    private static void AssertNames(Action act, string operation, params string[] shapes)
    {
        var e = Assert.ThrowsAny<ArgumentException>(act);
        Assert.StartsWith(operation + ":", e.Message, StringComparison.Ordinal);
        foreach (var s in shapes) Assert.Contains(s, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Elementwise_broadcast_mismatch() =>
        AssertNames(() => Ops.Add(Tensor.Zeros(3, 4), Tensor.Zeros(5)), "Add", "[3, 4]", "[5]");

    [Fact]
    public void Mul_and_div_mismatch()
    {
        AssertNames(() => Ops.Mul(Tensor.Zeros(2, 3), Tensor.Zeros(3, 2)), "Mul", "[2, 3]", "[3, 2]");
        AssertNames(() => _ = Tensor.Zeros(4) / Tensor.Zeros(2, 2), "Div", "[4]", "[2, 2]");
    }

    [Fact]
    public void MatMul_inner_dimensions() =>
        AssertNames(() => Ops.MatMul(Tensor.Zeros(2, 3), Tensor.Zeros(4, 5)), "MatMul", "[2, 3]", "[4, 5]");

    [Fact]
    public void BatchedMatMul_batch_dimensions() =>
        AssertNames(() => Ops.BatchedMatMul(Tensor.Zeros(2, 3, 4), Tensor.Zeros(3, 4, 5)), "BatchedMatMul", "[2, 3, 4]", "[3, 4, 5]");

    [Fact]
    public void Linear_input_width() =>
        AssertNames(() => new Linear(4, 2, new Rng(1)).Forward(Tensor.Zeros(3, 5)), "Linear", "[3, 5]", "[2, 4]");

    [Fact]
    public void Minimum_shapes() =>
        AssertNames(() => Ops.Minimum(Tensor.Zeros(3), Tensor.Zeros(4)), "Minimum", "[3]", "[4]");

    [Fact]
    public void LayerNorm_weight() =>
        AssertNames(() => new LayerNorm(6).Forward(Tensor.Zeros(2, 5)), "LayerNorm", "[6]", "[2, 5]");

    [Fact]
    public void MeanSquaredError_shapes() =>
        AssertNames(() => Losses.MeanSquaredError(Tensor.Zeros(4, 1), Tensor.Zeros(4)), "MeanSquaredError", "[4, 1]", "[4]");

    [Fact]
    public void Concat_shapes() =>
        AssertNames(() => Ops.Concat([Tensor.Zeros(2, 3), Tensor.Zeros(3, 3)]), "Concat", "[2, 3]", "[3, 3]");

    [Fact]
    public void Attention_weights() =>
        AssertNames(() => Ops.CausalSelfAttention(Tensor.Zeros(1, 2, 4), Tensor.Zeros(4, 8), Tensor.Zeros(12), Tensor.Zeros(4, 4), Tensor.Zeros(4), 2),
            "CausalSelfAttention", "[4, 8]", "[1, 2, 4]", "[4, 12]");

    [Fact]
    public void Reshape_size() =>
        AssertNames(() => Ops.Reshape(Tensor.Zeros(2, 3), 4, 2), "Reshape", "[2, 3]", "[4, 2]");

    [Fact]
    public void Index_errors_name_the_index_and_the_bound()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Embedding(Tensor.Zeros(5, 2), [1, 5], [2]));
        Assert.Contains("index 5", e.Message, StringComparison.Ordinal);
        Assert.Contains("[0, 5)", e.Message, StringComparison.Ordinal);
        var ce = Assert.Throws<ArgumentOutOfRangeException>(() => Losses.CrossEntropy(Tensor.Zeros(2, 3), [0, 3]));
        Assert.Contains("target 3", ce.Message, StringComparison.Ordinal);
        AssertNames(() => Losses.CrossEntropy(Tensor.Zeros(2, 3), [0]), "CrossEntropy", "[2, 3]");
    }
}
