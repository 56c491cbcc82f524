using Google.Protobuf;
using Reinforce.Envs.Remote;
using Reinforce.Spaces;
using P = Reinforce.Envs.Remote.Protocol;

namespace Reinforce.Tests.Fuzz;

/// <summary>
/// The environment protocol's client-side readers fuzzed: a handshake's observation space and a batch of observations
/// (what a lying server sends), byte-damaged and structure-damaged (wrong sizes, NaN, bad spaces, huge counts).
/// Allowed: <see cref="RemoteEnvironmentException"/> (a clear error) or <see cref="InvalidProtocolBufferException"/>
/// (bytes that are not a message; gRPC reports those as a failed call). The end-to-end lies are named cases in
/// Remote/RemoteObservationTests.cs.
/// </summary>
public sealed class ProtocolFuzzTests
{
    private static readonly Space Template = new DictSpace(
        ("camera", ByteBox.Image(1, 3, 4)), ("state", new Box(-1f, 1f, [3])), ("mode", new Discrete(3, 1)), ("flags", new MultiDiscrete([2, 3])),
        ("pair", new TupleSpace(new Box(0f, 1f, [2]), new Discrete(2))));

    private static byte[] Valid(Rng rng)
    {
        const int n = 2;
        var rows = new float[n * Template.FlatSize];
        for (int r = 0; r < n; r++) Template.FlattenObject(Template.Sample(rng), rows.AsSpan(r * Template.FlatSize, Template.FlatSize));
        var space = ProtocolCodec.ToProto(Template);
        var batch = ObservationLeaves.Encode(ObservationLeaves.Of(Template), rows, n, Template.FlatSize);
        return Pack(space, batch);
    }

    private static byte[] Pack(P.Space space, P.Batch batch)
    {
        // A ResetResponse carries the batch; the space rides in a HandshakeResponse: [length of the handshake][handshake][reset].
        byte[] head = new P.HandshakeResponse { ObservationSpace = space, NumEnvs = 2 }.ToByteArray();
        byte[] tail = new P.ResetResponse { Observations = batch }.ToByteArray();
        return [.. BitConverter.GetBytes(head.Length), .. head, .. tail];
    }

    private static void Read(byte[] input)
    {
        if (input.Length < 4) throw new RemoteEnvironmentException("the fuzzed input is shorter than its length prefix");
        int length = BitConverter.ToInt32(input, 0);
        if (length < 0 || length > input.Length - 4) throw new RemoteEnvironmentException("the fuzzed input has a length prefix out of range");
        var handshake = P.HandshakeResponse.Parser.ParseFrom(input, 4, length);
        var reset = P.ResetResponse.Parser.ParseFrom(input, 4 + length, input.Length - 4 - length);
        var space = ProtocolCodec.FromProto(handshake.ObservationSpace, "the fuzzed observation space");
        var leaves = ObservationLeaves.Of(handshake.ObservationSpace, space);
        int n = Math.Clamp(handshake.NumEnvs, 1, 8);
        var rows = new float[n * space.FlatSize];
        string? problem = ObservationLeaves.Decode(leaves, reset.Observations, rows, n, space.FlatSize);
        if (problem is not null) throw new RemoteEnvironmentException($"the fuzzed observations do not fit {space}: {problem}.");
    }

    /// <summary>Structure-aware damage: a valid pair with one of its spaces or blocks made to lie.</summary>
    private static byte[] Lie(Rng rng)
    {
        var valid = Valid(rng);
        var handshake = P.HandshakeResponse.Parser.ParseFrom(valid, 4, BitConverter.ToInt32(valid, 0));
        var batch = P.ResetResponse.Parser.ParseFrom(valid, 4 + BitConverter.ToInt32(valid, 0), valid.Length - 4 - BitConverter.ToInt32(valid, 0)).Observations;
        var entries = handshake.ObservationSpace.Dict.Entries;
        int pick = rng.NextInt(entries.Count);
        var leaf = batch.Leaves[rng.NextInt(batch.Leaves.Count)];
        int[] hugeDims = [0, -1, int.MaxValue, 1 << 20, 65536];
        switch (rng.NextInt(14))
        {
            case 0: handshake.NumEnvs = rng.NextInt(2) == 0 ? int.MaxValue : -5; break;
            case 1:
                if (entries[pick].Space.Box is { } box && box.Shape.Count > 0) box.Shape[rng.NextInt(box.Shape.Count)] = hugeDims[rng.NextInt(hugeDims.Length)];
                break;
            case 2: if (entries[pick].Space.Discrete is { } d) d.N = rng.NextInt(2) == 0 ? 0 : long.MaxValue; break;
            case 3: if (entries[pick].Space.MultiDiscrete is { } m) m.Nvec.Add(rng.NextInt(2) == 0 ? 0 : long.MinValue); break;
            case 4: if (entries[pick].Space.Box is { } b) b.Dtype = (P.DType)rng.NextInt(8); break;
            case 5: entries[pick].Key = entries[(pick + 1) % entries.Count].Key; break;
            case 6: entries[pick].Space = null; break;
            case 7: leaf.Data = ByteString.CopyFrom(leaf.Data.Span[..(leaf.Data.Length / 2)]); break;
            case 8: leaf.Dtype = (P.DType)rng.NextInt(8); break;
            case 9:
            {
                var data = leaf.Data.ToByteArray();
                if (data.Length >= 4) BitConverter.GetBytes(rng.NextInt(2) == 0 ? float.NaN : int.MaxValue).CopyTo(data, 4 * rng.NextInt(data.Length / 4));
                leaf.Data = ByteString.CopyFrom(data);
                break;
            }
            case 10: batch.Leaves.RemoveAt(rng.NextInt(batch.Leaves.Count)); break;
            case 11: batch.Leaves.Add(leaf.Clone()); break;
            case 12: entries.RemoveAt(pick); break;
            case 13: if (entries[pick].Space.Box is { } bb) { bb.Low.Clear(); bb.Low.Add([float.NaN, 2f]); } break;
        }
        return Pack(handshake.ObservationSpace ?? new P.Space(), batch);
    }

    [Fact]
    public void Valid_inputs_read_back_exactly()
    {
        var rng = new Rng(9);
        for (int i = 0; i < 20; i++) Read(Valid(rng));
    }

    [Fact]
    public void Byte_damaged_handshakes_and_batches_are_clear_errors()
    {
        FuzzHarness.Run("environment protocol (bytes)", 300, rng => FuzzHarness.MutateBytes(Valid(rng), rng), Read,
            typeof(RemoteEnvironmentException), typeof(InvalidProtocolBufferException));
    }

    [Fact]
    public void Lying_spaces_and_blocks_are_clear_errors()
    {
        FuzzHarness.Run("environment protocol (lies)", 300, Lie, Read,
            typeof(RemoteEnvironmentException), typeof(InvalidProtocolBufferException));
    }
}
