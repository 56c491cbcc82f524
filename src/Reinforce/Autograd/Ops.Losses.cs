using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Tensors;

namespace Reinforce.Autograd;

public static partial class Ops
{
    /// <summary>
    /// Cross-entropy of <paramref name="logits"/> [..., C] against integer class <paramref name="targets"/> (one per row),
    /// averaged over the rows whose target is not <paramref name="ignoreIndex"/> (PyTorch's <c>cross_entropy</c>,
    /// reduction "mean", ignore_index −100). Fused: log-softmax, pick and mean in one pass; the backward is
    /// (softmax − one-hot)/count.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, ReadOnlySpan<int> targets, int ignoreIndex = -100)
    {
        ArgumentNullException.ThrowIfNull(logits);
        int c = logits.LastDim, rows = logits.Rows;
        if (logits.Rank < 1 || targets.Length != rows)
            throw new ArgumentException($"CrossEntropy: {targets.Length} targets for logits of shape {Tensor.ShapeString(logits.Shape)} ({rows} rows of {c} classes); give one target per row.");
        int[] t = targets.ToArray();
        var logProbs = TensorArena.Allocate(logits.Size);
        Kernels.LogSoftmaxRows(logits.Data, logProbs, c);
        double total = 0;
        int count = 0;
        for (int r = 0; r < rows; r++)
        {
            if (t[r] == ignoreIndex) continue;
            if ((uint)t[r] >= (uint)c)
                throw new ArgumentOutOfRangeException(nameof(targets), $"CrossEntropy: target {t[r]} at row {r} is outside [0, {c}).");
            total -= logProbs[r * c + t[r]];
            count++;
        }
        // PyTorch gives NaN (0/0) when every target is ignored; so does this.
        var y = Tensor.Scalar((float)(total / count));
        return Graph.Record(y, "CrossEntropy", logits, [BypassReadyToRun] () =>
        {
            float scale = y.Grad!.Data[0] / count;
            var gx = logits.GradBuffer();
            for (int r = 0; r < rows; r++)
            {
                if (t[r] == ignoreIndex) continue;
                int o = r * c;
                for (int j = 0; j < c; j++) gx[o + j] += scale * MathF.Exp(logProbs[o + j]);
                gx[o + t[r]] -= scale;
            }
            TensorArena.Release(logProbs);
        });
    }

    /// <summary>
    /// Binary cross-entropy on logits, averaged (PyTorch's <c>binary_cross_entropy_with_logits</c>):
    /// mean(max(x, 0) − x·t + log(1 + e^(−|x|))), finite for logits of any size; gradient (σ(x) − t)/N.
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, ReadOnlySpan<float> targets)
    {
        ArgumentNullException.ThrowIfNull(logits);
        int n = logits.Size;
        if (targets.Length != n)
            throw new ArgumentException($"BinaryCrossEntropyWithLogits: {targets.Length} targets for logits of shape {Tensor.ShapeString(logits.Shape)} ({n} values); give one target per logit.");
        if (n == 0) throw new ArgumentException("BinaryCrossEntropyWithLogits: no logits.");
        float[] t = targets.ToArray();
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            double x = logits.Data[i];
            total += Math.Max(x, 0) - x * t[i] + SpecialFunctions.Log1p(Math.Exp(-Math.Abs(x)));
        }
        var y = Tensor.Scalar((float)(total / n));
        return Graph.Record(y, "BinaryCrossEntropyWithLogits", logits, () =>
        {
            float scale = y.Grad!.Data[0] / n;
            var gx = logits.GradBuffer();
            for (int i = 0; i < n; i++) gx[i] += scale * (float)(1.0 / (1.0 + Math.Exp(-logits.Data[i])) - t[i]);
        });
    }

    /// <summary>Mean squared error, mean((input − target)²) (PyTorch's <c>mse_loss</c>); gradients flow to either side that requires them.</summary>
    public static Tensor MeanSquaredError(Tensor input, Tensor target)
    {
        RequireSameShape("MeanSquaredError", input, target);
        int n = input.Size;
        if (n == 0) throw new ArgumentException("MeanSquaredError: empty tensors.");
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            double diff = (double)input.Data[i] - target.Data[i];
            total += diff * diff;
        }
        var y = Tensor.Scalar((float)(total / n));
        return Graph.Record(y, "MeanSquaredError", input, target, () =>
        {
            float scale = 2f * y.Grad!.Data[0] / n;
            var gi = input.RequiresGrad ? input.GradBuffer() : default;
            var gt = target.RequiresGrad ? target.GradBuffer() : default;
            for (int i = 0; i < n; i++)
            {
                float d = scale * (input.Data[i] - target.Data[i]);
                if (!gi.IsEmpty) gi[i] += d;
                if (!gt.IsEmpty) gt[i] -= d;
            }
        });
    }
}
