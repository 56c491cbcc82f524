using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Reinforce.Spaces;
using P = Reinforce.Envs.Remote.Protocol;

namespace Reinforce.Envs.Remote;

/// <summary>
/// One leaf of an observation space as it travels in a <c>Batch</c>: a Box (float32 block), a ByteBox (uint8 block,
/// an image in CHW order), a Discrete (int32 block of values) or a MultiDiscrete (int32 block of rows), and where
/// its flattened floats lie in the library's observation row (<see cref="Offset"/>, <see cref="Space.FlatSize"/>).
/// </summary>
/// <param name="Path">The key path of the leaf ("" for a space that is not a Dict or Tuple, "camera", "state.0").</param>
/// <param name="Space">The leaf's space.</param>
/// <param name="Offset">Its first float in the flattened observation row.</param>
public sealed record ObservationLeaf(string Path, Space Space, int Offset)
{
    /// <summary>The element type of the leaf's block on the wire.</summary>
    public P.DType DType => Space switch
    {
        ByteBox => P.DType.Uint8,
        Discrete or MultiDiscrete => P.DType.Int32,
        _ => P.DType.Float32,
    };

    /// <summary>Values per row on the wire (elements of a Box/ByteBox, 1 for a Discrete, branches of a MultiDiscrete).</summary>
    public int WireLength => Space switch
    {
        Discrete => 1,
        MultiDiscrete m => m.Branches,
        _ => Space.FlatSize,
    };

    /// <summary>How the leaf is named in errors.</summary>
    public string Describe() => Path.Length == 0 ? $"{Space}" : $"'{Path}' ({Space})";
}

/// <summary>
/// How observations of any supported space travel in the environment protocol: one block per leaf, leaves in the
/// depth-first order of the space message (a Dict's entries in their order, a Tuple's elements in theirs). Written
/// once for the C# server (<see cref="Encode"/>) and the client (<see cref="Decode"/>).
/// </summary>
public static class ObservationLeaves
{
    /// <summary>The leaves of a library space in its own (flattening) order, as the C# server sends them.</summary>
    public static IReadOnlyList<ObservationLeaf> Of(Space space)
    {
        ArgumentNullException.ThrowIfNull(space);
        var leaves = new List<ObservationLeaf>();
        Walk(space, "", 0, leaves);
        return leaves;
    }

    private static void Walk(Space space, string path, int offset, List<ObservationLeaf> leaves)
    {
        switch (space)
        {
            case DictSpace dict:
                for (int i = 0; i < dict.Keys.Count; i++)
                {
                    Walk(dict.Spaces[i], Join(path, dict.Keys[i]), offset, leaves);
                    offset += dict.Spaces[i].FlatSize;
                }
                break;
            case TupleSpace tuple:
                for (int i = 0; i < tuple.Spaces.Count; i++)
                {
                    Walk(tuple.Spaces[i], Join(path, i.ToString(CultureInfo.InvariantCulture)), offset, leaves);
                    offset += tuple.Spaces[i].FlatSize;
                }
                break;
            case Box or ByteBox or Discrete or MultiDiscrete:
                leaves.Add(new ObservationLeaf(path, space, offset));
                break;
            default:
                throw new NotSupportedException($"The environment protocol cannot carry observations of {space} ({space.GetType().Name}).");
        }
    }

    /// <summary>
    /// The leaves in the order of the space message <paramref name="proto"/> (a server may list a Dict's entries in
    /// any order), each placed at its offset in <paramref name="space"/>, the library space built from that message.
    /// </summary>
    public static IReadOnlyList<ObservationLeaf> Of(P.Space proto, Space space)
    {
        ArgumentNullException.ThrowIfNull(proto);
        ArgumentNullException.ThrowIfNull(space);
        var leaves = new List<ObservationLeaf>();
        Walk(proto, space, "", 0, leaves);
        return leaves;
    }

    private static void Walk(P.Space proto, Space space, string path, int offset, List<ObservationLeaf> leaves)
    {
        switch (proto.KindCase)
        {
            case P.Space.KindOneofCase.Dict:
            {
                var dict = (DictSpace)space;
                foreach (var entry in proto.Dict.Entries)
                {
                    int at = offset;
                    for (int i = 0; i < dict.Keys.Count && dict.Keys[i] != entry.Key; i++) at += dict.Spaces[i].FlatSize;
                    Walk(entry.Space, dict[entry.Key], Join(path, entry.Key), at, leaves);
                }
                break;
            }
            case P.Space.KindOneofCase.Tuple:
            {
                var tuple = (TupleSpace)space;
                for (int i = 0; i < proto.Tuple.Spaces.Count; i++)
                {
                    Walk(proto.Tuple.Spaces[i], tuple.Spaces[i], Join(path, i.ToString(CultureInfo.InvariantCulture)), offset, leaves);
                    offset += tuple.Spaces[i].FlatSize;
                }
                break;
            }
            default:
                leaves.Add(new ObservationLeaf(path, space, offset));
                break;
        }
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    /// <summary>
    /// The batch of <paramref name="count"/> flattened observation rows (<paramref name="rowSize"/> floats each) as
    /// one block per leaf: a Box's floats, a ByteBox's bytes, a Discrete's value (the one-hot's index plus start),
    /// a MultiDiscrete's values.
    /// </summary>
    public static P.Batch Encode(IReadOnlyList<ObservationLeaf> leaves, ReadOnlySpan<float> rows, int count, int rowSize)
    {
        ArgumentNullException.ThrowIfNull(leaves);
        var batch = new P.Batch();
        foreach (var leaf in leaves)
        {
            int length = leaf.Space.FlatSize;
            var tensor = new P.Tensor { Dtype = leaf.DType };
            tensor.Shape.Add(count);
            switch (leaf.Space)
            {
                case Box box:
                {
                    var values = new float[count * length];
                    for (int r = 0; r < count; r++) rows.Slice(r * rowSize + leaf.Offset, length).CopyTo(values.AsSpan(r * length, length));
                    tensor.Shape.Add(box.Shape);
                    tensor.Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
                    break;
                }
                case ByteBox bytes:
                {
                    var values = new byte[count * length];
                    for (int r = 0; r < count; r++)
                    {
                        var row = rows.Slice(r * rowSize + leaf.Offset, length);
                        for (int i = 0; i < length; i++) values[r * length + i] = (byte)Math.Clamp(row[i], 0f, 255f);
                    }
                    tensor.Shape.Add(bytes.Shape);
                    tensor.Data = ByteString.CopyFrom(values);
                    break;
                }
                case Discrete d:
                {
                    var values = new int[count];
                    for (int r = 0; r < count; r++) values[r] = d.Start + ArgMax(rows.Slice(r * rowSize + leaf.Offset, d.N));
                    tensor.Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
                    break;
                }
                case MultiDiscrete m:
                {
                    int k = m.Branches;
                    var values = new int[count * k];
                    for (int r = 0; r < count; r++)
                    {
                        int at = r * rowSize + leaf.Offset;
                        for (int b = 0; b < k; b++)
                        {
                            values[r * k + b] = ArgMax(rows.Slice(at, m.Nvec[b]));
                            at += m.Nvec[b];
                        }
                    }
                    tensor.Shape.Add(k);
                    tensor.Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
                    break;
                }
            }
            batch.Leaves.Add(tensor);
        }
        return batch;
    }

    private static int ArgMax(ReadOnlySpan<float> oneHot)
    {
        int best = 0;
        for (int i = 1; i < oneHot.Length; i++)
        {
            if (oneHot[i] > oneHot[best]) best = i;
        }
        return best;
    }

    /// <summary>
    /// Writes a batch of <paramref name="count"/> observations into flattened rows of <paramref name="rowSize"/>
    /// floats; returns null on success or what does not fit (a missing or extra block, a wrong element type or
    /// length, a value that is not finite or outside its space), naming the leaf, the row and the element.
    /// </summary>
    public static string? Decode(IReadOnlyList<ObservationLeaf> leaves, P.Batch? batch, Span<float> rows, int count, int rowSize)
    {
        ArgumentNullException.ThrowIfNull(leaves);
        if (batch is null) return "the batch is missing";
        if (batch.Leaves.Count != leaves.Count)
            return $"they hold {batch.Leaves.Count} blocks where the observation space has {leaves.Count} leaves ({string.Join(", ", leaves.Select(l => l.Describe()))})";
        if (rows.Length != count * rowSize) return $"{rows.Length} floats for {count} rows of {rowSize}";
        for (int l = 0; l < leaves.Count; l++)
        {
            string? problem = DecodeLeaf(leaves[l], batch.Leaves[l], rows, count, rowSize);
            if (problem is not null) return leaves.Count == 1 && leaves[0].Path.Length == 0 ? problem : $"block {l} ({leaves[l].Describe()}): {problem}";
        }
        return null;
    }

    private static string? DecodeLeaf(ObservationLeaf leaf, P.Tensor? block, Span<float> rows, int count, int rowSize)
    {
        if (block is null) return "the block is missing";
        ReadOnlySpan<byte> data = block.Data.Span;
        int wire = leaf.WireLength;
        long expected = (long)count * wire;
        string shape = $"shape [{string.Join(", ", block.Shape)}]";
        switch (leaf.Space)
        {
            case Box:
            {
                if (block.Dtype is not (P.DType.Float32 or P.DType.Uint8)) return $"its element type is {block.Dtype}, not float32";
                int size = block.Dtype == P.DType.Float32 ? sizeof(float) : 1;
                if (data.Length != expected * size)
                    return $"it holds {data.Length / size} {(size == 1 ? "uint8" : "float32")} values ({shape}) where {expected} were expected ({count} rows of {wire})";
                for (int r = 0; r < count; r++)
                {
                    var row = rows.Slice(r * rowSize + leaf.Offset, wire);
                    if (size == 1)
                    {
                        for (int i = 0; i < wire; i++) row[i] = data[r * wire + i];
                    }
                    else
                    {
                        MemoryMarshal.Cast<byte, float>(data.Slice(r * wire * sizeof(float), wire * sizeof(float))).CopyTo(row);
                    }
                    for (int i = 0; i < wire; i++)
                    {
                        if (!float.IsFinite(row[i]))
                            return $"row {r} has {(float.IsNaN(row[i]) ? "NaN" : row[i].ToString(CultureInfo.InvariantCulture))} at element {i}";
                    }
                }
                return null;
            }
            case ByteBox bytes:
            {
                if (block.Dtype != P.DType.Uint8) return $"its element type is {block.Dtype}, not uint8 (an image space travels as bytes)";
                if (data.Length != expected) return $"it holds {data.Length} uint8 values ({shape}) where {expected} were expected ({count} rows of {wire}, an image of [{string.Join(", ", bytes.Shape)}])";
                for (int r = 0; r < count; r++)
                {
                    var row = rows.Slice(r * rowSize + leaf.Offset, wire);
                    var src = data.Slice(r * wire, wire);
                    for (int i = 0; i < wire; i++)
                    {
                        byte b = src[i];
                        if (b < bytes.Low || b > bytes.High) return $"row {r} has {b} at element {i}, outside [{bytes.Low}, {bytes.High}]";
                        row[i] = b;
                    }
                }
                return null;
            }
            case Discrete d:
            {
                var values = ReadIntegers(block, expected, shape, out string? problem);
                if (problem is not null) return problem;
                for (int r = 0; r < count; r++)
                {
                    long v = values![r];
                    if (v < d.Start || v >= (long)d.Start + d.N) return $"row {r} has the value {v}, outside {d}";
                    var row = rows.Slice(r * rowSize + leaf.Offset, d.N);
                    row.Clear();
                    row[(int)(v - d.Start)] = 1f;
                }
                return null;
            }
            case MultiDiscrete m:
            {
                var values = ReadIntegers(block, expected, shape, out string? problem);
                if (problem is not null) return problem;
                int k = m.Branches;
                for (int r = 0; r < count; r++)
                {
                    var row = rows.Slice(r * rowSize + leaf.Offset, m.FlatSize);
                    row.Clear();
                    int at = 0;
                    for (int b = 0; b < k; b++)
                    {
                        long v = values![r * k + b];
                        if (v < 0 || v >= m.Nvec[b]) return $"row {r} has the value {v} in branch {b}, outside 0..{m.Nvec[b] - 1}";
                        row[at + (int)v] = 1f;
                        at += m.Nvec[b];
                    }
                }
                return null;
            }
            default:
                return $"{leaf.Space} cannot be carried";
        }
    }

    private static long[]? ReadIntegers(P.Tensor block, long expected, string shape, out string? problem)
    {
        ReadOnlySpan<byte> data = block.Data.Span;
        problem = null;
        switch (block.Dtype)
        {
            case P.DType.Int32 when data.Length == expected * sizeof(int):
            {
                var ints = MemoryMarshal.Cast<byte, int>(data);
                var result = new long[ints.Length];
                for (int i = 0; i < ints.Length; i++) result[i] = ints[i];
                return result;
            }
            case P.DType.Int64 when data.Length == expected * sizeof(long):
                return MemoryMarshal.Cast<byte, long>(data).ToArray();
            case P.DType.Int32 or P.DType.Int64:
                problem = $"it holds {data.Length / (block.Dtype == P.DType.Int32 ? sizeof(int) : sizeof(long))} {block.Dtype} values ({shape}) where {expected} were expected";
                return null;
            default:
                problem = $"its element type is {block.Dtype}, not int32 or int64 (a discrete observation travels as integers)";
                return null;
        }
    }
}
