using Reinforce.Autograd;
using Reinforce.Tensors;

namespace Reinforce.Tests.Autograd;

/// <summary>
/// A backward function that fills a gradient whole writes it without clearing first when the tensor has no gradient yet
/// (<c>Tensor.GradBufferToSet</c>), and adds to it otherwise. Here one intermediate tensor feeds every such function
/// (GELU, LayerNorm, an affine layer in both weight layouts, a residual add), so whichever runs first finds the buffer
/// fresh and the others add to it; the step runs twice in one arena, the second time on the buffers the first left
/// full of values, so an element a fresh write missed would show up as the first step's leftovers.
/// </summary>
[Collection("Kernel paths")]   // runs a step in an arena, as the allocation tests do: alone (see KernelPathsCollection)
public class FreshGradientTests
{
    private const int Rows = 6, Width = 16;

    [Fact]
    public void A_tensor_feeding_every_set_or_add_backward_gets_the_sum_of_their_gradients_also_on_reused_arena_buffers()
    {
        var rng = new Rng(17);
        float[] Random(int n) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1); return a; }
        float[] x0Data = Random(Rows * Width), lnW = Random(Width), lnB = Random(Width), outByIn = Random(Width * Width),
            inByOut = Random(Width * Width), bias = Random(Width), other = Random(Rows * Width);
        var weights = Enumerable.Range(0, 5).Select(_ => Random(Rows * Width)).ToArray();

        // Each branch alone (its gradient in x0 computed without an arena, so every buffer starts at zero)...
        var alone = new float[5][];
        for (int b = 0; b < 5; b++) alone[b] = Gradient(x0Data, branches: [b], lnW, lnB, outByIn, inByOut, bias, other, weights, arena: null);
        var expected = new float[Rows * Width];
        foreach (var g in alone) for (int i = 0; i < expected.Length; i++) expected[i] += g[i];
        foreach (var g in alone) Assert.Contains(g, v => v != 0f);   // every branch reaches x0

        // ...and all five at once, twice in one arena: the second step's buffers hold the first step's values.
        var arena = new TensorArena();
        var first = Gradient(x0Data, [0, 1, 2, 3, 4], lnW, lnB, outByIn, inByOut, bias, other, weights, arena);
        arena.Recycle();
        var second = Gradient(x0Data, [0, 1, 2, 3, 4], lnW, lnB, outByIn, inByOut, bias, other, weights, arena);
        arena.Recycle();
        Assert.Equal(first, second);   // the same bits from reused buffers
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(second[i] - expected[i]) <= 1e-5f * (1f + Math.Abs(expected[i])), $"element {i}: {second[i]} against {expected[i]}");
    }

    /// <summary>d/dx0 of Σ_b Σ(weights[b] ∘ branch_b(x)), x = 2·x0 an intermediate (its gradient an arena buffer when one is active).</summary>
    private static float[] Gradient(float[] x0Data, int[] branches, float[] lnW, float[] lnB, float[] outByIn, float[] inByOut,
        float[] bias, float[] other, float[][] weights, TensorArena? arena)
    {
        var x0 = Tensor.FromArray((float[])x0Data.Clone(), Rows, Width);
        x0.RequiresGrad = true;
        using (arena?.Activate())
        {
            var x = Ops.MulScalar(x0, 2f);
            Tensor? loss = null;
            foreach (int b in branches)
            {
                var y = b switch
                {
                    0 => Ops.GeluTanh(x),
                    1 => Ops.LayerNorm(x, Tensor.FromArray(lnW, Width), Tensor.FromArray(lnB, Width)),
                    2 => Ops.Linear(x, Tensor.FromArray(outByIn, Width, Width), Tensor.FromArray(bias, Width)),
                    3 => Ops.Affine(x, Tensor.FromArray(inByOut, Width, Width), Tensor.FromArray(bias, Width)),
                    _ => Ops.Add(x, Tensor.FromArray(other, Rows, Width)),
                };
                var term = Ops.Sum(Ops.Mul(y, Tensor.FromArray(weights[b], Rows, Width)));
                loss = loss is null ? term : Ops.Add(loss, term);
            }
            loss!.Backward();
        }
        return x0.Grad!.ToArray();
    }
}
