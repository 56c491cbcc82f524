using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime;
using V512 = System.Runtime.Intrinsics.Vector512;
using V256 = System.Runtime.Intrinsics.Vector256;

namespace Reinforce.Tensors;

/// <summary>
/// tanh over spans with SIMD, for the policy network's hidden layers, where tanh is a third of the forward pass
/// (TensorPrimitives.Tanh is not vectorised for float). A minimax rational approximation p(x)/q(x) (numerator odd of
/// degree 13, denominator even of degree 6, as Eigen's fast tanh) on x clamped to ±7.9053, where float tanh is
/// already within half an ulp of ±1; the error is at most 3e-7 absolute over the whole line (checked in the tests).
/// </summary>
internal static class FastTanh
{
    private const float Clamp = 7.90531110763549805f;
    private const float A1 = 4.89352455891786e-03f, A3 = 6.37261928875436e-04f, A5 = 1.48572235717979e-05f, A7 = 5.12229709037114e-08f,
        A9 = -8.60467152213735e-11f, A11 = 2.00018790482477e-13f, A13 = -2.76076847742355e-16f;
    private const float B0 = 4.89352518554385e-03f, B2 = 2.26843463243900e-03f, B4 = 1.18534705686654e-04f, B6 = 1.19825839466702e-06f;

    /// <summary>tanh(x), the same approximation as the vector path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scalar(float x)
    {
        x = Math.Clamp(x, -Clamp, Clamp);
        float x2 = x * x;
        float p = MathF.FusedMultiplyAdd(x2, A13, A11);
        p = MathF.FusedMultiplyAdd(x2, p, A9);
        p = MathF.FusedMultiplyAdd(x2, p, A7);
        p = MathF.FusedMultiplyAdd(x2, p, A5);
        p = MathF.FusedMultiplyAdd(x2, p, A3);
        p = MathF.FusedMultiplyAdd(x2, p, A1) * x;
        float q = MathF.FusedMultiplyAdd(x2, B6, B4);
        q = MathF.FusedMultiplyAdd(x2, q, B2);
        q = MathF.FusedMultiplyAdd(x2, q, B0);
        return p / q;
    }

    /// <summary>z ← tanh(z).</summary>
    public static void InPlace(Span<float> z)
    {
        ref float start = ref MemoryMarshal.GetReference(z);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= z.Length - Vector512<float>.Count; i += Vector512<float>.Count)
                Tanh512(V512.LoadUnsafe(ref start, (nuint)i)).StoreUnsafe(ref start, (nuint)i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= z.Length - Vector256<float>.Count; i += Vector256<float>.Count)
                Tanh256(V256.LoadUnsafe(ref start, (nuint)i)).StoreUnsafe(ref start, (nuint)i);
        }
        for (; i < z.Length; i++) z[i] = Scalar(z[i]);
    }

    /// <summary>
    /// z ← tanh(z + b) row by row (b of one row's length), in one pass over a layer's product, for rows of 16, 32, 48 or
    /// 64 on AVX-512; false (nothing done) otherwise. Each element is the same rounded sum, then the same tanh, as adding
    /// the bias and calling <see cref="InPlace"/> (<see cref="Nn.ActivationFunction"/> does that when this declines).
    /// </summary>
    [BypassReadyToRun]
    public static bool TryBiasInPlace(Span<float> z, ReadOnlySpan<float> bias)
    {
        int cols = bias.Length;
        if (!Vector512.IsHardwareAccelerated || cols == 0 || cols % 16 != 0 || cols > 64 || z.Length % cols != 0) return false;
        int rows = z.Length / cols, blocks = cols / 16;
        ref float rz = ref MemoryMarshal.GetReference(z);
        ref float rb = ref MemoryMarshal.GetReference(bias);
        var b0 = V512.LoadUnsafe(ref rb);
        var b1 = blocks > 1 ? V512.LoadUnsafe(ref rb, 16) : default;
        var b2 = blocks > 2 ? V512.LoadUnsafe(ref rb, 32) : default;
        var b3 = blocks > 3 ? V512.LoadUnsafe(ref rb, 48) : default;
        for (int r = 0; r < rows; r++)
        {
            nuint at = (nuint)(r * cols);
            Tanh512(V512.LoadUnsafe(ref rz, at) + b0).StoreUnsafe(ref rz, at);
            if (blocks > 1) Tanh512(V512.LoadUnsafe(ref rz, at + 16) + b1).StoreUnsafe(ref rz, at + 16);
            if (blocks > 2) Tanh512(V512.LoadUnsafe(ref rz, at + 32) + b2).StoreUnsafe(ref rz, at + 32);
            if (blocks > 3) Tanh512(V512.LoadUnsafe(ref rz, at + 48) + b3).StoreUnsafe(ref rz, at + 48);
        }
        return true;
    }

    /// <summary>The gradient through tanh written from its output: dz = g·(1 − y²).</summary>
    public static void Backward(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> dz)
    {
        ref float ry = ref MemoryMarshal.GetReference(y);
        ref float rg = ref MemoryMarshal.GetReference(g);
        ref float rz = ref MemoryMarshal.GetReference(dz);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= y.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var vy = Vector512.LoadUnsafe(ref ry, (nuint)i);
                var vg = Vector512.LoadUnsafe(ref rg, (nuint)i);
                (vg - vg * vy * vy).StoreUnsafe(ref rz, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= y.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var vy = Vector256.LoadUnsafe(ref ry, (nuint)i);
                var vg = Vector256.LoadUnsafe(ref rg, (nuint)i);
                (vg - vg * vy * vy).StoreUnsafe(ref rz, (nuint)i);
            }
        }
        for (; i < y.Length; i++) dz[i] = g[i] - g[i] * y[i] * y[i];
    }

    /// <summary>
    /// <see cref="Backward"/> and, in the same pass, columnSums[j] += Σ_r dz[r, j] over rows of <paramref name="cols"/>
    /// (a bias gradient), for rows of 16, 32, 48 or 64 on AVX-512; false (nothing done) otherwise. Each sum adds the rows
    /// in order, as <see cref="Kernels.SumRows"/> does, so the results are the same bits as the two passes one after
    /// the other (<see cref="Nn.ActivationFunction"/> runs those when this declines).
    /// </summary>
    [BypassReadyToRun]
    public static bool TryBackwardWithColumnSums(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> dz, Span<float> columnSums, int cols)
    {
        if (!Vector512.IsHardwareAccelerated || cols <= 0 || cols % 16 != 0 || cols > 64 || y.Length % cols != 0
            || g.Length < y.Length || dz.Length < y.Length || columnSums.Length < cols)
            return false;
        ref float ry = ref MemoryMarshal.GetReference(y);
        ref float rg = ref MemoryMarshal.GetReference(g);
        ref float rz = ref MemoryMarshal.GetReference(dz);
        ref float rs = ref MemoryMarshal.GetReference(columnSums);
        int blocks = cols / 16, rows = y.Length / cols;
        var acc0 = Vector512.LoadUnsafe(ref rs);
        var acc1 = blocks > 1 ? Vector512.LoadUnsafe(ref rs, 16) : default;
        var acc2 = blocks > 2 ? Vector512.LoadUnsafe(ref rs, 32) : default;
        var acc3 = blocks > 3 ? Vector512.LoadUnsafe(ref rs, 48) : default;
        for (int r = 0; r < rows; r++)
        {
            nuint at = (nuint)(r * cols);
            acc0 += Derivative512(ref ry, ref rg, ref rz, at);
            if (blocks > 1) acc1 += Derivative512(ref ry, ref rg, ref rz, at + 16);
            if (blocks > 2) acc2 += Derivative512(ref ry, ref rg, ref rz, at + 32);
            if (blocks > 3) acc3 += Derivative512(ref ry, ref rg, ref rz, at + 48);
        }
        acc0.StoreUnsafe(ref rs);
        if (blocks > 1) acc1.StoreUnsafe(ref rs, 16);
        if (blocks > 2) acc2.StoreUnsafe(ref rs, 32);
        if (blocks > 3) acc3.StoreUnsafe(ref rs, 48);
        return true;
    }

    /// <summary>dz = g − g·y·y for sixteen elements at <paramref name="at"/>, stored and returned.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Derivative512(ref float y, ref float g, ref float dz, nuint at)
    {
        var vy = Vector512.LoadUnsafe(ref y, at);
        var vg = Vector512.LoadUnsafe(ref g, at);
        var d = vg - vg * vy * vy;
        d.StoreUnsafe(ref dz, at);
        return d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Tanh512(Vector512<float> x)
    {
        x = V512.Min(V512.Max(x, V512.Create(-Clamp)), V512.Create(Clamp));
        var x2 = x * x;
        var p = V512.FusedMultiplyAdd(x2, V512.Create(A13), V512.Create(A11));
        p = V512.FusedMultiplyAdd(x2, p, V512.Create(A9));
        p = V512.FusedMultiplyAdd(x2, p, V512.Create(A7));
        p = V512.FusedMultiplyAdd(x2, p, V512.Create(A5));
        p = V512.FusedMultiplyAdd(x2, p, V512.Create(A3));
        p = V512.FusedMultiplyAdd(x2, p, V512.Create(A1)) * x;
        var q = V512.FusedMultiplyAdd(x2, V512.Create(B6), V512.Create(B4));
        q = V512.FusedMultiplyAdd(x2, q, V512.Create(B2));
        q = V512.FusedMultiplyAdd(x2, q, V512.Create(B0));
        return p / q;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Tanh256(Vector256<float> x)
    {
        x = V256.Min(V256.Max(x, V256.Create(-Clamp)), V256.Create(Clamp));
        var x2 = x * x;
        var p = V256.FusedMultiplyAdd(x2, V256.Create(A13), V256.Create(A11));
        p = V256.FusedMultiplyAdd(x2, p, V256.Create(A9));
        p = V256.FusedMultiplyAdd(x2, p, V256.Create(A7));
        p = V256.FusedMultiplyAdd(x2, p, V256.Create(A5));
        p = V256.FusedMultiplyAdd(x2, p, V256.Create(A3));
        p = V256.FusedMultiplyAdd(x2, p, V256.Create(A1)) * x;
        var q = V256.FusedMultiplyAdd(x2, V256.Create(B6), V256.Create(B4));
        q = V256.FusedMultiplyAdd(x2, q, V256.Create(B2));
        q = V256.FusedMultiplyAdd(x2, q, V256.Create(B0));
        return p / q;
    }
}
