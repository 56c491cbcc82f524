using Reinforce.Tensors;

namespace Reinforce.Tests.Tensors;

/// <summary>
/// Libm's expf and log give the C library's bits (MathF.Exp and Math.Log call glibc here): one at a time and sixteen
/// at a time. By default every 61st float bit pattern (70 million of the 4.3 billion, spread over the whole line) and
/// every float in [1, 4) for log (the sums log-softmax takes the log of); with REINFORCE_LIBM_EXHAUSTIVE=1 every float.
/// These compare against the C library of the machine that runs them: glibc ≥ 2.28 on x86-64 with FMA (Debian 12's 2.36
/// on the CI machines), which is where Libm's operation order was read from.
/// </summary>
public class LibmTests
{
    private static readonly bool Exhaustive = Environment.GetEnvironmentVariable("REINFORCE_LIBM_EXHAUSTIVE") == "1";
    private const int Chunk = 1 << 16;

    /// <summary>Runs <paramref name="check"/> over chunks of float bit patterns from <paramref name="first"/> to <paramref name="last"/> with a stride.</summary>
    private static void OverFloats(uint first, uint last, uint stride, Action<float[]> check)
    {
        var chunk = new List<float>(Chunk);
        for (ulong bits = first; bits <= last; bits += stride)
        {
            chunk.Add(BitConverter.UInt32BitsToSingle((uint)bits));
            if (chunk.Count == Chunk) { check([.. chunk]); chunk.Clear(); }
        }
        if (chunk.Count > 0) check([.. chunk]);
    }

    private static void ExpfMatches(float[] x)
    {
        var vector = new float[x.Length];
        Libm.Expf(x, vector);
        for (int i = 0; i < x.Length; i++)
        {
            float expected = MathF.Exp(x[i]);
            float scalar = Libm.Expf(x[i]);
            if (BitConverter.SingleToUInt32Bits(scalar) != BitConverter.SingleToUInt32Bits(expected) && !(float.IsNaN(scalar) && float.IsNaN(expected)))
                Assert.Fail($"Expf({x[i]:R} = 0x{BitConverter.SingleToUInt32Bits(x[i]):x8}) = {scalar:R}, the C library {expected:R}");
            if (BitConverter.SingleToUInt32Bits(vector[i]) != BitConverter.SingleToUInt32Bits(expected) && !(float.IsNaN(vector[i]) && float.IsNaN(expected)))
                Assert.Fail($"Expf over a span at {x[i]:R} (0x{BitConverter.SingleToUInt32Bits(x[i]):x8}) = {vector[i]:R}, the C library {expected:R}");
        }
    }

    private static void LogMatches(float[] x)
    {
        var vector = new float[x.Length];
        Libm.LogOfFloats(x, vector);
        for (int i = 0; i < x.Length; i++)
        {
            double expected = Math.Log(x[i]);
            double scalar = Libm.Log(x[i]);
            if (BitConverter.DoubleToUInt64Bits(scalar) != BitConverter.DoubleToUInt64Bits(expected) && !(double.IsNaN(scalar) && double.IsNaN(expected)))
                Assert.Fail($"Log({x[i]:R} = 0x{BitConverter.SingleToUInt32Bits(x[i]):x8}) = {scalar:R}, the C library {expected:R}");
            if (BitConverter.SingleToUInt32Bits(vector[i]) != BitConverter.SingleToUInt32Bits((float)expected) && !(float.IsNaN(vector[i]) && double.IsNaN(expected)))
                Assert.Fail($"LogOfFloats at {x[i]:R} (0x{BitConverter.SingleToUInt32Bits(x[i]):x8}) = {vector[i]:R}, the C library {(float)expected:R}");
        }
    }

    [Fact]
    public void Expf_gives_the_C_librarys_bits_across_the_float_line() =>
        OverFloats(0, uint.MaxValue, Exhaustive ? 1u : 61u, ExpfMatches);

    [Fact]
    public void Expf_gives_the_C_librarys_bits_where_log_softmax_uses_it() =>
        // x − max and log-probabilities: every float in [−104, 0], where the result goes from 0 to 1.
        OverFloats(BitConverter.SingleToUInt32Bits(-0f), BitConverter.SingleToUInt32Bits(-104f), Exhaustive ? 1u : 7u, ExpfMatches);

    [Fact]
    public void Log_gives_the_C_librarys_bits_for_every_float_from_1_to_4() =>
        OverFloats(BitConverter.SingleToUInt32Bits(1f), BitConverter.SingleToUInt32Bits(4f), 1u, LogMatches);

    [Fact]
    public void Log_gives_the_C_librarys_bits_across_the_float_line() =>
        OverFloats(0, uint.MaxValue, Exhaustive ? 1u : 61u, LogMatches);

    [Fact]
    public void Special_values_match()
    {
        float[] x = [0f, -0f, 1f, -1f, float.Epsilon, float.MaxValue, float.MinValue, float.PositiveInfinity, float.NegativeInfinity,
            float.NaN, 88f, 88.72283f, 88.7229f, -87.33654f, -103.27893f, -103.9721f, -104f, -150f, 1e-45f, 0.9375f, 1.0644531f];
        ExpfMatches(x);
        LogMatches(x);
        // A special value inside a vector of sixteen takes the whole vector through the scalar path.
        var mixed = Enumerable.Range(0, 40).Select(i => i == 21 ? float.NaN : i == 5 ? 100f : i == 30 ? 0f : -i * 0.37f).ToArray();
        ExpfMatches(mixed);
        LogMatches([.. mixed.Select(MathF.Abs)]);
        Assert.Equal(1f, Libm.Expf(0f));
        Assert.Equal(1f, Libm.Expf(-0f));
    }

    [Fact]
    public void Spans_of_every_length_and_in_place()
    {
        var rng = new Random(5);
        for (int n = 0; n <= 40; n++)
        {
            var x = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * -20)).ToArray();
            var copy = (float[])x.Clone();
            Libm.Expf(copy, copy);
            for (int i = 0; i < n; i++) Assert.Equal(BitConverter.SingleToUInt32Bits(MathF.Exp(x[i])), BitConverter.SingleToUInt32Bits(copy[i]));
            var y = x.Select(v => 1f - v).ToArray();
            var logs = (float[])y.Clone();
            Libm.LogOfFloats(logs, logs);
            for (int i = 0; i < n; i++) Assert.Equal(BitConverter.SingleToUInt32Bits((float)Math.Log(y[i])), BitConverter.SingleToUInt32Bits(logs[i]));
        }
        Assert.Throws<ArgumentException>(() => Libm.Expf(new float[3], new float[2]));
        Assert.Throws<ArgumentException>(() => Libm.LogOfFloats(new float[3], new float[2]));
    }
}
