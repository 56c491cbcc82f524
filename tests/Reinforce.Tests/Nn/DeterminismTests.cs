using Reinforce.Autograd;
using Reinforce.Nn.Transformers;
using Reinforce.Nn;
using Reinforce.Tensors;

namespace Reinforce.Tests.Nn;

public class DeterminismTests
{
    private static (float[] Output, float[][] Grads) MlpRun(int seed)
    {
        var rng = new Rng(seed);
        var mlp = new Mlp([6, 64, 64, 3], Activation.Tanh, rng);
        foreach (var layer in mlp.Linears) Init.OrthogonalLayer(layer, MathF.Sqrt(2), rng);
        var x = Tensor.RandomNormal(rng, [32, 6]);
        var y = mlp.Forward(x);
        Ops.Mean(Ops.Square(y)).Backward();
        return (y.ToArray(), [.. mlp.Parameters().Select(p => p.Grad!.ToArray())]);
    }

    [Fact]
    public void Mlp_forward_and_backward_are_bit_identical_for_one_seed()
    {
        var a = MlpRun(42);
        var b = MlpRun(42);
        Assert.Equal(a.Output, b.Output);  // float equality: same bits
        Assert.Equal(a.Grads.Length, b.Grads.Length);
        for (int i = 0; i < a.Grads.Length; i++) Assert.Equal(a.Grads[i], b.Grads[i]);
        Assert.NotEqual(a.Output, MlpRun(43).Output);
    }

    private static (float[] Output, float[][] Grads) GptRun()
    {
        var rng = new Rng(9);
        var emb = new Embedding(11, 32, rng, initStd: 0.1);
        var block = new GptBlock(32, 4, rng);
        var tokens = Enumerable.Range(0, 4 * 32).Select(i => (i * 7) % 11).ToArray();
        var y = block.Forward(emb.Forward(tokens, [4, 32]));
        Ops.Sum(Ops.Square(y)).Backward();
        return (y.ToArray(), [.. block.Parameters().Select(p => p.Grad!.ToArray())]);
    }

    [Fact]
    public void Gpt_block_is_bit_identical_across_runs_even_when_attention_runs_in_parallel()
    {
        // 4 sequences × 4 heads of length 32 (head size 8) is above the threshold at which the attention heads run on several threads.
        var a = GptRun();
        var b = GptRun();
        Assert.Equal(a.Output, b.Output);
        for (int i = 0; i < a.Grads.Length; i++) Assert.Equal(a.Grads[i], b.Grads[i]);
    }
}
