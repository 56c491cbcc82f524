using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Runtime;

namespace Reinforce.Tensors;

/// <summary>
/// The C library's <c>expf</c> and <c>log</c>, bit for bit, in C# — one at a time and eight at a time — so the hot
/// loops that need them (log-softmax over a few actions, forward and backward) stop paying a call per element while
/// every result stays the bits <see cref="MathF.Exp"/> and <see cref="Math.Log(double)"/> give on glibc ≥ 2.28 x86-64
/// with FMA (Debian 12's glibc 2.36 here). These are the ARM optimized-routines algorithms glibc ships: expf evaluates
/// 2^(k/32)·2^(r/32) in double with a 32-entry table and a cubic; log splits x = 2^k·z, looks up 1/c and log c in a
/// 128-entry table and adds a degree-5 polynomial of r = z/c − 1, with a separate degree-11 polynomial for x within
/// [1 − 2⁻⁴, 1 + 0x1.09p−4]. The operations below follow libm's compiled instruction order (which multiply-adds the
/// compiler fused), read from its disassembly; the tables come from libm itself (tools/glibc-math/dump_tables.sh).
/// Rare inputs (overflow and underflow of expf, log of zero, negatives, infinities, NaN) go to the library itself.
/// The tests compare every float through both functions (LibmTests; exhaustively with REINFORCE_LIBM_EXHAUSTIVE=1).
/// </summary>
internal static unsafe class Libm
{
    private static readonly ulong[] E = LibmTables.Exp2f, L = LibmTables.Log;

    // expf: the table (32 words), shift_scaled, poly[3], then the constants used below.
    private static readonly double InvLn2N = BitConverter.UInt64BitsToDouble(E[36]);
    private static readonly double C0 = BitConverter.UInt64BitsToDouble(E[37]), C1 = BitConverter.UInt64BitsToDouble(E[38]),
        C2 = BitConverter.UInt64BitsToDouble(E[39]);
    private static readonly double Shift = BitConverter.UInt64BitsToDouble(E[40]);

    // log: ln2hi, ln2lo, A[5] (main path), B[11] (near 1), then (invc, logc) × 128 from word 18.
    private static readonly double Ln2Hi = D(L[0]), Ln2Lo = D(L[1]);
    private static readonly double A0 = D(L[2]), A1 = D(L[3]), A2 = D(L[4]), A3 = D(L[5]), A4 = D(L[6]);
    private static readonly double B0 = D(L[7]), B1 = D(L[8]), B2 = D(L[9]), B3 = D(L[10]), B4 = D(L[11]), B5 = D(L[12]),
        B6 = D(L[13]), B7 = D(L[14]), B8 = D(L[15]), B9 = D(L[16]), B10 = D(L[17]);
    private const ulong NearOneLow = 0x3fee000000000000UL;        // 1 − 2⁻⁴
    private const ulong NearOneSpan = 0x3ff1090000000000UL - NearOneLow;   // up to 1 + 0x1.09p−4 (exclusive)
    private const ulong TableOffset = 0x3fe6000000000000UL;
    private const double TwoTo27 = 134217728.0;

    private static double D(ulong bits) => BitConverter.UInt64BitsToDouble(bits);

    /// <summary>e^x with glibc's bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Expf(float x)
    {
        uint abstop = (BitConverter.SingleToUInt32Bits(x) >> 20) & 0x7ff;
        if (abstop > 0x42a) return MathF.Exp(x);   // |x| ≥ 88, infinities and NaN: overflow/underflow handling
        double xd = x;
        double kd = Math.FusedMultiplyAdd(InvLn2N, xd, Shift);
        ulong ki = BitConverter.DoubleToUInt64Bits(kd);
        kd -= Shift;
        double r = Math.FusedMultiplyAdd(InvLn2N, xd, -kd);
        double s = BitConverter.UInt64BitsToDouble(E[(int)(ki & 31)] + (ki << 47));
        double z = Math.FusedMultiplyAdd(r, C0, C1);
        double r2 = r * r;
        double y = Math.FusedMultiplyAdd(r, C2, 1.0);
        y = Math.FusedMultiplyAdd(z, r2, y);
        return (float)(y * s);
    }

    /// <summary>log x with glibc's bits.</summary>
    [BypassReadyToRun]
    public static double Log(double x)
    {
        ulong ix = BitConverter.DoubleToUInt64Bits(x);
        if (ix - NearOneLow < NearOneSpan) return LogNearOne(x);
        if ((uint)(ix >> 48) - 0x10u > 0x7fdfu) return Math.Log(x);   // zero, subnormal, negative, infinity, NaN
        ulong tmp = ix - TableOffset;
        int i = (int)((tmp >> 45) & 0x7f);
        double kd = (int)((long)tmp >> 52);
        double z = BitConverter.UInt64BitsToDouble(ix - (tmp & 0xfff0000000000000UL));
        double invc = D(L[18 + 2 * i]), logc = D(L[19 + 2 * i]);
        double w = Math.FusedMultiplyAdd(kd, Ln2Hi, logc);
        double r = Math.FusedMultiplyAdd(z, invc, -1.0);
        double a = Math.FusedMultiplyAdd(r, A2, A1);
        double hi = r + w;
        double r2 = r * r;
        double lo = Math.FusedMultiplyAdd(kd, Ln2Lo, (w - hi) + r);
        double r3 = r * r2;
        double b = Math.FusedMultiplyAdd(r, A4, A3);
        lo = Math.FusedMultiplyAdd(r2, A0, lo);
        b = Math.FusedMultiplyAdd(b, r2, a);
        return Math.FusedMultiplyAdd(r3, b, lo) + hi;
    }

    [BypassReadyToRun]
    private static double LogNearOne(double x)
    {
        double r = x - 1.0;
        double p = Math.FusedMultiplyAdd(r, B2, B1);
        double q = Math.FusedMultiplyAdd(r, B5, B4);
        double r2 = r * r;
        double u = Math.FusedMultiplyAdd(r, B8, B7);
        p = Math.FusedMultiplyAdd(r2, B3, p);
        q = Math.FusedMultiplyAdd(r2, B6, q);
        double r3 = r * r2;
        double v = Math.FusedMultiplyAdd(r2, B9, u);
        v = Math.FusedMultiplyAdd(r3, B10, v);
        v = Math.FusedMultiplyAdd(v, r3, q);
        v = Math.FusedMultiplyAdd(v, r3, p);
        // r split into a high part with 26 bits and the rest, so r − r²/2 is exact enough.
        double rhi = Math.FusedMultiplyAdd(-TwoTo27, r, Math.FusedMultiplyAdd(r, TwoTo27, r));
        double rhi2 = rhi * rhi;
        double rlo = r - rhi;
        double hi = Math.FusedMultiplyAdd(rhi2, B0, r);
        double lo = Math.FusedMultiplyAdd(rhi2, B0, r - hi);
        lo = Math.FusedMultiplyAdd(B0 * rlo, r + rhi, lo);
        return hi + Math.FusedMultiplyAdd(v, r3, lo);
    }

    /// <summary>y = e^x element by element, with <see cref="Expf(float)"/>'s bits. y may be x.</summary>
    [BypassReadyToRun]
    public static void Expf(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException($"Libm.Expf: {y.Length} outputs for {x.Length} inputs.");
        int i = 0;
        if (Vectorised)
        {
            ref float rx = ref MemoryMarshal.GetReference(x);
            ref float ry = ref MemoryMarshal.GetReference(y);
            for (; i <= x.Length - 16; i += 16) Expf(Vector512.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        }
        for (; i < x.Length; i++) y[i] = Expf(x[i]);
    }

    /// <summary>Whether the sixteen-lane functions (<see cref="Expf(Vector512{float})"/>, <see cref="LogOfFloats(Vector512{float})"/>) run as vectors here.</summary>
    public static bool Vectorised => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    private static readonly Vector512<ulong> T0 = Vector512.Create(E[0], E[1], E[2], E[3], E[4], E[5], E[6], E[7]),
        T1 = Vector512.Create(E[8], E[9], E[10], E[11], E[12], E[13], E[14], E[15]),
        T2 = Vector512.Create(E[16], E[17], E[18], E[19], E[20], E[21], E[22], E[23]),
        T3 = Vector512.Create(E[24], E[25], E[26], E[27], E[28], E[29], E[30], E[31]);

    /// <summary>
    /// e^x in each of sixteen lanes, with <see cref="Expf(float)"/>'s bits: eight doubles at a time, or lane by lane
    /// when a lane needs the library's overflow and underflow handling. Only where <see cref="Vectorised"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Expf(Vector512<float> x)
    {
        var abstop = (x.AsUInt32() >>> 20) & Vector512.Create(0x7ffu);
        if (Vector512.GreaterThanAny(abstop, Vector512.Create(0x42au))) return EachLane(x, &Expf);
        var (lo, hi) = Vector512.Widen(x);
        return Vector512.Narrow(Expf8(lo, T0, T1, T2, T3), Expf8(hi, T0, T1, T2, T3));
    }

    private static unsafe Vector512<float> EachLane(Vector512<float> x, delegate*<float, float> f)
    {
        var lanes = stackalloc float[16];
        x.Store(lanes);
        for (int j = 0; j < 16; j++) lanes[j] = f(lanes[j]);
        return Vector512.Load(lanes);
    }

    private static float LogOfFloat(float x) => (float)Log(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Expf8(Vector512<double> xd, Vector512<ulong> t0, Vector512<ulong> t1, Vector512<ulong> t2, Vector512<ulong> t3)
    {
        var invLn2N = Vector512.Create(InvLn2N);
        var shift = Vector512.Create(Shift);
        var kd = Vector512.FusedMultiplyAdd(invLn2N, xd, shift);
        var ki = kd.AsUInt64();
        kd -= shift;
        var r = Vector512.FusedMultiplyAdd(invLn2N, xd, -kd);
        // tab[ki % 32]: two 16-entry permutes, chosen by bit 4 of the index.
        var index = ki & Vector512.Create(15UL);
        var low = Avx512F.PermuteVar8x64x2(t0, index, t1);
        var high = Avx512F.PermuteVar8x64x2(t2, index, t3);
        var tab = Vector512.ConditionalSelect(Vector512.Equals(ki & Vector512.Create(16UL), Vector512<ulong>.Zero), low, high);
        var s = (tab + (ki << 47)).AsDouble();
        var z = Vector512.FusedMultiplyAdd(r, Vector512.Create(C0), Vector512.Create(C1));
        var r2 = r * r;
        var p = Vector512.FusedMultiplyAdd(r, Vector512.Create(C2), Vector512<double>.One);
        p = Vector512.FusedMultiplyAdd(z, r2, p);
        return p * s;
    }

    /// <summary>y = (float)log((double)x) element by element, with <see cref="Log(double)"/>'s bits. y may be x.</summary>
    public static void LogOfFloats(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException($"Libm.LogOfFloats: {y.Length} outputs for {x.Length} inputs.");
        int i = 0;
        if (Vectorised)
        {
            ref float rx = ref MemoryMarshal.GetReference(x);
            ref float ry = ref MemoryMarshal.GetReference(y);
            for (; i <= x.Length - 16; i += 16) LogOfFloats(Vector512.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        }
        for (; i < x.Length; i++) y[i] = (float)Log(x[i]);
    }

    /// <summary>
    /// (float)log((double)x) in each of sixteen lanes, with <see cref="Log(double)"/>'s bits: eight doubles at a time, or
    /// lane by lane when a lane is zero, negative, subnormal, infinite or NaN. Only where <see cref="Vectorised"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> LogOfFloats(Vector512<float> x)
    {
        var (lo, hi) = Vector512.Widen(x);
        fixed (ulong* table = L)
        {
            if (TryLog8(lo, (double*)table, out var logLo) && TryLog8(hi, (double*)table, out var logHi)) return Vector512.Narrow(logLo, logHi);
        }
        return EachLane(x, &LogOfFloat);
    }

    /// <summary>log of eight doubles, false if any is zero, negative, subnormal, infinite or NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe bool TryLog8(Vector512<double> x, double* table, out Vector512<double> result)
    {
        var ix = x.AsUInt64();
        if (Vector512.GreaterThanAny((ix >>> 48) - Vector512.Create(0x10UL), Vector512.Create(0x7fdfUL)))
        {
            result = default;
            return false;
        }
        // The main path for every lane.
        var tmp = ix - Vector512.Create(TableOffset);
        var i = ((tmp >>> 45) & Vector512.Create(0x7fUL)).AsInt64();
        var kd = Vector512.ConvertToDouble(tmp.AsInt64() >> 52);
        var z = (ix - (tmp & Vector512.Create(0xfff0000000000000UL))).AsDouble();
        // invc at word 18 + 2i, logc at 19 + 2i: gathered four at a time.
        var word = Vector512.Narrow(i + i + Vector512.Create(18L), Vector512<long>.Zero).GetLower().AsInt32();
        var invc = Vector512.Create(Avx2.GatherVector256(table, word.GetLower(), 8), Avx2.GatherVector256(table, word.GetUpper(), 8));
        var logc = Vector512.Create(Avx2.GatherVector256(table + 1, word.GetLower(), 8), Avx2.GatherVector256(table + 1, word.GetUpper(), 8));
        var w = Vector512.FusedMultiplyAdd(kd, Vector512.Create(Ln2Hi), logc);
        var r = Vector512.FusedMultiplyAdd(z, invc, Vector512.Create(-1.0));
        var a = Vector512.FusedMultiplyAdd(r, Vector512.Create(A2), Vector512.Create(A1));
        var hi = r + w;
        var r2 = r * r;
        var lo = Vector512.FusedMultiplyAdd(kd, Vector512.Create(Ln2Lo), (w - hi) + r);
        var r3 = r * r2;
        var b = Vector512.FusedMultiplyAdd(r, Vector512.Create(A4), Vector512.Create(A3));
        lo = Vector512.FusedMultiplyAdd(r2, Vector512.Create(A0), lo);
        b = Vector512.FusedMultiplyAdd(b, r2, a);
        var main = Vector512.FusedMultiplyAdd(r3, b, lo) + hi;
        var near = Vector512.LessThan(ix - Vector512.Create(NearOneLow), Vector512.Create(NearOneSpan));
        result = near == Vector512<ulong>.Zero ? main : Vector512.ConditionalSelect(near.AsDouble(), LogNearOne8(x), main);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> LogNearOne8(Vector512<double> x)
    {
        var r = x - Vector512<double>.One;
        var p = Vector512.FusedMultiplyAdd(r, Vector512.Create(B2), Vector512.Create(B1));
        var q = Vector512.FusedMultiplyAdd(r, Vector512.Create(B5), Vector512.Create(B4));
        var r2 = r * r;
        var u = Vector512.FusedMultiplyAdd(r, Vector512.Create(B8), Vector512.Create(B7));
        p = Vector512.FusedMultiplyAdd(r2, Vector512.Create(B3), p);
        q = Vector512.FusedMultiplyAdd(r2, Vector512.Create(B6), q);
        var r3 = r * r2;
        var v = Vector512.FusedMultiplyAdd(r2, Vector512.Create(B9), u);
        v = Vector512.FusedMultiplyAdd(r3, Vector512.Create(B10), v);
        v = Vector512.FusedMultiplyAdd(v, r3, q);
        v = Vector512.FusedMultiplyAdd(v, r3, p);
        var twoTo27 = Vector512.Create(TwoTo27);
        var rhi = Vector512.FusedMultiplyAdd(-twoTo27, r, Vector512.FusedMultiplyAdd(r, twoTo27, r));
        var rhi2 = rhi * rhi;
        var rlo = r - rhi;
        var b0 = Vector512.Create(B0);
        var hi = Vector512.FusedMultiplyAdd(rhi2, b0, r);
        var lo = Vector512.FusedMultiplyAdd(rhi2, b0, r - hi);
        lo = Vector512.FusedMultiplyAdd(b0 * rlo, r + rhi, lo);
        return hi + Vector512.FusedMultiplyAdd(v, r3, lo);
    }
}
