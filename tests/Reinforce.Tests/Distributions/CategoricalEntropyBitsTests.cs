using System.Numerics.Tensors;
using Reinforce.Autograd;
using Reinforce.Distributions;
using Reinforce.Tensors;
using Tensor = Reinforce.Tensors.Tensor;

namespace Reinforce.Tests.Distributions;

/// <summary>
/// The categorical entropy's rows of one to three actions are summed inline (no span call per row) and its backward
/// adds each row's share inline: the same bits as the span operations they replaced, forward and backward.
/// </summary>
public class CategoricalEntropyBitsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void Entropy_and_its_gradient_match_the_span_operations(int c)
    {
        var rng = new Random(40 + c);
        const int rows = 333;
        var logits = new float[rows * c];
        for (int i = 0; i < logits.Length; i++) logits[i] = (float)((rng.NextDouble() * 2 - 1) * (i % 3 == 0 ? 20 : 2));
        var upstream = new float[rows];
        for (int i = 0; i < rows; i++) upstream[i] = i % 7 == 0 ? 0f : (float)(rng.NextDouble() * 2 - 1);

        var x = new Tensor(logits, rows, c) { RequiresGrad = true };
        var entropy = new Categorical(x).Entropy();
        entropy.Backward(new Tensor(upstream, rows));

        // The reference: the same computation with a span operation per row, as it was written before.
        var logp = new float[rows * c];
        Kernels.LogSoftmaxRows(logits, logp, c);
        var p = new float[logp.Length];
        TensorPrimitives.Exp(logp, p);
        var pLogp = new float[logp.Length];
        TensorPrimitives.Multiply(p, logp, pLogp);
        var expected = new float[rows];
        for (int r = 0; r < rows; r++) expected[r] = TensorPrimitives.Sum(pLogp.AsSpan(r * c, c));
        TensorPrimitives.Multiply(expected, -1f, expected);
        for (int r = 0; r < rows; r++) Assert.Equal(BitConverter.SingleToInt32Bits(expected[r]), BitConverter.SingleToInt32Bits(entropy.Data[r]));

        var gSum = new float[rows];
        TensorPrimitives.MultiplyAdd(upstream, -1f, gSum, gSum);
        var gProduct = new float[logp.Length];
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(gProduct.AsSpan(r * c, c), gSum[r], gProduct.AsSpan(r * c, c));
        var gp = new float[logp.Length];
        TensorPrimitives.MultiplyAdd(gProduct, logp, gp, gp);
        var gl = new float[logp.Length];
        TensorPrimitives.MultiplyAdd(gProduct, p, gl, gl);
        TensorPrimitives.MultiplyAdd(gp, p, gl, gl);
        var gx = new float[logp.Length];
        Kernels.LogSoftmaxBackwardRows(logp, gl, gx, c);
        for (int i = 0; i < gx.Length; i++) Assert.Equal(BitConverter.SingleToInt32Bits(gx[i]), BitConverter.SingleToInt32Bits(x.Grad!.Data[i]));
    }
}
