using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Runtime;

namespace Reinforce.Tensors;

public static partial class Kernels
{
    /// <summary>
    /// Packs op(A)[ic.., pc..] (mc rows, kc columns) into micro-panels of <paramref name="mr"/> rows: panel q holds
    /// dst[q·kc·mr + p·mr + r] = op(A)[ic + q·mr + r, pc + p], zero past the last row, so the micro-kernel reads it
    /// front to back and broadcasts one element per row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PackA(in Gemm g, int ic, int mc, int pc, int kc, int mr, float* dst)
    {
        for (int r0 = 0; r0 < mc; r0 += mr, dst += (nint)kc * mr)
        {
            int rows = Math.Min(mr, mc - r0);
            if (g.TransposeA)
            {
                // A is stored [K, M]: the mr elements of one p are adjacent. A ragged panel (the few rows of a policy
                // head's weight gradient; full panels are read in place) is cleared whole first, then gets its rows
                // element by element, without a call per p.
                float* src = g.A + (nint)pc * g.M + ic + r0;
                if (rows < mr) new Span<float>(dst, kc * mr).Clear();
                for (int p = 0; p < kc; p++, src += g.M)
                {
                    float* d = dst + (nint)p * mr;
                    for (int r = 0; r < rows; r++) d[r] = src[r];
                }
            }
            else if (rows == 8 && mr == 8 && Avx.IsSupported)
            {
                Transpose8Rows(g.A + (nint)(ic + r0) * g.K + pc, g.K, dst, mr, kc);
            }
            else
            {
                // A is stored [M, K]: each row is read front to back and scattered with stride mr; a ragged panel is
                // cleared whole first (contiguous), so its padding rows are zeros.
                if (rows < mr) new Span<float>(dst, kc * mr).Clear();
                for (int r = 0; r < rows; r++)
                {
                    float* d = dst + r;
                    float* src = g.A + (nint)(ic + r0 + r) * g.K + pc;
                    for (int p = 0; p < kc; p++) d[(nint)p * mr] = src[p];
                }
            }
        }
    }

    /// <summary>
    /// Packs op(B)[pc.., jc..] (kc rows, nc columns) into micro-panels of <paramref name="nr"/> columns: panel q holds
    /// dst[q·kc·nr + p·nr + j] = op(B)[pc + p, jc + q·nr + j], zero past the last column, so the micro-kernel loads
    /// whole vectors from consecutive memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PackB(in Gemm g, int pc, int kc, int jc, int nc, int nr, float* dst)
    {
        for (int j0 = 0; j0 < nc; j0 += nr, dst += (nint)kc * nr)
        {
            int cols = Math.Min(nr, nc - j0);
            if (!g.TransposeB)
            {
                // B is stored [K, N]: one row of a panel is a contiguous run.
                float* src = g.B + (nint)pc * g.N + jc + j0;
                for (int p = 0; p < kc; p++, src += g.N)
                {
                    float* d = dst + (nint)p * nr;
                    Copy(src, d, cols);
                    if (cols < nr) new Span<float>(d + cols, nr - cols).Clear();
                }
            }
            else
            {
                // B is stored [N, K]: column j of the panel is row jc + j0 + j of B; eight at a time when possible.
                // A ragged panel's padding columns are cleared row by row first (a narrow head: 2 columns of 32).
                if (cols < nr)
                {
                    for (int p = 0; p < kc; p++) new Span<float>(dst + (nint)p * nr + cols, nr - cols).Clear();
                }
                int j = 0;
                if (Avx.IsSupported)
                {
                    for (; j + 8 <= cols; j += 8) Transpose8Rows(g.B + (nint)(jc + j0 + j) * g.K + pc, g.K, dst + j, nr, kc);
                }
                for (; j < cols; j++)
                {
                    float* d = dst + j;
                    float* src = g.B + (nint)(jc + j0 + j) * g.K + pc;
                    for (int p = 0; p < kc; p++) d[(nint)p * nr] = src[p];
                }
            }
        }
    }

    /// <summary>Copies a short run (a panel row: up to 32 floats), where a memmove call would cost more than the copy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Copy(float* src, float* dst, int count)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= count; i += 8) Vector256.Store(Vector256.Load(src + i), dst + i);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (; i + 4 <= count; i += 4) Vector128.Store(Vector128.Load(src + i), dst + i);
        }
        for (; i < count; i++) dst[i] = src[i];
    }

    /// <summary>
    /// dst = srcᵀ for a row-major [rows, cols] matrix: dst[c·rows + r] = src[r·cols + c]. Eight rows at a time through
    /// <see cref="Transpose8Rows"/> (8×8 blocks in AVX registers), the last rows element by element; an exact copy.
    /// </summary>
    [BypassReadyToRun]
    internal static unsafe void Transpose(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        if (src.Length < rows * cols || dst.Length < rows * cols)
            throw new ArgumentException($"Kernels.Transpose: {src.Length} and {dst.Length} floats for a [{rows}, {cols}] matrix.");
        fixed (float* s = src, d = dst)
        {
            int r = 0;
            if (Avx.IsSupported)
                for (; r + 8 <= rows; r += 8) Transpose8Rows(s + (nint)r * cols, cols, d + r, rows, cols);
            for (; r < rows; r++)
                for (int c = 0; c < cols; c++) d[(nint)c * rows + r] = s[(nint)r * cols + c];
        }
    }

    /// <summary>
    /// Writes the transpose of 8 rows (row r at src + r·srcStride, <paramref name="count"/> long) as dst[p·dstStride + r]:
    /// 8×8 blocks transposed in AVX registers (unpack, shuffle, lane permute), the tail element by element.
    /// </summary>
    [BypassReadyToRun]
    private static unsafe void Transpose8Rows(float* src, nint srcStride, float* dst, nint dstStride, int count)
    {
        float* s0 = src, s1 = src + srcStride, s2 = src + 2 * srcStride, s3 = src + 3 * srcStride;
        float* s4 = src + 4 * srcStride, s5 = src + 5 * srcStride, s6 = src + 6 * srcStride, s7 = src + 7 * srcStride;
        int p = 0;
        for (; p + 8 <= count; p += 8)
        {
            var t0 = Avx.UnpackLow(Avx.LoadVector256(s0 + p), Avx.LoadVector256(s1 + p));
            var t1 = Avx.UnpackHigh(Avx.LoadVector256(s0 + p), Avx.LoadVector256(s1 + p));
            var t2 = Avx.UnpackLow(Avx.LoadVector256(s2 + p), Avx.LoadVector256(s3 + p));
            var t3 = Avx.UnpackHigh(Avx.LoadVector256(s2 + p), Avx.LoadVector256(s3 + p));
            var t4 = Avx.UnpackLow(Avx.LoadVector256(s4 + p), Avx.LoadVector256(s5 + p));
            var t5 = Avx.UnpackHigh(Avx.LoadVector256(s4 + p), Avx.LoadVector256(s5 + p));
            var t6 = Avx.UnpackLow(Avx.LoadVector256(s6 + p), Avx.LoadVector256(s7 + p));
            var t7 = Avx.UnpackHigh(Avx.LoadVector256(s6 + p), Avx.LoadVector256(s7 + p));
            // u0 holds elements 0 and 4 of rows 0-3, u1 elements 1 and 5, u2 elements 2 and 6, u3 elements 3 and 7; u4-u7 rows 4-7.
            var u0 = Avx.Shuffle(t0, t2, 0x44);
            var u1 = Avx.Shuffle(t0, t2, 0xEE);
            var u2 = Avx.Shuffle(t1, t3, 0x44);
            var u3 = Avx.Shuffle(t1, t3, 0xEE);
            var u4 = Avx.Shuffle(t4, t6, 0x44);
            var u5 = Avx.Shuffle(t4, t6, 0xEE);
            var u6 = Avx.Shuffle(t5, t7, 0x44);
            var u7 = Avx.Shuffle(t5, t7, 0xEE);
            float* d = dst + p * dstStride;
            Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
            Avx.Store(d + dstStride, Avx.Permute2x128(u1, u5, 0x20));
            Avx.Store(d + 2 * dstStride, Avx.Permute2x128(u2, u6, 0x20));
            Avx.Store(d + 3 * dstStride, Avx.Permute2x128(u3, u7, 0x20));
            Avx.Store(d + 4 * dstStride, Avx.Permute2x128(u0, u4, 0x31));
            Avx.Store(d + 5 * dstStride, Avx.Permute2x128(u1, u5, 0x31));
            Avx.Store(d + 6 * dstStride, Avx.Permute2x128(u2, u6, 0x31));
            Avx.Store(d + 7 * dstStride, Avx.Permute2x128(u3, u7, 0x31));
        }
        for (; p < count; p++)
        {
            float* d = dst + p * dstStride;
            d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]; d[3] = s3[p];
            d[4] = s4[p]; d[5] = s5[p]; d[6] = s6[p]; d[7] = s7[p];
        }
    }

    /// <summary>
    /// Per-thread packing buffers (pinned, 64-byte aligned, grown on demand and kept), so a product allocates nothing in
    /// steady state. A buffer is taken out of its slot while in use, so a re-entrant call on the same thread gets its own.
    /// </summary>
    private sealed unsafe class MatMulScratch
    {
        [ThreadStatic] private static MatMulScratch? t_free;

        private float[]? _a, _b;
        private float* _alignedA, _alignedB;
        private int _capacityA, _capacityB;

        [BypassReadyToRun]
        public static MatMulScratch Rent()
        {
            var s = t_free ?? new MatMulScratch();
            t_free = null;
            return s;
        }

        public static void Return(MatMulScratch s) => t_free = s;

        public float* A(int count)
        {
            if (count > _capacityA) _alignedA = Allocate(count, out _a, out _capacityA);
            return _alignedA;
        }

        public float* B(int count)
        {
            if (count > _capacityB) _alignedB = Allocate(count, out _b, out _capacityB);
            return _alignedB;
        }

        // The array field keeps the pinned array alive; the kernels use the aligned pointer into it.
        private static float* Allocate(int count, out float[] array, out int capacity)
        {
            // Round up so nearby sizes reuse the buffer; the 16 extra floats leave room to align to a cache line.
            capacity = Math.Max(4096, (int)Math.Min(Array.MaxLength - 16, (long)count * 5 / 4));
            array = GC.AllocateUninitializedArray<float>(capacity + 16, pinned: true);
            nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
            return (float*)((start + 63) & ~(nint)63);
        }
    }
}
