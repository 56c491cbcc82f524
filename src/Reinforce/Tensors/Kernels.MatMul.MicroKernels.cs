using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Reinforce.Tensors;

public static partial class Kernels
{
    /// <summary>
    /// A register-blocked matrix-multiply micro-kernel: one Mr×Nr tile of C from Mr rows of A (a packed panel, or A
    /// where it lies) and a B micro-panel whose row p is b[p * bStride .. + Nr].
    /// Every implementation computes each element the same way — acc = 0; acc = fma(a, b, acc) for p = 0, 1, ...;
    /// then C = acc (overwrite) or C = C + acc — so all of them give identical bits.
    /// </summary>
    internal interface IMicroKernel
    {
        /// <summary>Rows of the tile.</summary>
        static abstract int Mr { get; }

        /// <summary>Columns of the tile.</summary>
        static abstract int Nr { get; }

        /// <summary>Whether the hardware runs this kernel's vectors natively.</summary>
        static abstract bool IsSupported { get; }

        /// <summary>
        /// C[r, j] (+)= Σ_{p &lt; kc} A(r, p) · b[p * bStride + j] for r &lt; Mr, j &lt; Nr, C rows ldc apart, with
        /// A(r, p) = a[r * aRowStride + p * aColStride]: (1, Mr) for a packed panel, (K, 1) for A read in place from
        /// [M, K] storage, (1, M) from [K, M] storage. The same multiply-adds in the same order whatever the strides.
        /// </summary>
        static abstract unsafe void Run(int kc, float* a, nint aRowStride, nint aColStride, float* b, nint bStride, float* c, nint ldc, bool overwrite);
    }

    /// <summary>The rows of a <see cref="Vector512Kernel{TRows}"/> tile, as a type so each tile height is compiled on its own.</summary>
    internal interface ITileRows
    {
        /// <summary>Rows of the tile.</summary>
        static abstract int Count { get; }
    }

    /// <summary>The full tile's 8 rows.</summary>
    internal readonly struct EightRows : ITileRows { public static int Count => 8; }

    /// <summary>4 rows: a product of three or four rows (a first layer's weight gradient over 3 or 4 observations, computed transposed).</summary>
    internal readonly struct FourRows : ITileRows { public static int Count => 4; }

    /// <summary>2 rows: a product of one or two rows at most 32 columns wide (a head's weight gradient over a 32-wide layer).</summary>
    internal readonly struct TwoRows : ITileRows { public static int Count => 2; }

    /// <summary>
    /// Vector512 (AVX-512): a <typeparamref name="TRows"/>×32 tile, two Vector512 accumulators per row (16 for the full
    /// 8 rows). A product of only one to four rows takes a 2- or 4-row tile instead of the 8-row one, whose padding rows
    /// would be packed and computed. The row count is a type argument, so each instantiation is compiled with its own
    /// rows only (the branches on it are constants to the JIT).
    /// </summary>
    internal readonly struct Vector512Kernel<TRows> : IMicroKernel where TRows : struct, ITileRows
    {
        public static int Mr => TRows.Count;
        public static int Nr => 32;
        public static bool IsSupported => Vector512.IsHardwareAccelerated;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void Run(int kc, float* a, nint aRowStride, nint aColStride, float* b, nint bStride, float* c, nint ldc, bool overwrite)
        {
            var c00 = Vector512<float>.Zero; var c01 = Vector512<float>.Zero;
            var c10 = Vector512<float>.Zero; var c11 = Vector512<float>.Zero;
            var c20 = Vector512<float>.Zero; var c21 = Vector512<float>.Zero;
            var c30 = Vector512<float>.Zero; var c31 = Vector512<float>.Zero;
            var c40 = Vector512<float>.Zero; var c41 = Vector512<float>.Zero;
            var c50 = Vector512<float>.Zero; var c51 = Vector512<float>.Zero;
            var c60 = Vector512<float>.Zero; var c61 = Vector512<float>.Zero;
            var c70 = Vector512<float>.Zero; var c71 = Vector512<float>.Zero;
            nint o1 = 1 * aRowStride, o2 = 2 * aRowStride, o3 = 3 * aRowStride, o4 = 4 * aRowStride, o5 = 5 * aRowStride, o6 = 6 * aRowStride, o7 = 7 * aRowStride;
            for (int p = 0; p < kc; p++)
            {
                var b0 = Vector512.Load(b);
                var b1 = Vector512.Load(b + 16);
                var a0 = Vector512.Create(a[0]);
                c00 = Vector512.FusedMultiplyAdd(a0, b0, c00); c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector512.Create(a[o1]);
                c10 = Vector512.FusedMultiplyAdd(a1, b0, c10); c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
                if (TRows.Count > 2)
                {
                    var a2 = Vector512.Create(a[o2]);
                    c20 = Vector512.FusedMultiplyAdd(a2, b0, c20); c21 = Vector512.FusedMultiplyAdd(a2, b1, c21);
                    var a3 = Vector512.Create(a[o3]);
                    c30 = Vector512.FusedMultiplyAdd(a3, b0, c30); c31 = Vector512.FusedMultiplyAdd(a3, b1, c31);
                }
                if (TRows.Count > 4)
                {
                    var a4 = Vector512.Create(a[o4]);
                    c40 = Vector512.FusedMultiplyAdd(a4, b0, c40); c41 = Vector512.FusedMultiplyAdd(a4, b1, c41);
                    var a5 = Vector512.Create(a[o5]);
                    c50 = Vector512.FusedMultiplyAdd(a5, b0, c50); c51 = Vector512.FusedMultiplyAdd(a5, b1, c51);
                    var a6 = Vector512.Create(a[o6]);
                    c60 = Vector512.FusedMultiplyAdd(a6, b0, c60); c61 = Vector512.FusedMultiplyAdd(a6, b1, c61);
                    var a7 = Vector512.Create(a[o7]);
                    c70 = Vector512.FusedMultiplyAdd(a7, b0, c70); c71 = Vector512.FusedMultiplyAdd(a7, b1, c71);
                }
                a += aColStride;
                b += bStride;
            }
            // One test of overwrite for the whole tile, then its rows: C = acc, or C = C + acc.
            if (overwrite)
            {
                PutRow(c, c00, c01); PutRow(c + ldc, c10, c11);
                if (TRows.Count > 2) { PutRow(c + 2 * ldc, c20, c21); PutRow(c + 3 * ldc, c30, c31); }
                if (TRows.Count > 4) { PutRow(c + 4 * ldc, c40, c41); PutRow(c + 5 * ldc, c50, c51); PutRow(c + 6 * ldc, c60, c61); PutRow(c + 7 * ldc, c70, c71); }
            }
            else
            {
                AddRow(c, c00, c01); AddRow(c + ldc, c10, c11);
                if (TRows.Count > 2) { AddRow(c + 2 * ldc, c20, c21); AddRow(c + 3 * ldc, c30, c31); }
                if (TRows.Count > 4) { AddRow(c + 4 * ldc, c40, c41); AddRow(c + 5 * ldc, c50, c51); AddRow(c + 6 * ldc, c60, c61); AddRow(c + 7 * ldc, c70, c71); }
            }
        }
    }

    /// <summary>32 floats of an AVX-512 tile's row written: C = acc (the tiles' epilogue, <see cref="AddRow"/> for C = C + acc).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PutRow(float* c, Vector512<float> left, Vector512<float> right)
    {
        left.Store(c);
        right.Store(c + 16);
    }

    /// <summary>32 floats of an AVX-512 tile's row added: C = C + acc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddRow(float* c, Vector512<float> left, Vector512<float> right)
    {
        (Vector512.Load(c) + left).Store(c);
        (Vector512.Load(c + 16) + right).Store(c + 16);
    }

    /// <summary>
    /// Vector512 (AVX-512) for a product of one or two rows more than 32 columns wide (a policy or value head computed
    /// transposed: its 2 logits or 1 value as rows, the batch as columns; or a head's weight gradient over a 64-wide
    /// layer): a 2×64 tile in 8 accumulators, enough chains in flight to keep both multiply-add units busy, where
    /// <see cref="Vector512Kernel{TRows}"/>'s 2×32 tile has 4.
    /// </summary>
    internal readonly struct Vector512WideTwoRowKernel : IMicroKernel
    {
        public static int Mr => 2;
        public static int Nr => 64;
        public static bool IsSupported => Vector512.IsHardwareAccelerated;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void Run(int kc, float* a, nint aRowStride, nint aColStride, float* b, nint bStride, float* c, nint ldc, bool overwrite)
        {
            var c00 = Vector512<float>.Zero; var c01 = Vector512<float>.Zero; var c02 = Vector512<float>.Zero; var c03 = Vector512<float>.Zero;
            var c10 = Vector512<float>.Zero; var c11 = Vector512<float>.Zero; var c12 = Vector512<float>.Zero; var c13 = Vector512<float>.Zero;
            for (int p = 0; p < kc; p++)
            {
                var b0 = Vector512.Load(b);
                var b1 = Vector512.Load(b + 16);
                var b2 = Vector512.Load(b + 32);
                var b3 = Vector512.Load(b + 48);
                var a0 = Vector512.Create(a[0]);
                c00 = Vector512.FusedMultiplyAdd(a0, b0, c00); c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
                c02 = Vector512.FusedMultiplyAdd(a0, b2, c02); c03 = Vector512.FusedMultiplyAdd(a0, b3, c03);
                var a1 = Vector512.Create(a[aRowStride]);
                c10 = Vector512.FusedMultiplyAdd(a1, b0, c10); c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
                c12 = Vector512.FusedMultiplyAdd(a1, b2, c12); c13 = Vector512.FusedMultiplyAdd(a1, b3, c13);
                a += aColStride;
                b += bStride;
            }
            if (overwrite)
            {
                PutRow(c, c00, c01); PutRow(c + 32, c02, c03);
                PutRow(c + ldc, c10, c11); PutRow(c + ldc + 32, c12, c13);
            }
            else
            {
                AddRow(c, c00, c01); AddRow(c + 32, c02, c03);
                AddRow(c + ldc, c10, c11); AddRow(c + ldc + 32, c12, c13);
            }
        }
    }

    /// <summary>Vector256 (AVX2): a 6×16 tile held in 12 Vector256 accumulators.</summary>
    internal readonly struct Vector256Kernel : IMicroKernel
    {
        public static int Mr => 6;
        public static int Nr => 16;
        public static bool IsSupported => Vector256.IsHardwareAccelerated;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void Run(int kc, float* a, nint aRowStride, nint aColStride, float* b, nint bStride, float* c, nint ldc, bool overwrite)
        {
            var c00 = Vector256<float>.Zero; var c01 = Vector256<float>.Zero;
            var c10 = Vector256<float>.Zero; var c11 = Vector256<float>.Zero;
            var c20 = Vector256<float>.Zero; var c21 = Vector256<float>.Zero;
            var c30 = Vector256<float>.Zero; var c31 = Vector256<float>.Zero;
            var c40 = Vector256<float>.Zero; var c41 = Vector256<float>.Zero;
            var c50 = Vector256<float>.Zero; var c51 = Vector256<float>.Zero;
            nint o1 = 1 * aRowStride, o2 = 2 * aRowStride, o3 = 3 * aRowStride, o4 = 4 * aRowStride, o5 = 5 * aRowStride;
            for (int p = 0; p < kc; p++)
            {
                var b0 = Vector256.Load(b);
                var b1 = Vector256.Load(b + 8);
                var a0 = Vector256.Create(a[0]);
                c00 = Vector256.FusedMultiplyAdd(a0, b0, c00); c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector256.Create(a[o1]);
                c10 = Vector256.FusedMultiplyAdd(a1, b0, c10); c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector256.Create(a[o2]);
                c20 = Vector256.FusedMultiplyAdd(a2, b0, c20); c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector256.Create(a[o3]);
                c30 = Vector256.FusedMultiplyAdd(a3, b0, c30); c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector256.Create(a[o4]);
                c40 = Vector256.FusedMultiplyAdd(a4, b0, c40); c41 = Vector256.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector256.Create(a[o5]);
                c50 = Vector256.FusedMultiplyAdd(a5, b0, c50); c51 = Vector256.FusedMultiplyAdd(a5, b1, c51);
                a += aColStride;
                b += bStride;
            }
            if (overwrite)
            {
                c00.Store(c); c01.Store(c + 8);
                c10.Store(c + ldc); c11.Store(c + ldc + 8);
                c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + 8);
                c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + 8);
                c40.Store(c + 4 * ldc); c41.Store(c + 4 * ldc + 8);
                c50.Store(c + 5 * ldc); c51.Store(c + 5 * ldc + 8);
            }
            else
            {
                (Vector256.Load(c) + c00).Store(c); (Vector256.Load(c + 8) + c01).Store(c + 8);
                (Vector256.Load(c + ldc) + c10).Store(c + ldc); (Vector256.Load(c + ldc + 8) + c11).Store(c + ldc + 8);
                (Vector256.Load(c + 2 * ldc) + c20).Store(c + 2 * ldc); (Vector256.Load(c + 2 * ldc + 8) + c21).Store(c + 2 * ldc + 8);
                (Vector256.Load(c + 3 * ldc) + c30).Store(c + 3 * ldc); (Vector256.Load(c + 3 * ldc + 8) + c31).Store(c + 3 * ldc + 8);
                (Vector256.Load(c + 4 * ldc) + c40).Store(c + 4 * ldc); (Vector256.Load(c + 4 * ldc + 8) + c41).Store(c + 4 * ldc + 8);
                (Vector256.Load(c + 5 * ldc) + c50).Store(c + 5 * ldc); (Vector256.Load(c + 5 * ldc + 8) + c51).Store(c + 5 * ldc + 8);
            }
        }
    }

    /// <summary>Vector128 (SSE, NEON): a 6×8 tile held in 12 Vector128 accumulators.</summary>
    internal readonly struct Vector128Kernel : IMicroKernel
    {
        public static int Mr => 6;
        public static int Nr => 8;
        public static bool IsSupported => Vector128.IsHardwareAccelerated;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void Run(int kc, float* a, nint aRowStride, nint aColStride, float* b, nint bStride, float* c, nint ldc, bool overwrite)
        {
            var c00 = Vector128<float>.Zero; var c01 = Vector128<float>.Zero;
            var c10 = Vector128<float>.Zero; var c11 = Vector128<float>.Zero;
            var c20 = Vector128<float>.Zero; var c21 = Vector128<float>.Zero;
            var c30 = Vector128<float>.Zero; var c31 = Vector128<float>.Zero;
            var c40 = Vector128<float>.Zero; var c41 = Vector128<float>.Zero;
            var c50 = Vector128<float>.Zero; var c51 = Vector128<float>.Zero;
            nint o1 = 1 * aRowStride, o2 = 2 * aRowStride, o3 = 3 * aRowStride, o4 = 4 * aRowStride, o5 = 5 * aRowStride;
            for (int p = 0; p < kc; p++)
            {
                var b0 = Vector128.Load(b);
                var b1 = Vector128.Load(b + 4);
                var a0 = Vector128.Create(a[0]);
                c00 = Vector128.FusedMultiplyAdd(a0, b0, c00); c01 = Vector128.FusedMultiplyAdd(a0, b1, c01);
                var a1 = Vector128.Create(a[o1]);
                c10 = Vector128.FusedMultiplyAdd(a1, b0, c10); c11 = Vector128.FusedMultiplyAdd(a1, b1, c11);
                var a2 = Vector128.Create(a[o2]);
                c20 = Vector128.FusedMultiplyAdd(a2, b0, c20); c21 = Vector128.FusedMultiplyAdd(a2, b1, c21);
                var a3 = Vector128.Create(a[o3]);
                c30 = Vector128.FusedMultiplyAdd(a3, b0, c30); c31 = Vector128.FusedMultiplyAdd(a3, b1, c31);
                var a4 = Vector128.Create(a[o4]);
                c40 = Vector128.FusedMultiplyAdd(a4, b0, c40); c41 = Vector128.FusedMultiplyAdd(a4, b1, c41);
                var a5 = Vector128.Create(a[o5]);
                c50 = Vector128.FusedMultiplyAdd(a5, b0, c50); c51 = Vector128.FusedMultiplyAdd(a5, b1, c51);
                a += aColStride;
                b += bStride;
            }
            if (overwrite)
            {
                c00.Store(c); c01.Store(c + 4);
                c10.Store(c + ldc); c11.Store(c + ldc + 4);
                c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + 4);
                c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + 4);
                c40.Store(c + 4 * ldc); c41.Store(c + 4 * ldc + 4);
                c50.Store(c + 5 * ldc); c51.Store(c + 5 * ldc + 4);
            }
            else
            {
                (Vector128.Load(c) + c00).Store(c); (Vector128.Load(c + 4) + c01).Store(c + 4);
                (Vector128.Load(c + ldc) + c10).Store(c + ldc); (Vector128.Load(c + ldc + 4) + c11).Store(c + ldc + 4);
                (Vector128.Load(c + 2 * ldc) + c20).Store(c + 2 * ldc); (Vector128.Load(c + 2 * ldc + 4) + c21).Store(c + 2 * ldc + 4);
                (Vector128.Load(c + 3 * ldc) + c30).Store(c + 3 * ldc); (Vector128.Load(c + 3 * ldc + 4) + c31).Store(c + 3 * ldc + 4);
                (Vector128.Load(c + 4 * ldc) + c40).Store(c + 4 * ldc); (Vector128.Load(c + 4 * ldc + 4) + c41).Store(c + 4 * ldc + 4);
                (Vector128.Load(c + 5 * ldc) + c50).Store(c + 5 * ldc); (Vector128.Load(c + 5 * ldc + 4) + c51).Store(c + 5 * ldc + 4);
            }
        }
    }


    /// <summary>Portable fallback: a 4×4 tile with scalar fused multiply-adds (the same arithmetic as the vector kernels).</summary>
    internal readonly struct ScalarKernel : IMicroKernel
    {
        public static int Mr => 4;
        public static int Nr => 4;
        public static bool IsSupported => true;

        public static unsafe void Run(int kc, float* a, nint aRowStride, nint aColStride, float* b, nint bStride, float* c, nint ldc, bool overwrite)
        {
            float* acc = stackalloc float[16];
            for (int i = 0; i < 16; i++) acc[i] = 0f;
            for (int p = 0; p < kc; p++)
            {
                for (int r = 0; r < 4; r++)
                {
                    float ar = a[r * aRowStride];
                    for (int j = 0; j < 4; j++) acc[r * 4 + j] = MathF.FusedMultiplyAdd(ar, b[j], acc[r * 4 + j]);
                }
                a += aColStride;
                b += bStride;
            }
            for (int r = 0; r < 4; r++)
            {
                for (int j = 0; j < 4; j++) c[r * ldc + j] = overwrite ? acc[r * 4 + j] : c[r * ldc + j] + acc[r * 4 + j];
            }
        }
    }
}
