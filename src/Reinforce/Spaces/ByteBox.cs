namespace Reinforce.Spaces;

/// <summary>How the three axes of an image observation are ordered.</summary>
public enum ImageLayout
{
    /// <summary>[channels, height, width] (CHW), PyTorch's NCHW without the batch: what the CNN encoders read.</summary>
    ChannelsFirst,

    /// <summary>[height, width, channels] (HWC), how most image libraries, Gymnasium's Atari and MinAtar's Python state are laid out. Wrap the environment in <c>TransposeImage</c> to feed a CNN.</summary>
    ChannelsLast,
}

/// <summary>
/// Arrays of bytes of a fixed shape with bounds <c>Low ≤ x ≤ High</c> (Gymnasium's <c>Box(low, high, shape, uint8)</c>):
/// the space of images. Values are <c>byte[]</c>, row-major. A rank-3 shape is an image whose axis order is
/// <see cref="Layout"/>; the library's convention is <see cref="ImageLayout.ChannelsFirst"/> (CHW, as PyTorch's
/// <c>Conv2d</c> and our CNN encoders expect), so environments should emit CHW; one that renders HWC declares
/// <see cref="ImageLayout.ChannelsLast"/> and is transposed once, on the environment side, by the
/// <c>TransposeImage</c> wrapper. Flattened to floats, each byte becomes its value (0–255, not scaled):
/// the vector environments carry images as exact float values and <c>NormalizeImage</c> (or the encoder) scales them.
/// </summary>
public sealed class ByteBox : Space<byte[]>
{
    /// <summary>A box of bytes in [<paramref name="low"/>, <paramref name="high"/>] of the given shape.</summary>
    public ByteBox(byte low, byte high, int[] shape, ImageLayout layout = ImageLayout.ChannelsFirst) : base(shape)
    {
        if (low > high) throw new ArgumentException($"ByteBox: low {low} is above high {high}.");
        if (shape.Length == 0) throw new ArgumentException("ByteBox needs a shape with at least one axis, e.g. [channels, height, width] for an image.", nameof(shape));
        Low = low;
        High = high;
        Layout = layout;
    }

    /// <summary>The 0–255 image space of <paramref name="channels"/>×<paramref name="height"/>×<paramref name="width"/> in CHW order.</summary>
    public static ByteBox Image(int channels, int height, int width) => new(0, 255, [channels, height, width]);

    /// <summary>The smallest value of every element.</summary>
    public byte Low { get; }

    /// <summary>The largest value of every element.</summary>
    public byte High { get; }

    /// <summary>The axis order of a rank-3 (image) shape.</summary>
    public ImageLayout Layout { get; }

    /// <summary>Whether this is an image: three axes (channels, height and width in <see cref="Layout"/> order).</summary>
    public bool IsImage => Rank == 3;

    private int Rank => Shape.Length;

    /// <summary>The number of channels of an image (throws when <see cref="IsImage"/> is false).</summary>
    public int Channels => Dimension(Layout == ImageLayout.ChannelsFirst ? 0 : 2);

    /// <summary>The height of an image.</summary>
    public int Height => Dimension(Layout == ImageLayout.ChannelsFirst ? 1 : 0);

    /// <summary>The width of an image.</summary>
    public int Width => Dimension(Layout == ImageLayout.ChannelsFirst ? 2 : 1);

    private int Dimension(int axis)
    {
        if (!IsImage) throw new InvalidOperationException($"{this} is not an image (it needs three axes: channels, height, width).");
        return Shape[axis];
    }

    /// <inheritdoc/>
    public override int FlatSize => ElementCount;

    /// <inheritdoc/>
    public override bool Contains(byte[] value) => value is not null && Contains((ReadOnlySpan<byte>)value);

    /// <summary>Whether <paramref name="value"/> has the right length and every byte lies within the bounds.</summary>
    public bool Contains(ReadOnlySpan<byte> value)
    {
        if (value.Length != ElementCount) return false;
        if (Low == 0 && High == 255) return true;
        foreach (byte b in value)
        {
            if (b < Low || b > High) return false;
        }
        return true;
    }

    /// <inheritdoc/>
    public override byte[] Sample(Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var result = new byte[ElementCount];
        int span = High - Low + 1;
        for (int i = 0; i < result.Length; i++) result[i] = (byte)(Low + rng.NextInt(span));
        return result;
    }

    /// <summary>Writes each byte as a float of the same value (no scaling).</summary>
    public override void Flatten(byte[] value, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(value);
        Flatten((ReadOnlySpan<byte>)value, destination);
    }

    /// <summary>Writes each byte of <paramref name="value"/> as a float of the same value (no scaling), without allocating.</summary>
    public void Flatten(ReadOnlySpan<byte> value, Span<float> destination)
    {
        CheckFlattenDestination(destination);
        if (value.Length != ElementCount) throw new ArgumentException($"An observation of {this} has {ElementCount} bytes (shape {FormatShape(Shape)}), got {value.Length}; return a byte[] of that shape, row-major.", nameof(value));
        for (int i = 0; i < value.Length; i++) destination[i] = value[i];
    }

    /// <inheritdoc/>
    public override string? DescribeMismatch(object? value)
    {
        if (value is not byte[] bytes) return DescribeWrongType(value, "byte[]", value is float[] ? " (a float image belongs in a Box; a byte image must be byte[])" : "");
        if (bytes.Length != ElementCount) return $"has {bytes.Length} bytes but {this} has shape {FormatShape(Shape)} ({ElementCount} bytes{(IsImage ? ", " + (Layout == ImageLayout.ChannelsFirst ? "channels first: [C, H, W]" : "channels last: [H, W, C]") : "")})";
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] < Low || bytes[i] > High) return $"element {i} = {bytes[i]} is outside [{Low}, {High}]";
        }
        return null;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"ByteBox({Low}, {High}, {FormatShape(Shape)}{(IsImage && Layout == ImageLayout.ChannelsLast ? ", HWC" : "")})";
}
