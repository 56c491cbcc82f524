using System.Buffers.Binary;

namespace Reinforce.IO;

/// <summary>
/// TFRecord framing, the container of TensorBoard event files. Each record is: uint64 length
/// (little-endian), uint32 masked CRC-32C of those 8 length bytes, the data, uint32 masked CRC-32C of
/// the data (see <see cref="Crc32C.Mask"/>).
/// </summary>
public static class TfRecord
{
    /// <summary>The framed bytes of one record holding <paramref name="data"/>.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> data)
    {
        var record = new byte[8 + 4 + data.Length + 4];
        var span = record.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(span, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], Crc32C.ComputeMasked(span[..8]));
        data.CopyTo(span[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(12 + data.Length)..], Crc32C.ComputeMasked(data));
        return record;
    }

    /// <summary>
    /// Splits <paramref name="file"/> into records, verifying both checksums of each.
    /// </summary>
    /// <exception cref="InvalidDataException">A record is truncated or a checksum does not match; the message names the source and the byte offset.</exception>
    public static List<byte[]> ReadAll(ReadOnlySpan<byte> file, string sourceName)
    {
        var records = new List<byte[]>();
        long offset = 0;
        while (!file.IsEmpty)
        {
            if (file.Length < 12)
                throw new InvalidDataException($"TFRecord '{sourceName}': the record at byte {offset} is truncated ({file.Length} bytes left, a header needs 12). The writer was probably interrupted.");
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(file);
            uint lengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(file[8..]);
            if (Crc32C.ComputeMasked(file[..8]) != lengthCrc)
                throw new InvalidDataException($"TFRecord '{sourceName}': the length checksum of the record at byte {offset} does not match; the file is corrupt.");
            if (file.Length < 16 || length > (ulong)(file.Length - 16))
                throw new InvalidDataException($"TFRecord '{sourceName}': the record at byte {offset} declares {length} data bytes but only {Math.Max(0, file.Length - 16)} remain; the file is truncated.");
            var data = file.Slice(12, (int)length);
            uint dataCrc = BinaryPrimitives.ReadUInt32LittleEndian(file[(12 + (int)length)..]);
            if (Crc32C.ComputeMasked(data) != dataCrc)
                throw new InvalidDataException($"TFRecord '{sourceName}': the data checksum of the record at byte {offset} does not match; the file is corrupt.");
            records.Add(data.ToArray());
            int consumed = 16 + (int)length;
            file = file[consumed..];
            offset += consumed;
        }
        return records;
    }
}
