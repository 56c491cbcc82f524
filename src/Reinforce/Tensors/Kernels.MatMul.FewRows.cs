using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Runtime;

namespace Reinforce.Tensors;

public static partial class Kernels
{
    /// <summary>
    /// Whether <see cref="FewRows"/> takes a product of <paramref name="m"/> rows and <paramref name="n"/> columns (a
    /// batched step of a handful of environments): fewer than a micro-kernel tile's 8 rows, whose padding rows would
    /// otherwise be computed and thrown away; or 8 rows of a product narrower than 16 columns (a policy or value head),
    /// which the tiles would compute transposed, packing its rows.
    /// </summary>
    [BypassReadyToRun]
    internal static bool FewRowsTakes(int m, int n) => m < 8 || (m == 8 && n < 16);

    /// <summary>
    /// The largest B (elements) <see cref="FewRows"/> takes: it reads B once per four rows (and once per row past the last four), so B should stay in the
    /// core's L2 (a policy layer's Wᵀ does; a language model's projections go through the tiled kernels).
    /// </summary>
    internal const long FewRowsBLimit = 1 << 16;

    /// <summary>
    /// C (+)= A·B for the few rows of A [m, k] that <see cref="FewRowsTakes"/> admits and B [k, n], read where they lie (a rollout's
    /// batched step through a stored Wᵀ): no packing, no tiles of padding, no scratch, no partition. Each element is
    /// summed exactly as the micro-kernels sum it — acc = 0, then acc = fma(a, b, acc) for p = 0, 1, ... within each
    /// <see cref="KC"/>-deep block, and C = acc (the first block, overwriting) or C = C + acc — so the bits are those of
    /// every other path (the tests compare them).
    /// </summary>
    [SkipLocalsInit]
    [BypassReadyToRun]
    private static unsafe void FewRows(float* a, float* b, float* c, int m, int k, int n, bool accumulate)
    {
        for (int pc = 0; pc < k; pc += KC)
        {
            int kc = Math.Min(KC, k - pc);
            bool overwrite = pc == 0 && !accumulate;
            int j = 0;
            for (; j + 32 <= n; j += 32)
            {
                int r = 0;
                for (; r + 4 <= m; r += 4)
                {
                    float* a0 = a + (nint)r * k + pc, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
                    float* bp = b + (nint)pc * n + j;
                    var c00 = Vector512<float>.Zero; var c01 = Vector512<float>.Zero;
                    var c10 = Vector512<float>.Zero; var c11 = Vector512<float>.Zero;
                    var c20 = Vector512<float>.Zero; var c21 = Vector512<float>.Zero;
                    var c30 = Vector512<float>.Zero; var c31 = Vector512<float>.Zero;
                    for (int p = 0; p < kc; p++, bp += n)
                    {
                        var b0 = Vector512.Load(bp);
                        var b1 = Vector512.Load(bp + 16);
                        var x0 = Vector512.Create(a0[p]);
                        c00 = Vector512.FusedMultiplyAdd(x0, b0, c00); c01 = Vector512.FusedMultiplyAdd(x0, b1, c01);
                        var x1 = Vector512.Create(a1[p]);
                        c10 = Vector512.FusedMultiplyAdd(x1, b0, c10); c11 = Vector512.FusedMultiplyAdd(x1, b1, c11);
                        var x2 = Vector512.Create(a2[p]);
                        c20 = Vector512.FusedMultiplyAdd(x2, b0, c20); c21 = Vector512.FusedMultiplyAdd(x2, b1, c21);
                        var x3 = Vector512.Create(a3[p]);
                        c30 = Vector512.FusedMultiplyAdd(x3, b0, c30); c31 = Vector512.FusedMultiplyAdd(x3, b1, c31);
                    }
                    float* c0 = c + (nint)r * n + j;
                    Store(c0, c00, overwrite); Store(c0 + 16, c01, overwrite);
                    Store(c0 + n, c10, overwrite); Store(c0 + n + 16, c11, overwrite);
                    Store(c0 + 2 * n, c20, overwrite); Store(c0 + 2 * n + 16, c21, overwrite);
                    Store(c0 + 3 * n, c30, overwrite); Store(c0 + 3 * n + 16, c31, overwrite);
                }
                for (; r < m; r++)
                {
                    float* a0 = a + (nint)r * k + pc;
                    float* bp = b + (nint)pc * n + j;
                    var c00 = Vector512<float>.Zero; var c01 = Vector512<float>.Zero;
                    for (int p = 0; p < kc; p++, bp += n)
                    {
                        var x0 = Vector512.Create(a0[p]);
                        c00 = Vector512.FusedMultiplyAdd(x0, Vector512.Load(bp), c00);
                        c01 = Vector512.FusedMultiplyAdd(x0, Vector512.Load(bp + 16), c01);
                    }
                    float* c0 = c + (nint)r * n + j;
                    Store(c0, c00, overwrite); Store(c0 + 16, c01, overwrite);
                }
            }
            // The last columns (a policy head's 2 logits, a critic's 1 value, or any 16 past the 32-wide blocks): B's
            // rows are contiguous runs, read and written under an AVX-512 lane mask (the Vector512 path this runs on
            // implies AVX-512F), four rows of A at a time so four independent chains of multiply-adds overlap.
            for (; j < n; j += 16)
            {
                var mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(n - j)).AsSingle();
                int r = 0;
                for (; r + 4 <= m; r += 4)
                {
                    float* a0 = a + (nint)r * k + pc, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
                    float* bp = b + (nint)pc * n + j;
                    var c0 = Vector512<float>.Zero; var c1 = Vector512<float>.Zero;
                    var c2 = Vector512<float>.Zero; var c3 = Vector512<float>.Zero;
                    for (int p = 0; p < kc; p++, bp += n)
                    {
                        var bv = Avx512F.MaskLoad(bp, mask, Vector512<float>.Zero);
                        c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a0[p]), bv, c0);
                        c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a1[p]), bv, c1);
                        c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a2[p]), bv, c2);
                        c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a3[p]), bv, c3);
                    }
                    float* c0p = c + (nint)r * n + j;
                    StoreMasked(c0p, c0, mask, overwrite); StoreMasked(c0p + n, c1, mask, overwrite);
                    StoreMasked(c0p + 2 * n, c2, mask, overwrite); StoreMasked(c0p + 3 * n, c3, mask, overwrite);
                }
                for (; r < m; r++)
                {
                    float* a0 = a + (nint)r * k + pc;
                    float* bp = b + (nint)pc * n + j;
                    var acc = Vector512<float>.Zero;
                    for (int p = 0; p < kc; p++, bp += n)
                        acc = Vector512.FusedMultiplyAdd(Vector512.Create(a0[p]), Avx512F.MaskLoad(bp, mask, Vector512<float>.Zero), acc);
                    StoreMasked(c + (nint)r * n + j, acc, mask, overwrite);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreMasked(float* c, Vector512<float> acc, Vector512<float> mask, bool overwrite)
    {
        if (!overwrite) acc = Avx512F.MaskLoad(c, mask, Vector512<float>.Zero) + acc;
        Avx512F.MaskStore(c, mask, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(float* c, Vector512<float> acc, bool overwrite)
    {
        if (overwrite) acc.Store(c);
        else (Vector512.Load(c) + acc).Store(c);
    }
}
