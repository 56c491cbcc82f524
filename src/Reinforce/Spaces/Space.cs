namespace Reinforce.Spaces;

/// <summary>
/// The set of valid observations or actions of an environment, Gymnasium-style: a shape, a membership test
/// (<see cref="Contains(object?)"/>) and seeded sampling. Concrete spaces derive from <see cref="Space{T}"/>,
/// which adds the typed versions.
/// </summary>
public abstract class Space
{
    private readonly int[] _shape;

    /// <summary>Creates a space of the given element shape (empty for a scalar such as a discrete action).</summary>
    protected Space(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"A space's shape cannot have a negative dimension; got [{string.Join(", ", shape)}].", nameof(shape));
        }
        _shape = (int[])shape.Clone();
    }

    /// <summary>The shape of one element: [] for <see cref="Discrete"/>, [branches] for <see cref="MultiDiscrete"/>, the array shape for <see cref="Box"/>.</summary>
    public int[] Shape => (int[])_shape.Clone();

    /// <summary>The number of scalars in one element (the product of <see cref="Shape"/>; 1 for a scalar).</summary>
    public int ElementCount
    {
        get
        {
            int n = 1;
            foreach (int d in _shape) n *= d;
            return n;
        }
    }

    /// <summary>
    /// The width of this space once flattened to floats, Gymnasium's <c>flatdim</c>: the element count of a
    /// <see cref="Box"/> (the observation dimension / continuous action dimension), <c>N</c> for a
    /// <see cref="Discrete"/> (one-hot width, which is also the number of logits a policy needs) and the sum of
    /// <c>Nvec</c> for a <see cref="MultiDiscrete"/>.
    /// </summary>
    public abstract int FlatSize { get; }

    /// <summary>Whether <paramref name="value"/> is a member of this space (of the right type, shape and range).</summary>
    public abstract bool Contains(object? value);

    /// <summary>A uniformly random member (for a <see cref="Box"/>, Gymnasium's rule for unbounded sides), drawn from <paramref name="rng"/>.</summary>
    public object Sample(Rng rng) => SampleObject(rng);

    /// <summary>Writes the flattened (float) form of <paramref name="value"/> into <paramref name="destination"/> (length <see cref="FlatSize"/>).</summary>
    public abstract void FlattenObject(object value, Span<float> destination);

    /// <summary>
    /// The first reason <paramref name="value"/> is not a member (wrong type, shape, a missing or extra key, a value
    /// out of bounds), worded to follow "the observation …", or null when it is a member.
    /// </summary>
    public virtual string? DescribeMismatch(object? value) => Contains(value) ? null : $"{FormatValue(value)} is not in {this}";

    /// <summary>The message for a value of the wrong type: names the type found and the one expected.</summary>
    protected string DescribeWrongType(object? value, string expected, string hint = "") =>
        $"is {(value is null ? "null" : TypeName(value.GetType()))} but {this} holds {expected} values{hint}";

    /// <summary>A short rendering of a value for messages.</summary>
    internal static string FormatValue(object? value) => value switch
    {
        null => "null",
        float[] f => f.Length <= 8 ? "[" + string.Join(", ", f.Select(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]" : $"float[{f.Length}]",
        int[] i => i.Length <= 8 ? "[" + string.Join(", ", i) + "]" : $"int[{i.Length}]",
        byte[] b => $"byte[{b.Length}]",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? value.GetType().Name,
    };

    /// <summary>The C# spelling of a value type (float[] rather than Single[]).</summary>
    internal static string TypeName(Type type)
    {
        if (type.IsArray) return TypeName(type.GetElementType()!) + "[]";
        return Type.GetTypeCode(type) switch
        {
            TypeCode.Single => "float",
            TypeCode.Double => "double",
            TypeCode.Int32 => "int",
            TypeCode.Int64 => "long",
            TypeCode.Byte => "byte",
            TypeCode.Boolean => "bool",
            _ => type.Name,
        };
    }

    /// <summary>Draws a sample as an object (the typed <see cref="Space{T}.Sample"/> boxed).</summary>
    protected abstract object SampleObject(Rng rng);

    /// <summary>Formats a shape as [a, b].</summary>
    internal static string FormatShape(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
}

/// <summary>A space whose elements are of type <typeparamref name="T"/>: typed membership, sampling and flattening.</summary>
public abstract class Space<T> : Space
{
    /// <inheritdoc/>
    protected Space(int[] shape) : base(shape) { }

    /// <summary>Whether <paramref name="value"/> is a member of this space.</summary>
    public abstract bool Contains(T value);

    /// <summary>A random member drawn from <paramref name="rng"/>; the same generator state gives the same sample.</summary>
    public new abstract T Sample(Rng rng);

    /// <summary>Writes the flattened float form of <paramref name="value"/> (one-hot for discrete values) into <paramref name="destination"/>.</summary>
    public abstract void Flatten(T value, Span<float> destination);

    /// <inheritdoc/>
    public override bool Contains(object? value) => value is T typed && Contains(typed);

    /// <inheritdoc/>
    public override void FlattenObject(object value, Span<float> destination)
    {
        if (value is not T typed)
        {
            throw new ArgumentException($"The value {DescribeWrongType(value, TypeName(typeof(T)))}.", nameof(value));
        }
        Flatten(typed, destination);
    }

    /// <inheritdoc/>
    protected override object SampleObject(Rng rng) => Sample(rng)!;

    /// <summary>Throws when <paramref name="destination"/> is shorter than <see cref="Space.FlatSize"/>.</summary>
    protected void CheckFlattenDestination(Span<float> destination)
    {
        if (destination.Length < FlatSize)
        {
            throw new ArgumentException($"Flattening an element of {this} needs {FlatSize} floats, the destination has {destination.Length}.", nameof(destination));
        }
    }
}
