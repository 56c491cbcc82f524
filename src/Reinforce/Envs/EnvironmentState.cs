using System.Buffers.Binary;
using System.Numerics;

namespace Reinforce.Envs;

/// <summary>How a checkpoint brings the training environments back to where they were.</summary>
public enum EnvironmentRestore
{
    /// <summary>
    /// Every copy saves its complete state (physics, random generator, episode step counter) with
    /// <see cref="IStatefulEnv"/>: the checkpoint stores the snapshot and resume is exact, whatever the run's length.
    /// </summary>
    Snapshot,

    /// <summary>
    /// The copies are deterministic given their seed and actions but cannot save their state: the checkpoint stores
    /// every action since the seeded reset and replays them on load (exact, but the log grows with the run).
    /// </summary>
    Replay,

    /// <summary>
    /// The copies can do neither (a remote simulator, a game engine with its own clock; see <see cref="INondeterministicEnv"/>):
    /// resume restores the weights, optimizer, statistics and generators exactly and starts the environments on fresh
    /// episodes ("weights exact, environments reset"); the episodes in progress at the checkpoint are lost.
    /// </summary>
    Reset,
}

/// <summary>
/// An environment that can save and restore its complete state: whatever decides its future given the actions
/// (physical state, its random generator, step counters, an episode's progress). Checkpoints use it, when every
/// copy of a vector environment supports it, instead of replaying every recorded action.
/// Deriving from <see cref="DiscreteEnvironment"/> or <see cref="ContinuousEnvironment"/>, implement it by adding
/// the interface and overriding <c>OnSaveState</c>/<c>OnLoadState</c> for your own fields (the base saves the
/// generator and the reset bookkeeping).
/// </summary>
public interface IStatefulEnv
{
    /// <summary>Whether this instance can save its state (an adapter around another environment answers for it).</summary>
    bool CanSaveState => true;

    /// <summary>Writes the complete state.</summary>
    void SaveState(EnvironmentStateWriter writer);

    /// <summary>Restores a state written by <see cref="SaveState"/> on an instance made the same way; throws <see cref="InvalidDataException"/> when it does not fit.</summary>
    void LoadState(EnvironmentStateReader reader);
}

/// <summary>
/// Marks an environment whose steps cannot be reproduced from its seed and actions (a remote or real-time one) and
/// which cannot save its state: checkpoints then resume in <see cref="EnvironmentRestore.Reset"/> mode.
/// </summary>
public interface INondeterministicEnv;

/// <summary>Writes an environment's state as little-endian binary values (the format <see cref="EnvironmentStateReader"/> reads).</summary>
public sealed class EnvironmentStateWriter
{
    private readonly MemoryStream _stream = new();
    private readonly byte[] _scratch = new byte[8];

    /// <summary>Bytes written so far.</summary>
    public long Length => _stream.Length;

    /// <summary>Writes a double (bit for bit).</summary>
    public void Write(double value) => WriteInteger(BitConverter.DoubleToInt64Bits(value));

    /// <summary>Writes a float (bit for bit).</summary>
    public void Write(float value) => WriteInteger(BitConverter.SingleToInt32Bits(value));

    /// <summary>Writes a 64-bit integer.</summary>
    public void Write(long value) => WriteInteger(value);

    /// <summary>Writes a 64-bit unsigned integer.</summary>
    public void Write(ulong value) => WriteInteger(value);

    /// <summary>Writes a 32-bit integer.</summary>
    public void Write(int value) => WriteInteger(value);

    /// <summary>Writes a boolean as one byte.</summary>
    public void Write(bool value) => _stream.WriteByte(value ? (byte)1 : (byte)0);

    /// <summary>Writes a generator's complete state.</summary>
    public void Write(Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        foreach (var word in rng.GetState()) Write(word);
    }

    /// <summary>Writes a length and the doubles.</summary>
    public void Write(ReadOnlySpan<double> values) => WriteAll(values, Write);

    /// <summary>Writes a length and the floats.</summary>
    public void Write(ReadOnlySpan<float> values) => WriteAll(values, Write);

    /// <summary>Writes a length and the integers.</summary>
    public void Write(ReadOnlySpan<int> values) => WriteAll(values, Write);

    /// <summary>Writes a length and the booleans.</summary>
    public void Write(ReadOnlySpan<bool> values) => WriteAll(values, Write);

    private void WriteInteger<T>(T value) where T : IBinaryInteger<T>
    {
        int count = value.WriteLittleEndian(_scratch);
        _stream.Write(_scratch, 0, count);
    }

    private void WriteAll<T>(ReadOnlySpan<T> values, Action<T> write)
    {
        Write(values.Length);
        foreach (var v in values) write(v);
    }

    /// <summary>Writes a length and the bytes (a nested state).</summary>
    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        Write(bytes.Length);
        _stream.Write(bytes);
    }

    /// <summary>The bytes written.</summary>
    public byte[] ToArray() => _stream.ToArray();
}

/// <summary>Reads what <see cref="EnvironmentStateWriter"/> wrote; running out of data or a wrong length throws <see cref="InvalidDataException"/>.</summary>
public sealed class EnvironmentStateReader(ReadOnlyMemory<byte> data)
{
    private int _position;

    /// <summary>Whether every byte has been read.</summary>
    public bool AtEnd => _position == data.Length;

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || data.Length - _position < count)
            throw new InvalidDataException($"The environment state ends early (wanted {count} more bytes at offset {_position} of {data.Length}); it was saved by another environment or is damaged.");
        var span = data.Span.Slice(_position, count);
        _position += count;
        return span;
    }

    /// <summary>Reads a double.</summary>
    public double ReadDouble() => BitConverter.Int64BitsToDouble(ReadInt64());

    /// <summary>Reads a float.</summary>
    public float ReadSingle() => BitConverter.Int32BitsToSingle(ReadInt32());

    /// <summary>Reads a 64-bit integer.</summary>
    public long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

    /// <summary>Reads a 64-bit unsigned integer.</summary>
    public ulong ReadUInt64() => unchecked((ulong)ReadInt64());

    /// <summary>Reads a 32-bit integer.</summary>
    public int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

    /// <summary>Reads a boolean.</summary>
    public bool ReadBoolean() => Take(1)[0] switch
    {
        0 => false,
        1 => true,
        var b => throw new InvalidDataException($"The environment state holds {b} where a boolean (0 or 1) belongs; it is damaged."),
    };

    /// <summary>Restores <paramref name="rng"/> from the state written by <see cref="EnvironmentStateWriter.Write(Rng)"/>.</summary>
    public void ReadInto(Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ulong[] words = [ReadUInt64(), ReadUInt64(), ReadUInt64(), ReadUInt64()];
        try { rng.SetState(words); }
        catch (ArgumentException ex) { throw new InvalidDataException($"The environment state holds an invalid generator state: {ex.Message}", ex); }
    }

    /// <summary>Reads a length-prefixed array into <paramref name="destination"/>, whose length it must equal.</summary>
    public void ReadInto(Span<double> destination) => ReadAll(destination, ReadDouble);

    /// <summary>Reads a length-prefixed array into <paramref name="destination"/>, whose length it must equal.</summary>
    public void ReadInto(Span<float> destination) => ReadAll(destination, ReadSingle);

    /// <summary>Reads a length-prefixed array into <paramref name="destination"/>, whose length it must equal.</summary>
    public void ReadInto(Span<int> destination) => ReadAll(destination, ReadInt32);

    /// <summary>Reads a length-prefixed array into <paramref name="destination"/>, whose length it must equal.</summary>
    public void ReadInto(Span<bool> destination) => ReadAll(destination, ReadBoolean);

    private void ReadAll<T>(Span<T> destination, Func<T> read)
    {
        CheckLength(destination.Length);
        for (int i = 0; i < destination.Length; i++) destination[i] = read();
    }

    /// <summary>Reads a length-prefixed nested state.</summary>
    public EnvironmentStateReader ReadNested()
    {
        int length = ReadInt32();
        int start = _position;
        Take(length);
        return new EnvironmentStateReader(data.Slice(start, length));
    }

    /// <summary>Throws when bytes are left over (the state came from a different environment).</summary>
    public void EnsureEnd(string what)
    {
        if (!AtEnd) throw new InvalidDataException($"The saved state of {what} has {data.Length - _position} bytes more than this environment reads; it was saved by a different environment.");
    }

    private void CheckLength(int expected)
    {
        int length = ReadInt32();
        if (length != expected) throw new InvalidDataException($"The environment state holds an array of {length} values where this environment has {expected}; it was saved by a differently made environment.");
    }
}
