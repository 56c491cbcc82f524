using Reinforce.Autograd;
using Reinforce.Nn;
using Reinforce.Tensors;

namespace Reinforce.Tests.Tensors;

/// <summary>
/// The arena lends a step's buffers, tensor objects and recorded nodes until its recycle: never one still lent, the same
/// ones again in the next step (so a repeated step allocates nothing), and gradients through them the same bits as
/// without an arena.
/// </summary>
[Collection("Kernel paths")]   // asserts zero allocation in steady state: runs alone (see KernelPathsCollection)
public class TensorArenaTests
{
    [Fact]
    public void Tensors_lent_in_one_step_are_all_different_objects_with_their_own_buffers()
    {
        var arena = new TensorArena();
        var lent = new List<Tensor>();
        using (arena.Activate())
        {
            for (int i = 0; i < 50; i++) lent.Add(Tensor.Zeros(3, 4));
        }
        Assert.Equal(50, lent.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Equal(50, lent.Select(t => t.Data).Distinct(ReferenceEqualityComparer.Instance).Count());
        arena.Recycle();
    }

    [Fact]
    public void After_a_recycle_the_next_step_gets_the_same_tensors_in_the_same_order()
    {
        var arena = new TensorArena();
        Tensor[] Step()
        {
            using (arena.Activate()) return [Tensor.Zeros(2, 3), Tensor.Zeros(4), Tensor.Uninitialized(2, 3), Tensor.Zeros([])];
        }
        var first = Step();
        var shapes = first.Select(t => t.Shape).ToArray();
        foreach (var t in first) Array.Fill(t.Data, 7f);
        arena.Recycle();
        var second = Step();
        for (int i = 0; i < first.Length; i++)
        {
            Assert.Same(first[i], second[i]);
            Assert.Same(shapes[i], second[i].Shape);   // the shape array kept, not rewritten
        }
        Assert.All(second[0].Data, v => Assert.Equal(0f, v));   // Zeros clears a buffer it lends again
        Assert.Equal([2, 3], second[0].Shape);
        Assert.Equal([4], second[1].Shape);
        Assert.Empty(second[3].Shape);
        arena.Recycle();
    }

    [Fact]
    public void A_lent_tensor_given_another_shape_gets_a_new_shape_array()
    {
        var arena = new TensorArena();
        Tensor first;
        using (arena.Activate()) first = Tensor.Zeros(2, 3);
        var shape = first.Shape;
        arena.Recycle();
        Tensor second;
        using (arena.Activate()) second = Tensor.Zeros(3, 2);
        Assert.Same(first, second);
        Assert.Equal([3, 2], second.Shape);
        Assert.Equal([2, 3], shape);   // the array the first step saw is unchanged
        arena.Recycle();
    }

    [Fact]
    public void Without_an_arena_or_inside_a_suspension_tensors_are_new_objects_that_a_recycle_does_not_take()
    {
        var a = Tensor.Zeros(2);
        var b = Tensor.Zeros(2);
        Assert.NotSame(a, b);

        var arena = new TensorArena();
        Tensor kept;
        using (arena.Activate())
        using (TensorArena.Suspend())
            kept = Tensor.Zeros(2);
        kept.Data[0] = 5f;
        arena.Recycle();
        Tensor lent;
        using (arena.Activate()) lent = Tensor.Zeros(2);
        Assert.NotSame(kept, lent);
        Assert.Equal(5f, kept.Data[0]);
        arena.Recycle();
    }

    [Fact]
    public void A_recycled_tensor_forgets_its_gradient_and_the_operation_that_made_it()
    {
        var arena = new TensorArena();
        var x = Tensor.Ones(2, 3).RequireGrad();
        Tensor y;
        using (arena.Activate())
        {
            y = Ops.Reshape(x, 6);
            Assert.True(y.RequiresGrad);
            Assert.False(y.IsLeaf);
        }
        arena.Recycle();
        Tensor z;
        using (arena.Activate()) z = Tensor.Zeros(6);
        Assert.Same(y, z);
        Assert.False(z.RequiresGrad);
        Assert.True(z.IsLeaf);
        Assert.Null(z.Grad);
        arena.Recycle();
    }

    [Fact]
    public void Recorded_nodes_are_lent_one_per_operation_and_used_again_after_a_recycle()
    {
        var arena = new TensorArena();
        var x = Tensor.Ones(2, 3).RequireGrad();
        (Tensor A, Tensor B) Step()
        {
            using (arena.Activate()) return (Ops.Reshape(x, 6), Ops.Reshape(x, 3, 2));
        }
        var (a, b) = Step();
        var (nodeA, nodeB) = (a.Creator!, b.Creator!);
        Assert.NotSame(nodeA, nodeB);
        Assert.Same(x, nodeA.Inputs[0]);
        arena.Recycle();
        Assert.True(nodeA.Inputs.IsEmpty);   // a node taken back holds no tensors
        var (a2, b2) = Step();
        Assert.Same(nodeA, a2.Creator);
        Assert.Same(nodeB, b2.Creator);
        Assert.Same(x, a2.Creator!.Inputs[0]);
        arena.Recycle();

        // Without an arena every recording makes its own node.
        var c = Ops.Reshape(x, 6);
        var d = Ops.Reshape(x, 6);
        Assert.NotSame(c.Creator, d.Creator);
        Assert.NotSame(nodeA, c.Creator);
    }

    /// <summary>A fused network, a reshape (both recorded in the arena's allocation-free form) and their backward pass.</summary>
    private sealed class Step
    {
        public readonly Tensor[] Weights, Biases;
        public readonly FusedMlp Net;
        public readonly Tensor Input, Upstream;

        public Step(int seed, bool inputRequiresGrad)
        {
            var rng = new Rng(seed);
            Weights = [Tensor.RandomNormal(rng, [6, 4], std: 0.5f).RequireGrad(), Tensor.RandomNormal(rng, [1, 6], std: 0.5f).RequireGrad()];
            Biases = [Tensor.RandomNormal(rng, [6], std: 0.1f).RequireGrad(), Tensor.RandomNormal(rng, [1], std: 0.1f).RequireGrad()];
            Net = new FusedMlp(Weights, Biases, Activation.Tanh, activateLast: false);
            Input = Tensor.RandomNormal(rng, [16, 4]);
            if (inputRequiresGrad) Input.RequireGrad();
            Upstream = Tensor.RandomNormal(rng, [16]);
        }

        public void Run()
        {
            for (int l = 0; l < Weights.Length; l++)
            {
                Weights[l].ZeroGrad();
                Biases[l].ZeroGrad();
            }
            Input.ZeroGrad();
            Ops.Reshape(Net.Forward(Input), 16).Backward(Upstream);
        }

        public float[] Gradients() => [.. Weights.Concat(Biases).Append(Input).SelectMany(p => p.Grad?.Data ?? [])];
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Gradients_through_lent_tensors_and_nodes_are_the_same_bits_as_without_an_arena(bool inputRequiresGrad)
    {
        var plain = new Step(5, inputRequiresGrad);
        plain.Run();
        var expected = plain.Gradients();

        var inArena = new Step(5, inputRequiresGrad);
        var arena = new TensorArena();
        for (int i = 0; i < 3; i++)
        {
            using (arena.Activate()) inArena.Run();
            arena.Recycle();
            Assert.Equal(expected, inArena.Gradients());
        }
    }

    [Fact]
    public void A_repeated_step_in_an_arena_allocates_nothing()
    {
        var step = new Step(9, inputRequiresGrad: false);
        var arena = new TensorArena();
        for (int i = 0; i < 2; i++)
        {
            using (arena.Activate()) step.Run();
            arena.Recycle();
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
        {
            using (arena.Activate()) step.Run();
            arena.Recycle();
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
