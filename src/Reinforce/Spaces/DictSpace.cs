namespace Reinforce.Spaces;

/// <summary>
/// Named sub-spaces, Gymnasium's <c>Dict</c> (named <c>DictSpace</c> so that it does not clash with common type
/// names): an observation is an <see cref="IReadOnlyDictionary{TKey, TValue}"/> with exactly these keys, each value a
/// member of its sub-space (float[] for a <see cref="Box"/>, byte[] for a <see cref="ByteBox"/>, int for a
/// <see cref="Discrete"/>, int[] for a <see cref="MultiDiscrete"/>, nested dictionaries and tuples). Keys are kept in
/// ordinal order, as Gymnasium sorts them, and that order is the flattening order: a flattened observation is the
/// concatenation of each key's flattened value (see <see cref="ObservationLayout"/> for the blocks).
/// </summary>
public sealed class DictSpace : Space<IReadOnlyDictionary<string, object>>
{
    private readonly string[] _keys;
    private readonly Space[] _spaces;
    private readonly Dictionary<string, int> _index;

    /// <summary>Creates the space of <paramref name="spaces"/> (key, sub-space) pairs; keys must be distinct and not empty.</summary>
    public DictSpace(params (string Key, Space Space)[] spaces) : base([])
    {
        ArgumentNullException.ThrowIfNull(spaces);
        if (spaces.Length == 0) throw new ArgumentException("A DictSpace needs at least one key.", nameof(spaces));
        var sorted = spaces.OrderBy(s => s.Key, StringComparer.Ordinal).ToArray();
        _keys = new string[sorted.Length];
        _spaces = new Space[sorted.Length];
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < sorted.Length; i++)
        {
            var (key, space) = sorted[i];
            if (string.IsNullOrEmpty(key)) throw new ArgumentException("DictSpace keys cannot be null or empty.", nameof(spaces));
            if (space is null) throw new ArgumentException($"DictSpace key '{key}' has a null space.", nameof(spaces));
            if (!_index.TryAdd(key, i)) throw new ArgumentException($"DictSpace key '{key}' appears twice; keys must be distinct.", nameof(spaces));
            _keys[i] = key;
            _spaces[i] = space;
        }
    }

    /// <summary>Creates the space from a dictionary of sub-spaces.</summary>
    public DictSpace(IReadOnlyDictionary<string, Space> spaces) : this((spaces ?? throw new ArgumentNullException(nameof(spaces))).Select(kv => (kv.Key, kv.Value)).ToArray()) { }

    /// <summary>The keys in flattening (ordinal) order.</summary>
    public IReadOnlyList<string> Keys => _keys;

    /// <summary>The sub-spaces in the order of <see cref="Keys"/>.</summary>
    public IReadOnlyList<Space> Spaces => _spaces;

    /// <summary>The sub-space of <paramref name="key"/>.</summary>
    public Space this[string key] => _index.TryGetValue(key, out int i) ? _spaces[i]
        : throw new KeyNotFoundException($"{this} has no key '{key}'; its keys are {string.Join(", ", _keys)}.");

    /// <inheritdoc/>
    public override int FlatSize => _spaces.Sum(s => s.FlatSize);

    /// <inheritdoc/>
    public override bool Contains(IReadOnlyDictionary<string, object> value) => DescribeMismatch(value) is null;

    /// <inheritdoc/>
    public override string? DescribeMismatch(object? value)
    {
        if (value is not IReadOnlyDictionary<string, object> dict) return DescribeWrongType(value, "IReadOnlyDictionary<string, object>");
        string? structure = DescribeKeys(dict);
        if (structure is not null) return structure;
        for (int i = 0; i < _keys.Length; i++)
        {
            string? inner = _spaces[i].DescribeMismatch(dict[_keys[i]]);
            if (inner is not null) return $"key '{_keys[i]}' (space {_spaces[i]}) {inner}";
        }
        return null;
    }

    private string? DescribeKeys(IReadOnlyDictionary<string, object> dict)
    {
        var missing = _keys.Where(k => !dict.ContainsKey(k)).ToArray();
        var extra = dict.Keys.Where(k => !_index.ContainsKey(k)).Order(StringComparer.Ordinal).ToArray();
        if (missing.Length == 0 && extra.Length == 0) return null;
        var parts = new List<string>();
        if (missing.Length > 0) parts.Add($"is missing key{(missing.Length > 1 ? "s" : "")} {string.Join(", ", missing.Select(k => $"'{k}'"))}");
        if (extra.Length > 0) parts.Add($"has extra key{(extra.Length > 1 ? "s" : "")} {string.Join(", ", extra.Select(k => $"'{k}'"))} not in the space");
        return $"{string.Join(" and ", parts)}; {this} expects exactly the keys {string.Join(", ", _keys.Select(k => $"'{k}'"))} (add the key to the observation, or to the DictSpace)";
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, object> Sample(Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var result = new Dictionary<string, object>(StringComparer.Ordinal);
        for (int i = 0; i < _keys.Length; i++) result[_keys[i]] = _spaces[i].Sample(rng);
        return result;
    }

    /// <summary>Writes each key's flattened value, in key order, into consecutive slices of <paramref name="destination"/>.</summary>
    public override void Flatten(IReadOnlyDictionary<string, object> value, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(value);
        CheckFlattenDestination(destination);
        string? structure = DescribeKeys(value);
        if (structure is not null) throw new ArgumentException($"The observation {structure}.", nameof(value));
        int offset = 0;
        for (int i = 0; i < _keys.Length; i++)
        {
            var space = _spaces[i];
            try
            {
                space.FlattenObject(value[_keys[i]], destination.Slice(offset, space.FlatSize));
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Key '{_keys[i]}' of {this}: {e.Message}", nameof(value), e);
            }
            offset += space.FlatSize;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => "Dict(" + string.Join(", ", _keys.Select((k, i) => $"{k}: {_spaces[i]}")) + ")";
}

/// <summary>
/// An ordered list of sub-spaces, Gymnasium's <c>Tuple</c> (named <c>TupleSpace</c> to avoid <see cref="System.Tuple"/>):
/// an observation is an <c>object[]</c> with one member of each sub-space, flattened as the concatenation of the
/// flattened elements (blocks keyed "0", "1", … in <see cref="ObservationLayout"/>).
/// </summary>
public sealed class TupleSpace : Space<object[]>
{
    private readonly Space[] _spaces;

    /// <summary>Creates the space of <paramref name="spaces"/> in order.</summary>
    public TupleSpace(params Space[] spaces) : base([])
    {
        ArgumentNullException.ThrowIfNull(spaces);
        if (spaces.Length == 0) throw new ArgumentException("A TupleSpace needs at least one element space.", nameof(spaces));
        for (int i = 0; i < spaces.Length; i++)
        {
            if (spaces[i] is null) throw new ArgumentException($"TupleSpace element {i} is null.", nameof(spaces));
        }
        _spaces = (Space[])spaces.Clone();
    }

    /// <summary>The element spaces.</summary>
    public IReadOnlyList<Space> Spaces => _spaces;

    /// <summary>The number of elements.</summary>
    public int Count => _spaces.Length;

    /// <inheritdoc/>
    public override int FlatSize => _spaces.Sum(s => s.FlatSize);

    /// <inheritdoc/>
    public override bool Contains(object[] value) => DescribeMismatch(value) is null;

    /// <inheritdoc/>
    public override string? DescribeMismatch(object? value)
    {
        if (value is not object[] items) return DescribeWrongType(value, "object[]");
        if (items.Length != _spaces.Length) return $"has {items.Length} elements but {this} has {_spaces.Length}";
        for (int i = 0; i < items.Length; i++)
        {
            string? inner = _spaces[i].DescribeMismatch(items[i]);
            if (inner is not null) return $"element {i} (space {_spaces[i]}) {inner}";
        }
        return null;
    }

    /// <inheritdoc/>
    public override object[] Sample(Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var result = new object[_spaces.Length];
        for (int i = 0; i < result.Length; i++) result[i] = _spaces[i].Sample(rng);
        return result;
    }

    /// <summary>Writes each element's flattened value, in order, into consecutive slices of <paramref name="destination"/>.</summary>
    public override void Flatten(object[] value, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(value);
        CheckFlattenDestination(destination);
        if (value.Length != _spaces.Length) throw new ArgumentException($"The observation has {value.Length} elements but {this} has {_spaces.Length}; return one value per element space.", nameof(value));
        int offset = 0;
        for (int i = 0; i < _spaces.Length; i++)
        {
            try
            {
                _spaces[i].FlattenObject(value[i], destination.Slice(offset, _spaces[i].FlatSize));
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Element {i} of {this}: {e.Message}", nameof(value), e);
            }
            offset += _spaces[i].FlatSize;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => "Tuple(" + string.Join(", ", _spaces.Select(s => s.ToString())) + ")";
}
