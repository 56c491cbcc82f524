using Reinforce.Tensors;
using Reinforce.Autograd;
using Reinforce.Nn;
using static Reinforce.Tests.Autograd.GradCheck;

namespace Reinforce.Tests.Autograd;

/// <summary>Finite-difference gradient checks of the convolution, pooling, flatten and recurrent operations (see <see cref="GradCheck"/>).</summary>
public class ConvRecurrentGradientTests
{
    [Theory]
    [InlineData(1, 1, 0, 1)]
    [InlineData(2, 1, 1, 1)]
    [InlineData(1, 2, 2, 2)]
    [InlineData(3, 2, 1, 1)]
    public void Conv2d(int strideH, int strideW, int pad, int dilation)
    {
        var rng = new Rng(11);
        var x = Uniform(rng, [2, 3, 7, 6]);
        var w = Uniform(rng, [4, 3, 3, 2], -0.5f, 0.5f);
        var b = Uniform(rng, [4]);
        Check($"Conv2d s{strideH}x{strideW} p{pad} d{dilation}", i => Ops.Conv2d(i[0], i[1], i[2], (strideH, strideW), (pad, pad), (dilation, dilation)), [x, w, b]);
    }

    [Fact]
    public void MaxPool2d()
    {
        // Distinct values spaced further apart than the finite-difference steps, so no window's maximum changes under them.
        var rng = new Rng(12);
        var values = Enumerable.Range(0, 2 * 2 * 6 * 5).Select(i => (float)(i * 0.3 - 9)).OrderBy(_ => rng.NextDouble()).ToArray();
        var x = Tensor.FromArray(values, 2, 2, 6, 5).RequireGrad();
        Check("MaxPool2d 3x3 s2 p1", i => Ops.MaxPool2d(i[0], (3, 3), (2, 2), (1, 1)), [x], new GradCheckOptions(Step: 0.01));
    }

    [Fact]
    public void AvgPool2d() =>
        Check("AvgPool2d 3x2 s2x1 p1", i => Ops.AvgPool2d(i[0], (3, 2), (2, 1), (1, 1)), [Uniform(new Rng(13), [2, 2, 6, 5])]);

    [Fact]
    public void Flatten() => Check("Flatten", i => Ops.Flatten(i[0]) * 2f, [Uniform(new Rng(14), [3, 2, 2, 2])]);

    [Fact]
    public void LstmCell_hidden_and_cell_outputs()
    {
        var rng = new Rng(15);
        var gates = Uniform(rng, [3, 4 * 5]);
        var c = Uniform(rng, [3, 5]);
        Check("LstmCell h", i => Ops.LstmCell(i[0], i[1]).H, [gates, c]);
        Check("LstmCell c", i => Ops.LstmCell(i[0], i[1]).C, [gates, c]);
        // Both outputs used together: h' also depends on c', so c' collects gradient from two places.
        Check("LstmCell h and c", i => { var (h, cc) = Ops.LstmCell(i[0], i[1]); return Ops.Concat([h, cc]); }, [gates, c]);
    }

    [Fact]
    public void GruCell()
    {
        var rng = new Rng(16);
        Check("GruCell", i => Ops.GruCell(i[0], i[1], i[2]), [Uniform(rng, [3, 12]), Uniform(rng, [3, 12]), Uniform(rng, [3, 4])]);
    }

    [Theory]
    [InlineData(RecurrentKind.Lstm)]
    [InlineData(RecurrentKind.Gru)]
    public void Recurrent_layer_over_a_sequence_with_episode_starts(RecurrentKind kind)
    {
        var rng = new Rng(17);
        RecurrentLayer layer = kind == RecurrentKind.Lstm ? new Lstm(3, 4, rng, numLayers: 2) : new Gru(3, 4, rng, numLayers: 2);
        var x = Uniform(rng, [4, 2, 3]);
        var state = layer.ZeroState(2).Select(s => Uniform(rng, s.Shape)).ToArray();
        float[] starts = [0, 0, 1, 0, 0, 0, 0, 1];
        Tensor[] inputs = [x, .. state, .. layer.Parameters().Select(p => p.Value)];
        Check($"{kind} sequence", i => { var (y, s) = layer.Forward(i[0], i[1..(1 + layer.StateCount)], starts); return Ops.Concat([Ops.Reshape(y, 8, 4), Ops.Reshape(s[^1], 4, 4)], axis: 0); },
            inputs);
    }

    [Fact]
    public void Episode_start_resets_the_state_to_zero_before_that_step()
    {
        var rng = new Rng(18);
        var lstm = new Lstm(2, 3, rng);
        var x = Tensor.RandomNormal(rng, [3, 1, 2]);
        var state = new[] { Tensor.RandomNormal(rng, [1, 1, 3]), Tensor.RandomNormal(rng, [1, 1, 3]) };
        using var _ = Graph.NoGrad();
        var (withReset, _) = lstm.Forward(x, state, [0, 1, 0]);
        // The same as running the last two steps alone from a zero state.
        var (fresh, _) = lstm.Forward(Ops.Slice(x, 1, 2, axis: 0), null);
        Assert.Equal(fresh.Data, withReset.Data.AsSpan(3).ToArray());
        var (noReset, _) = lstm.Forward(x, state);
        Assert.NotEqual(noReset.Data.AsSpan(3).ToArray(), withReset.Data.AsSpan(3).ToArray());
    }
}
