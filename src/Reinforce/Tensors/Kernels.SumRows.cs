using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime;

namespace Reinforce.Tensors;

public static partial class Kernels
{
    /// <summary>
    /// Column sums of a row-major matrix: y[j] (+)= Σ_r x[r·cols + j] (a bias gradient). Each column is summed row by
    /// row in order, so the result is the same bits as adding the rows one after another; the sums of a block of
    /// columns stay in registers across the rows instead of going back to memory after every row.
    /// </summary>
    [BypassReadyToRun]
    public static void SumRows(ReadOnlySpan<float> x, Span<float> y, int cols, bool accumulate = false)
    {
        if (cols <= 0) throw new ArgumentOutOfRangeException(nameof(cols), cols, "SumRows: the row length must be positive.");
        if (x.Length % cols != 0)
            throw new ArgumentException($"SumRows: input length {x.Length} is not a whole number of rows of {cols}; pass the last dimension as cols.");
        if (y.Length < cols) throw new ArgumentException($"SumRows: output length {y.Length} is shorter than the row length {cols}.");
        var sums = y[..cols];
        if (!accumulate) sums.Clear();
        int rows = x.Length / cols;
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float s0 = ref MemoryMarshal.GetReference(sums);
        int j = 0;
        // Each column is one chain of dependent additions (row after row, for the bits); several columns side by side
        // keep several chains in flight, so a narrow matrix (a bias of 32 or 2 entries over 128 rows) is not bound by
        // the latency of one addition per row.
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j + 32 <= cols; j += 32)
            {
                var acc0 = Vector512.LoadUnsafe(ref s0, (nuint)j);
                var acc1 = Vector512.LoadUnsafe(ref s0, (nuint)(j + 16));
                for (int r = 0; r < rows; r++)
                {
                    acc0 += Vector512.LoadUnsafe(ref x0, (nuint)(r * cols + j));
                    acc1 += Vector512.LoadUnsafe(ref x0, (nuint)(r * cols + j + 16));
                }
                acc0.StoreUnsafe(ref s0, (nuint)j);
                acc1.StoreUnsafe(ref s0, (nuint)(j + 16));
            }
            for (; j + 16 <= cols; j += 16)
            {
                var acc = Vector512.LoadUnsafe(ref s0, (nuint)j);
                for (int r = 0; r < rows; r++) acc += Vector512.LoadUnsafe(ref x0, (nuint)(r * cols + j));
                acc.StoreUnsafe(ref s0, (nuint)j);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 8 <= cols; j += 8)
            {
                var acc = Vector256.LoadUnsafe(ref s0, (nuint)j);
                for (int r = 0; r < rows; r++) acc += Vector256.LoadUnsafe(ref x0, (nuint)(r * cols + j));
                acc.StoreUnsafe(ref s0, (nuint)j);
            }
        }
        for (; j + 2 <= cols; j += 2)
        {
            float acc0 = Unsafe.Add(ref s0, j), acc1 = Unsafe.Add(ref s0, j + 1);
            for (int r = 0; r < rows; r++)
            {
                acc0 += Unsafe.Add(ref x0, r * cols + j);
                acc1 += Unsafe.Add(ref x0, r * cols + j + 1);
            }
            Unsafe.Add(ref s0, j) = acc0;
            Unsafe.Add(ref s0, j + 1) = acc1;
        }
        for (; j < cols; j++)
        {
            float acc = Unsafe.Add(ref s0, j);
            for (int r = 0; r < rows; r++) acc += Unsafe.Add(ref x0, r * cols + j);
            Unsafe.Add(ref s0, j) = acc;
        }
    }

    /// <summary>
    /// sum + lanes[0] + lanes[1] + ... + lanes[7], added one after another: for a sum whose terms are computed a vector at
    /// a time but must be added in the order a one-at-a-time loop adds them (the same bits).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static double AddInOrder(double sum, Vector512<double> lanes)
    {
        for (int k = 0; k < Vector512<double>.Count; k++) sum += lanes.GetElement(k);
        return sum;
    }
}
