using Reinforce.Autograd;
using Reinforce.Nn.Transformers;
using Reinforce.Tensors;
using static Reinforce.Tests.Autograd.GradCheck;

namespace Reinforce.Tests.Autograd;

/// <summary>A finite-difference gradient check for every differentiable operation (see <see cref="GradCheck"/>).</summary>
public class OpGradientTests
{
    private static Rng R(int seed) => new(seed);

    // ------------------------------------------------------------ arithmetic with each broadcast mode

    public static TheoryData<string, int[], int[]> BroadcastShapes => new()
    {
        { "equal", [3, 4], [3, 4] },
        { "scalar right", [3, 4], [] },
        { "scalar left", [], [3, 4] },
        { "one-element right", [3, 4], [1] },
        { "row vector (tile) right", [3, 4], [4] },
        { "row vector (tile) left", [4], [3, 4] },
        { "[1, D] tile", [3, 4], [1, 4] },
        { "column [N, 1] (repeat) right", [3, 4], [3, 1] },
        { "column [N, 1] (repeat) left", [3, 1], [3, 4] },
        { "leading [N] (repeat) on [N, D]", [3, 4], [3] },
        { "tile on rank 3", [2, 3, 4], [4] },
        { "matrix tile on rank 3", [2, 3, 4], [3, 4] },
        { "repeat on rank 3", [2, 3, 4], [2, 1, 1] },
    };

    [Theory, MemberData(nameof(BroadcastShapes))]
    public void Add(string mode, int[] a, int[] b) =>
        Check($"Add {mode}", t => Ops.Add(t[0], t[1]), [Uniform(R(1), a), Uniform(R(2), b)]);

    [Theory, MemberData(nameof(BroadcastShapes))]
    public void Sub(string mode, int[] a, int[] b) =>
        Check($"Sub {mode}", t => Ops.Sub(t[0], t[1]), [Uniform(R(3), a), Uniform(R(4), b)]);

    [Theory, MemberData(nameof(BroadcastShapes))]
    public void Mul(string mode, int[] a, int[] b) =>
        Check($"Mul {mode}", t => Ops.Mul(t[0], t[1]), [Uniform(R(5), a), Uniform(R(6), b)]);

    [Theory, MemberData(nameof(BroadcastShapes))]
    public void Div(string mode, int[] a, int[] b) =>
        // Divisors kept within [0.5, 2] so 1/b is well conditioned for the finite differences.
        Check($"Div {mode}", t => Ops.Div(t[0], t[1]), [Uniform(R(7), a), Uniform(R(8), b, 0.5f, 2f)]);

    [Fact]
    public void Same_tensor_on_both_sides_accumulates_both_paths()
    {
        Check("x * x", t => Ops.Mul(t[0], t[0]), [Uniform(R(9), [5])]);
        Check("x + x", t => Ops.Add(t[0], t[0]), [Uniform(R(9), [5])]);
        Check("x / x", t => Ops.Div(t[0], t[0]), [Uniform(R(9), [5], 0.5f, 2f)]);
        Check("x - x*x", t => t[0] - t[0] * t[0], [Uniform(R(9), [2, 3])]);
    }

    [Fact]
    public void Only_one_operand_requires_grad()
    {
        var constant = Tensor.RandomUniform(R(10), [3, 4], -1f, 1f);
        Check("Mul with a constant", t => Ops.Mul(t[0], constant), [Uniform(R(11), [4])]);
        Check("Div by a variable", t => Ops.Div(constant, t[0]), [Uniform(R(12), [3, 4], 0.5f, 2f)]);
    }

    [Fact] public void AddScalar() => Check("AddScalar", t => t[0] + 2.5f, [Uniform(R(13), [2, 3])]);
    [Fact] public void MulScalar() => Check("MulScalar", t => t[0] * -1.5f, [Uniform(R(14), [2, 3])]);
    [Fact] public void Neg() => Check("Neg", t => -t[0], [Uniform(R(15), [2, 3])]);
    [Fact] public void Scalar_minus_tensor() => Check("c - x", t => 3f - t[0], [Uniform(R(16), [4])]);
    [Fact] public void Tensor_divided_by_scalar() => Check("x / c", t => t[0] / 4f, [Uniform(R(17), [4])]);

    // ------------------------------------------------------------ elementwise functions

    [Fact] public void Exp() => Check("Exp", t => Ops.Exp(t[0]), [Uniform(R(20), [3, 4])]);
    [Fact] public void Log() => Check("Log", t => Ops.Log(t[0]), [Uniform(R(21), [3, 4], 0.5f, 3f)]);
    [Fact] public void Square() => Check("Square", t => Ops.Square(t[0]), [Uniform(R(22), [3, 4])]);
    [Fact] public void Sqrt() => Check("Sqrt", t => Ops.Sqrt(t[0]), [Uniform(R(23), [3, 4], 0.5f, 3f)]);
    [Fact] public void Pow() => Check("Pow 1.5", t => Ops.Pow(t[0], 1.5f), [Uniform(R(24), [3, 4], 0.5f, 3f)]);
    [Fact] public void Pow_integer_on_negatives() => Check("Pow 3", t => Ops.Pow(t[0], 3f), [Uniform(R(24), [3, 4])]);
    [Fact] public void Abs() => Check("Abs", t => Ops.Abs(t[0]), [AwayFromZero(R(25), [3, 4])]);

    [Fact]
    public void Clamp()
    {
        // Values inside, below and above [-0.5, 0.5], none within the steps of an edge.
        var x = Tensor.FromArray(new[] { -1.5f, -0.3f, 0.1f, 0.35f, 0.9f, 2f, -0.8f, 0.0f }).RequireGrad();
        Check("Clamp", t => Ops.Clamp(t[0], -0.5f, 0.5f), [x]);
    }

    [Fact]
    public void Minimum_and_maximum()
    {
        var a = Uniform(R(26), [3, 4]);
        var b = Tensor.Zeros(3, 4);
        // b differs from a by at least 0.2 everywhere, on either side, so no tie is within the steps.
        var offsets = AwayFromZero(R(27), [3, 4]);
        for (int i = 0; i < b.Size; i++) b.Data[i] = a.Data[i] + offsets.Data[i];
        b.RequireGrad();
        Check("Minimum", t => Ops.Minimum(t[0], t[1]), [a, b]);
        Check("Maximum", t => Ops.Maximum(t[0], t[1]), [a, b]);
    }

    [Fact]
    public void Minimum_splits_the_gradient_evenly_on_ties_as_PyTorch()
    {
        var a = Tensor.FromArray(new[] { 1f, 2f, 3f }).RequireGrad();
        var b = Tensor.FromArray(new[] { 1f, 5f, 0f }).RequireGrad();
        Ops.Sum(Ops.Minimum(a, b)).Backward();
        Assert.Equal([0.5f, 1f, 0f], a.Grad!.Data);
        Assert.Equal([0.5f, 0f, 1f], b.Grad!.Data);
    }

    // ------------------------------------------------------------ activations

    [Fact] public void Tanh() => Check("Tanh", t => Ops.Tanh(t[0]), [Uniform(R(30), [3, 4], -3f, 3f)]);
    [Fact] public void Relu() => Check("Relu", t => Ops.Relu(t[0]), [AwayFromZero(R(31), [3, 4])]);
    [Fact] public void Sigmoid() => Check("Sigmoid", t => Ops.Sigmoid(t[0]), [Uniform(R(32), [3, 4], -4f, 4f)]);
    [Fact] public void Elu() => Check("Elu", t => Ops.Elu(t[0]), [AwayFromZero(R(33), [3, 4], 0.2f, 3f)]);
    [Fact] public void Elu_alpha() => Check("Elu alpha 0.5", t => Ops.Elu(t[0], 0.5f), [AwayFromZero(R(34), [3, 4], 0.2f, 3f)]);
    [Fact] public void GeluTanh() => Check("GeluTanh", t => Ops.GeluTanh(t[0]), [Uniform(R(35), [4, 5], -4f, 4f)]);
    [Fact] public void GeluErf() => Check("GeluErf", t => Ops.GeluErf(t[0]), [Uniform(R(36), [4, 5], -4f, 4f)]);
    [Fact] public void Softplus() => Check("Softplus", t => Ops.Softplus(t[0]), [Uniform(R(37), [4, 5], -6f, 6f)]);
    [Fact] public void Softplus_beta() => Check("Softplus beta 2", t => Ops.Softplus(t[0], beta: 2f), [Uniform(R(38), [4, 5], -3f, 3f)]);

    [Fact]
    public void Softplus_above_threshold_is_the_identity()
    {
        var x = Tensor.FromArray(new[] { 21f, 30f, 100f }).RequireGrad();
        Check("Softplus linear part", t => Ops.Softplus(t[0]), [x]);
        var y = Ops.Softplus(x);
        Assert.Equal(x.Data, y.Data);
    }

    // ------------------------------------------------------------ matrix products

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void MatMul(bool transposeA, bool transposeB)
    {
        int m = 3, k = 4, n = 5;
        var a = Uniform(R(40), transposeA ? [k, m] : [m, k]);
        var b = Uniform(R(41), transposeB ? [n, k] : [k, n]);
        Check($"MatMul tA={transposeA} tB={transposeB}", t => Ops.MatMul(t[0], t[1], transposeA, transposeB), [a, b]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MatMul_with_leading_batch_dimensions(bool transposeB)
    {
        var a = Uniform(R(42), [2, 3, 4]);
        var b = Uniform(R(43), transposeB ? [5, 4] : [4, 5]);
        Check($"MatMul [2,3,4] tB={transposeB}", t => Ops.MatMul(t[0], t[1], transposeB: transposeB), [a, b]);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void BatchedMatMul(bool transposeA, bool transposeB)
    {
        int m = 3, k = 4, n = 2;
        var a = Uniform(R(44), transposeA ? [2, 2, k, m] : [2, 2, m, k]);
        var b = Uniform(R(45), transposeB ? [2, 2, n, k] : [2, 2, k, n]);
        Check($"BatchedMatMul tA={transposeA} tB={transposeB}", t => Ops.BatchedMatMul(t[0], t[1], transposeA, transposeB), [a, b]);
    }

    [Fact]
    public void Linear()
    {
        Check("Linear", t => Ops.Linear(t[0], t[1], t[2]), [Uniform(R(46), [4, 3]), Uniform(R(47), [5, 3]), Uniform(R(48), [5])]);
        Check("Linear rank 3, no bias", t => Ops.Linear(t[0], t[1]), [Uniform(R(49), [2, 4, 3]), Uniform(R(50), [5, 3])]);
        Check("Linear of a vector", t => Ops.Linear(t[0], t[1], t[2]), [Uniform(R(51), [3]), Uniform(R(52), [2, 3]), Uniform(R(53), [2])]);
    }

    [Fact]
    public void Affine() =>
        Check("Affine", t => Ops.Affine(t[0], t[1], t[2]), [Uniform(R(54), [2, 3, 4]), Uniform(R(55), [4, 6]), Uniform(R(56), [6])]);

    // ------------------------------------------------------------ reductions

    [Fact] public void Sum() => Check("Sum", t => Ops.Sum(t[0]), [Uniform(R(60), [3, 4])]);
    [Fact] public void Mean() => Check("Mean", t => Ops.Mean(t[0]), [Uniform(R(61), [3, 4])]);
    [Fact] public void SumLastDim() => Check("SumLastDim", t => Ops.SumLastDim(t[0]), [Uniform(R(62), [2, 3, 4])]);
    [Fact] public void MeanLastDim() => Check("MeanLastDim", t => Ops.MeanLastDim(t[0]), [Uniform(R(63), [3, 4])]);
    [Fact] public void SumLastDim_of_a_vector() => Check("SumLastDim vector", t => Ops.SumLastDim(t[0]), [Uniform(R(64), [5])]);

    // ------------------------------------------------------------ softmax

    [Fact] public void Softmax() => Check("Softmax", t => Ops.Softmax(t[0]), [Uniform(R(70), [3, 5], -3f, 3f)]);
    [Fact] public void LogSoftmax() => Check("LogSoftmax", t => Ops.LogSoftmax(t[0]), [Uniform(R(71), [3, 5], -3f, 3f)]);
    [Fact] public void Softmax_rank3() => Check("Softmax rank 3", t => Ops.Softmax(t[0]), [Uniform(R(72), [2, 2, 4], -3f, 3f)]);
    [Fact] public void LogSoftmax_rank3() => Check("LogSoftmax rank 3", t => Ops.LogSoftmax(t[0]), [Uniform(R(73), [2, 2, 4], -3f, 3f)]);

    // ------------------------------------------------------------ indexing and shapes

    [Fact] public void Reshape() => Check("Reshape", t => Ops.Reshape(t[0], 2, -1) * t[1], [Uniform(R(80), [3, 4]), Uniform(R(81), [2, 6])]);
    [Fact] public void IndexRows() => Check("IndexRows", t => Ops.IndexRows(t[0], [2, 0, 2, 1]), [Uniform(R(82), [3, 4])]);
    [Fact] public void IndexRows_rank3() => Check("IndexRows rank 3", t => Ops.IndexRows(t[0], [1, 1]), [Uniform(R(83), [3, 2, 2])]);
    [Fact] public void GatherLastDim() => Check("GatherLastDim", t => Ops.GatherLastDim(t[0], [3, 0, 1]), [Uniform(R(84), [3, 4])]);
    [Fact] public void Embedding() => Check("Embedding", t => Ops.Embedding(t[0], [4, 1, 4, 0, 2, 4], [2, 3]), [Uniform(R(85), [5, 3])]);

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1)]
    public void Concat(int axis)
    {
        int[] s0 = [2, 3, 4], s1 = [2, 3, 4];
        int ax = axis < 0 ? 2 : axis;
        s1[ax] = ax == 2 ? 2 : 1;
        Check($"Concat axis {axis}", t => Ops.Concat([t[0], t[1], t[0]], axis), [Uniform(R(86), s0), Uniform(R(87), s1)]);
    }

    [Theory]
    [InlineData(-1, 1, 2)]
    [InlineData(0, 1, 1)]
    [InlineData(1, 0, 2)]
    public void Slice(int axis, int start, int length) =>
        Check($"Slice axis {axis}", t => Ops.Slice(t[0], start, length, axis), [Uniform(R(88), [2, 3, 4])]);

    [Fact] public void Transpose() => Check("Transpose", t => Ops.Transpose(t[0]), [Uniform(R(89), [2, 3, 4])]);
    [Fact] public void Permute() => Check("Permute", t => Ops.Permute(t[0], 2, 0, 1), [Uniform(R(90), [2, 3, 4])]);

    [Fact]
    public void Permute_moves_elements_like_PyTorch()
    {
        // x[i, j, k] = 100i + 10j + k; permute(2, 0, 1)[k, i, j] must equal x[i, j, k].
        var x = Tensor.Zeros(2, 3, 4);
        for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 4; k++) x.Data[(i * 3 + j) * 4 + k] = 100 * i + 10 * j + k;
        var y = Ops.Permute(x, 2, 0, 1);
        Assert.Equal([4, 2, 3], y.Shape);
        for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 4; k++)
            Assert.Equal(100 * i + 10 * j + k, y.Data[(k * 2 + i) * 3 + j]);
    }

    // ------------------------------------------------------------ normalisation, losses, attention

    [Fact]
    public void LayerNorm()
    {
        Check("LayerNorm", t => Ops.LayerNorm(t[0], t[1], t[2]), [Uniform(R(100), [3, 6]), Uniform(R(101), [6]), Uniform(R(102), [6])]);
        Check("LayerNorm without affine", t => Ops.LayerNorm(t[0], null, null), [Uniform(R(103), [2, 2, 5])]);
    }

    [Fact]
    public void CrossEntropy()
    {
        Check("CrossEntropy", t => Ops.CrossEntropy(t[0], [1, 0, 4, 2]), [Uniform(R(110), [4, 5])]);
        Check("CrossEntropy ignoring a row", t => Ops.CrossEntropy(t[0], [1, -100, 4, 2]), [Uniform(R(111), [4, 5])]);
    }

    [Fact]
    public void BinaryCrossEntropyWithLogits() =>
        Check("BCE with logits", t => Ops.BinaryCrossEntropyWithLogits(t[0], [0f, 1f, 1f, 0f, 0.3f, 1f]), [Uniform(R(112), [2, 3], -4f, 4f)]);

    [Fact]
    public void MeanSquaredError() =>
        Check("MSE", t => Ops.MeanSquaredError(t[0], t[1]), [Uniform(R(113), [3, 4]), Uniform(R(114), [3, 4])]);

    [Fact]
    public void CausalSelfAttention()
    {
        int b = 2, t = 4, c = 6, heads = 2;
        Tensor[] inputs = [Uniform(R(120), [b, t, c], -1f, 1f), Uniform(R(121), [c, 3 * c], -0.5f, 0.5f), Uniform(R(122), [3 * c], -0.5f, 0.5f),
            Uniform(R(123), [c, c], -0.5f, 0.5f), Uniform(R(124), [c], -0.5f, 0.5f)];
        Check("CausalSelfAttention", x => Ops.CausalSelfAttention(x[0], x[1], x[2], x[3], x[4], heads), inputs,
            new GradCheckOptions(MaxElementsPerInput: 120));
        Check("CausalSelfAttention with left padding", x => Ops.CausalSelfAttention(x[0], x[1], x[2], x[3], x[4], heads, [1, 0]), inputs,
            new GradCheckOptions(MaxElementsPerInput: 120));
    }

    [Fact]
    public void A_composite_network_end_to_end()
    {
        Check("Linear → LayerNorm → GELU → Linear → CrossEntropy",
            t => Ops.CrossEntropy(Ops.Linear(Ops.GeluTanh(Ops.LayerNorm(Ops.Linear(t[0], t[1], t[2]), t[3], t[4])), t[5]), [0, 2, 1]),
            [Uniform(R(130), [3, 4]), Uniform(R(131), [6, 4]), Uniform(R(132), [6]), Uniform(R(133), [6]), Uniform(R(134), [6]), Uniform(R(135), [3, 6])]);
    }
}
