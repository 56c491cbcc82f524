using System.Collections.Concurrent;
using Reinforce.Tensors;

namespace Reinforce.Tests.Tensors;

/// <summary>
/// Kernels.ForRanges, the one way element- and row-wise passes use both cores: the ranges cover every index once,
/// start on the alignment, and are split only when there is enough work and more than one thread is allowed (so the
/// one-vs-two-thread bit tests of LayerNorm, GELU and attention really run split on two).
/// </summary>
public class ForRangesTests
{
    private static List<(int From, int To)> Ranges(int threads, int count, long workPerIndex, int alignment)
    {
        int saved = Kernels.MaxThreads;
        var ranges = new ConcurrentBag<(int, int)>();
        try
        {
            Kernels.MaxThreads = threads;
            Kernels.ForRanges(count, workPerIndex, (from, to) => ranges.Add((from, to)), alignment);
        }
        finally
        {
            Kernels.MaxThreads = saved;
        }
        return [.. ranges.OrderBy(r => r.Item1)];
    }

    [Theory]
    [InlineData(262_147, 8, 64)]
    [InlineData(2048, 768, 1)]
    [InlineData(130, 100_000, 64)]
    public void Two_threads_split_the_work_into_aligned_ranges_that_cover_every_index_once(int count, long work, int alignment)
    {
        var ranges = Ranges(2, count, work, alignment);
        Assert.True(ranges.Count > 1, $"{count} indices × {work} were not split: {ranges.Count} range");
        int next = 0;
        foreach (var (from, to) in ranges)
        {
            Assert.Equal(next, from);
            Assert.True(to > from);
            Assert.Equal(0, from % alignment);
            next = to;
        }
        Assert.Equal(count, next);
    }

    [Fact]
    public void One_thread_or_little_work_runs_one_range_on_the_calling_thread()
    {
        Assert.Equal([(0, 262_147)], Ranges(1, 262_147, 8, 64));
        Assert.Equal([(0, 1000)], Ranges(2, 1000, 8, 64));   // 8,000 element operations: below the split threshold
        Assert.Equal([(0, 0)], Ranges(2, 0, 8, 64));
    }
}
