using Reinforce.Spaces;

namespace Reinforce.Algorithms;

/// <summary>
/// A batch of observations as a policy receives it: <see cref="Rows"/> rows laid out by an
/// <see cref="ObservationLayout"/> (one float block per key of a Dict observation, images as [C, H, W], a plain Box as
/// one block), viewed in place: a ref struct over the environment's own buffer, so handing it to the policy
/// allocates nothing. Encoders read their block of each row with <see cref="Block"/> or gather it with
/// <see cref="GatherBlock"/>.
/// </summary>
public readonly ref struct ObservationBatch
{
    /// <summary>Views <paramref name="data"/> as <paramref name="rows"/> rows of <paramref name="layout"/>.</summary>
    public ObservationBatch(ReadOnlySpan<float> data, int rows, ObservationLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, "An observation batch needs at least one row.");
        if (data.Length < rows * layout.Size)
            throw new ArgumentException($"ObservationBatch: {data.Length} floats for {rows} rows of {layout.Size} ({layout}).", nameof(data));
        Data = data[..(rows * layout.Size)];
        Rows = rows;
        Layout = layout;
    }

    /// <summary>All rows, row-major: <c>[Rows × Layout.Size]</c>.</summary>
    public ReadOnlySpan<float> Data { get; }

    /// <summary>Observations in the batch (one per environment copy in a rollout).</summary>
    public int Rows { get; }

    /// <summary>What the floats of a row mean.</summary>
    public ObservationLayout Layout { get; }

    /// <summary>Floats per row.</summary>
    public int RowSize => Layout.Size;

    /// <summary>Row <paramref name="row"/>.</summary>
    public ReadOnlySpan<float> Row(int row) => Data.Slice(row * RowSize, RowSize);

    /// <summary>One block of one row (e.g. the image of environment 3).</summary>
    public ReadOnlySpan<float> Block(int row, ObservationBlock block)
    {
        ArgumentNullException.ThrowIfNull(block);
        return Data.Slice(row * RowSize + block.Offset, block.Length);
    }

    /// <summary>Copies one block of every row into <paramref name="destination"/> as a contiguous <c>[Rows × block.Length]</c> tensor.</summary>
    public void GatherBlock(ObservationBlock block, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (block.Length == RowSize)
        {
            Data.CopyTo(destination);
            return;
        }
        for (int r = 0; r < Rows; r++) Block(r, block).CopyTo(destination.Slice(r * block.Length, block.Length));
    }
}
