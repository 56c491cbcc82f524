using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime;

namespace Reinforce.Tensors;

/// <summary>
/// Span kernels the operations are built from, one operation per file (Kernels.MatMul.cs, Kernels.Softmax.cs, ...).
/// Each method's documentation says what it effectively computes; none allocates in steady state.
/// </summary>
public static partial class Kernels
{
    /// <summary>Checks a row-wise kernel's buffers: x holds whole rows of <paramref name="cols"/> and y is as long as x.</summary>
    [BypassReadyToRun]
    private static void CheckRows(string operation, int xLength, int yLength, int cols)
    {
        if (cols <= 0 && xLength > 0)
            throw new ArgumentOutOfRangeException(nameof(cols), cols, $"{operation}: the row length must be positive.");
        if (cols > 0 && xLength % cols != 0)
            throw new ArgumentException($"{operation}: input length {xLength} is not a whole number of rows of {cols}; pass the last dimension as cols.");
        if (yLength < xLength)
            throw new ArgumentException($"{operation}: output length {yLength} is shorter than the input length {xLength}.");
    }

    /// <summary>
    /// Writes <paramref name="row"/> into each of <paramref name="rows"/> consecutive rows of <paramref name="matrix"/>
    /// (a bias as the starting value of a product): whole vectors in registers, no call per row.
    /// </summary>
    [BypassReadyToRun]
    public static void BroadcastRows(ReadOnlySpan<float> row, Span<float> matrix, int rows)
    {
        int cols = row.Length;
        if (matrix.Length < (long)rows * cols)
            throw new ArgumentException($"BroadcastRows: {rows} rows of {cols} need {(long)rows * cols} elements, the matrix has {matrix.Length}.");
        if (cols == 0) return;
        if (cols % 16 == 0 && cols <= 64 && Vector512.IsHardwareAccelerated)
        {
            ref float src = ref MemoryMarshal.GetReference(row);
            ref float dst = ref MemoryMarshal.GetReference(matrix);
            var v0 = Vector512.LoadUnsafe(ref src);
            var v1 = cols > 16 ? Vector512.LoadUnsafe(ref src, 16) : default;
            var v2 = cols > 32 ? Vector512.LoadUnsafe(ref src, 32) : default;
            var v3 = cols > 48 ? Vector512.LoadUnsafe(ref src, 48) : default;
            for (int r = 0; r < rows; r++)
            {
                nuint at = (nuint)(r * cols);
                v0.StoreUnsafe(ref dst, at);
                if (cols > 16) v1.StoreUnsafe(ref dst, at + 16);
                if (cols > 32) v2.StoreUnsafe(ref dst, at + 32);
                if (cols > 48) v3.StoreUnsafe(ref dst, at + 48);
            }
            return;
        }
        if (cols <= 4)
        {
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < cols; j++) matrix[r * cols + j] = row[j];
            return;
        }
        for (int r = 0; r < rows; r++) row.CopyTo(matrix.Slice(r * cols, cols));
    }

    /// <summary>
    /// Adds <paramref name="row"/> to each of <paramref name="rows"/> consecutive rows of <paramref name="matrix"/> (a bias
    /// added to a product already written): matrix[r, j] = matrix[r, j] + row[j].
    /// </summary>
    [BypassReadyToRun]
    public static void AddRowToRows(ReadOnlySpan<float> row, Span<float> matrix, int rows)
    {
        int cols = row.Length;
        if (matrix.Length < (long)rows * cols)
            throw new ArgumentException($"AddRowToRows: {rows} rows of {cols} need {(long)rows * cols} elements, the matrix has {matrix.Length}.");
        for (int r = 0; r < rows; r++)
        {
            var dst = matrix.Slice(r * cols, cols);
            TensorPrimitives.Add(dst, row, dst);
        }
    }
}
