using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.Envs.Vector;

namespace Reinforce.Tests.Distributed;

/// <summary>
/// DD-PPO's promise: R ranks of n copies update as one process of R·n copies whose minibatches hold the same samples.
/// Ranks run as threads here (ThreadCommunicatorGroup); the mpirun tests run the real thing.
/// </summary>
public sealed class DataParallelPpoTests
{
    private static PpoOptions Options() => new()
    {
        NumSteps = 32, BatchSize = 32, NumEpochs = 3, Seed = 7, LearningRate = 1e-3f, EntropyCoef = 0.01f,
        ClipRangeVf = 0.2f, Policy = new() { HiddenSizes = [16, 16] },
    };

    [Fact]
    public void Two_ranks_update_as_one_process_whose_minibatches_hold_the_same_samples()
    {
        const int ranks = 2, copies = 2;
        var agents = Enumerable.Range(0, ranks).Select(_ => new Ppo(Environments.MakeVector("CartPole-v1", copies, 11), Options())).ToArray();
        using var reference = new Ppo(Environments.MakeVector("CartPole-v1", ranks * copies, 11), Options());
        try
        {
            // Each rank collects its own rollout (its own sampling stream and environment seeds).
            var group = new ThreadCommunicatorGroup(ranks);
            group.Run(comm =>
            {
                var agent = agents[comm.Rank];
                agent.Distribute(comm);
                agent.StartEnvironments();
                agent.CollectRollout();
            });
            Assert.NotEqual(agents[0].Buffer.Observations, agents[1].Buffer.Observations);

            // The reference holds the ranks' rollouts side by side: rank r's copy e is its copy r·n + e.
            Concatenate(agents.Select(a => a.Buffer).ToArray(), reference.Buffer);
            var single = new ThreadCommunicatorGroup(1);
            single.Run(comm => reference.Distribute(comm));

            group.Run(comm => agents[comm.Rank].RunUpdate(0.0, new TrainingMetrics()));
            single.Run(_ => reference.RunUpdate(0.0, new TrainingMetrics()));

            var rank0 = Weights(agents[0]);
            var rank1 = Weights(agents[1]);
            var one = Weights(reference);
            var initial = Weights(new Ppo(Environments.MakeVector("CartPole-v1", copies, 11), Options()));
            Assert.Equal(rank0, rank1);                          // bit for bit on every rank
            double moved = 0, largest = 0;
            for (int i = 0; i < one.Length; i++)
            {
                moved = Math.Max(moved, Math.Abs(one[i] - initial[i]));
                largest = Math.Max(largest, Math.Abs(rank0[i] - one[i]));
            }
            Assert.True(moved > 1e-3, $"the update barely moved the weights ({moved}); the comparison would be vacuous");
            // The same sums in another order: a few float roundings of the gradient, shrunk by Adam's step size.
            Assert.True(largest < 1e-5, $"ranks and the one-process run differ by up to {largest} (weights moved by up to {moved})");
        }
        finally
        {
            foreach (var a in agents) a.Dispose();
        }
    }

    [Fact]
    public void Ranks_that_disagree_on_their_weights_are_stopped_with_a_message()
    {
        var group = new ThreadCommunicatorGroup(2);
        var errors = new string?[2];
        var agents = Enumerable.Range(0, 2).Select(_ => new Ppo(Environments.MakeVector("CartPole-v1", 2, 3), Options())).ToArray();
        try
        {
            group.Run(comm =>
            {
                var agent = agents[comm.Rank];
                agent.Distribute(comm);
                // Rank 1 steps out of line after joining: its weights no longer match rank 0's.
                if (comm.Rank == 1) agent.Policy.Parameters().First().Value.Data[0] += 1f;
                try { agent.Learn(64); }
                catch (Reinforce.Distributed.DistributedException e) { errors[comm.Rank] = e.Message; }
            });
        }
        finally
        {
            foreach (var a in agents) a.Dispose();
        }
        foreach (var e in errors)
        {
            Assert.NotNull(e);
            Assert.Contains("the weights of rank(s) 1 differ from rank 0's", e);
        }
    }

    private static float[] Weights(OnPolicyAgent agent) => agent.Optimizer.Parameters.SelectMany(p => p.Data).ToArray();

    internal static void Concatenate(RolloutBuffer[] parts, RolloutBuffer whole)
    {
        int n = parts[0].Envs, obs = parts[0].ObservationSize, width = whole.Envs;
        var observations = new float[width * obs];
        var actions = new int[width];
        var logProbs = new float[width];
        var values = new float[width];
        var rewards = new float[width];
        var terminated = new bool[width];
        var truncated = new bool[width];
        whole.Clear();
        for (int t = 0; t < parts[0].Steps; t++)
        {
            for (int r = 0; r < parts.Length; r++)
            {
                var p = parts[r];
                Array.Copy(p.Observations, t * n * obs, observations, r * n * obs, n * obs);
                Array.Copy(p.DiscreteActions, t * n, actions, r * n, n);
                Array.Copy(p.LogProbs, t * n, logProbs, r * n, n);
                Array.Copy(p.Values, t * n, values, r * n, n);
                Array.Copy(p.Rewards, t * n, rewards, r * n, n);
                Array.Copy(p.Terminated, t * n, terminated, r * n, n);
                Array.Copy(p.Truncated, t * n, truncated, r * n, n);
            }
            whole.AddStep(observations, actions, [], logProbs, values);
            whole.SetStepOutcome(rewards, terminated, truncated);
        }
        for (int t = 0; t < parts[0].Steps; t++)
            for (int r = 0; r < parts.Length; r++)
                Array.Copy(parts[r].TruncationValues, t * n, whole.TruncationValues, t * width + r * n, n);
        for (int r = 0; r < parts.Length; r++) Array.Copy(parts[r].LastValues, 0, whole.LastValues, r * n, n);
    }
}
