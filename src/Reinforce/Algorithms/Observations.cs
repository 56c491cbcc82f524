using Reinforce.Spaces;

namespace Reinforce.Algorithms;

/// <summary>One named tensor inside an observation row: its per-row shape and where it starts in the row.</summary>
/// <param name="Name">The part's name ("obs" for a plain vector observation; "image", "vector", ... for structured ones).</param>
/// <param name="Shape">The per-row shape, e.g. [4] for CartPole or [C, H, W] for an image.</param>
/// <param name="Offset">Index of the part's first float within a row.</param>
public sealed record ObservationPart(string Name, int[] Shape, int Offset)
{
    /// <summary>Floats per row in this part (the product of <see cref="Shape"/>).</summary>
    public int Size { get; } = Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>
/// How an observation row is laid out: one or more named tensors stored one after another in a flat float row.
/// A vector environment gives <c>[NumEnvs × RowSize]</c> floats; the layout says which floats are which, so an encoder
/// can read an image part as [C, H, W] and a vector part as features without the environment copying anything.
/// </summary>
/// <remarks>Today every environment has a single part (a Box observation); Dict observation spaces add parts.</remarks>
public sealed class ObservationLayout
{
    private readonly ObservationPart[] _parts;

    /// <summary>A layout of the given parts, in row order.</summary>
    public ObservationLayout(params (string Name, int[] Shape)[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Length == 0) throw new ArgumentException("ObservationLayout: give at least one part.", nameof(parts));
        _parts = new ObservationPart[parts.Length];
        int offset = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            var (name, shape) = parts[i];
            ArgumentException.ThrowIfNullOrEmpty(name);
            ArgumentNullException.ThrowIfNull(shape);
            if (shape.Length == 0 || shape.Any(d => d < 1))
                throw new ArgumentException($"ObservationLayout: part '{name}' has shape [{string.Join(", ", shape)}]; every dimension must be at least 1.", nameof(parts));
            if (_parts.Take(i).Any(p => p.Name == name)) throw new ArgumentException($"ObservationLayout: the part name '{name}' appears twice.", nameof(parts));
            _parts[i] = new ObservationPart(name, (int[])shape.Clone(), offset);
            offset += _parts[i].Size;
        }
        RowSize = offset;
    }

    /// <summary>A single vector part named "obs" of <paramref name="size"/> floats (what every Box environment gives today).</summary>
    public static ObservationLayout Flat(int size) => new(("obs", [size]));

    /// <summary>The layout of an observation space: a Box is one part with the Box's shape.</summary>
    public static ObservationLayout For(Space space) => space switch
    {
        Box box => new ObservationLayout(("obs", box.Shape)),
        _ => throw new ArgumentException($"Observations must be a Box (a float tensor); {space} is not. Flatten or one-hot encode them in the environment."),
    };

    /// <summary>The parts, in row order.</summary>
    public IReadOnlyList<ObservationPart> Parts => _parts;

    /// <summary>Floats per observation row (all parts).</summary>
    public int RowSize { get; }

    /// <summary>The part called <paramref name="name"/>; throws naming the parts there are.</summary>
    public ObservationPart this[string name] => _parts.FirstOrDefault(p => p.Name == name)
        ?? throw new KeyNotFoundException($"The observation has no part '{name}'; its parts are {string.Join(", ", _parts.Select(p => p.Name))}.");

    /// <inheritdoc/>
    public override string ToString() => string.Join(", ", _parts.Select(p => $"{p.Name}[{string.Join("x", p.Shape)}]"));
}

/// <summary>
/// A batch of observations as a policy receives it: <see cref="Rows"/> rows laid out by <see cref="Layout"/>, viewed
/// in place (a ref struct over the environment's own buffer, so handing it to the policy allocates nothing).
/// </summary>
public readonly ref struct ObservationBatch
{
    /// <summary>Views <paramref name="data"/> as <paramref name="rows"/> rows of <paramref name="layout"/>.</summary>
    public ObservationBatch(ReadOnlySpan<float> data, int rows, ObservationLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, "An observation batch needs at least one row.");
        if (data.Length < rows * layout.RowSize)
            throw new ArgumentException($"ObservationBatch: {data.Length} floats for {rows} rows of {layout.RowSize} ({layout}).", nameof(data));
        Data = data[..(rows * layout.RowSize)];
        Rows = rows;
        Layout = layout;
    }

    /// <summary>All rows, row-major: <c>[Rows × Layout.RowSize]</c>.</summary>
    public ReadOnlySpan<float> Data { get; }

    /// <summary>Observations in the batch (one per environment copy in a rollout).</summary>
    public int Rows { get; }

    /// <summary>What the floats of a row mean.</summary>
    public ObservationLayout Layout { get; }

    /// <summary>Floats per row.</summary>
    public int RowSize => Layout.RowSize;

    /// <summary>Row <paramref name="row"/>.</summary>
    public ReadOnlySpan<float> Row(int row) => Data.Slice(row * RowSize, RowSize);

    /// <summary>One part of one row (e.g. the image of environment 3).</summary>
    public ReadOnlySpan<float> Part(int row, ObservationPart part)
    {
        ArgumentNullException.ThrowIfNull(part);
        return Data.Slice(row * RowSize + part.Offset, part.Size);
    }

    /// <summary>Copies one part of every row into <paramref name="destination"/> as a contiguous <c>[Rows × part.Size]</c> tensor.</summary>
    public void GatherPart(ObservationPart part, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(part);
        if (part.Size == RowSize)
        {
            Data.CopyTo(destination);
            return;
        }
        for (int r = 0; r < Rows; r++) Part(r, part).CopyTo(destination.Slice(r * part.Size, part.Size));
    }
}
