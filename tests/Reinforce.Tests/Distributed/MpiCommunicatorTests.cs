using Reinforce.Distributed;

namespace Reinforce.Tests.Distributed;

public sealed class MpiCommunicatorTests
{
    [MpiFact]
    public void Two_ranks_get_correct_all_reduce_broadcast_and_all_gather_results()
    {
        var result = MpiRun.Ranks(2, Path.GetTempPath(), TimeSpan.FromSeconds(60), "mpi", "check");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Open MPI", result.Output);
        Assert.Contains("2 ranks: all-reduce, broadcast and all-gather correct on every rank", result.Output);
    }

    [MpiFact]
    public void Three_ranks_agree_too()
    {
        var result = MpiRun.Ranks(3, Path.GetTempPath(), TimeSpan.FromSeconds(60), "mpi", "check");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("3 ranks: all-reduce, broadcast and all-gather correct on every rank", result.Output);
    }

    [MpiFact]
    public void The_all_reduce_benchmark_prints_a_time_per_size()
    {
        var result = MpiRun.Ranks(2, Path.GetTempPath(), TimeSpan.FromSeconds(60), "mpi", "bench", "--sizes", "1000,20000", "--repeats", "5");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"1,000 floats +[0-9.]+ µs", result.Output);
        Assert.Matches(@"20,000 floats +[0-9.]+ µs", result.Output);
    }

    [Fact]
    public void A_rank_started_without_a_launcher_is_told_to_use_mpirun()
    {
        var result = MpiRun.Alone(Path.GetTempPath(), TimeSpan.FromSeconds(60), "mpi", "check");
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("not started by an MPI launcher", result.Error);
        Assert.Contains("mpirun -np 2 reinforce mpi check", result.Error);   // the command that was run, not a training one
        Assert.DoesNotContain("--distributed", result.Error);
        Assert.DoesNotContain("   at ", result.Error);      // no stack trace
    }

    [Fact]
    public void The_single_process_communicator_leaves_values_as_they_are()
    {
        var comm = SingleProcessCommunicator.Instance;
        var values = new[] { 1f, -2f, 3.5f };
        comm.AllReduceSum(values);
        comm.Broadcast(values);
        Assert.Equal([1f, -2f, 3.5f], values);
        var all = new long[1];
        comm.AllGather(42, all);
        Assert.Equal(42, all[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => comm.Broadcast(values, root: 1));
        Assert.Equal(0, comm.Rank);
        Assert.Equal(1, comm.Size);
    }
}
