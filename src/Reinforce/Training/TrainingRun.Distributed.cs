using Reinforce.Algorithms;
using Reinforce.Distributed;
using Reinforce.Envs;

namespace Reinforce.Training;

/// <summary>
/// Data-parallel runs: rank 0 owns the run folder (config, metrics, evaluations, checkpoints, result); every other
/// rank trains the same agent on its own environment copies in a scratch folder of its own that is deleted at the end.
/// </summary>
public sealed partial class TrainingRun
{
    /// <summary>
    /// The run of rank r &gt; 0 for <paramref name="config"/>: the same agent and schedule, no periodic evaluation or
    /// checkpoints (rank 0 does those), in a scratch folder. With <paramref name="resumeFrom"/> (a run folder), the agent
    /// is rank 0's newest checkpoint there, read without writing to that folder.
    /// </summary>
    public static TrainingRun Follower(TrainingConfig config, string scratchDirectory, string? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        Precompilation.StartInBackground();
        var resolved = config.Resolve();
        LoadEnvironmentAssembly(resolved);
        var follower = TrainingConfig.Parse(resolved.ToJson(), "config");
        follower.Eval.EverySteps = 0;
        follower.Eval.StopWhenSolved = false;
        follower.CheckpointEverySteps = long.MaxValue / 4;
        var env = Environments.MakeVector(resolved.Env, resolved.NumEnvs, unchecked((ulong)resolved.Seed));
        OnPolicyAgent agent;
        string? checkpoint = resumeFrom is null ? null : LatestCheckpoint(resumeFrom);
        if (checkpoint is not null)
        {
            agent = Checkpoint.Load(checkpoint, env);
            agent.EnvironmentId = resolved.Env;
        }
        else
        {
            agent = CreateAgent(resolved, env);
        }
        var folder = RunFolder.Create(scratchDirectory, follower.ToJson());
        return new TrainingRun(folder, follower, agent, env);
    }

    /// <summary>
    /// Joins the ranks: checks that every rank has the same configuration (by hash), then makes the agent one rank of
    /// the data-parallel run (rank 0's weights everywhere, gradients averaged at every step).
    /// </summary>
    /// <param name="communicator">The ranks.</param>
    /// <param name="configuration">The configuration text every rank was started with (before per-rank changes).</param>
    public void JoinRanks(ICommunicator communicator, string configuration)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        DataParallel.EnsureSameConfiguration(communicator, configuration);
        Agent.Distribute(communicator);
    }
}
