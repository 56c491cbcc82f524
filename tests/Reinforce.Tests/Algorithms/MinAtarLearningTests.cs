using System.Diagnostics;
using Reinforce.Algorithms;
using Reinforce.Envs;
using Xunit.Abstractions;

namespace Reinforce.Tests.Algorithms;

/// <summary>
/// PPO with the CNN policy on MinAtar at a small budget, seeded: the learned return must be clearly above a random
/// policy's (measured on the same evaluation seeds). The settings are PureJaxRL's MinAtar PPO ones scaled down
/// (fewer environments and steps per rollout).
/// </summary>
[Trait("Category", "Learning")]
public class MinAtarLearningTests(ITestOutputHelper output)
{
    internal static PpoOptions MinAtarPpo(int seed) => new()
    {
        Seed = seed,
        NumSteps = 128,
        BatchSize = 256,
        NumEpochs = 4,
        LearningRate = 1e-3f,
        LearningRateSchedule = Schedule.Linear,
        Gamma = 0.99f,
        GaeLambda = 0.95f,
        ClipRange = 0.2f,
        EntropyCoef = 0.01f,
        ValueCoef = 0.5f,
        MaxGradNorm = 0.5f,
        Policy = new PolicyOptions { HiddenSizes = [64], Activation = "relu", Cnn = "small" },
    };

    private static double Evaluate(OnPolicyAgent agent, string id)
    {
        using var env = Environments.MakeVector(id, 8, 4242);
        return agent.Evaluate(env, 40, deterministic: false, seed: 4242).Mean;
    }

    [Theory]
    [InlineData("MinAtar/Breakout-v1", 150_000, 3.0)]        // random play: about 0.5 per episode
    [InlineData("MinAtar/SpaceInvaders-v1", 150_000, 15.0)]  // random play: about 3.5
    public void Ppo_with_the_cnn_policy_learns_MinAtar(string id, int steps, double target)
    {
        using var env = Environments.MakeVector(id, 8, seed: 1);
        using var agent = new Ppo(env, MinAtarPpo(seed: 1));
        double before = Evaluate(agent, id);
        var clock = Stopwatch.StartNew();
        agent.Learn(steps);
        double after = Evaluate(agent, id);
        output.WriteLine($"{id}: {before:F2} -> {after:F2} in {steps} steps, {clock.Elapsed.TotalSeconds:F0} s");
        Assert.True(before < target / 3, $"{id}: the untrained policy already scores {before:F2}");
        Assert.True(after >= target, $"{id}: PPO went from {before:F2} to only {after:F2} in {steps} steps (needs {target})");
    }
}
