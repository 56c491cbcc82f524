using System.Text.Json.Nodes;
using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.Envs.Vector;
using Reinforce.Spaces;
using Reinforce.Tests.Algorithms;

namespace Reinforce.Tests.Envs;

/// <summary>Environment state snapshots (<see cref="IStatefulEnv"/>) and the three ways a checkpoint restores environments.</summary>
public sealed class EnvironmentStateTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "reinforce-envstate-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    public static TheoryData<string> BuiltIn() =>
        ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1", "FryShack", "ShortCorridor", "Bandit-10arm", "Bandit-10arm-mean4"];

    /// <summary>Random valid actions for one vector step.</summary>
    private static void Act(IVectorEnv env, Rng rng, int[] discrete, float[] continuous)
    {
        if (env.SingleActionSpace is Discrete d) for (int i = 0; i < discrete.Length; i++) discrete[i] = d.Start + rng.NextInt(d.N);
        else for (int i = 0; i < continuous.Length; i++) continuous[i] = (float)rng.Uniform(-1.5, 1.5);
    }

    private static void Step(IVectorEnv env, int[] discrete, float[] continuous)
    {
        if (env.SingleActionSpace is Discrete) env.Step(discrete);
        else env.Step(continuous);
    }

    [Theory]
    [MemberData(nameof(BuiltIn))]
    public void Every_built_in_environment_continues_from_a_snapshot_exactly_as_without_one(string id)
    {
        using var a = Environments.MakeVector(id, 3, 11);
        Assert.Equal(EnvironmentRestore.Snapshot, a.Restore);
        var rng = new Rng(3);
        var discrete = new int[a.NumEnvs];
        var continuous = new float[a.NumEnvs * a.ActionSize];
        for (int t = 0; t < 700; t++) { Act(a, rng, discrete, continuous); Step(a, discrete, continuous); }   // past episode ends and time limits
        var writer = new EnvironmentStateWriter();
        a.SaveState(writer);
        byte[] state = writer.ToArray();

        using var b = Environments.MakeVector(id, 3, 999);   // another seed: everything must come from the state
        b.LoadState(new EnvironmentStateReader(state));
        Assert.Equal(a.Observations.ToArray(), b.Observations.ToArray());
        var actionRng = new Rng(8);
        for (int t = 0; t < 700; t++)
        {
            Act(a, actionRng, discrete, continuous);
            Step(a, discrete, continuous);
            Step(b, discrete, continuous);
            Assert.Equal(a.Observations.ToArray(), b.Observations.ToArray());
            Assert.Equal(a.Rewards.ToArray(), b.Rewards.ToArray());
            Assert.Equal(a.Terminated.ToArray(), b.Terminated.ToArray());
            Assert.Equal(a.Truncated.ToArray(), b.Truncated.ToArray());
            Assert.Equal(a.CompletedEpisodes.ToArray(), b.CompletedEpisodes.ToArray());
        }
    }

    [Fact]
    public void A_state_does_not_load_into_a_differently_made_environment()
    {
        using var cartPole = Environments.MakeVector("CartPole-v1", 3, 1);
        var writer = new EnvironmentStateWriter();
        cartPole.SaveState(writer);
        using var fewer = Environments.MakeVector("CartPole-v1", 2, 1);
        var count = Assert.Throws<InvalidDataException>(() => fewer.LoadState(new EnvironmentStateReader(writer.ToArray())));
        Assert.Contains("3 copies", count.Message, StringComparison.Ordinal);
        using var acrobot = Environments.MakeVector("Acrobot-v1", 3, 1);   // 6 observations, not 4
        Assert.Throws<InvalidDataException>(() => acrobot.LoadState(new EnvironmentStateReader(writer.ToArray())));
        using var pendulum = Environments.MakeVector("MountainCar-v0", 3, 1);
        Assert.Throws<InvalidDataException>(() => pendulum.LoadState(new EnvironmentStateReader(writer.ToArray()[..40])));
    }

    [Fact]
    public void Environments_that_cannot_save_state_replay_and_those_that_cannot_replay_reset()
    {
        using var counters = CounterEnv.TerminatingAndTruncating();
        Assert.Equal(EnvironmentRestore.Replay, counters.Restore);
        using var remote = new SyncVectorEnv([new RemoteLikeEnv(), new RemoteLikeEnv()], 50);
        Assert.Equal(EnvironmentRestore.Reset, remote.Restore);
        Assert.Throws<NotSupportedException>(() => remote.SaveState(new EnvironmentStateWriter()));
    }

    private static PpoOptions Small() => new()
    {
        Seed = 2, NumSteps = 16, BatchSize = 32, NumEpochs = 2, LearningRate = 1e-3f, Policy = new PolicyOptions { HiddenSizes = [8] },
    };

    private static float[] Flat(OnPolicyAgent agent) => agent.Policy.StateDict().Values.SelectMany(t => t.Data).ToArray();

    private static IVectorEnv Counters() => new SyncVectorEnv([new CounterEnv(0, 7), new CounterEnv(1, null)], maxEpisodeSteps: 11);

    [Fact]
    public void Snapshot_checkpoints_keep_no_action_log_and_stay_the_same_size()
    {
        using var env = Environments.MakeVector("CartPole-v1", 4, 0);
        using var agent = new Ppo(env, Small());
        agent.Learn(640);
        agent.Save(Path.Combine(_dir, "early"));
        agent.Learn(6400);
        agent.Save(Path.Combine(_dir, "late"));
        Assert.Equal(0, agent.Actions.Steps);   // nothing recorded in memory
        Assert.False(File.Exists(Path.Combine(_dir, "late", "actions.bin")));
        Assert.Equal(new FileInfo(Path.Combine(_dir, "early", "environment.bin")).Length, new FileInfo(Path.Combine(_dir, "late", "environment.bin")).Length);
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "late", "agent.json")))!;
        Assert.Equal("snapshot", manifest["environment"]!["restore"]!.GetValue<string>());
    }

    [Fact]
    public void Replayed_environments_still_resume_bit_for_bit_and_a_missing_action_log_is_reported()
    {
        const long total = 2 * 16 * 6;
        using var envA = Counters();
        using var whole = new Ppo(envA, Small());
        whole.Learn(total);

        using (var envB = Counters())
        using (var first = new Ppo(envB, Small()))
        {
            first.Learn(total, [new Reinforce.Training.StopAtSteps(total / 2)]);
            Assert.True(first.Actions.Steps > 0);
            first.Save(_dir);
        }
        Assert.True(File.Exists(Path.Combine(_dir, "actions.bin")));
        Assert.False(File.Exists(Path.Combine(_dir, "environment.bin")));
        using (var envC = Counters())
        using (var resumed = OnPolicyAgent.Load(_dir, envC))
        {
            resumed.Learn(total);
            Assert.Equal(Flat(whole), Flat(resumed));
        }

        File.Delete(Path.Combine(_dir, "actions.bin"));
        var missing = Assert.Throws<Reinforce.IO.CheckpointFormatException>(() => OnPolicyAgent.Load(_dir, Counters()));
        Assert.Contains("actions.bin", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Environments_that_can_do_neither_resume_with_exact_weights_and_fresh_episodes()
    {
        IVectorEnv Remote() => new SyncVectorEnv([new RemoteLikeEnv(), new RemoteLikeEnv()], 20);
        using var env = Remote();
        using var agent = new Ppo(env, Small());
        agent.Learn(320);
        agent.Save(_dir);
        Assert.False(File.Exists(Path.Combine(_dir, "actions.bin")));
        Assert.False(File.Exists(Path.Combine(_dir, "environment.bin")));
        Assert.Equal(EnvironmentRestore.Reset, Checkpoint.RestoreOf(_dir));

        using var again = Remote();
        using var loaded = OnPolicyAgent.Load(_dir, again);
        Assert.Equal(Flat(agent), Flat(loaded));
        Assert.Equal(agent.StepsDone, loaded.StepsDone);
        Assert.Equal(agent.Optimizer.GetState().ToJson(), loaded.Optimizer.GetState().ToJson());
        loaded.Learn(loaded.StepsDone + 64);   // training continues on fresh episodes
        Assert.Equal(agent.StepsDone + 64, loaded.StepsDone);
    }

    /// <summary>A test double of a remote simulator: its dynamics depend on something outside the seed (here a shared counter).</summary>
    private sealed class RemoteLikeEnv() : DiscreteEnvironment("RemoteLike", new Box(-1f, 1f, [1]), new Discrete(2)), INondeterministicEnv
    {
        private static int s_clock;

        protected override void OnReset(Span<float> observation) => observation[0] = 0;

        protected override StepOutcome OnStep(int action, Span<float> observation)
        {
            observation[0] = (Interlocked.Increment(ref s_clock) % 3) / 3f;
            return new StepOutcome(action, false);
        }
    }
}
