using System.Runtime.InteropServices;
using Google.Protobuf;
using Reinforce.Spaces;
using P = Reinforce.Envs.Remote.Protocol;

namespace Reinforce.Envs.Remote;

/// <summary>
/// Conversions between the library's spaces and blocks and the messages of the Reinforce environment protocol
/// (<c>protos/reinforce/env/v1/env.proto</c>), written once for the client and the C# server.
/// </summary>
public static class ProtocolCodec
{
    /// <summary>The protocol version both sides must speak.</summary>
    public const string ProtocolVersion = "reinforce.env.v1";

    /// <summary>The message of a space.</summary>
    public static P.Space ToProto(Space space)
    {
        ArgumentNullException.ThrowIfNull(space);
        switch (space)
        {
            case Discrete d:
                return new P.Space { Discrete = new P.DiscreteSpace { N = d.N, Start = d.Start } };
            case MultiDiscrete m:
            {
                var proto = new P.MultiDiscreteSpace();
                foreach (int n in m.Nvec) proto.Nvec.Add(n);
                return new P.Space { MultiDiscrete = proto };
            }
            case Box b:
            {
                var proto = new P.BoxSpace { Dtype = P.DType.Float32 };
                proto.Shape.Add(b.Shape);
                proto.Low.Add(b.Low);
                proto.High.Add(b.High);
                return new P.Space { Box = proto };
            }
            case ByteBox b:
            {
                if (b.IsImage && b.Layout == ImageLayout.ChannelsLast)
                    throw new NotSupportedException($"The environment protocol carries images channels first ([C, H, W]); {b} is channels last. Wrap the environment in TransposeImage before serving it.");
                // One bound each (the whole box shares it): an image's per-pixel bounds would repeat one number.
                var proto = new P.BoxSpace { Dtype = P.DType.Uint8 };
                proto.Shape.Add(b.Shape);
                proto.Low.Add(b.Low);
                proto.High.Add(b.High);
                return new P.Space { Box = proto };
            }
            case DictSpace d:
            {
                var proto = new P.DictSpace();
                for (int i = 0; i < d.Keys.Count; i++) proto.Entries.Add(new P.DictEntry { Key = d.Keys[i], Space = ToProto(d.Spaces[i]) });
                return new P.Space { Dict = proto };
            }
            case TupleSpace t:
            {
                var proto = new P.TupleSpace();
                foreach (var inner in t.Spaces) proto.Spaces.Add(ToProto(inner));
                return new P.Space { Tuple = proto };
            }
            default:
                throw new NotSupportedException($"The environment protocol cannot describe the space {space} ({space.GetType().Name}) yet: it carries Discrete, Box, ByteBox, MultiDiscrete, Dict and Tuple spaces.");
        }
    }

    /// <summary>The space a message describes; <paramref name="what"/> names it in errors (e.g. "the observation space of server X").</summary>
    public static Space FromProto(P.Space? proto, string what)
    {
        if (proto is null) throw new RemoteEnvironmentException($"{what} is missing from the handshake.");
        try
        {
            return FromProto(proto, 0);
        }
        catch (Exception ex) when (ex is ArgumentException or OverflowException)
        {
            throw new RemoteEnvironmentException($"{what} cannot be used: {ex.Message}.", ex);
        }
    }

    /// <summary>The deepest nesting of Dict and Tuple spaces a handshake may describe.</summary>
    public const int MaxSpaceDepth = 16;

    /// <summary>The most elements one space may describe (a lying server cannot make the client allocate more).</summary>
    public const long MaxSpaceElements = 1L << 24;

    private static Space FromProto(P.Space proto, int depth)
    {
        if (depth > MaxSpaceDepth) throw new ArgumentException($"it nests Dict and Tuple spaces deeper than {MaxSpaceDepth} levels");
        Space space;
        switch (proto.KindCase)
        {
            case P.Space.KindOneofCase.Discrete:
                if (proto.Discrete.N < 1) throw new ArgumentException($"a Discrete space of {proto.Discrete.N} elements (it needs at least 1)");
                space = new Discrete(checked((int)proto.Discrete.N), checked((int)proto.Discrete.Start));
                break;
            case P.Space.KindOneofCase.MultiDiscrete:
                if (proto.MultiDiscrete.Nvec.Count == 0 || proto.MultiDiscrete.Nvec.Any(n => n < 1)) throw new ArgumentException($"a MultiDiscrete space of [{string.Join(", ", proto.MultiDiscrete.Nvec)}] (every branch needs at least 1 value)");
                space = new MultiDiscrete(proto.MultiDiscrete.Nvec.Select(n => checked((int)n)).ToArray());
                break;
            case P.Space.KindOneofCase.Box:
                space = BoxFromProto(proto.Box);
                break;
            case P.Space.KindOneofCase.Dict:
            {
                if (proto.Dict.Entries.Count == 0) throw new ArgumentException("a Dict space without entries");
                var entries = new (string, Space)[proto.Dict.Entries.Count];
                for (int i = 0; i < entries.Length; i++)
                {
                    var entry = proto.Dict.Entries[i];
                    if (entry.Space is null) throw new ArgumentException($"Dict entry '{entry.Key}' has no space");
                    entries[i] = (entry.Key, FromProto(entry.Space, depth + 1));
                }
                space = new DictSpace(entries);
                break;
            }
            case P.Space.KindOneofCase.Tuple:
            {
                if (proto.Tuple.Spaces.Count == 0) throw new ArgumentException("a Tuple space without elements");
                space = new TupleSpace(proto.Tuple.Spaces.Select(s => FromProto(s, depth + 1)).ToArray());
                break;
            }
            default:
                throw new ArgumentException("it names no space kind");
        }
        if (space.FlatSize > MaxSpaceElements) throw new ArgumentException($"it describes {space.FlatSize} elements per observation, more than the {MaxSpaceElements} this client accepts");
        return space;
    }

    private static Space BoxFromProto(P.BoxSpace box)
    {
        int[] shape = box.Shape.ToArray();
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 1) throw new ArgumentException($"a Box of shape [{string.Join(", ", shape)}] (every axis needs at least 1 element)");
            count *= d;
            if (count > MaxSpaceElements) throw new ArgumentException($"a Box of shape [{string.Join(", ", shape)}], more than the {MaxSpaceElements} elements this client accepts");
        }
        if (shape.Length == 0) throw new ArgumentException("a Box without a shape");
        if (box.Dtype == P.DType.Uint8)
        {
            // An image: one bound each, or one per element (the lowest and highest are kept).
            float low = box.Low.Count == 0 ? 0f : box.Low.Min();
            float high = box.High.Count == 0 ? 255f : box.High.Max();
            if (!(low >= 0f && high <= 255f && low <= high)) throw new ArgumentException($"a uint8 Box with bounds [{low}, {high}] (bytes lie in [0, 255])");
            return new ByteBox((byte)low, (byte)high, shape);
        }
        if (box.Dtype is not (P.DType.Float32 or P.DType.Unspecified))
            throw new ArgumentException($"a Box of {box.Dtype} is not supported (use float32 or uint8)");
        // A server may send bounds once per element, once for all, or not at all (unbounded).
        float[] lows = Bounds(box.Low, (int)count, float.NegativeInfinity, "lower");
        float[] highs = Bounds(box.High, (int)count, float.PositiveInfinity, "upper");
        return new Box(lows, highs, shape);
    }

    private static float[] Bounds(Google.Protobuf.Collections.RepeatedField<float> values, int count, float none, string which) =>
        values.Count == count ? values.ToArray()
        : values.Count == 0 ? Enumerable.Repeat(none, count).ToArray()
        : values.Count == 1 ? Enumerable.Repeat(values[0], count).ToArray()
        : throw new ArgumentException($"it has {values.Count} {which} bounds for {count} elements");

    /// <summary>A float32 block of the given shape, copied from <paramref name="values"/>.</summary>
    public static P.Tensor FloatTensor(ReadOnlySpan<float> values, params ReadOnlySpan<int> shape)
    {
        var t = new P.Tensor { Dtype = P.DType.Float32, Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(values)) };
        foreach (int d in shape) t.Shape.Add(d);
        return t;
    }

    /// <summary>An int32 block of the given shape, copied from <paramref name="values"/>.</summary>
    public static P.Tensor IntTensor(ReadOnlySpan<int> values, params ReadOnlySpan<int> shape)
    {
        var t = new P.Tensor { Dtype = P.DType.Int32, Data = ByteString.CopyFrom(MemoryMarshal.AsBytes(values)) };
        foreach (int d in shape) t.Shape.Add(d);
        return t;
    }

    /// <summary>
    /// Copies a block into <paramref name="destination"/> as floats (uint8 images become 0…255); returns null on
    /// success or the reason it does not fit (wrong type, wrong length, a value that is not finite).
    /// </summary>
    public static string? ReadFloats(P.Tensor? block, Span<float> destination, int rowSize)
    {
        if (block is null) return "the block is missing";
        ReadOnlySpan<byte> data = block.Data.Span;
        switch (block.Dtype)
        {
            case P.DType.Float32:
            {
                if (data.Length != destination.Length * sizeof(float))
                    return $"it holds {data.Length / sizeof(float)} float32 values (shape [{string.Join(", ", block.Shape)}]) where {destination.Length} were expected ({destination.Length / Math.Max(rowSize, 1)} rows of {rowSize})";
                MemoryMarshal.Cast<byte, float>(data).CopyTo(destination);
                break;
            }
            case P.DType.Uint8:
            {
                if (data.Length != destination.Length)
                    return $"it holds {data.Length} uint8 values (shape [{string.Join(", ", block.Shape)}]) where {destination.Length} were expected ({destination.Length / Math.Max(rowSize, 1)} rows of {rowSize})";
                for (int i = 0; i < data.Length; i++) destination[i] = data[i];
                break;
            }
            default:
                return $"its element type is {block.Dtype}, not float32 or uint8";
        }
        for (int i = 0; i < destination.Length; i++)
        {
            if (!float.IsFinite(destination[i]))
                return $"row {i / Math.Max(rowSize, 1)} has {(float.IsNaN(destination[i]) ? "NaN" : destination[i].ToString(System.Globalization.CultureInfo.InvariantCulture))} at element {i % Math.Max(rowSize, 1)}";
        }
        return null;
    }

    /// <summary>Copies an int32 block into <paramref name="destination"/>; returns null on success or the reason it does not fit.</summary>
    public static string? ReadInts(P.Tensor? block, Span<int> destination)
    {
        if (block is null) return "the block is missing";
        if (block.Dtype != P.DType.Int32) return $"its element type is {block.Dtype}, not int32";
        if (block.Data.Length != destination.Length * sizeof(int)) return $"it holds {block.Data.Length / sizeof(int)} int32 values where {destination.Length} were expected";
        MemoryMarshal.Cast<byte, int>(block.Data.Span).CopyTo(destination);
        return null;
    }
}
