using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime;

namespace Reinforce.Tensors;

public static partial class Kernels
{
    /// <summary>
    /// Columns of the im2col matrix per chunk of images: images are unfolded a chunk at a time so the scratch stays
    /// bounded (16 MB) whatever the batch, and the product of one chunk is still large enough to fill the micro-kernel.
    /// </summary>
    internal const int ConvColumnBudget = 1 << 22;

    /// <summary>
    /// Unfolds images [first, first + count) of an NCHW batch into columns: effectively computes
    /// col[(c·KH + i)·KW + j, (n − first)·P + oy·OW + ox] = x[n, c, oy·sh − ph + i·dh, ox·sw − pw + j·dw] (0 outside the image),
    /// where P = OH·OW. col is [PatchSize, count·P], row-major, so a weight [O, PatchSize] times col is the convolution
    /// of the chunk as [O, count·P].
    /// </summary>
    public static void Im2Col(ReadOnlySpan<float> x, Span<float> col, in Conv2dGeometry g, int first, int count)
    {
        CheckChunk("Im2Col", x.Length, col.Length, g, first, count);
        var unfold = new Unfold { Image = x, Col = col, Width = g.Width, OutWidth = g.OutWidth, Stride = g.StrideWidth };
        ForEachPatchRow(ref unfold, g, first, count);
    }

    /// <summary>
    /// The adjoint of <see cref="Im2Col"/>: adds each column entry back onto the input pixel it was read from
    /// (dx[n, c, iy, ix] += Σ dcol[...] over every position whose patch covers it), for images [first, first + count).
    /// </summary>
    public static void Col2ImAdd(ReadOnlySpan<float> col, Span<float> dx, in Conv2dGeometry g, int first, int count)
    {
        CheckChunk("Col2ImAdd", dx.Length, col.Length, g, first, count);
        var fold = new FoldAdd { Col = col, Image = dx, Width = g.Width, OutWidth = g.OutWidth, Stride = g.StrideWidth };
        ForEachPatchRow(ref fold, g, first, count);
    }

    /// <summary>What is done with one row of output positions of one kernel tap of one image (see <see cref="ForEachPatchRow"/>).</summary>
    private interface IPatchRow
    {
        /// <summary>
        /// The col row at <paramref name="colStart"/> (OW entries) and the input row at <paramref name="imageStart"/>
        /// (W pixels; −1 when the tap falls above or below the image); output columns [oxLo, oxHi) read input column
        /// ox·stride + <paramref name="offset"/>, the rest fall outside the image.
        /// </summary>
        void Row(int colStart, int imageStart, int oxLo, int oxHi, int offset);
    }

    /// <summary>
    /// The loops Im2Col and its adjoint share: every channel, kernel tap (i, j), image of the chunk and output row,
    /// with the input row the tap reads and the output columns whose pixel lies inside the image.
    /// </summary>
    [BypassReadyToRun]
    private static void ForEachPatchRow<TRow>(ref TRow op, in Conv2dGeometry g, int first, int count) where TRow : IPatchRow, allows ref struct
    {
        int oh = g.OutHeight, ow = g.OutWidth, positions = oh * ow, width = count * positions;
        for (int c = 0; c < g.InChannels; c++)
            for (int i = 0; i < g.KernelHeight; i++)
                for (int j = 0; j < g.KernelWidth; j++)
                {
                    int rowStart = ((c * g.KernelHeight + i) * g.KernelWidth + j) * width;
                    int offset = j * g.DilationWidth - g.PadWidth;
                    ValidRange(offset, g.StrideWidth, g.Width, ow, out int oxLo, out int oxHi);
                    for (int n = 0; n < count; n++)
                    {
                        int plane = (first + n) * g.InputImageSize + c * g.Height * g.Width;
                        for (int oy = 0; oy < oh; oy++)
                        {
                            int iy = oy * g.StrideHeight - g.PadHeight + i * g.DilationHeight;
                            op.Row(rowStart + n * positions + oy * ow, (uint)iy < (uint)g.Height ? plane + iy * g.Width : -1, oxLo, oxHi, offset);
                        }
                    }
                }
    }

    /// <summary>Im2Col's row: copy the pixels inside the image, zero the rest.</summary>
    private ref struct Unfold : IPatchRow
    {
        public ReadOnlySpan<float> Image;
        public Span<float> Col;
        public int Width, OutWidth, Stride;

        [BypassReadyToRun]
        public readonly void Row(int colStart, int imageStart, int oxLo, int oxHi, int offset)
        {
            var outRow = Col.Slice(colStart, OutWidth);
            if (imageStart < 0 || oxLo >= oxHi)
            {
                outRow.Clear();
                return;
            }
            var inRow = Image.Slice(imageStart, Width);
            outRow[..oxLo].Clear();
            outRow[oxHi..].Clear();
            if (Stride == 1) inRow.Slice(oxLo + offset, oxHi - oxLo).CopyTo(outRow[oxLo..oxHi]);
            else for (int ox = oxLo, ix = oxLo * Stride + offset; ox < oxHi; ox++, ix += Stride) outRow[ox] = inRow[ix];
        }
    }

    /// <summary>Col2ImAdd's row: add the entries inside the image back onto their pixels.</summary>
    private ref struct FoldAdd : IPatchRow
    {
        public ReadOnlySpan<float> Col;
        public Span<float> Image;
        public int Width, OutWidth, Stride;

        [BypassReadyToRun]
        public readonly void Row(int colStart, int imageStart, int oxLo, int oxHi, int offset)
        {
            if (imageStart < 0 || oxLo >= oxHi) return;
            var colRow = Col.Slice(colStart, OutWidth);
            var inRow = Image.Slice(imageStart, Width);
            if (Stride == 1)
            {
                var target = inRow.Slice(oxLo + offset, oxHi - oxLo);
                TensorPrimitives.Add(target, colRow[oxLo..oxHi], target);
            }
            else for (int ox = oxLo, ix = oxLo * Stride + offset; ox < oxHi; ox++, ix += Stride) inRow[ix] += colRow[ox];
        }
    }

    /// <summary>The output columns ox in [lo, hi) whose input column ox·stride + offset lies inside [0, size).</summary>
    private static void ValidRange(int offset, int stride, int size, int outSize, out int lo, out int hi)
    {
        lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        hi = size - offset <= 0 ? 0 : Math.Min(outSize, (size - offset - 1) / stride + 1);
        if (lo > hi) lo = hi;
    }

    private static void CheckChunk(string operation, int imageLength, int colLength, in Conv2dGeometry g, int first, int count)
    {
        g.Validate(operation);
        if (imageLength < g.InputSize)
            throw new ArgumentException($"{g.Describe(operation)}: the image buffer has {imageLength} elements but the input needs {g.InputSize}.");
        if (first < 0 || count < 0 || first + count > g.Batch)
            throw new ArgumentOutOfRangeException(nameof(first), $"{operation}: images [{first}, {first + count}) are outside the batch of {g.Batch}.");
        if (colLength < (long)g.PatchSize * count * g.Positions)
            throw new ArgumentException($"{g.Describe(operation)}: the column buffer has {colLength} elements but {count} images need {(long)g.PatchSize * count * g.Positions}.");
    }

    /// <summary>Images per im2col chunk for <paramref name="g"/> (at least one).</summary>
    internal static int ConvChunk(in Conv2dGeometry g, int columnBudget = ConvColumnBudget) =>
        Math.Max(1, Math.Min(g.Batch, columnBudget / Math.Max(1, g.PatchSize * g.Positions)));

    /// <summary>
    /// A 2-D convolution (PyTorch's <c>conv2d</c>, groups = 1): effectively computes
    /// y[n, o, oy, ox] = b[o] + Σ_{c,i,j} w[o, c, i, j] · x[n, c, oy·sh − ph + i·dh, ox·sw − pw + j·dw] (zero padding)
    /// for x [N, C, H, W], w [O, C, KH, KW], b [O] (or empty), y [N, O, OH, OW].
    /// Each chunk of images is unfolded (<see cref="Im2Col"/>) and multiplied by the weight with the blocked SIMD
    /// <see cref="MatMul(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, bool, bool, bool)"/>; scratch is
    /// kept per thread, so steady-state calls do not allocate. Deterministic (same bits on any thread count).
    /// </summary>
    public static void Conv2dForward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y, in Conv2dGeometry g)
        => Conv2dForward(x, weight, bias, y, g, ConvColumnBudget);

    /// <summary><see cref="Conv2dForward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, in Conv2dGeometry)"/> with an explicit chunk budget (tests cover the chunk boundaries with it).</summary>
    internal static void Conv2dForward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y, in Conv2dGeometry g, int columnBudget)
    {
        CheckConv("Conv2dForward", x.Length, weight.Length, bias.Length, y.Length, g, "y");
        int positions = g.Positions, chunk = ConvChunk(g, columnBudget);
        var scratch = ConvScratch.Rent();
        try
        {
            for (int first = 0; first < g.Batch; first += chunk)
            {
                int count = Math.Min(chunk, g.Batch - first), width = count * positions;
                var col = scratch.Col(g.PatchSize * width);
                var product = scratch.Product(g.OutChannels * width);
                Im2Col(x, col, g, first, count);
                if (!bias.IsEmpty) for (int o = 0; o < g.OutChannels; o++) product.Slice(o * width, width).Fill(bias[o]);
                MatMul(weight, col, product, g.OutChannels, g.PatchSize, width, accumulate: !bias.IsEmpty);
                // [O, count·P] → [count, O, P]: contiguous runs of P.
                for (int n = 0; n < count; n++)
                    for (int o = 0; o < g.OutChannels; o++)
                        product.Slice(o * width + n * positions, positions).CopyTo(y.Slice((first + n) * g.OutputImageSize + o * positions, positions));
            }
        }
        finally
        {
            ConvScratch.Return(scratch);
        }
    }

    /// <summary>
    /// The gradients of <c>Conv2dForward</c> given dy [N, O, OH, OW], accumulated into the given buffers (pass an
    /// empty span to skip one): dx += the transposed convolution of dy ([N, C, H, W]), dw += Σ dy ⊗ patches
    /// ([O, C, KH, KW]), db += Σ_{n,oy,ox} dy ([O]). The patches are unfolded again chunk by chunk rather than kept from
    /// the forward pass, so memory stays bounded.
    /// </summary>
    public static void Conv2dBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dWeight, Span<float> dBias, in Conv2dGeometry g)
        => Conv2dBackward(x, weight, dy, dx, dWeight, dBias, g, ConvColumnBudget);

    /// <summary><see cref="Conv2dBackward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, in Conv2dGeometry)"/> with an explicit chunk budget.</summary>
    internal static void Conv2dBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> dWeight, Span<float> dBias, in Conv2dGeometry g, int columnBudget)
    {
        CheckConv("Conv2dBackward", x.Length, weight.Length, dBias.Length, dy.Length, g, "dy");
        if (!dx.IsEmpty && dx.Length != x.Length)
            throw new ArgumentException($"{g.Describe("Conv2dBackward")}: dx has {dx.Length} elements but x has {x.Length} (pass an empty span to skip dx).");
        if (!dWeight.IsEmpty && dWeight.Length != weight.Length)
            throw new ArgumentException($"{g.Describe("Conv2dBackward")}: dWeight has {dWeight.Length} elements but the weight has {weight.Length} (pass an empty span to skip it).");
        int positions = g.Positions, chunk = ConvChunk(g, columnBudget);
        var scratch = ConvScratch.Rent();
        try
        {
            for (int first = 0; first < g.Batch; first += chunk)
            {
                int count = Math.Min(chunk, g.Batch - first), width = count * positions;
                var dProduct = scratch.Product(g.OutChannels * width);
                for (int n = 0; n < count; n++)
                    for (int o = 0; o < g.OutChannels; o++)
                        dy.Slice((first + n) * g.OutputImageSize + o * positions, positions).CopyTo(dProduct.Slice(o * width + n * positions, positions));
                if (!dBias.IsEmpty)
                    for (int o = 0; o < g.OutChannels; o++) dBias[o] += TensorPrimitives.Sum(dProduct.Slice(o * width, width));
                var col = scratch.Col(g.PatchSize * width);
                if (!dWeight.IsEmpty)
                {
                    Im2Col(x, col, g, first, count);
                    MatMul(dProduct, col, dWeight, g.OutChannels, width, g.PatchSize, transposeB: true, accumulate: true);
                }
                if (!dx.IsEmpty)
                {
                    MatMul(weight, dProduct, col, g.PatchSize, g.OutChannels, width, transposeA: true);
                    Col2ImAdd(col, dx, g, first, count);
                }
            }
        }
        finally
        {
            ConvScratch.Return(scratch);
        }
    }

    private static void CheckConv(string operation, int xLength, int weightLength, int biasLength, int yLength, in Conv2dGeometry g, string yName)
    {
        g.Validate(operation);
        if (xLength != g.InputSize)
            throw new ArgumentException($"{g.Describe(operation)}: x has {xLength} elements but [N {g.Batch}, C {g.InChannels}, H {g.Height}, W {g.Width}] needs {g.InputSize}.");
        if (weightLength != g.WeightSize)
            throw new ArgumentException($"{g.Describe(operation)}: the weight has {weightLength} elements but [out {g.OutChannels}, in {g.InChannels}, {g.KernelHeight}, {g.KernelWidth}] needs {g.WeightSize}.");
        if (biasLength != 0 && biasLength != g.OutChannels)
            throw new ArgumentException($"{g.Describe(operation)}: the bias has {biasLength} elements but there are {g.OutChannels} output channels (pass an empty span for no bias).");
        if (yLength != g.OutputSize)
            throw new ArgumentException($"{g.Describe(operation)}: {yName} has {yLength} elements but [N {g.Batch}, O {g.OutChannels}, {g.OutHeight}, {g.OutWidth}] needs {g.OutputSize}.");
    }

    /// <summary>Per-thread buffers of the convolution (the unfolded patches and the product before reordering).</summary>
    private sealed class ConvScratch
    {
        [ThreadStatic] private static ConvScratch? t_free;
        private float[] _col = [], _product = [];

        public static ConvScratch Rent()
        {
            var s = t_free ?? new ConvScratch();
            t_free = null;
            return s;
        }

        public static void Return(ConvScratch s) => t_free = s;

        public Span<float> Col(int count) => Grow(ref _col, count);

        public Span<float> Product(int count) => Grow(ref _product, count);

        private static Span<float> Grow(ref float[] buffer, int count)
        {
            if (buffer.Length < count) buffer = GC.AllocateUninitializedArray<float>(Math.Max(count, buffer.Length * 5 / 4));
            return buffer.AsSpan(0, count);
        }
    }
}
