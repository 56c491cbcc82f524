using Reinforce.Tensors;

namespace Reinforce.Tests.Tensors;

/// <summary>The kernels allocate nothing once warm (packing buffers are per thread and kept), on the calling thread.</summary>
[Collection("Kernel paths")]   // asserts zero allocation in steady state: runs alone (see KernelPathsCollection)
public class KernelAllocationTests
{
    [Fact]
    public void Single_threaded_kernels_allocate_nothing_in_steady_state()
    {
        var rng = new Rng(51);
        var x = MatMulReference.Random(rng, 256 * 64);
        var w = MatMulReference.Random(rng, 64 * 64);
        var bias = MatMulReference.Random(rng, 64);
        var y = new float[256 * 64];
        var dx = new float[256 * 64];
        var dw = new float[64 * 64];
        var db = new float[64];
        void Step()
        {
            Kernels.MatMul(x, w, y, 256, 64, 64, false, false, false, 1, Kernels.DefaultMatMulPath);
            Kernels.MatMul(x, w, y, 256, 64, 64, false, true, true, 1, Kernels.DefaultMatMulPath);
            Kernels.MatMul(x, x, y, 64, 256, 64, true, false, false, 1, Kernels.DefaultMatMulPath);   // packed B (k·n > in-place limit)
            Kernels.MatMul(x, w, y, 256, 64, 2, false, true, false, 1, Kernels.DefaultMatMulPath);    // narrow: computed transposed
            Kernels.MatMul(x, w, y, 1, 4, 64, false, false, false, 1, Kernels.DefaultMatMulPath);
            Kernels.SoftmaxRows(x, y, 64);
            Kernels.LogSoftmaxRows(x, y, 64);
        }
        Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) Step();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Kernels.LinearForward(x, w, bias, y, 256, 64, 64);   // public entry (thread cap from MaxThreads; below the parallel threshold)
        Kernels.LinearBackward(x, w, y, dx, dw, db, 256, 64, 64);
        before = GC.GetAllocatedBytesForCurrentThread();
        Kernels.LinearForward(x, w, bias, y, 256, 64, 64);
        Kernels.LinearBackward(x, w, y, dx, dw, db, 256, 64, 64);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
