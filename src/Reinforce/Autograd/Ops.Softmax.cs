using System.Numerics.Tensors;
using Reinforce.Tensors;

namespace Reinforce.Autograd;

public static partial class Ops
{
    /// <summary>Softmax over the last dimension, with the row maximum subtracted (finite for logits of any size).</summary>
    public static Tensor Softmax(Tensor x)
    {
        int c = x.LastDim;
        var y = Tensor.Zeros(x.Shape);
        Kernels.SoftmaxRows(x.Data, y.Data, c);
        return Graph.Record(y, "Softmax", x, () =>
        {
            // dx = y * (g - sum(g * y))
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int offset = 0; offset < y.Size; offset += c)
            {
                var yr = y.Data.AsSpan(offset, c);
                var gr = g.AsSpan(offset, c);
                float dot = TensorPrimitives.Dot(gr, yr);
                var gxr = gx.Slice(offset, c);
                for (int j = 0; j < c; j++) gxr[j] += yr[j] * (gr[j] - dot);
            }
        });
    }

    /// <summary>Log-softmax over the last dimension, with the row maximum subtracted (exact for logits of ±1000).</summary>
    public static Tensor LogSoftmax(Tensor x)
    {
        int c = x.LastDim;
        var y = Tensor.Uninitialized(x.Shape);   // every row written
        Kernels.LogSoftmaxRows(x.Data, y.Data, c);
        return Graph.Record(y, "LogSoftmax", x, () =>
        {
            // dx = g - softmax * sum(g)
            Kernels.LogSoftmaxBackwardRows(y.Data, y.Grad!.Data, x.GradBuffer(), c);
        });
    }
}
