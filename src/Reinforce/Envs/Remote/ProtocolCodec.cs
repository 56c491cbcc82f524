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
            default:
                throw new NotSupportedException($"The environment protocol cannot describe the space {space} ({space.GetType().Name}) yet: it carries Discrete, Box and MultiDiscrete.");
        }
    }

    /// <summary>The space a message describes; <paramref name="what"/> names it in errors (e.g. "the observation space of server X").</summary>
    public static Space FromProto(P.Space? proto, string what)
    {
        if (proto is null) throw new RemoteEnvironmentException($"{what} is missing from the handshake.");
        try
        {
            switch (proto.KindCase)
            {
                case P.Space.KindOneofCase.Discrete:
                    return new Discrete(checked((int)proto.Discrete.N), checked((int)proto.Discrete.Start));
                case P.Space.KindOneofCase.MultiDiscrete:
                    return new MultiDiscrete(proto.MultiDiscrete.Nvec.Select(n => checked((int)n)).ToArray());
                case P.Space.KindOneofCase.Box:
                {
                    var box = proto.Box;
                    int[] shape = box.Shape.ToArray();
                    int count = 1;
                    foreach (int d in shape) count = checked(count * d);
                    // A server may send bounds once per element or not at all (unbounded).
                    float[] low = box.Low.Count == count ? box.Low.ToArray() : box.Low.Count == 0 ? Enumerable.Repeat(float.NegativeInfinity, count).ToArray() : throw new ArgumentException($"it has {box.Low.Count} lower bounds for {count} elements");
                    float[] high = box.High.Count == count ? box.High.ToArray() : box.High.Count == 0 ? Enumerable.Repeat(float.PositiveInfinity, count).ToArray() : throw new ArgumentException($"it has {box.High.Count} upper bounds for {count} elements");
                    if (box.Dtype is not (P.DType.Float32 or P.DType.Uint8 or P.DType.Unspecified))
                        throw new ArgumentException($"a Box of {box.Dtype} is not supported (use float32 or uint8)");
                    return new Box(low, high, shape);
                }
                case P.Space.KindOneofCase.Dict:
                case P.Space.KindOneofCase.Tuple:
                    throw new ArgumentException($"it is a {proto.KindCase} space; this build maps Box, Discrete and MultiDiscrete (Dict and Tuple observations arrive with the observation-space work, issue 11)");
                default:
                    throw new ArgumentException("it names no space kind");
            }
        }
        catch (Exception ex) when (ex is ArgumentException or OverflowException)
        {
            throw new RemoteEnvironmentException($"{what} cannot be used: {ex.Message}.", ex);
        }
    }

    /// <summary>The data type of a Box observation block the server sends (uint8 for images, else float32).</summary>
    public static P.DType ObservationDType(P.Space proto) =>
        proto.KindCase == P.Space.KindOneofCase.Box && proto.Box.Dtype == P.DType.Uint8 ? P.DType.Uint8 : P.DType.Float32;

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
