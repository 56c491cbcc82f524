using Reinforce.Autograd;

namespace Reinforce.Nn;

/// <summary>
/// PyTorch's <c>nn.Conv2d</c> (groups = 1) over NCHW images: <see cref="Weight"/> [out, in, kh, kw] and
/// <see cref="Bias"/> [out], named <c>weight</c> and <c>bias</c> so a PyTorch state dict loads as is. Initialised as
/// PyTorch does by default: both uniform on ±1/√(in·kh·kw).
/// </summary>
public sealed class Conv2d : Module
{
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of the output (filters).</param>
    /// <param name="kernel">Kernel (height, width).</param>
    /// <param name="rng">Draws the initial weights.</param>
    /// <param name="stride">(height, width); default (1, 1).</param>
    /// <param name="padding">Zeros added on each side, (height, width); default (0, 0).</param>
    /// <param name="dilation">Spacing of the kernel taps, (height, width); default (1, 1).</param>
    /// <param name="bias">Whether the layer has a bias.</param>
    public Conv2d(int inChannels, int outChannels, (int Height, int Width) kernel, Rng rng, (int Height, int Width)? stride = null,
        (int Height, int Width)? padding = null, (int Height, int Width)? dilation = null, bool bias = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outChannels);
        ArgumentNullException.ThrowIfNull(rng);
        if (kernel.Height <= 0 || kernel.Width <= 0) throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "Conv2d: the kernel size must be positive.");
        InChannels = inChannels;
        OutChannels = outChannels;
        Kernel = kernel;
        Stride = stride ?? (1, 1);
        Padding = padding ?? (0, 0);
        Dilation = dilation ?? (1, 1);
        if (Stride.Height <= 0 || Stride.Width <= 0 || Dilation.Height <= 0 || Dilation.Width <= 0 || Padding.Height < 0 || Padding.Width < 0)
            throw new ArgumentException($"Conv2d: stride {Stride} and dilation {Dilation} must be positive and padding {Padding} non-negative.");
        double bound = 1.0 / Math.Sqrt(inChannels * kernel.Height * kernel.Width);
        Weight = RegisterParameter("weight", Init.Uniform(Tensor.Zeros(outChannels, inChannels, kernel.Height, kernel.Width), -bound, bound, rng));
        if (bias) Bias = RegisterParameter("bias", Init.Uniform(Tensor.Zeros(outChannels), -bound, bound, rng));
    }

    /// <summary>A square kernel with equal strides and paddings (<c>nn.Conv2d(in, out, k, stride=s, padding=p)</c>).</summary>
    public Conv2d(int inChannels, int outChannels, int kernel, Rng rng, int stride = 1, int padding = 0, int dilation = 1, bool bias = true)
        : this(inChannels, outChannels, (kernel, kernel), rng, (stride, stride), (padding, padding), (dilation, dilation), bias)
    {
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public (int Height, int Width) Kernel { get; }
    public (int Height, int Width) Stride { get; }
    public (int Height, int Width) Padding { get; }
    public (int Height, int Width) Dilation { get; }

    /// <summary>[out, in, kh, kw].</summary>
    public Parameter Weight { get; }

    /// <summary>[out], or null.</summary>
    public Parameter? Bias { get; }

    /// <summary>The output (height, width) for an input of (height, width), or an error naming the sizes when the kernel does not fit.</summary>
    public (int Height, int Width) OutputSize(int height, int width)
    {
        var g = Geometry(1, height, width);
        g.Validate($"Conv2d({InChannels}, {OutChannels})");
        return (g.OutHeight, g.OutWidth);
    }

    /// <summary>The geometry of this layer over a batch of <paramref name="batch"/> images of (height, width).</summary>
    public Tensors.Conv2dGeometry Geometry(int batch, int height, int width) =>
        new(batch, InChannels, height, width, OutChannels, Kernel.Height, Kernel.Width, Stride.Height, Stride.Width,
            Padding.Height, Padding.Width, Dilation.Height, Dilation.Width);

    /// <summary>x [N, in, H, W] → [N, out, OH, OW].</summary>
    public override Tensor Forward(Tensor x) => Ops.Conv2d(x, Weight.Value, Bias?.Value, Stride, Padding, Dilation);
}

/// <summary>PyTorch's <c>nn.MaxPool2d</c> over NCHW images (stride defaults to the kernel size; no parameters).</summary>
public sealed class MaxPool2d((int Height, int Width) kernel, (int Height, int Width)? stride = null, (int Height, int Width)? padding = null,
    (int Height, int Width)? dilation = null) : Module
{
    /// <summary>A square window.</summary>
    public MaxPool2d(int kernel, int? stride = null, int padding = 0) : this((kernel, kernel), stride is { } s ? (s, s) : null, (padding, padding)) { }

    public (int Height, int Width) Kernel { get; } = kernel;
    public (int Height, int Width) Stride { get; } = stride ?? kernel;
    public (int Height, int Width) Padding { get; } = padding ?? (0, 0);
    public (int Height, int Width) Dilation { get; } = dilation ?? (1, 1);

    public override Tensor Forward(Tensor x) => Ops.MaxPool2d(x, Kernel, Stride, Padding, Dilation);
}

/// <summary>PyTorch's <c>nn.AvgPool2d</c> (count_include_pad = true) over NCHW images (stride defaults to the kernel size).</summary>
public sealed class AvgPool2d((int Height, int Width) kernel, (int Height, int Width)? stride = null, (int Height, int Width)? padding = null) : Module
{
    /// <summary>A square window.</summary>
    public AvgPool2d(int kernel, int? stride = null, int padding = 0) : this((kernel, kernel), stride is { } s ? (s, s) : null, (padding, padding)) { }

    public (int Height, int Width) Kernel { get; } = kernel;
    public (int Height, int Width) Stride { get; } = stride ?? kernel;
    public (int Height, int Width) Padding { get; } = padding ?? (0, 0);

    public override Tensor Forward(Tensor x) => Ops.AvgPool2d(x, Kernel, Stride, Padding);
}

/// <summary>PyTorch's <c>nn.Flatten()</c>: [N, d1, d2, ...] → [N, d1·d2·...] (no parameters; the data is shared).</summary>
public sealed class Flatten : Module
{
    public override Tensor Forward(Tensor x) => Ops.Flatten(x);
}
