using Reinforce.Tensors;

namespace Reinforce.Autograd;

public static partial class Ops
{
    /// <summary>
    /// A 2-D convolution over NCHW images (PyTorch's <c>F.conv2d</c> with groups = 1): x [N, C, H, W],
    /// <paramref name="weight"/> [O, C, KH, KW], <paramref name="bias"/> [O] or null → [N, O, OH, OW]. Strides, paddings
    /// (zeros) and dilations are (height, width) pairs. Computed as im2col + the blocked SIMD matrix multiply
    /// (<c>Kernels.Conv2dForward</c>).
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias = null, (int Height, int Width)? stride = null,
        (int Height, int Width)? padding = null, (int Height, int Width)? dilation = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 4)
            throw new ArgumentException($"Conv2d: weight shape {Tensor.ShapeString(weight.Shape)} must be [out channels, in channels, kernel height, kernel width].");
        if (x.Rank != 4)
            throw new ArgumentException($"Conv2d: input shape {Tensor.ShapeString(x.Shape)} must be [batch, channels, height, width] (NCHW); reshape a single image to [1, C, H, W].");
        if (x.Shape[1] != weight.Shape[1])
            throw new ArgumentException($"Conv2d: input shape {Tensor.ShapeString(x.Shape)} has {x.Shape[1]} channels but weight shape {Tensor.ShapeString(weight.Shape)} expects {weight.Shape[1]} (NCHW input, weight [out, in, kh, kw]).");
        if (bias is not null && (bias.Rank != 1 || bias.Size != weight.Shape[0]))
            throw new ArgumentException($"Conv2d: bias shape {Tensor.ShapeString(bias.Shape)} must be [{weight.Shape[0]}] (one per output channel).");
        var s = stride ?? (1, 1);
        var p = padding ?? (0, 0);
        var d = dilation ?? (1, 1);
        var g = new Conv2dGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], weight.Shape[0], weight.Shape[2], weight.Shape[3],
            s.Height, s.Width, p.Height, p.Width, d.Height, d.Width);
        g.Validate("Conv2d");
        var y = Tensor.Zeros(g.OutputShape);
        Kernels.Conv2dForward(x.Data, weight.Data, bias is null ? default : bias.Data, y.Data, g);
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return Graph.Record(y, "Conv2d", inputs, () =>
            Kernels.Conv2dBackward(x.Data, weight.Data, y.Grad!.Data,
                x.RequiresGrad ? x.GradBuffer() : default,
                weight.RequiresGrad ? weight.GradBuffer() : default,
                bias is not null && bias.RequiresGrad ? bias.GradBuffer() : default, g));
    }

    /// <summary>
    /// Max pooling over NCHW images (PyTorch's <c>F.max_pool2d</c>): x [N, C, H, W] → [N, C, OH, OW]; the stride defaults
    /// to the kernel size; padding counts as −∞. The gradient goes to each window's (first) maximum.
    /// </summary>
    public static Tensor MaxPool2d(Tensor x, (int Height, int Width) kernel, (int Height, int Width)? stride = null,
        (int Height, int Width)? padding = null, (int Height, int Width)? dilation = null)
    {
        var g = PoolGeometry("MaxPool2d", x, kernel, stride, padding, dilation);
        var y = Tensor.Zeros(g.OutputShape);
        var argmax = new int[y.Size];
        Kernels.MaxPool2dForward(x.Data, y.Data, argmax, g);
        return Graph.Record(y, "MaxPool2d", x, () => Kernels.MaxPool2dBackward(y.Grad!.Data, argmax, x.GradBuffer()));
    }

    /// <summary>
    /// Average pooling over NCHW images (PyTorch's <c>F.avg_pool2d</c> with count_include_pad = true): x [N, C, H, W] →
    /// [N, C, OH, OW]; the stride defaults to the kernel size.
    /// </summary>
    public static Tensor AvgPool2d(Tensor x, (int Height, int Width) kernel, (int Height, int Width)? stride = null,
        (int Height, int Width)? padding = null)
    {
        var g = PoolGeometry("AvgPool2d", x, kernel, stride, padding, null);
        var y = Tensor.Zeros(g.OutputShape);
        Kernels.AvgPool2dForward(x.Data, y.Data, g);
        return Graph.Record(y, "AvgPool2d", x, () => Kernels.AvgPool2dBackward(y.Grad!.Data, x.GradBuffer(), g));
    }

    private static Conv2dGeometry PoolGeometry(string name, Tensor x, (int Height, int Width) kernel, (int Height, int Width)? stride,
        (int Height, int Width)? padding, (int Height, int Width)? dilation)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4)
            throw new ArgumentException($"{name}: input shape {Tensor.ShapeString(x.Shape)} must be [batch, channels, height, width] (NCHW).");
        var s = stride ?? kernel;
        var p = padding ?? (0, 0);
        var d = dilation ?? (1, 1);
        var g = new Conv2dGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], x.Shape[1], kernel.Height, kernel.Width,
            s.Height, s.Width, p.Height, p.Width, d.Height, d.Width);
        g.Validate(name);
        if (2 * p.Height > kernel.Height || 2 * p.Width > kernel.Width)
            throw new ArgumentException($"{g.Describe(name)}: padding must be at most half the kernel size (as PyTorch requires).");
        return g;
    }

    /// <summary>
    /// Flattens every dimension after the first: [N, d1, d2, ...] → [N, d1·d2·...] (PyTorch's <c>nn.Flatten()</c>). The
    /// data is shared.
    /// </summary>
    public static Tensor Flatten(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 1) throw new ArgumentException("Flatten: a scalar has no batch dimension; reshape it to [1] first.");
        return Reshape(x, x.Shape[0], x.Shape[0] == 0 ? 0 : x.Size / x.Shape[0]);
    }
}
