namespace Reinforce.Tensors;

public static partial class Kernels
{
    /// <summary>Below this much work (element operations or multiply-adds) a pass stays on the calling thread: handing
    /// a chunk to another core costs a few microseconds.</summary>
    internal const long ParallelElementWork = 1 << 17;

    /// <summary>
    /// Runs <paramref name="body"/>(from, to) over contiguous ranges covering [0, <paramref name="count"/>), on up to
    /// <see cref="MaxThreads"/> threads when <paramref name="count"/> × <paramref name="workPerIndex"/> is at least
    /// <paramref name="minimumWork"/> (default <see cref="ParallelElementWork"/>), otherwise once on the calling thread.
    /// Range starts are multiples of <paramref name="alignment"/>, so a vectorised body sees the same vector blocks
    /// whatever the split. Each index must write only its own outputs: the result is then the same bits on any
    /// number of threads.
    /// </summary>
    internal static void ForRanges(int count, long workPerIndex, Action<int, int> body, int alignment = 1, long minimumWork = ParallelElementWork)
    {
        int threads = s_maxThreads;   // the processor count unless set (the tests set 2 to run the split on any machine)
        if (threads <= 1 || count <= alignment || (long)count * workPerIndex < minimumWork)
        {
            body(0, count);
            return;
        }
        int blocks = (count + alignment - 1) / alignment;
        int chunks = Math.Min(blocks, threads * ChunksPerThread);
        if (chunks <= 1)
        {
            body(0, count);
            return;
        }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, chunk =>
        {
            int from = (int)((long)chunk * blocks / chunks) * alignment;
            int to = (int)Math.Min(count, (long)(chunk + 1) * blocks / chunks * alignment);
            if (from < to) body(from, to);
        });
    }
}
