using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Reinforce.IO;

/// <summary>
/// Reads and writes Hugging Face safetensors files: an 8-byte little-endian unsigned header length N,
/// N bytes of UTF-8 JSON (<c>{"__metadata__": {str: str}, "name": {"dtype", "shape", "data_offsets": [begin, end]}}</c>,
/// offsets relative to the first byte after the header), then the tensors' little-endian data, contiguous.
/// </summary>
/// <remarks>
/// Writing follows the reference implementation (huggingface/safetensors, <c>tensor.rs</c>) byte for byte:
/// compact JSON with <c>__metadata__</c> first, tensors sorted by name (all ours are F32, so the
/// reference's "descending dtype alignment first" changes nothing), data in the same order, and the
/// header padded with spaces to a multiple of 8 so every tensor starts aligned. Metadata keys are
/// written sorted so the same input always gives the same bytes.
/// Reading accepts F32, and converts F64, F16 and BF16 to float32. It validates the file the way the
/// reference does (offsets must tile the data section exactly, sizes must match shape × dtype) and
/// reports every problem as a <see cref="CheckpointFormatException"/>.
/// </remarks>
public static class SafeTensors
{
    /// <summary>The largest header accepted (the reference implementation's limit, 100 MB).</summary>
    public const long MaxHeaderSize = 100_000_000;

    private const string MetadataKey = "__metadata__";

    /// <summary>The dtypes <see cref="Save"/> writes: F32 (exact), F16 and BF16 (each value rounded to nearest, ties to even).</summary>
    public static readonly IReadOnlyList<string> WritableDTypes = ["F32", "F16", "BF16"];

    /// <summary>
    /// Writes <paramref name="tensors"/> and optional string metadata to <paramref name="path"/> atomically, as
    /// <paramref name="dtype"/>: F32 (the default, exact), F16 or BF16 (half the size; each value rounded to the nearest
    /// representable one, ties to even, as PyTorch's <c>.half()</c> and <c>.bfloat16()</c> round).
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null, string dtype = "F32")
    {
        ArgumentNullException.ThrowIfNull(path);
        var (header, ordered) = BuildHeader(tensors, metadata, CheckDType(dtype));
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var (_, tensor) in ordered) WriteValues(stream, tensor.Data, dtype);
        });
    }

    private static string CheckDType(string dtype) => WritableDTypes.Contains(dtype) ? dtype
        : throw new ArgumentException($"SafeTensors.Save: cannot write dtype '{dtype}'; use F32, F16 or BF16.", nameof(dtype));

    /// <summary>The bfloat16 nearest to <paramref name="value"/> (ties to even; NaN stays NaN), as its 16 bits.</summary>
    public static ushort ToBFloat16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    private static void WriteValues(Stream stream, float[] data, string dtype)
    {
        if (dtype == "F32") { WriteFloats(stream, data); return; }
        var buffer = new byte[2 * Math.Min(data.Length, 8192)];
        for (int i = 0; i < data.Length; i += 8192)
        {
            int n = Math.Min(8192, data.Length - i);
            for (int j = 0; j < n; j++)
            {
                ushort bits = dtype == "F16" ? BitConverter.HalfToUInt16Bits((Half)data[i + j]) : ToBFloat16Bits(data[i + j]);
                BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(2 * j), bits);
            }
            stream.Write(buffer, 0, 2 * n);
        }
    }

    /// <summary>Serialises to the bytes <see cref="Save"/> would write.</summary>
    public static byte[] Serialize(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var ms = new MemoryStream();
        var (header, ordered) = BuildHeader(tensors, metadata, "F32");
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        ms.Write(length);
        ms.Write(header);
        foreach (var (_, tensor) in ordered) WriteFloats(ms, tensor.Data);
        return ms.ToArray();
    }

    /// <summary>
    /// Reads a safetensors file. Tensors come back in file order (by data offset), converted to float32;
    /// metadata is empty when the file has none.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The file is truncated, corrupt, or holds a dtype that cannot be converted to float32.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"SafeTensors.Load: no file at '{path}'. Check the path (a checkpoint folder holds model.safetensors).", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        long fileLength = stream.Length;
        Span<byte> lengthBytes = stackalloc byte[8];
        int got = stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false);
        long headerLength = CheckHeaderLength(path, lengthBytes[..got], fileLength);
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        var entries = ParseHeader(path, headerBytes, fileLength - 8 - headerLength, out var metadata);
        var tensors = new Dictionary<string, Tensor>(entries.Count, StringComparer.Ordinal);
        long dataStart = 8 + headerLength;
        byte[] scratch = [];
        foreach (var e in entries)
        {
            stream.Position = dataStart + e.Begin;
            tensors.Add(e.Name, ReadTensor(e, span =>
            {
                stream.ReadExactly(span);
            }, ref scratch));
        }
        return (tensors, metadata);
    }

    /// <summary>Reads safetensors bytes held in memory; <paramref name="sourceName"/> names the source in error messages.</summary>
    /// <exception cref="CheckpointFormatException">The bytes are truncated, corrupt, or hold an unsupported dtype.</exception>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Deserialize(byte[] bytes, string sourceName = "<memory>")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        long headerLength = CheckHeaderLength(sourceName, bytes.AsSpan(0, Math.Min(8, bytes.Length)), bytes.Length);
        var entries = ParseHeader(sourceName, bytes.AsSpan(8, (int)headerLength).ToArray(), bytes.Length - 8 - headerLength, out var metadata);
        var tensors = new Dictionary<string, Tensor>(entries.Count, StringComparer.Ordinal);
        long dataStart = 8 + headerLength;
        byte[] scratch = [];
        foreach (var e in entries)
        {
            int start = checked((int)(dataStart + e.Begin));
            tensors.Add(e.Name, ReadTensor(e, span => bytes.AsSpan(start, span.Length).CopyTo(span), ref scratch));
        }
        return (tensors, metadata);
    }

    /// <summary>
    /// Reads only the header of a safetensors file: each tensor's name, dtype and shape in file order, and
    /// the metadata. Cheap even for large files; validates the header as <see cref="Load"/> does.
    /// </summary>
    public static (IReadOnlyList<SafeTensorInfo> Tensors, Dictionary<string, string> Metadata) ReadHeader(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"SafeTensors.ReadHeader: no file at '{path}'.", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> lengthBytes = stackalloc byte[8];
        int got = stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false);
        long headerLength = CheckHeaderLength(path, lengthBytes[..got], stream.Length);
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        var entries = ParseHeader(path, headerBytes, stream.Length - 8 - headerLength, out var metadata);
        return (entries.Select(e => new SafeTensorInfo(e.Name, e.DType, e.Shape, e.Begin, e.End)).ToList(), metadata);
    }

    // ---------------------------------------------------------------- writing

    private static (byte[] Header, List<KeyValuePair<string, Tensor>> Ordered) BuildHeader(
        IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata, string dtype)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var ordered = tensors.ToList();
        foreach (var (name, tensor) in ordered)
        {
            if (string.IsNullOrEmpty(name))
                throw new ArgumentException("SafeTensors.Save: a tensor has an empty name; every tensor needs a non-empty name.", nameof(tensors));
            if (name == MetadataKey)
                throw new ArgumentException($"SafeTensors.Save: '{MetadataKey}' is reserved for the metadata block; rename the tensor.", nameof(tensors));
            if (tensor is null)
                throw new ArgumentException($"SafeTensors.Save: tensor '{name}' is null.", nameof(tensors));
        }
        // The reference sorts by name as Rust compares strings: by UTF-8 bytes.
        ordered.Sort((a, b) => CompareUtf8(a.Key, b.Key));

        var sb = new StringBuilder();
        sb.Append('{');
        bool first = true;
        if (metadata is not null)
        {
            sb.Append('"').Append(MetadataKey).Append("\":{");
            bool firstMeta = true;
            foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, Comparer<string>.Create(CompareUtf8)))
            {
                if (key is null || value is null)
                    throw new ArgumentException("SafeTensors.Save: metadata keys and values must not be null.", nameof(metadata));
                if (!firstMeta) sb.Append(',');
                AppendJsonString(sb, key);
                sb.Append(':');
                AppendJsonString(sb, value);
                firstMeta = false;
            }
            sb.Append('}');
            first = false;
        }
        long offset = 0;
        foreach (var (name, tensor) in ordered)
        {
            if (!first) sb.Append(',');
            first = false;
            AppendJsonString(sb, name);
            sb.Append(":{\"dtype\":\"").Append(dtype).Append("\",\"shape\":[");
            for (int i = 0; i < tensor.Shape.Length; i++)
            {
                if (i > 0) sb.Append(',');
                sb.Append(tensor.Shape[i].ToString(CultureInfo.InvariantCulture));
            }
            long end = offset + (dtype == "F32" ? 4L : 2L) * tensor.Data.Length;
            sb.Append("],\"data_offsets\":[")
              .Append(offset.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(end.ToString(CultureInfo.InvariantCulture)).Append("]}");
            offset = end;
        }
        sb.Append('}');
        int padding = (8 - Encoding.UTF8.GetByteCount(sb.ToString()) % 8) % 8;
        sb.Append(' ', padding);
        return (Encoding.UTF8.GetBytes(sb.ToString()), ordered);
    }

    private static int CompareUtf8(string? a, string? b)
    {
        if (a is null || b is null) return string.CompareOrdinal(a, b);
        return Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b));
    }

    /// <summary>Escapes as serde_json does: quote, backslash and control characters only; other characters stay as UTF-8.</summary>
    private static void AppendJsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    private static void WriteFloats(Stream stream, float[] data)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(data.AsSpan()));
            return;
        }
        var buffer = new byte[4 * Math.Min(data.Length, 4096)];
        for (int i = 0; i < data.Length; i += 4096)
        {
            int n = Math.Min(4096, data.Length - i);
            for (int j = 0; j < n; j++) BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(4 * j), data[i + j]);
            stream.Write(buffer, 0, 4 * n);
        }
    }

    // ---------------------------------------------------------------- reading

    private sealed record Entry(string Name, string DType, int ElementSize, int[] Shape, long Count, long Begin, long End);

    private delegate void ReadBytes(Span<byte> destination);

    private static long CheckHeaderLength(string source, ReadOnlySpan<byte> lengthBytes, long fileLength)
    {
        if (lengthBytes.Length < 8)
            throw new CheckpointFormatException(source,
                $"the file is {fileLength} bytes long, shorter than the 8-byte header length that starts every safetensors file (truncated or empty)",
                "Re-copy the file or use an earlier checkpoint.");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (n > MaxHeaderSize)
            throw new CheckpointFormatException(source,
                $"the header length field says {n} bytes, more than the {MaxHeaderSize}-byte limit; this is not a safetensors file or its first 8 bytes are corrupt",
                "Check that the path points to a .safetensors file.");
        if (8 + (long)n > fileLength)
            throw new CheckpointFormatException(source,
                $"the header length field says {n} bytes but only {fileLength - 8} bytes follow it (the file is truncated or is not a safetensors file)",
                "Re-copy the file or use an earlier checkpoint.");
        return (long)n;
    }

    private static List<Entry> ParseHeader(string source, byte[] headerBytes, long dataLength, out Dictionary<string, string> metadata)
    {
        const string Advice = "The file is corrupt or was not written by a safetensors writer; re-create it or use an earlier checkpoint.";
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(headerBytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new CheckpointFormatException(source, "the header is not valid UTF-8", Advice, ex);
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new CheckpointFormatException(source, $"the header is not valid JSON ({ex.Message})", Advice, ex);
        }

        metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<Entry>();
        using (doc)
        try
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException(source, $"the header is a JSON {doc.RootElement.ValueKind}, not an object", Advice);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw new CheckpointFormatException(source, $"the header names '{property.Name}' twice", Advice);
                if (property.Name == MetadataKey)
                {
                    if (property.Value.ValueKind != JsonValueKind.Object)
                        throw new CheckpointFormatException(source, $"'{MetadataKey}' is a JSON {property.Value.ValueKind}; it must be an object of string values", Advice);
                    foreach (var m in property.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw new CheckpointFormatException(source, $"metadata entry '{m.Name}' is a JSON {m.Value.ValueKind}; safetensors metadata values must be strings", Advice);
                        if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
                            throw new CheckpointFormatException(source, $"metadata key '{m.Name}' appears twice", Advice);
                    }
                    continue;
                }
                entries.Add(ParseEntry(source, property, Advice));
            }
        }
        catch (InvalidOperationException ex)
        {
            // System.Text.Json refuses to unescape a lone UTF-16 surrogate ("\uD800") into a name or a string value.
            throw new CheckpointFormatException(source, "the header holds a name or string with a lone UTF-16 surrogate escape (such as \\uD800 without its partner), which is not text", Advice, ex);
        }

        // As in the reference: sorted by offsets, the tensors must tile the data section exactly.
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expected = 0;
        foreach (var e in entries)
        {
            if (e.Begin < expected)
                throw new CheckpointFormatException(source,
                    $"tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] overlap the previous tensor, which ends at byte {expected}", Advice);
            if (e.Begin > expected)
                throw new CheckpointFormatException(source,
                    $"tensor '{e.Name}' starts at byte {e.Begin} but the previous tensor ends at byte {expected}; safetensors data must be contiguous", Advice);
            expected = e.End;
        }
        if (expected > dataLength)
        {
            var last = entries[^1];
            throw new CheckpointFormatException(source,
                $"the header needs {expected} bytes of tensor data (tensor '{last.Name}' ends at byte {last.End}) but the file has only {dataLength} after the header: the file is truncated",
                "Re-copy the file or use an earlier checkpoint.");
        }
        if (expected < dataLength)
            throw new CheckpointFormatException(source,
                $"the file has {dataLength} bytes of tensor data but the header accounts for only {expected}; {dataLength - expected} trailing bytes are unexplained", Advice);
        return entries;
    }

    private static Entry ParseEntry(string source, JsonProperty property, string advice)
    {
        string name = property.Name;
        var v = property.Value;
        if (v.ValueKind != JsonValueKind.Object)
            throw new CheckpointFormatException(source, $"tensor '{name}' is described by a JSON {v.ValueKind}, not an object with dtype, shape and data_offsets", advice);
        if (!v.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new CheckpointFormatException(source, $"tensor '{name}' has no string 'dtype'", advice);
        if (!v.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new CheckpointFormatException(source, $"tensor '{name}' has no 'shape' array", advice);
        if (!v.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
            throw new CheckpointFormatException(source, $"tensor '{name}' has no 'data_offsets' array of two numbers [begin, end]", advice);

        string dtype = dtypeElement.GetString()!;
        int elementSize = dtype switch
        {
            "F32" => 4,
            "F64" => 8,
            "F16" or "BF16" => 2,
            "BOOL" or "U8" or "I8" or "F8_E5M2" or "F8_E4M3" or "I16" or "U16" or "I32" or "U32" or "I64" or "U64" or "C64" or "F8_E8M0" or "F4" or "F6_E2M3" or "F6_E3M2" =>
                throw new CheckpointFormatException(source,
                    $"tensor '{name}' has dtype {dtype}, which Reinforce does not load (it reads F32, and converts F64, F16 and BF16 to float32)",
                    "Convert the tensor to float32 before saving (in PyTorch: tensor.float()), or drop it from the file."),
            _ => throw new CheckpointFormatException(source,
                    $"tensor '{name}' has unknown dtype '{dtype}' (expected F32, F64, F16 or BF16)", advice),
        };

        var shape = new int[shapeElement.GetArrayLength()];
        long count = 1;
        int k = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0)
                throw new CheckpointFormatException(source, $"tensor '{name}' has shape {shapeElement.GetRawText()}; every dimension must be a non-negative integer", advice);
            if (dim > int.MaxValue || (count = SafeMultiply(count, dim)) > int.MaxValue)
                throw new CheckpointFormatException(source, $"tensor '{name}' has shape {shapeElement.GetRawText()}, more than {int.MaxValue} elements, which a Reinforce tensor cannot hold", advice);
            shape[k++] = (int)dim;
        }

        var offsets = new long[2];
        k = 0;
        foreach (var o in offsetsElement.EnumerateArray())
        {
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out long value) || value < 0)
                throw new CheckpointFormatException(source, $"tensor '{name}' has data_offsets {offsetsElement.GetRawText()}; offsets must be non-negative integers", advice);
            offsets[k++] = value;
        }
        long begin = offsets[0], end = offsets[1];
        if (end < begin)
            throw new CheckpointFormatException(source, $"tensor '{name}' has data_offsets [{begin}, {end}]: the end is before the beginning", advice);
        long expectedBytes = count * elementSize;
        if (end - begin != expectedBytes)
            throw new CheckpointFormatException(source,
                $"tensor '{name}' has shape {shapeElement.GetRawText()} and dtype {dtype}, which need {expectedBytes} bytes, but its data_offsets [{begin}, {end}] span {end - begin} bytes", advice);
        return new Entry(name, dtype, elementSize, shape, count, begin, end);
    }

    private static long SafeMultiply(long a, long b)
    {
        try { return checked(a * b); }
        catch (OverflowException) { return long.MaxValue; }
    }

    private static Tensor ReadTensor(Entry e, ReadBytes read, ref byte[] scratch)
    {
        int n = (int)e.Count;
        var data = new float[n];
        if (e.DType == "F32" && BitConverter.IsLittleEndian)
        {
            read(MemoryMarshal.AsBytes(data.AsSpan()));
            return new Tensor(data, e.Shape);
        }

        int bytes = checked((int)(e.End - e.Begin));
        if (scratch.Length < bytes) scratch = new byte[bytes];
        var raw = scratch.AsSpan(0, bytes);
        read(raw);
        switch (e.DType)
        {
            case "F32":
                for (int i = 0; i < n; i++) data[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]);
                break;
            case "F64":
                for (int i = 0; i < n; i++) data[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * i)..]);
                break;
            case "F16":
                for (int i = 0; i < n; i++) data[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(raw[(2 * i)..]);
                break;
            case "BF16":
                // bfloat16 is the top half of a float32, so widening is exact.
                for (int i = 0; i < n; i++)
                    data[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]) << 16);
                break;
            default:
                throw new InvalidOperationException($"SafeTensors: dtype {e.DType} passed validation but has no reader.");
        }
        return new Tensor(data, e.Shape);
    }
}

/// <summary>One tensor's entry in a safetensors header: name, dtype as written in the file, shape and byte range within the data section.</summary>
public sealed record SafeTensorInfo(string Name, string DType, IReadOnlyList<int> Shape, long Begin, long End);
