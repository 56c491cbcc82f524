namespace Reinforce.Tensors;

public static partial class Kernels
{
    /// <summary>
    /// Max pooling over NCHW images (PyTorch's <c>max_pool2d</c>, padding counts as −∞): effectively computes
    /// y[n, c, oy, ox] = max over the window's taps inside the image of x[n, c, oy·sh − ph + i·dh, ox·sw − pw + j·dw].
    /// <paramref name="argmax"/> (empty to skip, else as long as y) receives the flat index into x of each maximum (the
    /// first one on ties, in row-major window order), which the backward pass routes the gradient to.
    /// </summary>
    public static void MaxPool2dForward(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, in Conv2dGeometry g)
    {
        CheckPool("MaxPool2dForward", x.Length, y.Length, g);
        if (!argmax.IsEmpty && argmax.Length != y.Length)
            throw new ArgumentException($"{g.Describe("MaxPool2dForward")}: argmax has {argmax.Length} elements but y has {y.Length} (pass an empty span to skip it).");
        int oh = g.OutHeight, ow = g.OutWidth, planeSize = g.Height * g.Width;
        for (int plane = 0, outIndex = 0; plane < g.Batch * g.InChannels; plane++)
        {
            int baseIndex = plane * planeSize;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++, outIndex++)
                {
                    float best = float.NegativeInfinity;
                    int bestIndex = -1;
                    for (int i = 0; i < g.KernelHeight; i++)
                    {
                        int iy = oy * g.StrideHeight - g.PadHeight + i * g.DilationHeight;
                        if ((uint)iy >= (uint)g.Height) continue;
                        for (int j = 0; j < g.KernelWidth; j++)
                        {
                            int ix = ox * g.StrideWidth - g.PadWidth + j * g.DilationWidth;
                            if ((uint)ix >= (uint)g.Width) continue;
                            int index = baseIndex + iy * g.Width + ix;
                            float v = x[index];
                            // NaN propagates, as in PyTorch.
                            if (v > best || float.IsNaN(v) || bestIndex < 0) { best = v; bestIndex = index; if (float.IsNaN(v)) goto done; }
                        }
                    }
                done:
                    y[outIndex] = best;
                    if (!argmax.IsEmpty) argmax[outIndex] = bestIndex;
                }
        }
    }

    /// <summary>The gradient of <see cref="MaxPool2dForward"/>: dx[argmax[k]] += dy[k].</summary>
    public static void MaxPool2dBackward(ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, Span<float> dx)
    {
        if (argmax.Length != dy.Length)
            throw new ArgumentException($"MaxPool2dBackward: argmax has {argmax.Length} elements but dy has {dy.Length}.");
        for (int k = 0; k < dy.Length; k++)
        {
            if ((uint)argmax[k] >= (uint)dx.Length)
                throw new ArgumentException($"MaxPool2dBackward: argmax[{k}] = {argmax[k]} is outside dx of {dx.Length} elements.");
            dx[argmax[k]] += dy[k];
        }
    }

    /// <summary>
    /// Average pooling over NCHW images (PyTorch's <c>avg_pool2d</c> with count_include_pad = true): effectively computes
    /// y[n, c, oy, ox] = (Σ over the window's taps inside the image of x) / (the window's area clipped to the padded input).
    /// </summary>
    public static void AvgPool2dForward(ReadOnlySpan<float> x, Span<float> y, in Conv2dGeometry g)
    {
        CheckPool("AvgPool2dForward", x.Length, y.Length, g);
        int oh = g.OutHeight, ow = g.OutWidth, planeSize = g.Height * g.Width;
        for (int plane = 0, outIndex = 0; plane < g.Batch * g.InChannels; plane++)
        {
            int baseIndex = plane * planeSize;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++, outIndex++)
                {
                    float sum = 0f;
                    for (int i = 0; i < g.KernelHeight; i++)
                    {
                        int iy = oy * g.StrideHeight - g.PadHeight + i;
                        if ((uint)iy >= (uint)g.Height) continue;
                        for (int j = 0; j < g.KernelWidth; j++)
                        {
                            int ix = ox * g.StrideWidth - g.PadWidth + j;
                            if ((uint)ix < (uint)g.Width) sum += x[baseIndex + iy * g.Width + ix];
                        }
                    }
                    y[outIndex] = sum / AvgPoolDivisor(g, oy, ox);
                }
        }
    }

    /// <summary>The gradient of <see cref="AvgPool2dForward"/>: each dy is spread evenly (by the same divisor) over its window's taps, accumulated into dx.</summary>
    public static void AvgPool2dBackward(ReadOnlySpan<float> dy, Span<float> dx, in Conv2dGeometry g)
    {
        CheckPool("AvgPool2dBackward", dx.Length, dy.Length, g);
        int oh = g.OutHeight, ow = g.OutWidth, planeSize = g.Height * g.Width;
        for (int plane = 0, outIndex = 0; plane < g.Batch * g.InChannels; plane++)
        {
            int baseIndex = plane * planeSize;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++, outIndex++)
                {
                    float share = dy[outIndex] / AvgPoolDivisor(g, oy, ox);
                    for (int i = 0; i < g.KernelHeight; i++)
                    {
                        int iy = oy * g.StrideHeight - g.PadHeight + i;
                        if ((uint)iy >= (uint)g.Height) continue;
                        for (int j = 0; j < g.KernelWidth; j++)
                        {
                            int ix = ox * g.StrideWidth - g.PadWidth + j;
                            if ((uint)ix < (uint)g.Width) dx[baseIndex + iy * g.Width + ix] += share;
                        }
                    }
                }
        }
    }

    /// <summary>PyTorch's divisor with count_include_pad: the window clipped to the padded input (padding counts, beyond it does not).</summary>
    private static int AvgPoolDivisor(in Conv2dGeometry g, int oy, int ox)
    {
        int y0 = oy * g.StrideHeight - g.PadHeight, x0 = ox * g.StrideWidth - g.PadWidth;
        int y1 = Math.Min(y0 + g.KernelHeight, g.Height + g.PadHeight), x1 = Math.Min(x0 + g.KernelWidth, g.Width + g.PadWidth);
        return (y1 - y0) * (x1 - x0);
    }

    private static void CheckPool(string operation, int xLength, int yLength, in Conv2dGeometry g)
    {
        g.Validate(operation);
        if (g.OutChannels != g.InChannels)
            throw new ArgumentException($"{g.Describe(operation)}: pooling keeps the channels, so OutChannels ({g.OutChannels}) must equal InChannels ({g.InChannels}).");
        if (g.PadHeight * 2 > g.KernelHeight || g.PadWidth * 2 > g.KernelWidth)
            throw new ArgumentException($"{g.Describe(operation)}: padding must be at most half the kernel size (as PyTorch requires).");
        if (xLength != g.InputSize)
            throw new ArgumentException($"{g.Describe(operation)}: x has {xLength} elements but the input needs {g.InputSize}.");
        if (yLength != g.OutputSize)
            throw new ArgumentException($"{g.Describe(operation)}: y has {yLength} elements but the output needs {g.OutputSize}.");
    }
}
