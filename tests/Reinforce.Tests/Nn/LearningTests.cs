using Reinforce.Autograd;
using Reinforce.Nn.Transformers;
using Reinforce.Nn;
using Reinforce.Tensors;

namespace Reinforce.Tests.Nn;

/// <summary>The pieces train: small problems a correct engine solves in a few hundred plain gradient steps.</summary>
public class LearningTests
{
    private static void SgdStep(Module m, float lr)
    {
        foreach (var p in m.Parameters())
        {
            if (p.Grad is null) continue;
            for (int i = 0; i < p.Size; i++) p.Value.Data[i] -= lr * p.Grad.Data[i];
        }
        m.ZeroGrad();
    }

    [Fact]
    public void Mlp_learns_xor()
    {
        var rng = new Rng(1);
        var mlp = new Mlp([2, 16, 2], Activation.Tanh, rng);
        var x = Tensor.FromArray(new[] { 0f, 0f, 0f, 1f, 1f, 0f, 1f, 1f }, 4, 2);
        int[] labels = [0, 1, 1, 0];
        float loss = float.NaN;
        for (int step = 0; step < 500; step++)
        {
            var l = Losses.CrossEntropy(mlp.Forward(x), labels);
            loss = l.Item();
            l.Backward();
            SgdStep(mlp, 0.5f);
        }
        Assert.True(loss < 0.05f, $"XOR loss after training: {loss}");
        using var _ = Graph.NoGrad();
        var logits = mlp.Forward(x);
        for (int r = 0; r < 4; r++) Assert.True(logits[r, labels[r]] > logits[r, 1 - labels[r]], $"row {r} misclassified");
    }

    private sealed class TinyGpt : Module
    {
        public TinyGpt(int vocab, int dim, int context, Rng rng)
        {
            Tokens = RegisterModule("wte", new Embedding(vocab, dim, rng, initStd: 0.1));
            Positions = RegisterModule("wpe", new Embedding(context, dim, rng, initStd: 0.1));
            Block = RegisterModule("h", new GptBlock(dim, 2, rng));
            Norm = RegisterModule("ln_f", new LayerNorm(dim));
            Head = RegisterModule("lm_head", new Linear(dim, vocab, rng, bias: false));
        }

        public Embedding Tokens { get; }
        public Embedding Positions { get; }
        public GptBlock Block { get; }
        public LayerNorm Norm { get; }
        public Linear Head { get; }

        public Tensor Logits(int[] tokens, int batch, int length)
        {
            var pos = Enumerable.Range(0, batch * length).Select(i => i % length).ToArray();
            var h = Ops.Add(Tokens.Forward(tokens, [batch, length]), Positions.Forward(pos, [batch, length]));
            return Head.Forward(Norm.Forward(Block.Forward(h)));
        }
    }

    [Fact]
    public void Tiny_gpt_learns_to_continue_a_sequence_that_needs_attention()
    {
        // Each sequence repeats a random 3-token motif: from the fourth position on, the next token is the one three
        // back, which only attention can fetch (the current token alone does not determine it).
        var rng = new Rng(2);
        const int vocab = 6, length = 9, batch = 16;
        var model = new TinyGpt(vocab, 24, length, rng);
        var data = new Rng(3);
        float loss = float.NaN;
        for (int step = 0; step < 300; step++)
        {
            var tokens = new int[batch * length];
            var targets = new int[batch * length];
            for (int b = 0; b < batch; b++)
            {
                int[] motif = [data.NextInt(vocab), data.NextInt(vocab), data.NextInt(vocab)];
                for (int t = 0; t < length; t++) tokens[b * length + t] = motif[t % 3];
                // Only the predictable positions are scored; the rest are ignored (PyTorch's ignore_index −100).
                for (int t = 0; t < length; t++) targets[b * length + t] = t >= 2 && t + 1 < length ? motif[(t + 1) % 3] : -100;
            }
            var l = Losses.CrossEntropy(model.Logits(tokens, batch, length), targets);
            loss = l.Item();
            l.Backward();
            SgdStep(model, 0.3f);
        }
        // Chance is ln 6 ≈ 1.79.
        Assert.True(loss < 0.1f, $"copy-task loss after training: {loss}");
    }
}
