using System.Numerics.Tensors;

namespace Reinforce.Tensors;

public static partial class Kernels
{
    /// <summary>
    /// Runs, once, the kernels' generic code instantiated over value types — the matrix multiply's loops for each
    /// micro-kernel (<c>GemmRange&lt;TKernel&gt;</c>, the kernels' <c>Run</c>) and System.Numerics.Tensors' element-wise
    /// operators — on a few elements, so that it is compiled (<see cref="Training.Precompilation"/> calls this on its
    /// background thread). The CLI's multicore-JIT profile does not record instantiations over value types (only methods
    /// it can share across types), and a training run used to compile these on its own thread during its first update:
    /// about 55 ms of the CartPole preset's first update. Results are discarded and nothing shared is written; a failure
    /// is ignored (the code then compiles at first use).
    /// </summary>
    internal static void WarmUpGenerics()
    {
        try
        {
            // One product per micro-kernel the default path picks (8-, 4- and 2-row tiles, 2×64), in every orientation:
            // tiny, on this thread only (its own packing buffers).
            var a = new float[16 * 64];
            var b = new float[16 * 64];
            var c = new float[16 * 64];
            foreach (var (m, k, n) in (ReadOnlySpan<(int, int, int)>)[(16, 8, 32), (4, 8, 32), (2, 8, 32), (2, 8, 64)])
                foreach (bool transposeA in (ReadOnlySpan<bool>)[false, true])
                    foreach (bool transposeB in (ReadOnlySpan<bool>)[false, true])
                        MatMul(a, b, c, m, k, n, transposeA, transposeB, accumulate: false, maxThreads: 1, DefaultMatMulPath);
            // The element-wise operators the training paths call (each is a generic over an operator struct).
            var x = new float[64];
            var y = new float[64];
            TensorPrimitives.Exp(x, y);
            TensorPrimitives.Multiply(x, y, y);
            TensorPrimitives.Multiply(x, 2f, y);
            TensorPrimitives.Subtract(x, y, y);
            TensorPrimitives.Add(x, y, y);
            _ = TensorPrimitives.Sum(x);
            _ = TensorPrimitives.SumOfSquares(x);
            _ = TensorPrimitives.IsFiniteAll(x);
            // The C library's exp and log as vectors (a categorical policy's log-softmax and PPO's short-rows loss): the
            // log's span loop alone took 10 ms to compile on a training run's first update.
            Array.Fill(x, 1.5f);
            Libm.Expf(x, y);
            Libm.LogOfFloats(x, y);
        }
        catch (Exception)
        {
            // Nothing depends on this having run.
        }
    }
}
