using System.Runtime.CompilerServices;
using System.Runtime;

namespace Reinforce;

/// <summary>
/// The one seeded random generator used everywhere in Reinforce: xoshiro256** seeded through SplitMix64.
/// The same seed gives the same bits on every machine and every run; the full state can be saved and
/// restored (checkpoints use this so a resumed run continues the same stream).
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Creates a generator whose whole stream is fixed by <paramref name="seed"/>.</summary>
    public Rng(ulong seed) => Reseed(seed);

    /// <summary>Creates a generator from a signed seed (negative seeds are valid and distinct).</summary>
    public Rng(int seed) : this(unchecked((ulong)(long)seed)) { }

    private Rng(ulong s0, ulong s1, ulong s2, ulong s3) { _s0 = s0; _s1 = s1; _s2 = s2; _s3 = s3; }

    /// <summary>Restarts the stream from <paramref name="seed"/>.</summary>
    public void Reseed(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x); _s1 = SplitMix64(ref x); _s2 = SplitMix64(ref x); _s3 = SplitMix64(ref x);
    }

    /// <summary>The generator's state, four 64-bit words; <see cref="FromState"/> restores it exactly.</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3];

    /// <summary>Restores a generator saved with <see cref="GetState"/>.</summary>
    public static Rng FromState(IReadOnlyList<ulong> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Count != 4) throw new ArgumentException($"An Rng state has 4 words, got {state.Count}.", nameof(state));
        if ((state[0] | state[1] | state[2] | state[3]) == 0) throw new ArgumentException("An all-zero Rng state is invalid (xoshiro would emit only zeros).", nameof(state));
        return new Rng(state[0], state[1], state[2], state[3]);
    }

    /// <summary>Restores this generator in place from a saved state.</summary>
    public void SetState(IReadOnlyList<ulong> state)
    {
        var r = FromState(state);
        _s0 = r._s0; _s1 = r._s1; _s2 = r._s2; _s3 = r._s3;
    }

    /// <summary>A derived, statistically independent generator (for example one per environment) that does not disturb this one's stream more than one draw.</summary>
    public Rng Spawn() => new(NextUInt64());

    /// <summary>Derives the seed of the <paramref name="index"/>-th child of <paramref name="seed"/> (per-environment seeds from one seed).</summary>
    public static ulong DeriveSeed(ulong seed, int index)
    {
        ulong x = seed ^ (0x9E3779B97F4A7C15UL * (ulong)(index + 1));
        return SplitMix64(ref x);
    }

    /// <summary>The next 64 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = BitRotate(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitRotate(_s3, 45);
        return result;
    }

    /// <summary>A double uniform on [0, 1) with 53 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A float uniform on [0, 1) with 24 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float NextFloat() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>A double uniform on [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public double Uniform(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>An integer uniform on [0, <paramref name="n"/>), without modulo bias (Lemire's method).</summary>
    [BypassReadyToRun]
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "NextInt needs a positive bound.");
        ulong m = (ulong)(uint)n;
        while (true)
        {
            ulong x = NextUInt64() >> 32;
            ulong product = x * m;
            uint low = (uint)product;
            if (low >= (uint)n || low >= (uint)((0x1_0000_0000UL - m) % m)) return (int)(product >> 32);
        }
    }

    /// <summary>A standard normal sample (Box–Muller, one pair member used, so the stream stays stateless beyond four words).</summary>
    [BypassReadyToRun]
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(); // in (0, 1], so log is finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>A normal sample with the given mean and standard deviation.</summary>
    [BypassReadyToRun]
    public double NextGaussian(double mean, double std) => mean + std * NextGaussian();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong BitRotate(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
