using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Tensors;

namespace Reinforce.Autograd;

public static partial class Ops
{
    /// <summary>The sum of all elements, as a scalar.</summary>
    public static Tensor Sum(Tensor x)
    {
        var y = Tensor.Scalar(PairwiseSum(x.Data));
        return Graph.Record(y, "Sum", x, () =>
        {
            var gx = x.GradBuffer();
            TensorPrimitives.Add(gx, y.Grad!.Data[0], gx);
        });
    }

    /// <summary>The mean of all elements, as a scalar.</summary>
    public static Tensor Mean(Tensor x)
    {
        if (x.Size == 0) throw new ArgumentException($"Mean: tensor of shape {Tensor.ShapeString(x.Shape)} is empty.");
        var y = Tensor.Scalar(PairwiseSum(x.Data) / x.Size);
        return Graph.Record(y, "Mean", x, () =>
        {
            var gx = x.GradBuffer();
            TensorPrimitives.Add(gx, y.Grad!.Data[0] / x.Size, gx);
        });
    }

    /// <summary>Sums over the last dimension: [..., D] → [...].</summary>
    [BypassReadyToRun]
    public static Tensor SumLastDim(Tensor x)
    {
        int d = x.LastDim, rows = x.Rows;
        var y = Tensor.Zeros(x.Rank <= 1 ? [] : x.Shape[..^1]);
        for (int r = 0; r < rows; r++) y.Data[r] = TensorPrimitives.Sum(x.Data.AsSpan(r * d, d));
        return Graph.Record(y, "SumLastDim", x, [BypassReadyToRun] () =>
        {
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int r = 0; r < rows; r++) TensorPrimitives.Add(gx.Slice(r * d, d), g[r], gx.Slice(r * d, d));
        });
    }

    /// <summary>Means over the last dimension: [..., D] → [...].</summary>
    public static Tensor MeanLastDim(Tensor x) => MulScalar(SumLastDim(x), 1f / x.LastDim);

    /// <summary>A sum accumulated in double, so long float32 sums keep their precision and stay order-independent of SIMD width.</summary>
    [BypassReadyToRun]
    internal static float PairwiseSum(ReadOnlySpan<float> values)
    {
        double s = 0;
        foreach (var v in values) s += v;
        return (float)s;
    }
}
