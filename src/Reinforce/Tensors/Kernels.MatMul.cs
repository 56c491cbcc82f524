using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime;

namespace Reinforce.Tensors;

public static partial class Kernels
{
    // Blocking (GotoBLAS/BLIS style). KC is the same for every instruction set and thread count, and every element of C
    // is summed by one thread in the order p = 0, 1, ..., K-1 (fused multiply-adds within a KC block, the block sums added
    // to C in order), so the result has the same bits whatever the path, the thread count or the partition.
    internal const int KC = 256;   // depth of a packed block: A micro-panel (KC×Mr) stays in L1
    internal const int MC = 96;    // rows of A packed per block (a multiple of every Mr)
    internal const int NC = 512;   // columns of B packed per block (a multiple of every Nr); KC×NC floats stay in L2

    /// <summary>Products with fewer multiply-adds (m·k·n) than this run on the calling thread only.</summary>
    internal const long ParallelThreshold = 1L << 21;

    /// <summary>
    /// Chunks of C (or of a ForRanges pass) per thread in a parallel pass; threads take chunks as they free up, so more
    /// chunks balance the load when one core starts late or is busy: 4 instead of 2 took the demo GPT's step on two threads
    /// from 70-86 to 67-77 ms (seven interleaved rounds, 2026-12-06). Chunks never change the bits, only who computes them.
    /// </summary>
    internal const int ChunksPerThread = 4;

    /// <summary>B is read in place (not packed) when it is not transposed and has at most this many elements.</summary>
    internal const int DirectBLimit = 8192;

    private static int s_maxThreads = Environment.ProcessorCount;

    /// <summary>
    /// Whether the micro-kernel reads full tiles of A where they lie (<see cref="IMicroKernel.Run"/> with A's own strides) instead of
    /// from packed panels. The same bits either way (the tests compare both); packing A only pays for itself when the
    /// panel is reused across many columns of B.
    /// </summary>
    internal static bool ReadAInPlace = true;

    /// <summary>
    /// Whether a product of one to four rows (once oriented) takes a 2- or 4-row tile (<see cref="RouteVector512"/>) rather
    /// than the 8-row one (the tests turn it off to compare).
    /// </summary>
    internal static bool ShortTilesEnabled = true;

    /// <summary>Whether a product of a few rows with B as stored takes <see cref="FewRows"/> (the tests turn it off to compare).</summary>
    internal static bool FewRowsEnabled = true;

    /// <summary>
    /// The most threads a large matrix multiply (<see cref="MatMul(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, bool, bool, bool)"/>) may use (default: the processor count; 1 keeps every product on the
    /// calling thread). Results do not depend on it: each element of C is computed by one thread in a fixed order.
    /// </summary>
    public static int MaxThreads
    {
        get => s_maxThreads;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), value, "Kernels.MaxThreads must be at least 1.");
            s_maxThreads = value;
        }
    }

    /// <summary>The instruction sets the matrix multiply has a micro-kernel for.</summary>
    internal enum MatMulPath { Vector512, Vector256, Vector128, Scalar }

    /// <summary>The widest path this machine accelerates.</summary>
    internal static readonly MatMulPath DefaultMatMulPath =
        Vector512.IsHardwareAccelerated ? MatMulPath.Vector512
        : Vector256.IsHardwareAccelerated ? MatMulPath.Vector256
        : Vector128.IsHardwareAccelerated ? MatMulPath.Vector128
        : MatMulPath.Scalar;

    /// <summary>Whether <paramref name="path"/> can run on this machine.</summary>
    [BypassReadyToRun]
    internal static bool IsSupported(MatMulPath path) => path switch
    {
        MatMulPath.Vector512 => Vector512Kernel<EightRows>.IsSupported,
        MatMulPath.Vector256 => Vector256Kernel.IsSupported,
        MatMulPath.Vector128 => Vector128Kernel.IsSupported,
        _ => true,
    };

    /// <summary>
    /// General matrix multiply: effectively computes C[i, j] = (accumulate ? C[i, j] : 0) + Σ_p op(A)[i, p] · op(B)[p, j]
    /// for i &lt; m, j &lt; n, p &lt; k, with op(A) = A or Aᵀ and op(B) = B or Bᵀ.
    /// A is stored [m, k] (or [k, m] when <paramref name="transposeA"/>), B is [k, n] (or [n, k] when <paramref name="transposeB"/>),
    /// C is [m, n]; all row-major and contiguous; C must not overlap A or B.
    /// Blocked and packed, with a SIMD micro-kernel (Vector512, Vector256, Vector128 or scalar) and fused multiply-adds;
    /// products of more than about two million multiply-adds are split over up to <see cref="MaxThreads"/> threads.
    /// Deterministic: each element is summed in the order p = 0, 1, ... by one thread, so the bits never depend on the thread count.
    /// </summary>
    [BypassReadyToRun]
    public static void MatMul(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n,
        bool transposeA = false, bool transposeB = false, bool accumulate = false)
        => MatMul(a, b, c, m, k, n, transposeA, transposeB, accumulate, s_maxThreads, DefaultMatMulPath);

    /// <summary><see cref="MatMul(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, bool, bool, bool)"/> with an explicit thread cap and micro-kernel (for tests and benchmarks).</summary>
    [BypassReadyToRun]
    internal static unsafe void MatMul(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n,
        bool transposeA, bool transposeB, bool accumulate, int maxThreads, MatMulPath path)
    {
        if (m < 0 || k < 0 || n < 0 || a.Length < (long)m * k || b.Length < (long)k * n || c.Length < (long)m * n || maxThreads < 1 || !IsSupported(path))
            ThrowBadMatMul(a.Length, b.Length, c.Length, m, k, n, transposeA, transposeB, maxThreads, path);
        if (m == 0 || n == 0) return;
        var cUsed = c[..(m * n)];
        if (cUsed.Overlaps(a[..(m * k)]) || cUsed.Overlaps(b[..(k * n)]))
            throw new ArgumentException("MatMul: the output C overlaps an input; write the product to a separate buffer.");
        if (k == 0)
        {
            if (!accumulate) cUsed.Clear();
            return;
        }

        fixed (float* pa = a, pb = b, pc = c)
        {
            if (path == MatMulPath.Vector512)
            {
                RunVector512(pa, pb, pc, m, k, n, transposeA, transposeB, accumulate, maxThreads);
                return;
            }
            var g = new Gemm(pa, pb, pc, m, k, n, transposeA, transposeB, accumulate);
            switch (path)
            {
                case MatMulPath.Vector256: Split<Vector256Kernel>(Oriented<Vector256Kernel>(g), maxThreads); break;
                case MatMulPath.Vector128: Split<Vector128Kernel>(Oriented<Vector128Kernel>(g), maxThreads); break;
                default: Split<ScalarKernel>(Oriented<ScalarKernel>(g), maxThreads); break;
            }
        }
    }

    /// <summary>
    /// One product's operands (pinned for the duration of the call). Element (i, j) of the product is stored at
    /// C[i·CRowStride + j·CColStride]: (N, 1) normally, (1, M) when the product is computed transposed.
    /// </summary>
    private readonly unsafe struct Gemm(float* a, float* b, float* c, int m, int k, int n, bool transposeA, bool transposeB, bool accumulate,
        bool transposedC = false)
    {
        public readonly float* A = a, B = b, C = c;
        public readonly int M = m, K = k, N = n;
        public readonly bool TransposeA = transposeA, TransposeB = transposeB, Accumulate = accumulate;
        public readonly nint CRowStride = transposedC ? 1 : n, CColStride = transposedC ? m : 1;

        /// <summary>
        /// The same product as Cᵀ = op(B)ᵀ·op(A)ᵀ, written back transposed. Each element is still the same sum in the
        /// same order (a·b = b·a exactly), so the bits do not change; only the tile padding does.
        /// </summary>
        [BypassReadyToRun]
        public Gemm Transposed() => new(B, A, C, N, K, M, !TransposeB, !TransposeA, Accumulate, transposedC: CColStride == 1);
    }

    /// <summary>
    /// The product as it wastes less of <typeparamref name="TKernel"/>'s tiles: a narrow product (a few columns, e.g. a
    /// policy head with 2 actions) wastes most of an Nr-wide tile, so it is computed transposed and the long side fills
    /// the vectors instead.
    /// </summary>
    private static Gemm Oriented<TKernel>(Gemm g) where TKernel : struct, IMicroKernel
        => TransposedFor<TKernel>(g.M, g.N) ? g.Transposed() : g;

    /// <summary>Whether an m×n product is computed transposed on <typeparamref name="TKernel"/> (see <see cref="Oriented{TKernel}"/>).</summary>
    [BypassReadyToRun]
    private static bool TransposedFor<TKernel>(int m, int n) where TKernel : struct, IMicroKernel
        => PaddedSize<TKernel>(n, m) * 2 < PaddedSize<TKernel>(m, n);

    /// <summary>The ways a product runs on the Vector512 path.</summary>
    internal enum Vector512Route
    {
        /// <summary><see cref="FewRows"/>: a handful of rows, B read where it lies.</summary>
        FewRows,

        /// <summary>The 8×32 tile.</summary>
        EightRowTile,

        /// <summary>The 4×32 tile: three or four rows once oriented.</summary>
        FourRowTile,

        /// <summary>The 2×32 tile: one or two rows at most 32 columns wide once oriented.</summary>
        TwoRowTile,

        /// <summary>The 2×64 tile: one or two rows wider than 32 columns once oriented.</summary>
        WideTwoRowTile,
    }

    /// <summary>
    /// The way an m×k·k×n product runs on the Vector512 path, and whether it is computed transposed (the tiles only): the
    /// one place the path decides. <see cref="FewRows"/> when <see cref="FewRowsTakes"/> admits the rows and B is small and
    /// as stored; otherwise the 8×32 tile, or, for a product of one to four rows once oriented, a tile of 2 or 4 rows
    /// instead of 8 of which most would be padding (and packed), and the 2×64 tile for two rows more than 32 columns wide.
    /// </summary>
    [BypassReadyToRun]
    internal static Vector512Route RouteVector512(int m, int k, int n, bool transposeA, bool transposeB, out bool transposed)
    {
        transposed = false;
        if (FewRowsEnabled && FewRowsTakes(m, n) && !transposeA && !transposeB && (long)k * n <= FewRowsBLimit) return Vector512Route.FewRows;
        transposed = TransposedFor<Vector512Kernel<EightRows>>(m, n);
        if (transposed) (m, n) = (n, m);
        if (!ShortTilesEnabled || m > FourRows.Count) return Vector512Route.EightRowTile;
        if (m > TwoRows.Count) return Vector512Route.FourRowTile;
        return n <= Vector512Kernel<TwoRows>.Nr ? Vector512Route.TwoRowTile : Vector512Route.WideTwoRowTile;
    }

    /// <summary>The product on the Vector512 path, the way <see cref="RouteVector512"/> says.</summary>
    [BypassReadyToRun]
    private static unsafe void RunVector512(float* a, float* b, float* c, int m, int k, int n, bool transposeA, bool transposeB, bool accumulate, int maxThreads)
    {
        var route = RouteVector512(m, k, n, transposeA, transposeB, out bool transposed);
        if (route == Vector512Route.FewRows)
        {
            FewRows(a, b, c, m, k, n, accumulate);
            return;
        }
        var g = new Gemm(a, b, c, m, k, n, transposeA, transposeB, accumulate);
        if (transposed) g = g.Transposed();
        switch (route)
        {
            case Vector512Route.EightRowTile: Split<Vector512Kernel<EightRows>>(g, maxThreads); break;
            case Vector512Route.FourRowTile: Split<Vector512Kernel<FourRows>>(g, maxThreads); break;
            case Vector512Route.TwoRowTile: Split<Vector512Kernel<TwoRows>>(g, maxThreads); break;
            default: Split<Vector512WideTwoRowKernel>(g, maxThreads); break;
        }
    }

    /// <summary>Runs the product with <typeparamref name="TKernel"/> on the calling thread, or over threads in row (or column) chunks when it is large.</summary>
    [BypassReadyToRun]
    private static void Split<TKernel>(Gemm g, int maxThreads) where TKernel : struct, IMicroKernel
    {
        int threads = maxThreads;   // the processor count unless set (as Kernels.ForRanges: the tests set 2 to split on any machine)
        if (threads <= 1 || (long)g.M * g.K * g.N < ParallelThreshold)
        {
            GemmRange<TKernel>(g, 0, g.M, 0, g.N);
            return;
        }
        int rowTiles = (g.M + TKernel.Mr - 1) / TKernel.Mr;
        int colTiles = (g.N + TKernel.Nr - 1) / TKernel.Nr;
        // With A read in place, a split by columns packs nothing twice (each thread packs only its own columns of B),
        // where a split by rows has every thread pack all of B; so columns, when there are enough for every chunk.
        bool splitRows = !(ReadAInPlace && colTiles >= threads * ChunksPerThread) && rowTiles >= colTiles;
        int tiles = splitRows ? rowTiles : colTiles;
        int chunks = Math.Min(tiles, threads * ChunksPerThread);
        if (chunks <= 1) GemmRange<TKernel>(g, 0, g.M, 0, g.N);
        else RunParallel<TKernel>(g, threads, splitRows, tiles, chunks);
    }

    /// <summary>
    /// Splits C into <paramref name="chunks"/> contiguous row (or column) ranges of whole tiles, handed to up to
    /// <paramref name="threads"/> threads. (Its own method so the closure is allocated only for parallel products.)
    /// </summary>
    private static void RunParallel<TKernel>(Gemm g, int threads, bool splitRows, int tiles, int chunks) where TKernel : struct, IMicroKernel
    {
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, chunk =>
        {
            int first = (int)((long)chunk * tiles / chunks), last = (int)((long)(chunk + 1) * tiles / chunks);
            if (splitRows) GemmRange<TKernel>(g, first * TKernel.Mr, Math.Min(g.M, last * TKernel.Mr), 0, g.N);
            else GemmRange<TKernel>(g, 0, g.M, first * TKernel.Nr, Math.Min(g.N, last * TKernel.Nr));
        });
    }

    /// <summary>
    /// The error for <see cref="MatMul(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, bool, bool, bool, int, MatMulPath)"/>'s
    /// bad arguments. Its own method, never inlined: the messages' formatting is compiled only when one is thrown, not with
    /// every program's first product (it was most of MatMul's compile time).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    [DoesNotReturn]
    private static void ThrowBadMatMul(int aLength, int bLength, int cLength, int m, int k, int n, bool transposeA, bool transposeB, int maxThreads, MatMulPath path)
    {
        if (m < 0 || k < 0 || n < 0)
            throw new ArgumentOutOfRangeException(nameof(m), $"MatMul: dimensions must be non-negative, got m = {m}, k = {k}, n = {n}.");
        if (aLength < (long)m * k || bLength < (long)k * n || cLength < (long)m * n)
        {
            string sa = transposeA ? $"[{k}, {m}]" : $"[{m}, {k}]";
            string sb = transposeB ? $"[{n}, {k}]" : $"[{k}, {n}]";
            throw new ArgumentException(
                $"MatMul: buffers too small for op(A) [{m}, {k}] x op(B) [{k}, {n}]: A needs {sa} = {(long)m * k} elements (has {aLength}), " +
                $"B needs {sb} = {(long)k * n} (has {bLength}), C needs [{m}, {n}] = {(long)m * n} (has {cLength}).");
        }
        if (maxThreads < 1) throw new ArgumentOutOfRangeException(nameof(maxThreads), maxThreads, "MatMul: maxThreads must be at least 1.");
        throw new PlatformNotSupportedException($"MatMul: the {path} micro-kernel is not accelerated on this machine.");
    }

    /// <summary>Multiply-adds the micro-kernel performs for an m×n product, padding included.</summary>
    private static long PaddedSize<TKernel>(int m, int n) where TKernel : struct, IMicroKernel
        => (long)((m + TKernel.Mr - 1) / TKernel.Mr * TKernel.Mr) * ((n + TKernel.Nr - 1) / TKernel.Nr * TKernel.Nr);

    /// <summary>C[i0..i1, j0..j1] on the calling thread: the blocked loops around the micro-kernel.</summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GemmRange<TKernel>(in Gemm g, int i0, int i1, int j0, int j1) where TKernel : struct, IMicroKernel
    {
        int mr = TKernel.Mr, nr = TKernel.Nr;
        int rows = i1 - i0, cols = j1 - j0;
        int kcMax = Math.Min(KC, g.K);
        bool directB = !g.TransposeB && g.K * g.N <= DirectBLimit;
        int packARows = (Math.Min(MC, rows) + mr - 1) / mr * mr;
        nint aRowStride = g.TransposeA ? 1 : g.K, aColStride = g.TransposeA ? g.M : 1;   // element (i, p) of op(A)
        int packBCols = directB ? nr : (Math.Min(NC, cols) + nr - 1) / nr * nr;

        var scratch = MatMulScratch.Rent();
        try
        {
            float* packA = scratch.A(packARows * kcMax);
            float* packB = scratch.B(packBCols * kcMax);
            float* tile = stackalloc float[mr * nr];
            for (int jc = j0; jc < j1; jc += NC)
            {
                int nc = Math.Min(NC, j1 - jc);
                int directPanels = directB ? nc / nr : 0;
                for (int pc = 0; pc < g.K; pc += KC)
                {
                    int kc = Math.Min(KC, g.K - pc);
                    bool overwrite = pc == 0 && !g.Accumulate;
                    // Panels read in place need no packing; a ragged last panel is packed (zero-padded) so the kernel can read Nr columns.
                    if (directPanels * nr < nc) PackB(g, pc, kc, jc + directPanels * nr, nc - directPanels * nr, nr, packB);
                    for (int ic = i0; ic < i1; ic += MC)
                    {
                        int mc = Math.Min(MC, i1 - ic);
                        // Full tiles of A are read in place; only a ragged last tile is packed (zero-padded to Mr rows).
                        int inPlaceRows = ReadAInPlace ? mc / mr * mr : 0;
                        if (inPlaceRows < mc) PackA(g, ic + inPlaceRows, mc - inPlaceRows, pc, kc, mr, packA);
                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            int tileRows = Math.Min(mr, mc - ir);
                            bool inPlace = ir < inPlaceRows;
                            float* aPanel = inPlace ? g.A + (ic + ir) * aRowStride + pc * aColStride : packA + (nint)(ir - inPlaceRows) * kc;
                            float* cRow = g.C + (ic + ir) * g.CRowStride + jc * g.CColStride;
                            for (int jr = 0, q = 0; jr < nc; jr += nr, q++)
                            {
                                int tileCols = Math.Min(nr, nc - jr);
                                float* bPanel;
                                nint bStride;
                                if (q < directPanels) { bPanel = g.B + (nint)pc * g.N + jc + jr; bStride = g.N; }
                                else { bPanel = packB + (nint)(q - directPanels) * kc * nr; bStride = nr; }
                                nint rs = inPlace ? aRowStride : 1, cs = inPlace ? aColStride : mr;   // a packed panel: a[p·Mr + r]
                                if (tileRows == mr && tileCols == nr && g.CColStride == 1)
                                {
                                    TKernel.Run(kc, aPanel, rs, cs, bPanel, bStride, cRow + jr, g.CRowStride, overwrite);
                                }
                                else
                                {
                                    TKernel.Run(kc, aPanel, rs, cs, bPanel, bStride, tile, nr, overwrite: true);
                                    StoreTile(tile, nr, cRow + jr * g.CColStride, g.CRowStride, g.CColStride, tileRows, tileCols, overwrite);
                                }
                            }
                        }
                    }
                }
            }
        }
        finally
        {
            MatMulScratch.Return(scratch);
        }
    }

    /// <summary>
    /// The valid part of a tile computed aside (an edge tile, or any tile of a transposed product): C = tile (overwrite) or
    /// C = C + tile, the same arithmetic as the micro-kernel's own store.
    /// </summary>
    [BypassReadyToRun]
    private static unsafe void StoreTile(float* tile, int nr, float* c, nint rowStride, nint colStride, int rows, int cols, bool overwrite)
    {
        if (colStride == 1)
        {
            for (int r = 0; r < rows; r++, tile += nr, c += rowStride)
            {
                if (overwrite) new ReadOnlySpan<float>(tile, cols).CopyTo(new Span<float>(c, cols));
                else for (int j = 0; j < cols; j++) c[j] += tile[j];
            }
            return;
        }
        // Transposed: tile column j is a contiguous run of C (rowStride is 1).
        for (int j = 0; j < cols; j++, c += colStride)
        {
            for (int r = 0; r < rows; r++) c[r * rowStride] = overwrite ? tile[r * nr + j] : c[r * rowStride] + tile[r * nr + j];
        }
    }
}
