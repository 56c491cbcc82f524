using System.Globalization;

namespace Reinforce.Spaces;

/// <summary>
/// Real vectors (float32, row-major, of a fixed <see cref="Space.Shape"/>) with per-element bounds
/// <c>Low[i] ≤ x[i] ≤ High[i]</c>; a bound may be infinite. Gymnasium's <c>Box(low, high, shape, float32)</c>.
/// Values are <c>float[]</c> of length <see cref="Space.ElementCount"/>.
/// </summary>
public sealed class Box : Space<float[]>
{
    private readonly float[] _low;
    private readonly float[] _high;

    /// <summary>A box with the same bounds for every element.</summary>
    public Box(float low, float high, int[] shape) : this(Fill(low, shape), Fill(high, shape), shape) { }

    /// <summary>A one-dimensional box whose length is that of <paramref name="low"/>.</summary>
    public Box(float[] low, float[] high) : this(low, high, [low?.Length ?? 0]) { }

    /// <summary>A box with per-element bounds (<paramref name="low"/> and <paramref name="high"/> are row-major, of the shape's element count).</summary>
    public Box(float[] low, float[] high, int[] shape) : base(shape)
    {
        ArgumentNullException.ThrowIfNull(low);
        ArgumentNullException.ThrowIfNull(high);
        int count = ElementCount;
        if (low.Length != count || high.Length != count)
        {
            throw new ArgumentException($"Box bounds must have one value per element: shape {FormatShape(shape)} has {count} elements, low has {low.Length}, high has {high.Length}.");
        }
        for (int i = 0; i < count; i++)
        {
            if (float.IsNaN(low[i]) || float.IsNaN(high[i])) throw new ArgumentException($"Box bound {i} is NaN; bounds must be numbers (use ±infinity for an unbounded side).");
            if (low[i] > high[i]) throw new ArgumentException($"Box bound {i}: low {F(low[i])} is above high {F(high[i])}.");
        }
        _low = (float[])low.Clone();
        _high = (float[])high.Clone();
    }

    private static float[] Fill(float value, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        int n = 1;
        foreach (int d in shape) n *= Math.Max(d, 0);
        var a = new float[n];
        Array.Fill(a, value);
        return a;
    }

    /// <summary>The lower bounds (a copy, row-major).</summary>
    public float[] Low => (float[])_low.Clone();

    /// <summary>The upper bounds (a copy, row-major).</summary>
    public float[] High => (float[])_high.Clone();

    /// <summary>The lower bounds without copying.</summary>
    public ReadOnlySpan<float> LowSpan => _low;

    /// <summary>The upper bounds without copying.</summary>
    public ReadOnlySpan<float> HighSpan => _high;

    /// <summary>Whether every element has finite bounds on both sides.</summary>
    public bool IsBounded
    {
        get
        {
            for (int i = 0; i < _low.Length; i++)
            {
                if (float.IsInfinity(_low[i]) || float.IsInfinity(_high[i])) return false;
            }
            return true;
        }
    }

    /// <inheritdoc/>
    public override int FlatSize => _low.Length;

    /// <inheritdoc/>
    public override bool Contains(float[] value) => value is not null && Contains((ReadOnlySpan<float>)value);

    /// <summary>Whether <paramref name="value"/> has the right length and every element lies within its bounds (NaN never does).</summary>
    public bool Contains(ReadOnlySpan<float> value)
    {
        if (value.Length != _low.Length) return false;
        for (int i = 0; i < value.Length; i++)
        {
            float v = value[i];
            if (!(v >= _low[i] && v <= _high[i])) return false;
        }
        return true;
    }

    /// <summary>
    /// Gymnasium's rule: uniform on a bounded element, standard normal on an unbounded one, low + Exp(1) when only
    /// bounded below and high − Exp(1) when only bounded above.
    /// </summary>
    public override float[] Sample(Rng rng)
    {
        var result = new float[_low.Length];
        SampleInto(rng, result);
        return result;
    }

    /// <summary>Writes a sample into <paramref name="destination"/> without allocating.</summary>
    public void SampleInto(Rng rng, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(rng);
        CheckFlattenDestination(destination);
        for (int i = 0; i < _low.Length; i++)
        {
            bool lowFinite = !float.IsNegativeInfinity(_low[i]);
            bool highFinite = !float.IsPositiveInfinity(_high[i]);
            double v;
            if (lowFinite && highFinite) v = rng.Uniform(_low[i], _high[i]);
            else if (lowFinite) v = _low[i] + Exponential(rng);
            else if (highFinite) v = _high[i] - Exponential(rng);
            else v = rng.NextGaussian();
            // Rounding to float32 can land just outside a bound; keep the sample a member.
            destination[i] = Math.Clamp((float)v, _low[i], _high[i]);
        }
    }

    private static double Exponential(Rng rng) => -Math.Log(1.0 - rng.NextDouble());

    /// <summary>Copies <paramref name="value"/> (already flat, row-major).</summary>
    public override void Flatten(float[] value, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(value);
        CheckFlattenDestination(destination);
        if (value.Length != _low.Length) throw new ArgumentException($"{this} elements have {_low.Length} values, got {value.Length}.", nameof(value));
        value.CopyTo(destination);
    }

    /// <summary>Clips each element of <paramref name="values"/> into its bounds in place.</summary>
    public void Clip(Span<float> values)
    {
        if (values.Length != _low.Length) throw new ArgumentException($"{this} elements have {_low.Length} values, got {values.Length}.", nameof(values));
        for (int i = 0; i < values.Length; i++) values[i] = Math.Clamp(values[i], _low[i], _high[i]);
    }

    /// <summary>Describes the first reason <paramref name="value"/> is not a member, or null when it is.</summary>
    public string? Explain(ReadOnlySpan<float> value)
    {
        if (value.Length != _low.Length) return $"has {value.Length} values but {this} has shape {FormatShape(Shape)} ({_low.Length} values)";
        for (int i = 0; i < value.Length; i++)
        {
            float v = value[i];
            if (float.IsNaN(v)) return $"element {i} is NaN";
            if (float.IsInfinity(v) && !(v >= _low[i] && v <= _high[i])) return $"element {i} is {F(v)}";
            if (v < _low[i] || v > _high[i]) return $"element {i} = {F(v)} is outside [{F(_low[i])}, {F(_high[i])}]";
        }
        return null;
    }

    /// <inheritdoc/>
    public override string? DescribeMismatch(object? value) =>
        value is float[] f ? Explain(f) : DescribeWrongType(value, "float[]", value is byte[] ? " (a byte image belongs in a ByteBox)" : "");

    /// <inheritdoc/>
    public override string ToString()
    {
        bool uniform = true;
        for (int i = 1; i < _low.Length; i++)
        {
            if (_low[i] != _low[0] || _high[i] != _high[0]) { uniform = false; break; }
        }
        string shape = FormatShape(Shape);
        if (_low.Length == 0) return $"Box({shape})";
        if (uniform) return $"Box({F(_low[0])}, {F(_high[0])}, {shape})";
        return $"Box([{string.Join(", ", _low.Select(F))}], [{string.Join(", ", _high.Select(F))}], {shape})";
    }

    private static string F(float v) => float.IsPositiveInfinity(v) ? "inf" : float.IsNegativeInfinity(v) ? "-inf" : v.ToString(CultureInfo.InvariantCulture);
}
