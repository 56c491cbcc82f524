namespace Reinforce.Envs.MinAtar;

/// <summary>
/// The draws MinAtar makes from numpy's legacy <c>np.random.RandomState</c>, reproduced bit for bit: the MT19937
/// generator with numpy's seeding (<c>RandomState(seed)</c> for a 32-bit seed, <c>RandomState([lo, hi])</c> for a
/// longer one), <c>rand()</c> (53-bit doubles from two 32-bit words) and <c>randint(low, high)</c> (numpy's masked
/// rejection sampling on 32-bit words, which draws nothing when the range has one value). With it the C# games
/// follow the Python ones exactly from the same seed, which is what the replay tests check.
/// </summary>
internal sealed class NumpyRandomState
{
    private const int N = 624;
    private const int M = 397;
    private readonly uint[] _key = new uint[N];
    private int _pos;

    /// <summary>numpy's <c>RandomState(seed)</c> for a seed in [0, 2^32).</summary>
    public NumpyRandomState(uint seed) => Seed(seed);

    /// <summary>numpy's <c>RandomState(np.array(key, dtype=np.uint32))</c> (MT19937's <c>init_by_array</c>).</summary>
    public NumpyRandomState(ReadOnlySpan<uint> key)
    {
        if (key.IsEmpty) throw new ArgumentException("The seed key needs at least one word.", nameof(key));
        Seed(19650218u);
        int i = 1, j = 0;
        for (int k = Math.Max(N, key.Length); k > 0; k--)
        {
            _key[i] = unchecked((_key[i] ^ ((_key[i - 1] ^ (_key[i - 1] >> 30)) * 1664525u)) + key[j] + (uint)j);
            i++;
            j++;
            if (i >= N) { _key[0] = _key[N - 1]; i = 1; }
            if (j >= key.Length) j = 0;
        }
        for (int k = N - 1; k > 0; k--)
        {
            _key[i] = unchecked((_key[i] ^ ((_key[i - 1] ^ (_key[i - 1] >> 30)) * 1566083941u)) - (uint)i);
            i++;
            if (i >= N) { _key[0] = _key[N - 1]; i = 1; }
        }
        _key[0] = 0x80000000u;
        _pos = N;
    }

    /// <summary>
    /// The generator for a seed of this library: a 64-bit seed below 2^32 is numpy's <c>RandomState(seed)</c>, a larger
    /// one <c>RandomState([low word, high word])</c>, so every seed is usable and the small ones match Python's.
    /// </summary>
    public static NumpyRandomState FromSeed(ulong seed) =>
        seed <= uint.MaxValue ? new NumpyRandomState((uint)seed) : new NumpyRandomState([(uint)seed, (uint)(seed >> 32)]);

    private void Seed(uint seed)
    {
        for (int pos = 0; pos < N; pos++)
        {
            _key[pos] = seed;
            seed = unchecked(1812433253u * (seed ^ (seed >> 30)) + (uint)pos + 1u);
        }
        _pos = N;
    }

    private void Generate()
    {
        uint y;
        int i;
        for (i = 0; i < N - M; i++)
        {
            y = (_key[i] & 0x80000000u) | (_key[i + 1] & 0x7fffffffu);
            _key[i] = _key[i + M] ^ (y >> 1) ^ ((0u - (y & 1u)) & 0x9908b0dfu);
        }
        for (; i < N - 1; i++)
        {
            y = (_key[i] & 0x80000000u) | (_key[i + 1] & 0x7fffffffu);
            _key[i] = _key[i + (M - N)] ^ (y >> 1) ^ ((0u - (y & 1u)) & 0x9908b0dfu);
        }
        y = (_key[N - 1] & 0x80000000u) | (_key[0] & 0x7fffffffu);
        _key[N - 1] = _key[M - 1] ^ (y >> 1) ^ ((0u - (y & 1u)) & 0x9908b0dfu);
        _pos = 0;
    }

    /// <summary>The next 32-bit word.</summary>
    public uint NextUInt32()
    {
        if (_pos == N) Generate();
        uint y = _key[_pos++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return y;
    }

    /// <summary><c>rand()</c>: a double in [0, 1) with 53 random bits.</summary>
    public double Rand()
    {
        uint a = NextUInt32() >> 5, b = NextUInt32() >> 6;
        return (a * 67108864.0 + b) / 9007199254740992.0;
    }

    /// <summary><c>randint(low, high)</c>: an integer in [low, high) by numpy's masked rejection sampling.</summary>
    public int RandInt(int low, int high)
    {
        if (high <= low) throw new ArgumentOutOfRangeException(nameof(high), high, $"randint needs high > low ({low}).");
        uint range = (uint)(high - low - 1);
        if (range == 0) return low;
        uint mask = range;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        uint value;
        while ((value = NextUInt32() & mask) > range) { }
        return low + (int)value;
    }

    /// <summary><c>randint(high)</c>.</summary>
    public int RandInt(int high) => RandInt(0, high);
}
