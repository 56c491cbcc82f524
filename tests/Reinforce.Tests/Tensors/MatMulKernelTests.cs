using Reinforce.Tensors;

namespace Reinforce.Tests.Tensors;

/// <summary>
/// Kernels.MatMul against a double-precision reference: every length 1..256 in each dimension (so every SIMD remainder
/// and edge tile runs), shapes around the block sizes, all four transpose variants, overwrite and accumulate.
/// </summary>
[Collection("Kernel paths")]
public class MatMulKernelTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 5)]
    [InlineData(8, 8)]
    [InlineData(9, 17)]
    [InlineData(64, 64)]
    [InlineData(2, 64)]
    [InlineData(64, 2)]
    [InlineData(17, 4)]
    [InlineData(24, 33)]
    public void Transpose_is_the_exact_transpose(int rows, int cols)
    {
        var rng = new Random(rows * 100 + cols);
        var src = new float[rows * cols];
        for (int i = 0; i < src.Length; i++) src[i] = (float)(rng.NextDouble() * 2 - 1);
        src[0] = -0f;
        var dst = new float[rows * cols];
        Kernels.Transpose(src, rows, cols, dst);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                Assert.Equal(BitConverter.SingleToInt32Bits(src[r * cols + c]), BitConverter.SingleToInt32Bits(dst[c * rows + r]));
        Assert.Throws<ArgumentException>(() => Kernels.Transpose(src, rows, cols + 1, dst));
    }

    public static TheoryData<bool, bool> Variants => MatMulReference.Variants;

    [Theory]
    [MemberData(nameof(Variants))]
    public void Every_row_count_from_1_to_256(bool transposeA, bool transposeB)
    {
        var rng = new Rng(11);
        for (int m = 1; m <= 256; m++)
            MatMulReference.Check(rng, m, 7, 37, transposeA, transposeB, accumulate: m % 2 == 0, "m sweep");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Every_row_count_from_1_to_256_with_few_columns(bool transposeA, bool transposeB)
    {
        // Narrow products (n of 1..8, like a policy or value head) are computed transposed once m is large enough.
        var rng = new Rng(18);
        for (int m = 1; m <= 256; m++)
            MatMulReference.Check(rng, m, 1 + m % 23, 1 + m % 8, transposeA, transposeB, accumulate: m % 3 == 1, "narrow m sweep");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Every_depth_from_1_to_256(bool transposeA, bool transposeB)
    {
        var rng = new Rng(12);
        for (int k = 1; k <= 256; k++)
            MatMulReference.Check(rng, 11, k, 19, transposeA, transposeB, accumulate: k % 2 == 1, "k sweep");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Every_column_count_from_1_to_256(bool transposeA, bool transposeB)
    {
        var rng = new Rng(13);
        for (int n = 1; n <= 256; n++)
            MatMulReference.Check(rng, 13, 5, n, transposeA, transposeB, accumulate: n % 3 == 0, "n sweep");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Small_reinforcement_learning_shapes(bool transposeA, bool transposeB)
    {
        var rng = new Rng(14);
        int[][] shapes = [[1, 4, 64], [64, 4, 64], [256, 4, 64], [64, 64, 64], [256, 64, 64], [256, 64, 2], [64, 256, 4], [1, 1, 1], [2, 3, 1]];
        foreach (var s in shapes)
        {
            MatMulReference.Check(rng, s[0], s[1], s[2], transposeA, transposeB, accumulate: false, "RL shape");
            MatMulReference.Check(rng, s[0], s[1], s[2], transposeA, transposeB, accumulate: true, "RL shape");
        }
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Shapes_around_the_block_edges(bool transposeA, bool transposeB)
    {
        // Depth around KC (256) and 2·KC; rows around MC (96); columns around NC (512) and the in-place-B limit (k·n = 8192).
        var rng = new Rng(15);
        int[][] shapes =
        [
            [9, 255, 33], [9, 256, 33], [9, 257, 33], [5, 511, 17], [5, 513, 17],
            [95, 3, 31], [96, 3, 33], [97, 3, 65], [193, 2, 5],
            [3, 2, 511], [3, 2, 512], [3, 3, 513], [2, 1, 1025],
            [7, 64, 128], [7, 64, 129], [7, 128, 64], [7, 129, 64],
        ];
        foreach (var s in shapes)
        {
            MatMulReference.Check(rng, s[0], s[1], s[2], transposeA, transposeB, accumulate: false, "block edge");
            MatMulReference.Check(rng, s[0], s[1], s[2], transposeA, transposeB, accumulate: true, "block edge");
        }
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Large_products_split_over_threads_are_correct(bool transposeA, bool transposeB)
    {
        // Above the parallel threshold: one split by rows (many row tiles), one by columns (few rows, many columns).
        var rng = new Rng(16);
        MatMulReference.Check(rng, 301, 130, 70, transposeA, transposeB, accumulate: false, "row split", maxThreads: 2);
        MatMulReference.Check(rng, 20, 300, 650, transposeA, transposeB, accumulate: true, "column split", maxThreads: 2);
        // Two and four rows (the short tiles), split by columns.
        MatMulReference.Check(rng, 2, 1100, 1000, transposeA, transposeB, accumulate: false, "two-row split", maxThreads: 2);
        MatMulReference.Check(rng, 4, 600, 1000, transposeA, transposeB, accumulate: true, "four-row split", maxThreads: 2);
    }

    public static TheoryData<string> OtherPaths()
    {
        var data = new TheoryData<string>();
        foreach (var path in Enum.GetValues<Kernels.MatMulPath>())
            if (Kernels.IsSupported(path)) data.Add(path.ToString());
        return data;
    }

    [Theory]
    [MemberData(nameof(OtherPaths))]
    public void Every_micro_kernel_is_correct_and_gives_the_same_bits(string pathName)
    {
        // Each instruction set's kernel sums each element in the same order with fused multiply-adds, so all agree exactly;
        // the sweep runs every row and column remainder of every kernel's tile (Mr ≤ 8, Nr ≤ 32).
        var path = Enum.Parse<Kernels.MatMulPath>(pathName);
        var rng = new Rng(17);
        foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) })
        {
            for (int size = 1; size <= 70; size++)
            {
                int m = size, k = 1 + size * 7 % 300, n = 71 - size;
                var a = MatMulReference.Random(rng, m * k);
                var b = MatMulReference.Random(rng, k * n);
                var c0 = MatMulReference.Random(rng, m * n);
                var expected = (float[])c0.Clone();
                var actual = (float[])c0.Clone();
                bool accumulate = size % 2 == 0;
                Kernels.MatMul(a, b, expected, m, k, n, ta, tb, accumulate, 1, Kernels.DefaultMatMulPath);
                Kernels.MatMul(a, b, actual, m, k, n, ta, tb, accumulate, 1, path);
                MatMulReference.AssertProduct(a, b, accumulate ? c0 : null, actual, m, k, n, ta, tb, pathName);
                Assert.Equal(expected, actual);
            }
        }
    }

    [Theory]
    [MemberData(nameof(OtherPaths))]
    public void Reading_A_in_place_gives_the_same_bits_as_packing_it(string pathName)
    {
        // Full tiles of A are read where they lie (row stride K, or M when A is transposed), a ragged last tile packed;
        // the sums are the same multiply-adds in the same order, so the bits must not change. Sizes cross MC (96) and KC (256).
        var path = Enum.Parse<Kernels.MatMulPath>(pathName);
        var rng = new Rng(23);
        foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) })
        {
            foreach (var (m, k, n) in new[] { (1, 5, 3), (8, 4, 32), (13, 33, 70), (128, 32, 2), (100, 300, 40), (200, 600, 33), (64, 256, 4) })
            {
                var a = MatMulReference.Random(rng, m * k);
                var b = MatMulReference.Random(rng, k * n);
                var c0 = MatMulReference.Random(rng, m * n);
                var packed = (float[])c0.Clone();
                var inPlace = (float[])c0.Clone();
                bool accumulate = (m + n) % 2 == 0;
                try
                {
                    Kernels.ReadAInPlace = false;
                    Kernels.MatMul(a, b, packed, m, k, n, ta, tb, accumulate, 1, path);
                }
                finally
                {
                    Kernels.ReadAInPlace = true;
                }
                Kernels.MatMul(a, b, inPlace, m, k, n, ta, tb, accumulate, 1, path);
                MatMulReference.AssertProduct(a, b, accumulate ? c0 : null, inPlace, m, k, n, ta, tb, $"{pathName} {m}x{k}x{n} ta={ta} tb={tb}");
                Assert.Equal(packed, inPlace);
            }
        }
    }

    [Fact]
    public void A_few_rows_give_the_same_bits_as_the_tiled_kernels()
    {
        // Up to 8 rows with B as stored (a rollout's step) skip the tiles; every element must be the same sum in the same
        // order as the tiled micro-kernel and the narrower ones give. Depths cross KC (256); widths cross 16 and 32.
        if (!Kernels.IsSupported(Kernels.MatMulPath.Vector512)) return;
        var rng = new Rng(29);
        for (int m = 1; m <= 8; m++)   // 8 rows: only products narrower than 16 columns take it (Kernels.FewRowsTakes)
        {
            foreach (var (k, n) in new[] { (1, 1), (4, 64), (64, 64), (64, 2), (64, 1), (7, 33), (300, 47), (513, 16), (32, 100) })
            {
                var a = MatMulReference.Random(rng, m * k);
                var b = MatMulReference.Random(rng, k * n);
                var c0 = MatMulReference.Random(rng, m * n);
                bool accumulate = (m + k) % 2 == 0;
                var few = (float[])c0.Clone();
                var tiled = (float[])c0.Clone();
                var narrower = (float[])c0.Clone();
                Kernels.MatMul(a, b, few, m, k, n, false, false, accumulate, 1, Kernels.MatMulPath.Vector512);
                try
                {
                    Kernels.FewRowsEnabled = false;
                    Kernels.MatMul(a, b, tiled, m, k, n, false, false, accumulate, 1, Kernels.MatMulPath.Vector512);
                }
                finally
                {
                    Kernels.FewRowsEnabled = true;
                }
                Kernels.MatMul(a, b, narrower, m, k, n, false, false, accumulate, 1, Kernels.MatMulPath.Scalar);
                MatMulReference.AssertProduct(a, b, accumulate ? c0 : null, few, m, k, n, false, false, $"few rows {m}x{k}x{n}");
                Assert.Equal(tiled.Select(BitConverter.SingleToInt32Bits), few.Select(BitConverter.SingleToInt32Bits));
                Assert.Equal(narrower.Select(BitConverter.SingleToInt32Bits), few.Select(BitConverter.SingleToInt32Bits));
            }
        }
    }

    [Fact]
    public void One_to_four_rows_give_the_same_bits_as_the_eight_row_tile()
    {
        // A policy head's logits (2 columns) or a critic's value (1) are computed transposed, as one or two rows, and a head's
        // weight gradient has its 1 or 2 rows as they are: those take a 2-row tile; a first layer's weight gradient over 3 or 4
        // observations (computed transposed) a 4-row tile. Every element must be the same sum in the same order as the 8-row
        // tile gives. Depths cross KC (256), columns cross NC (512), the tiles' 32 and 64 and B read in place.
        if (!Kernels.IsSupported(Kernels.MatMulPath.Vector512)) return;
        var rng = new Rng(31);
        var shapes = new (int M, int K, int N, bool TransposeA, bool TransposeB)[]
        {
            (128, 32, 2, false, true), (128, 64, 1, false, true), (256, 64, 2, false, true), (8, 32, 2, false, false),
            (2, 128, 64, true, false), (1, 128, 64, true, false), (2, 128, 32, true, false), (2, 300, 700, false, false),
            (1, 513, 65, false, true), (2, 7, 1030, true, true), (128, 257, 2, false, false), (1, 1, 1, false, false),
            (32, 128, 4, true, false), (64, 128, 3, true, false), (4, 300, 70, false, true), (3, 5, 600, true, true),
        };
        foreach (var (m, k, n, ta, tb) in shapes)
        {
            // Each shape takes a short tile (or FewRows), and with both switched off the 8-row tile: the two sides differ.
            Assert.NotEqual(Kernels.Vector512Route.EightRowTile, Kernels.RouteVector512(m, k, n, ta, tb, out _));
            foreach (bool accumulate in new[] { false, true })
            {
                var a = MatMulReference.Random(rng, m * k);
                var b = MatMulReference.Random(rng, k * n);
                var c0 = MatMulReference.Random(rng, m * n);
                var twoRows = (float[])c0.Clone();
                var eightRows = (float[])c0.Clone();
                Kernels.MatMul(a, b, twoRows, m, k, n, ta, tb, accumulate, 1, Kernels.MatMulPath.Vector512);
                try
                {
                    Kernels.ShortTilesEnabled = false;
                    Kernels.FewRowsEnabled = false;
                    Assert.Equal(Kernels.Vector512Route.EightRowTile, Kernels.RouteVector512(m, k, n, ta, tb, out _));
                    Kernels.MatMul(a, b, eightRows, m, k, n, ta, tb, accumulate, 1, Kernels.MatMulPath.Vector512);
                }
                finally
                {
                    Kernels.ShortTilesEnabled = true;
                    Kernels.FewRowsEnabled = true;
                }
                MatMulReference.AssertProduct(a, b, accumulate ? c0 : null, twoRows, m, k, n, ta, tb, $"two rows {m}x{k}x{n} ta={ta} tb={tb}");
                Assert.Equal(eightRows.Select(BitConverter.SingleToInt32Bits), twoRows.Select(BitConverter.SingleToInt32Bits));
            }
        }
    }

    [Fact]
    public void Zero_depth_clears_or_keeps_the_output()
    {
        var c = new float[] { 1, 2, 3, 4, 5, 6 };
        Kernels.MatMul([], [], c, 2, 0, 3, accumulate: true);
        Assert.Equal([1f, 2, 3, 4, 5, 6], c);
        Kernels.MatMul([], [], c, 2, 0, 3);
        Assert.Equal(new float[6], c);
        Kernels.MatMul([], [], [], 0, 0, 0);
    }

    [Fact]
    public void Matches_a_worked_example()
    {
        // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]].
        var c = new float[4];
        Kernels.MatMul([1, 2, 3, 4], [5, 6, 7, 8], c, 2, 2, 2);
        Assert.Equal([19f, 22, 43, 50], c);
        // Aᵀ·B with A = [[1, 3], [2, 4]] stored is the same product; accumulate adds it again.
        Kernels.MatMul([1, 3, 2, 4], [5, 6, 7, 8], c, 2, 2, 2, transposeA: true, accumulate: true);
        Assert.Equal([38f, 44, 86, 100], c);
    }

    [Fact]
    public void Bad_input_names_the_problem()
    {
        var small = new float[5];
        var ex = Assert.Throws<ArgumentException>(() => Kernels.MatMul(small, new float[6], new float[4], 2, 3, 2));
        Assert.Contains("MatMul", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 3]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("has 5", ex.Message, StringComparison.Ordinal);

        var buffer = new float[16];
        var overlap = Assert.Throws<ArgumentException>(() => Kernels.MatMul(buffer.AsSpan(0, 4), buffer.AsSpan(4, 4), buffer.AsSpan(2, 4), 2, 2, 2));
        Assert.Contains("overlaps", overlap.Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentOutOfRangeException>(() => Kernels.MatMul(small, small, small, -1, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Kernels.MaxThreads = 0);
    }
}

/// <summary>
/// Tests that switch the matrix multiply's paths (<c>Kernels.FewRowsEnabled</c>, <c>ReadAInPlace</c>,
/// <c>ShortTilesEnabled</c>: process-wide switches), and the tests that assert zero allocation in steady state, run
/// alone, after the parallel tests: a product computed while another test has a path off, or has set
/// <c>Kernels.MaxThreads</c> (six test classes set and restore it), takes paths and buffers its warm-up did not, and an
/// allocation count taken meanwhile grows (CI saw 7,640 bytes once).
/// </summary>
[CollectionDefinition("Kernel paths", DisableParallelization = true)]
public sealed class KernelPathsCollection;
