using Reinforce.Algorithms;

namespace Reinforce.Tests.Algorithms;

public class RolloutTests
{
    /// <summary>
    /// A policy that allows it (a critic on the observations alone) gets a rollout's values in one batch at its end:
    /// the same bits as computing them at each step, for small and wide networks, tanh and relu, discrete and continuous
    /// actions, gSDE, and A2C, over rollouts that follow updates.
    /// </summary>
    [Theory]
    [InlineData("CartPole-v1", "ppo", 4, "64,64", "tanh")]
    [InlineData("CartPole-v1", "a2c", 8, "32,32", "relu")]
    [InlineData("Acrobot-v1", "ppo", 16, "256,256", "tanh")]
    [InlineData("Pendulum-v1", "ppo", 4, "64,64", "tanh")]          // the preset's gSDE
    [InlineData("MountainCarContinuous-v0", "ppo", 3, "17", "relu")]
    public void Values_computed_after_the_rollout_are_the_bits_each_step_computed(string envId, string algo, int envs, string hidden, string activation)
    {
        OnPolicyAgent Make(Reinforce.Envs.Vector.IVectorEnv env, bool eachStep)
        {
            var config = Reinforce.Training.TrainingConfig.Preset(envId);
            config.Algo = algo;
            config.NumEnvs = envs;
            var options = config.AlgorithmOptions;
            options.Policy.HiddenSizes = [.. hidden.Split(',').Select(int.Parse)];
            options.Policy.Activation = activation;
            var agent = Reinforce.Training.TrainingRun.CreateAgent(config, env);
            agent.ValuesEachStep = eachStep;
            return agent;
        }
        using var envA = Reinforce.Envs.Environments.MakeVector(envId, envs, seed: 3);
        using var envB = Reinforce.Envs.Environments.MakeVector(envId, envs, seed: 3);
        using var batched = Make(envA, eachStep: false);
        using var stepwise = Make(envB, eachStep: true);
        Assert.True(batched.Policy.ValuesAfterRollout);
        batched.StartEnvironments();
        stepwise.StartEnvironments();
        var metrics = new TrainingMetrics();
        for (int rollout = 0; rollout < 3; rollout++)
        {
            batched.CollectRollout();
            stepwise.CollectRollout();
            Assert.Equal(stepwise.Buffer.Observations, batched.Buffer.Observations);
            Assert.Equal(Bits(stepwise.Buffer.Values), Bits(batched.Buffer.Values));
            Assert.Equal(Bits(stepwise.Buffer.LastValues), Bits(batched.Buffer.LastValues));
            Assert.Equal(Bits(stepwise.Buffer.TruncationValues), Bits(batched.Buffer.TruncationValues));
            Assert.Contains(batched.Buffer.Values, v => v != 0f);
            if (envId == "Pendulum-v1") Assert.Contains(batched.Buffer.Truncated, t => t);   // 200-step episodes in 1024-step rollouts: bootstraps while pieces run
            batched.RunUpdate(0.5, metrics);
            stepwise.RunUpdate(0.5, metrics);
        }
    }

    /// <summary>A critic worth it (CleanRL's 4-64-64: 283k multiply-adds per piece) gets its values on the second core while
    /// the rollout goes on; the preset's 4-32-32 (76k) at the end, on the rollout's thread; one thread never uses a worker.</summary>
    [Fact]
    public void The_values_go_to_the_second_core_when_a_piece_is_worth_it()
    {
        using var env = Reinforce.Envs.Environments.MakeVector("CartPole-v1", 4, seed: 1);
        using var cleanRl = new Ppo(env, new PpoOptions { NumSteps = 128, BatchSize = 128, Policy = new() { HiddenSizes = [64, 64] } });
        using var preset = new Ppo(env, new PpoOptions { NumSteps = 128, BatchSize = 128, Policy = new() { HiddenSizes = [32, 32] } });
        Assert.Equal(4 * 64 + 64 * 64 + 64, cleanRl.Policy.ValueWorkPerRow);
        Assert.True(RolloutValues.WorthASecondCore(cleanRl.Policy, maxThreads: 2));
        Assert.False(RolloutValues.WorthASecondCore(preset.Policy, maxThreads: 2));
        Assert.False(RolloutValues.WorthASecondCore(cleanRl.Policy, maxThreads: 1));
    }

    private static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];

    [Fact]
    public void Truncated_episodes_are_bootstrapped_with_the_value_of_their_final_observation_and_terminated_ones_are_not()
    {
        using var env = CounterEnv.TerminatingAndTruncating();
        using var agent = new Ppo(env, new PpoOptions { NumSteps = 8, BatchSize = 16, Gamma = 0.9f, GaeLambda = 0.7f, Policy = new() { HiddenSizes = [8] } });
        env.Reset(0);
        agent.Learn(1);   // one rollout + update starts the environments; collect a fresh rollout to inspect
        agent.CollectRollout();
        var buffer = agent.Buffer;
        int truncations = 0, terminations = 0;
        var finalValue = new float[1];
        for (int t = 0; t < buffer.Steps; t++)
        {
            for (int e = 0; e < buffer.Envs; e++)
            {
                int i = t * buffer.Envs + e;
                if (e == 1 && buffer.Truncated[i])
                {
                    truncations++;
                    Assert.False(buffer.Terminated[i]);
                    // The final observation of copy 1's episode is [5 / 10, 1]: the time limit stops it after 5 steps.
                    agent.Policy.PredictValues([0.5f, 1f], 1, finalValue);
                    Assert.Equal(finalValue[0], buffer.TruncationValues[i]);
                    Assert.NotEqual(0f, buffer.TruncationValues[i]);
                }
                if (e == 0 && buffer.Terminated[i])
                {
                    terminations++;
                    Assert.False(buffer.Truncated[i]);
                    Assert.Equal(0f, buffer.TruncationValues[i]);
                }
            }
        }
        Assert.True(truncations >= 1 && terminations >= 2, $"{truncations} truncations, {terminations} terminations in the rollout");

        // The advantage at a truncated step uses γ·V(final observation); at a terminated step, nothing.
        buffer.ComputeGae(0.9f, 0.7f);
        for (int t = 0; t < buffer.Steps; t++)
        {
            int trunc = t * 2 + 1, term = t * 2;
            if (buffer.Truncated[trunc])
                Assert.Equal(1f + 0.9f * buffer.TruncationValues[trunc] - buffer.Values[trunc], buffer.Advantages[trunc], 5);
            if (buffer.Terminated[term])
                Assert.Equal(1f - buffer.Values[term], buffer.Advantages[term], 5);
        }
    }

    [Fact]
    public void Reward_to_go_leaves_out_the_unfinished_episode_at_the_end_of_the_rollout()
    {
        var buffer = new RolloutBuffer(steps: 5, envs: 1, observationSize: 1, discreteActionSize: 1, continuousActionSize: 0);
        bool[] ends = [false, true, false, false, false];   // episode A: steps 0-1; episode B: steps 2-4, still running
        for (int t = 0; t < 5; t++)
        {
            buffer.AddStep([t], [0], [], [0f], [0f]);
            buffer.SetStepOutcome([1f], [ends[t]], [false]);
        }
        buffer.ComputeRewardToGo(gamma: 0.5f, completeEpisodesOnly: true);
        Assert.Equal([1f, 1f, 0f, 0f, 0f], buffer.Weights);
        Assert.Equal(1.5f, buffer.Returns[0]);
        Assert.Equal(1f, buffer.Returns[1]);
        Assert.Equal(2, buffer.CountWeighted());
    }

    [Fact]
    public void Adding_past_the_end_or_computing_early_is_reported()
    {
        var buffer = new RolloutBuffer(2, 1, 1, 1, 0);
        Assert.Throws<InvalidOperationException>(() => buffer.ComputeGae(0.9f, 0.9f));
        buffer.AddStep([0f], [0], [], [0f], [0f]);
        buffer.AddStep([0f], [0], [], [0f], [0f]);
        Assert.Throws<InvalidOperationException>(() => buffer.AddStep([0f], [0], [], [0f], [0f]));
    }
}
