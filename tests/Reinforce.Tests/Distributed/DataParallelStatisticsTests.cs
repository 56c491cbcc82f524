using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.Envs.Wrappers;

namespace Reinforce.Tests.Distributed;

/// <summary>
/// The two parts of DD-PPO that the plain minibatch split does not cover: normalisation statistics merged over the
/// ranks, and Recurrent PPO's whole-sequence minibatches drawn over all ranks' environment copies.
/// </summary>
public sealed class DataParallelStatisticsTests
{
    [Fact]
    public void Merged_statistics_are_those_of_every_ranks_samples_and_the_same_bits_on_every_rank()
    {
        const int ranks = 3, size = 4;
        var rng = new Random(5);
        double[] Batch(int rows, double offset) => Enumerable.Range(0, rows * size).Select(i => offset + (i % size) * 10 + rng.NextDouble() * (1 + i % size)).ToArray();

        // A shared history (the base every rank agrees on), then two rounds of each rank's own samples.
        var history = Batch(7, 100);
        var rounds = Enumerable.Range(0, 2).Select(round => Enumerable.Range(0, ranks).Select(r => Batch(3 + 2 * r + round, 100 + 5 * r)).ToArray()).ToArray();
        var local = Enumerable.Range(0, ranks).Select(_ => new RunningMeanStd(size)).ToArray();
        foreach (var s in local) s.Update(history);
        var merges = local.Select(s => new RunningStatisticsMerge(s)).ToArray();

        var reference = new RunningMeanStd(size);
        reference.Update(history);
        var group = new ThreadCommunicatorGroup(ranks);
        foreach (var round in rounds)
        {
            group.Run(comm =>
            {
                // Two batches per rank so the local state is a Chan merge of several, as during a rollout.
                var mine = round[comm.Rank];
                local[comm.Rank].Update(mine.AsSpan(0, size * 2));
                local[comm.Rank].Update(mine.AsSpan(size * 2));
                merges[comm.Rank].Merge(comm);
            });
            foreach (var part in round) reference.Update(part);

            for (int r = 1; r < ranks; r++)
            {
                Assert.Equal(local[0].Mean, local[r].Mean);
                Assert.Equal(local[0].Var, local[r].Var);
                Assert.Equal(local[0].Count, local[r].Count);
            }
            Assert.Equal(reference.Count, local[0].Count, 9);
            for (int j = 0; j < size; j++)
            {
                Assert.Equal(reference.Mean[j], local[0].Mean[j], 1e-9 * Math.Abs(reference.Mean[j]));
                Assert.Equal(reference.Var[j], local[0].Var[j], 1e-8 * reference.Var[j]);
            }
            // Not vacuous: a rank's own statistics before merging were far from everyone's.
            Assert.True(Math.Abs(reference.Mean[0] - 100) > 1, "the ranks' samples should move the mean away from the history's");
        }
    }

    [Fact]
    public void A_rank_that_added_nothing_still_takes_part_and_receives_the_others_samples()
    {
        var a = new RunningMeanStd(1);
        var b = new RunningMeanStd(1);
        var merges = new[] { new RunningStatisticsMerge(a), new RunningStatisticsMerge(b) };
        new ThreadCommunicatorGroup(2).Run(comm =>
        {
            if (comm.Rank == 0) a.Update(new double[] { 1, 2, 3, 4 });
            merges[comm.Rank].Merge(comm);
        });
        Assert.Equal(a.Mean, b.Mean);
        Assert.Equal(a.Var, b.Var);
        Assert.Equal(2.5, a.Mean[0], 3);    // the pseudo-count 1e-4 at mean 0 barely weighs
        Assert.Equal(4 + 1e-4, b.Count, 9);
    }

    [Fact]
    public void Data_parallel_PPO_normalises_alike_on_every_rank_with_the_statistics_of_all_ranks()
    {
        const int ranks = 2, copies = 2;
        var options = new PpoOptions
        {
            NumSteps = 16, BatchSize = 16, NumEpochs = 2, Seed = 3, NormalizeObservations = true, NormalizeRewards = true,
            Policy = new() { HiddenSizes = [8] },
        };
        var agents = Enumerable.Range(0, ranks).Select(_ => new Ppo(Environments.MakeVector("CartPole-v1", copies, 1), options)).ToArray();
        try
        {
            new ThreadCommunicatorGroup(ranks).Run(comm =>
            {
                agents[comm.Rank].Distribute(comm);
                agents[comm.Rank].Learn(3 * 16 * copies);
            });
            var (o0, o1) = (agents[0].ObservationNormalizer!.Statistics, agents[1].ObservationNormalizer!.Statistics);
            Assert.Equal(o0.Mean, o1.Mean);
            Assert.Equal(o0.Var, o1.Var);
            Assert.Equal(o0.Count, o1.Count);
            Assert.Equal(agents[0].RewardNormalizer!.Statistics.Var, agents[1].RewardNormalizer!.Statistics.Var);
            // Every observation of both ranks counted: twice one rank's own steps (the resets' observations included).
            double own = agents[0].StepsDone;
            Assert.True(o0.Count > 1.9 * own, $"merged statistics count {o0.Count} samples, one rank stepped {own}");
        }
        finally
        {
            foreach (var a in agents) a.Dispose();
        }
    }

    [Fact]
    public void Two_ranks_of_recurrent_PPO_update_as_one_process_of_all_their_sequences()
    {
        const int ranks = 2, copies = 2, steps = 16;
        PpoOptions Options() => new()
        {
            NumSteps = steps, BatchSize = steps * 2, NumEpochs = 2, Seed = 9, LearningRate = 1e-3f, EntropyCoef = 0.01f,
            Policy = new() { HiddenSizes = [16], LstmHiddenSize = 8 },
        };
        var agents = Enumerable.Range(0, ranks).Select(_ => new Ppo(Environments.MakeVector("CartPoleNoVel-v1", copies, 4), Options())).ToArray();
        using var reference = new Ppo(Environments.MakeVector("CartPoleNoVel-v1", ranks * copies, 4), Options());
        try
        {
            var group = new ThreadCommunicatorGroup(ranks);
            group.Run(comm =>
            {
                agents[comm.Rank].Distribute(comm);
                agents[comm.Rank].StartEnvironments();
                agents[comm.Rank].CollectRollout();
            });
            Assert.NotEqual(agents[0].Buffer.Observations, agents[1].Buffer.Observations);

            // The reference's first rollout leaves zero initial memory and "episode starts" everywhere, as the ranks' did;
            // its buffer then holds the ranks' rollouts side by side.
            reference.StartEnvironments();
            reference.CollectRollout();
            DataParallelPpoTests.Concatenate(agents.Select(a => a.Buffer).ToArray(), reference.Buffer);
            var single = new ThreadCommunicatorGroup(1);
            single.Run(comm => reference.Distribute(comm));

            group.Run(comm => agents[comm.Rank].RunUpdate(0.0, new TrainingMetrics()));
            single.Run(_ => reference.RunUpdate(0.0, new TrainingMetrics()));

            float[] Weights(OnPolicyAgent a) => a.Optimizer.Parameters.SelectMany(p => p.Data).ToArray();
            var (rank0, rank1, one) = (Weights(agents[0]), Weights(agents[1]), Weights(reference));
            using var fresh = new Ppo(Environments.MakeVector("CartPoleNoVel-v1", copies, 4), Options());
            var initial = Weights(fresh);
            Assert.Equal(rank0, rank1);
            double moved = 0, largest = 0;
            for (int i = 0; i < one.Length; i++)
            {
                moved = Math.Max(moved, Math.Abs(one[i] - initial[i]));
                largest = Math.Max(largest, Math.Abs(rank0[i] - one[i]));
            }
            Assert.True(moved > 1e-3, $"the update barely moved the weights ({moved})");
            Assert.True(largest < 1e-5, $"ranks and the one-process run differ by up to {largest} (weights moved by up to {moved})");
        }
        finally
        {
            foreach (var a in agents) a.Dispose();
        }
    }
}
