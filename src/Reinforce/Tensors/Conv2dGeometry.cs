namespace Reinforce.Tensors;

/// <summary>
/// The sizes of a 2-D convolution or pooling over a batch of NCHW images: input [Batch, InChannels, Height, Width],
/// a kernel of KernelHeight × KernelWidth moved by the strides over the input padded by PadHeight/PadWidth zeros on each
/// side, kernel taps spaced by the dilations; output [Batch, OutChannels, OutHeight, OutWidth] with
/// OutHeight = ⌊(Height + 2·PadHeight − DilationHeight·(KernelHeight − 1) − 1) / StrideHeight⌋ + 1 (as PyTorch).
/// For pooling, OutChannels equals InChannels.
/// </summary>
public readonly record struct Conv2dGeometry(
    int Batch, int InChannels, int Height, int Width, int OutChannels, int KernelHeight, int KernelWidth,
    int StrideHeight = 1, int StrideWidth = 1, int PadHeight = 0, int PadWidth = 0, int DilationHeight = 1, int DilationWidth = 1)
{
    /// <summary>Output rows per image.</summary>
    public int OutHeight => (Height + 2 * PadHeight - DilationHeight * (KernelHeight - 1) - 1) / StrideHeight + 1;

    /// <summary>Output columns per image.</summary>
    public int OutWidth => (Width + 2 * PadWidth - DilationWidth * (KernelWidth - 1) - 1) / StrideWidth + 1;

    /// <summary>Output positions per image (OutHeight · OutWidth).</summary>
    public int Positions => OutHeight * OutWidth;

    /// <summary>Values one output position reads per output channel (InChannels · KernelHeight · KernelWidth): a row of the weight.</summary>
    public int PatchSize => InChannels * KernelHeight * KernelWidth;

    /// <summary>Elements of one input image (InChannels · Height · Width).</summary>
    public int InputImageSize => InChannels * Height * Width;

    /// <summary>Elements of one output image (OutChannels · Positions).</summary>
    public int OutputImageSize => OutChannels * Positions;

    /// <summary>Elements of the whole input.</summary>
    public long InputSize => (long)Batch * InputImageSize;

    /// <summary>Elements of the whole output.</summary>
    public long OutputSize => (long)Batch * OutputImageSize;

    /// <summary>Elements of the weight [OutChannels, InChannels, KernelHeight, KernelWidth].</summary>
    public int WeightSize => OutChannels * PatchSize;

    /// <summary>The output shape [Batch, OutChannels, OutHeight, OutWidth].</summary>
    public int[] OutputShape => [Batch, OutChannels, OutHeight, OutWidth];

    /// <summary>"conv 32x4x8x8, stride 4x4, ..." for messages.</summary>
    public string Describe(string operation) =>
        $"{operation} over input [{Batch}, {InChannels}, {Height}, {Width}] with kernel {KernelHeight}x{KernelWidth}, stride {StrideHeight}x{StrideWidth}, " +
        $"padding {PadHeight}x{PadWidth}, dilation {DilationHeight}x{DilationWidth}";

    /// <summary>Throws an <see cref="ArgumentException"/> naming the problem when the sizes do not describe a valid operation.</summary>
    public void Validate(string operation)
    {
        if (Batch < 0 || InChannels <= 0 || Height <= 0 || Width <= 0 || OutChannels <= 0)
            throw new ArgumentException($"{Describe(operation)}: the batch must be non-negative and the channels, height and width positive.");
        if (KernelHeight <= 0 || KernelWidth <= 0 || StrideHeight <= 0 || StrideWidth <= 0 || DilationHeight <= 0 || DilationWidth <= 0)
            throw new ArgumentException($"{Describe(operation)}: kernel sizes, strides and dilations must be positive.");
        if (PadHeight < 0 || PadWidth < 0)
            throw new ArgumentException($"{Describe(operation)}: padding must be non-negative.");
        if (OutHeight <= 0 || OutWidth <= 0 || Height + 2 * PadHeight < DilationHeight * (KernelHeight - 1) + 1 || Width + 2 * PadWidth < DilationWidth * (KernelWidth - 1) + 1)
            throw new ArgumentException(
                $"{Describe(operation)}: the (dilated) kernel is larger than the padded input, so there is no output position. " +
                "Use a larger input, a smaller kernel or more padding.");
        if (OutputSize > Array.MaxLength || InputSize > Array.MaxLength)
            throw new ArgumentException($"{Describe(operation)}: the tensors would hold more elements than an array can.");
    }
}
