using Reinforce.Algorithms;
using Reinforce.Autograd;
using Reinforce.Nn;
using Reinforce.Tensors;

namespace Reinforce.Tests.Algorithms;

public class FusedMlpTests
{
    private static Tensor Composed(Tensor x, Tensor[] w, Tensor[] b, Activation act, bool activateLast)
    {
        var h = x;
        for (int l = 0; l < w.Length; l++)
        {
            h = Ops.Add(Ops.MatMul(h, w[l], transposeB: true), b[l]);
            if (l < w.Length - 1 || activateLast)
            {
                h = act switch
                {
                    Activation.Tanh => Ops.Tanh(h),
                    Activation.Relu => Ops.Relu(h),
                    Activation.Sigmoid => Ops.Sigmoid(h),
                    Activation.Elu => Ops.Sub(Ops.Add(Ops.Relu(h), Ops.Exp(Ops.Neg(Ops.Relu(Ops.Neg(h))))), Tensor.Scalar(1f)),
                    Activation.Softplus => Ops.Log(Ops.AddScalar(Ops.Exp(h), 1f)),
                    _ => h,
                };
            }
        }
        return h;
    }

    [Theory]
    [InlineData(Activation.Tanh, false)]
    [InlineData(Activation.Relu, false)]
    [InlineData(Activation.Sigmoid, true)]
    [InlineData(Activation.Elu, false)]
    [InlineData(Activation.Softplus, true)]
    public void Forward_and_gradients_match_the_composed_operations(Activation activation, bool activateLast)
    {
        var rng = new Rng(3);
        int[] sizes = [5, 7, 6, 3];
        Tensor[] MakeW() => [.. Enumerable.Range(0, 3).Select(l => Tensor.RandomNormal(rng, [sizes[l + 1], sizes[l]], std: 0.7f).RequireGrad())];
        var w = MakeW();
        var b = Enumerable.Range(0, 3).Select(l => Tensor.RandomNormal(rng, [sizes[l + 1]], std: 0.3f).RequireGrad()).ToArray();
        var w2 = w.Select(t => t.Clone().RequireGrad()).ToArray();
        var b2 = b.Select(t => t.Clone().RequireGrad()).ToArray();
        var x = Tensor.RandomNormal(rng, [9, 5]).RequireGrad();
        var x2 = x.Clone().RequireGrad();
        var upstream = Tensor.RandomNormal(rng, [9, 3]);

        var fused = new FusedMlp(w, b, activation, activateLast);
        var y = fused.Forward(x);
        var reference = Composed(x2, w2, b2, activation, activateLast);
        for (int i = 0; i < y.Size; i++) Close(reference[i], y[i], 1e-5);

        var inferred = fused.Infer(x.Data, 9).ToArray();
        for (int i = 0; i < y.Size; i++) Close(y[i], inferred[i], 1e-6);

        Ops.Sum(Ops.Mul(y, upstream)).Backward();
        Ops.Sum(Ops.Mul(reference, upstream)).Backward();
        for (int l = 0; l < 3; l++)
        {
            for (int i = 0; i < w[l].Size; i++) Close(w2[l].Grad![i], w[l].Grad![i], 1e-4);
            for (int i = 0; i < b[l].Size; i++) Close(b2[l].Grad![i], b[l].Grad![i], 1e-4);
        }
        for (int i = 0; i < x.Size; i++) Close(x2.Grad![i], x.Grad![i], 1e-4);
    }

    private static void Close(float expected, float actual, double tolerance) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance * (1 + Math.Abs(expected)), $"expected {expected}, got {actual}");

    [Fact]
    public void A_second_forward_before_backward_is_reported()
    {
        var rng = new Rng(1);
        var w = Tensor.RandomNormal(rng, [2, 3]).RequireGrad();
        var b = Tensor.Zeros(2).RequireGrad();
        var fused = new FusedMlp([w], [b], Activation.Tanh, activateLast: false);
        var first = fused.Forward(Tensor.Ones(4, 3));
        _ = fused.Forward(Tensor.Ones(4, 3));
        Assert.Throws<InvalidOperationException>(() => Ops.Sum(first).Backward());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_pair_of_networks_gives_the_same_bits_as_running_each_alone(bool forceTwoThreads)
    {
        long threshold = FusedMlp.ParallelThreshold;
        if (forceTwoThreads) FusedMlp.ParallelThreshold = 0;   // results never depend on it; only the speed does
        try
        {
            PairMatchesSeparate();
        }
        finally
        {
            FusedMlp.ParallelThreshold = threshold;
        }
    }

    private static void PairMatchesSeparate()
    {
        var rng = new Rng(8);
        Tensor[] Layer(int input, int output) => [Tensor.RandomNormal(rng, [output, input], std: 0.5f).RequireGrad(), Tensor.RandomNormal(rng, [output], std: 0.1f).RequireGrad()];
        var (a1, a2, c1, c2) = (Layer(6, 16), Layer(16, 3), Layer(6, 16), Layer(16, 1));
        Tensor[] Copy(Tensor[] l) => [.. l.Select(t => t.Clone().RequireGrad())];
        var (b1, b2, d1, d2) = (Copy(a1), Copy(a2), Copy(c1), Copy(c2));
        var x = Tensor.RandomNormal(rng, [32, 6]).RequireGrad();
        var x2 = x.Clone().RequireGrad();
        var upstream = Tensor.RandomNormal(rng, [32, 4]);

        var actor = new FusedMlp([a1[0], a2[0]], [a1[1], a2[1]], Activation.Tanh, false);
        var critic = new FusedMlp([c1[0], c2[0]], [c1[1], c2[1]], Activation.Tanh, false);
        var pair = FusedMlp.ForwardPair(actor, critic, x);
        Ops.Sum(Ops.Mul(pair, upstream)).Backward();

        var actorAlone = new FusedMlp([b1[0], b2[0]], [b1[1], b2[1]], Activation.Tanh, false);
        var criticAlone = new FusedMlp([d1[0], d2[0]], [d1[1], d2[1]], Activation.Tanh, false);
        var separate = Ops.Concat([actorAlone.Forward(x2), criticAlone.Forward(x2)]);
        Ops.Sum(Ops.Mul(separate, upstream)).Backward();

        Assert.Equal(separate.Data, pair.Data);
        foreach (var (p, q) in a1.Concat(a2).Concat(c1).Concat(c2).Zip(b1.Concat(b2).Concat(d1).Concat(d2)))
            Assert.Equal(q.Grad!.Data, p.Grad!.Data);
        Assert.Equal(x2.Grad!.Data, x.Grad!.Data);
    }

    [Theory]
    [InlineData(4, 64)]     // CleanRL's 4 environments, 64 wide
    [InlineData(8, 32)]     // the CartPole preset
    [InlineData(3, 300)]    // deeper than one block of the multiply (K > 256)
    public void Frozen_inference_gives_the_same_bits_and_thawing_sees_new_weights(int rows, int width)
    {
        var rng = new Rng(5);
        int[] sizes = [4, width, width, 2];
        var w = Enumerable.Range(0, 3).Select(l => Tensor.RandomNormal(rng, [sizes[l + 1], sizes[l]], std: 0.5f)).ToArray();
        var b = Enumerable.Range(0, 3).Select(l => Tensor.RandomNormal(rng, [sizes[l + 1]], std: 0.3f)).ToArray();
        var x = Tensor.RandomNormal(rng, [rows, 4]);
        var net = new FusedMlp(w, b, Activation.Tanh, activateLast: false);
        var live = net.Infer(x.Data, rows).ToArray();
        float[] frozen;
        using (net.Freeze())
        {
            frozen = net.Infer(x.Data, rows).ToArray();
            Assert.Equal(live, frozen);
            w[1].Data[3] += 1f;   // a change inside the scope is not seen (the contract: none happens during a rollout)
            Assert.Equal(frozen, net.Infer(x.Data, rows).ToArray());
        }
        var changed = net.Infer(x.Data, rows).ToArray();
        Assert.NotEqual(frozen, changed);
        using (net.Freeze()) Assert.Equal(changed, net.Infer(x.Data, rows).ToArray());
    }
}
