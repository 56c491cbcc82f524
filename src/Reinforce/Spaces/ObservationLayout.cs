namespace Reinforce.Spaces;

/// <summary>What a block of a flattened observation holds, which decides the encoder a policy gives it.</summary>
public enum BlockKind
{
    /// <summary>A vector of floats (a Box of any rank but 3, or the one-hot form of a Discrete/MultiDiscrete): an MLP.</summary>
    Vector,

    /// <summary>An image, three axes in [channels, height, width] order (a rank-3 Box or ByteBox in CHW): a CNN.</summary>
    Image,
}

/// <summary>
/// One named block of a flattened observation row: floats <c>[Offset, Offset + Length)</c> hold the value of
/// <see cref="Key"/>, of shape <see cref="Shape"/>.
/// </summary>
/// <param name="Key">The key path ("" for a space that is not a Dict or Tuple; "camera", "state.position" for nested dictionaries; "0", "1" for tuple elements).</param>
/// <param name="Offset">The first float of the block in the observation row.</param>
/// <param name="Length">The number of floats.</param>
/// <param name="Shape">The value's shape: [C, H, W] for an image, [n] for a vector (a one-hot width for discrete values).</param>
/// <param name="Kind">Vector or image.</param>
/// <param name="IsByte">Whether the source space holds bytes (a <see cref="ByteBox"/>): the floats are exact byte values, 0–255, unscaled.</param>
/// <param name="High">The largest value the block can hold (255 for a full byte image, 1 for MinAtar's boolean planes; +infinity when unbounded); an encoder divides images by it when it normalises.</param>
public sealed record ObservationBlock(string Key, int Offset, int Length, int[] Shape, BlockKind Kind, bool IsByte, float High);

/// <summary>
/// How a space's observations lie in a flat float row, the batch layout of the vector environments: every
/// observation, whatever its space, is carried as one row of <see cref="Space.FlatSize"/> floats (so the rollout
/// buffer and the allocation-free stepping stay as they are), and this layout names the blocks of that row, one per
/// key of a <see cref="DictSpace"/> (or element of a <see cref="TupleSpace"/>) in flattening order. A policy picks
/// one encoder per block (MLP for <see cref="BlockKind.Vector"/>, CNN for <see cref="BlockKind.Image"/>) and
/// concatenates their features (Stable-Baselines3's MultiInputPolicy). Byte images are carried as floats of the same
/// value: the encoders compute in float32 anyway, so bytes would only add a conversion at the policy's input.
/// </summary>
public sealed class ObservationLayout
{
    private readonly ObservationBlock[] _blocks;

    private ObservationLayout(ObservationBlock[] blocks, int size)
    {
        _blocks = blocks;
        Size = size;
    }

    /// <summary>The blocks in row order.</summary>
    public IReadOnlyList<ObservationBlock> Blocks => _blocks;

    /// <summary>The total number of floats in a row (the space's <see cref="Space.FlatSize"/>).</summary>
    public int Size { get; }

    /// <summary>Whether the row is one block (any space other than a Dict or Tuple).</summary>
    public bool IsSingle => _blocks.Length == 1 && _blocks[0].Key.Length == 0;

    /// <summary>The block of <paramref name="key"/>.</summary>
    public ObservationBlock this[string key] => _blocks.FirstOrDefault(b => b.Key == key)
        ?? throw new KeyNotFoundException($"The observation layout has no block '{key}'; its blocks are {string.Join(", ", _blocks.Select(b => $"'{b.Key}'"))}.");

    /// <summary>The layout of <paramref name="space"/>'s flattened observations.</summary>
    /// <exception cref="ArgumentException">An image declared channels-last (HWC): wrap the environment in TransposeImage.</exception>
    public static ObservationLayout Of(Space space)
    {
        ArgumentNullException.ThrowIfNull(space);
        var blocks = new List<ObservationBlock>();
        int offset = 0;
        Add(space, "", blocks, ref offset);
        return new ObservationLayout(blocks.ToArray(), offset);
    }

    private static void Add(Space space, string key, List<ObservationBlock> blocks, ref int offset)
    {
        switch (space)
        {
            case DictSpace dict:
                for (int i = 0; i < dict.Keys.Count; i++) Add(dict.Spaces[i], key.Length == 0 ? dict.Keys[i] : key + "." + dict.Keys[i], blocks, ref offset);
                return;
            case TupleSpace tuple:
                for (int i = 0; i < tuple.Count; i++) Add(tuple.Spaces[i], key.Length == 0 ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : key + "." + i.ToString(System.Globalization.CultureInfo.InvariantCulture), blocks, ref offset);
                return;
            case ByteBox bytes:
                if (bytes.IsImage && bytes.Layout == ImageLayout.ChannelsLast)
                {
                    throw new ArgumentException($"Observation{(key.Length > 0 ? $" key '{key}'" : "")} {bytes} is an image in channels-last (HWC) order; the CNN encoders read channels first (CHW, as PyTorch). Wrap the environment in TransposeImage (or emit [C, H, W]).");
                }
                blocks.Add(new ObservationBlock(key, offset, bytes.FlatSize, bytes.Shape, bytes.IsImage ? BlockKind.Image : BlockKind.Vector, true, bytes.High));
                offset += bytes.FlatSize;
                return;
            case Box box:
                float high = float.NegativeInfinity;
                foreach (float h in box.HighSpan) high = Math.Max(high, h);
                blocks.Add(new ObservationBlock(key, offset, box.FlatSize, box.Shape.Length == 0 ? [1] : box.Shape, box.Shape.Length == 3 ? BlockKind.Image : BlockKind.Vector, false, high));
                offset += box.FlatSize;
                return;
            default:
                blocks.Add(new ObservationBlock(key, offset, space.FlatSize, [space.FlatSize], BlockKind.Vector, false, 1f));
                offset += space.FlatSize;
                return;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => string.Join(", ", _blocks.Select(b => $"{(b.Key.Length == 0 ? "obs" : b.Key)}: {b.Kind} [{string.Join(", ", b.Shape)}] @{b.Offset}"));
}
