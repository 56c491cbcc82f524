using System.Text;
using Reinforce.IO;

namespace Reinforce.Tests.IO;

public class Crc32CTests
{
    public static TheoryData<byte[], uint> KnownVectors() => new()
    {
        // The CRC catalogue's check value for CRC-32C.
        { Encoding.ASCII.GetBytes("123456789"), 0xE3069283u },
        { [], 0u },
        { Encoding.ASCII.GetBytes("The quick brown fox jumps over the lazy dog"), 0x22620404u },
        // RFC 3720 (iSCSI) appendix B.4.
        { new byte[32], 0x8A9136AAu },
        { Enumerable.Repeat((byte)0xFF, 32).ToArray(), 0x62A8AB43u },
        { Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), 0x46DD794Eu },
        { Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray(), 0x113FDB5Cu },
    };

    [Theory]
    [MemberData(nameof(KnownVectors))]
    public void Matches_published_check_values(byte[] data, uint expected) => Assert.Equal(expected, Crc32C.Compute(data));

    [Fact]
    public void Matches_a_bitwise_reference_on_every_length_and_alignment_up_to_256()
    {
        var rng = new Rng(11);
        var data = new byte[300];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)rng.NextInt(256);
        for (int length = 0; length <= 256; length++)
            for (int offset = 0; offset < 3; offset++)
            {
                var span = data.AsSpan(offset, length);
                Assert.Equal(Bitwise(span), Crc32C.Compute(span));
            }
    }

    /// <summary>The definition, one bit at a time (reflected polynomial 0x82F63B78).</summary>
    private static uint Bitwise(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    }

    [Fact]
    public void Event_files_written_before_the_switch_to_the_runtimes_CRC_still_read()
    {
        // Written by this project's hand-written slicing-by-8 CRC-32C (version 0.1.0) before it was replaced by
        // BitOperations.Crc32C: every record's two checksums must still verify, and the values must read back.
        var path = Path.Combine(AppContext.BaseDirectory, "Data", "events-written-by-0.1.0.tfevents");
        var scalars = TensorBoardReader.ReadScalars(path);
        Assert.Equal([10.5f, 13.75f, 17f, 20.25f, 23.5f], scalars.Select(s => s.Value));
        Assert.Equal([0L, 100, 200, 300, 400], scalars.Select(s => s.Step));
        Assert.Equal("{\"env\": \"CartPole-v1\"}", TensorBoardReader.ReadTexts(path).Single().Text);
        var bytes = File.ReadAllBytes(path);
        bytes[^5] ^= 1; // and a damaged record is still caught
        var damaged = Path.Combine(Path.GetTempPath(), $"reinforce-crc-{Guid.NewGuid():N}.tfevents");
        File.WriteAllBytes(damaged, bytes);
        try { Assert.Throws<InvalidDataException>(() => TensorBoardReader.ReadEvents(damaged)); }
        finally { File.Delete(damaged); }
    }

    [Fact]
    public void Masked_values_match_real_TFRecord_files()
    {
        // Length checksum of a 24-byte record, as found at the start of TensorFlow event files,
        // and the data checksum of Event(file_version="CRC test, one two") (both from TensorBoard's rustboard tests).
        Assert.Equal(0x224B7FA3u, Crc32C.ComputeMasked([0x18, 0, 0, 0, 0, 0, 0, 0]));
        Assert.Equal(0x5794D08Au, Crc32C.ComputeMasked([0x1A, 0x11, .. "CRC test, one two"u8]));
        // From the tfrecord_slow package's tests.
        Assert.Equal(4134599430u, Crc32C.ComputeMasked(Encoding.ASCII.GetBytes("1234567890asdfghjkl")));
    }

    [Fact]
    public void Mask_is_a_rotation_plus_a_constant_and_Unmask_inverts_it()
    {
        Assert.Equal(0xA282EAD8u, Crc32C.Mask(0));
        Assert.Equal(0xC78AB0E5u, Crc32C.Mask(0xE3069283u));
        var rng = new Rng(5);
        for (int i = 0; i < 1000; i++)
        {
            uint crc = (uint)rng.NextUInt64();
            Assert.Equal(crc, Crc32C.Unmask(Crc32C.Mask(crc)));
        }
    }
}
