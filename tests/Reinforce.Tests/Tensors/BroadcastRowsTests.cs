using Reinforce.Tensors;

namespace Reinforce.Tests.Tensors;

/// <summary>Kernels.BroadcastRows (a bias as the starting value of a product) against a plain copy per row.</summary>
public class BroadcastRowsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(16)]
    [InlineData(32)]
    [InlineData(48)]
    [InlineData(64)]
    [InlineData(70)]
    [InlineData(128)]
    public void Every_row_holds_the_vector_and_nothing_past_them_is_touched(int cols)
    {
        var row = Enumerable.Range(0, cols).Select(i => i * 0.5f - 3f).ToArray();
        foreach (int rows in new[] { 0, 1, 5 })
        {
            var matrix = Enumerable.Repeat(9f, rows * cols + 7).ToArray();
            Kernels.BroadcastRows(row, matrix, rows);
            for (int r = 0; r < rows; r++) Assert.Equal(row, matrix.AsSpan(r * cols, cols).ToArray());
            Assert.All(matrix.AsSpan(rows * cols).ToArray(), v => Assert.Equal(9f, v));
        }
        Assert.Throws<ArgumentException>(() => Kernels.BroadcastRows(row, new float[cols], 2));
    }
}
