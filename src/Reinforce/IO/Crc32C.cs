using System.Buffers.Binary;
using System.Numerics;

namespace Reinforce.IO;

/// <summary>
/// CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF), the
/// checksum of TFRecord files, computed with the runtime's <see cref="BitOperations.Crc32C(uint, ulong)"/> (the CPU's
/// CRC32 instruction where there is one, the runtime's own table otherwise), eight bytes at a time.
/// </summary>
public static class Crc32C
{
    private const uint MaskDelta = 0xA282EAD8u;

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    /// <summary>
    /// TensorFlow's masked CRC, stored in TFRecord files so that a CRC of data that itself contains CRCs
    /// stays well distributed: rotate right by 15 bits, then add 0xA282EAD8.
    /// </summary>
    public static uint Mask(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + MaskDelta);

    /// <summary>The inverse of <see cref="Mask"/>.</summary>
    public static uint Unmask(uint masked)
    {
        uint rot = unchecked(masked - MaskDelta);
        return (rot >> 17) | (rot << 15);
    }

    /// <summary>The masked CRC-32C of <paramref name="data"/>, as written in TFRecord framing.</summary>
    public static uint ComputeMasked(ReadOnlySpan<byte> data) => Mask(Compute(data));
}
