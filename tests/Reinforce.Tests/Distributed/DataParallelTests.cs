using Tensor = Reinforce.Tensors.Tensor;
using Reinforce.Distributed;

namespace Reinforce.Tests.Distributed;

public sealed class DataParallelTests
{
    [Fact]
    public void Gradients_are_averaged_over_ranks_in_parameter_order()
    {
        var group = new ThreadCommunicatorGroup(3);
        var results = new float[3][];
        group.Run(comm =>
        {
            var a = new Tensor([1f, 2f], [2]) { Grad = new Tensor([comm.Rank, 10f * comm.Rank], [2]) };
            var b = new Tensor([0f], [1]) { Grad = new Tensor([comm.Rank == 1 ? 6f : 0f], [1]) };
            var dp = new DataParallel(comm, [a, b]);
            Assert.Equal(3, dp.Length);
            dp.AverageGradients();
            results[comm.Rank] = [.. a.Grad!.Data, .. b.Grad!.Data];
        });
        foreach (var r in results) Assert.Equal([1f, 10f, 2f], r);     // mean of 0,1,2; of 0,10,20; of 0,6,0
    }

    [Fact]
    public void A_parameter_without_a_gradient_on_one_rank_contributes_zeros()
    {
        var group = new ThreadCommunicatorGroup(2);
        var results = new float[2][];
        group.Run(comm =>
        {
            var a = new Tensor([0f, 0f], [2]);
            if (comm.Rank == 0) a.Grad = new Tensor([4f, -2f], [2]);
            new DataParallel(comm, [a]).AverageGradients();
            results[comm.Rank] = a.Grad!.Data;
        });
        Assert.Equal([2f, -1f], results[0]);
        Assert.Equal([2f, -1f], results[1]);
    }

    [Fact]
    public void Rank_zero_weights_reach_every_rank_and_the_checksums_then_agree()
    {
        var group = new ThreadCommunicatorGroup(2);
        var sums = new ulong[2];
        var before = new ulong[2];
        group.Run(comm =>
        {
            var w = new Tensor([comm.Rank + 0.5f, -comm.Rank], [2]);
            var dp = new DataParallel(comm, [w]);
            before[comm.Rank] = dp.WeightsChecksum();
            dp.BroadcastParameters();
            Assert.Equal([0.5f, 0f], w.Data);
            sums[comm.Rank] = dp.WeightsChecksum();
        });
        Assert.NotEqual(before[0], before[1]);
        Assert.Equal(sums[0], sums[1]);
    }

    [Fact]
    public void Ranks_started_with_different_configurations_fail_naming_the_rank()
    {
        var group = new ThreadCommunicatorGroup(3);
        var messages = new string?[3];
        group.Run(comm =>
        {
            try { DataParallel.EnsureSameConfiguration(comm, comm.Rank == 2 ? "{\"seed\": 2}" : "{\"seed\": 1}"); }
            catch (DistributedException e) { messages[comm.Rank] = e.Message; }
        });
        foreach (var m in messages)
        {
            Assert.NotNull(m);
            Assert.Contains("rank(s) 2 were started with a different configuration", m);
        }
    }

    [Fact]
    public void The_same_configuration_passes()
    {
        var group = new ThreadCommunicatorGroup(2);
        group.Run(comm => DataParallel.EnsureSameConfiguration(comm, "{\"seed\": 1}"));
    }
}
