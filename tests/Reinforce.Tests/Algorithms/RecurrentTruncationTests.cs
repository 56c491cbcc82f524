using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.Envs.Vector;
using Reinforce.Spaces;
using Reinforce.Tests.Export;

namespace Reinforce.Tests.Algorithms;

/// <summary>A clock whose observation [0.1·t, (t mod 3) − 1] does not depend on the actions and never terminates: only a time limit ends it.</summary>
internal sealed class Clock() : Environment<float[], int>(new Box(-1f, 10f, [2]), new Discrete(2), "Clock")
{
    private int _t;

    public static float[] Observation(int t) => [0.1f * t, t % 3 - 1];

    protected override (float[] Observation, StepInfo Info) OnReset()
    {
        _t = 0;
        return (Observation(0), StepInfo.Empty);
    }

    protected override Step<float[]> OnStep(int action)
    {
        _t++;
        return new Step<float[]>(Observation(_t), 1.0, false, false, StepInfo.Empty);
    }
}

/// <summary>
/// At a time-limit truncation a recurrent policy's bootstrap value V(final observation) must come from the memory of
/// that copy at that step (the episode it has seen), not from a fresh memory, as sb3-contrib's RecurrentPPO does.
/// </summary>
public class RecurrentTruncationTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_truncation_bootstrap_uses_the_memory_of_the_truncated_copy_at_that_step(bool gru)
    {
        const int envs = 2, limit = 5;
        using var env = new SyncVectorEnv([Vectorizable.From(new Clock()), Vectorizable.From(new Clock())], maxEpisodeSteps: limit);
        using var agent = new Ppo(env, new PpoOptions
        {
            Seed = 4, NumSteps = 8, BatchSize = 16, NumEpochs = 1,
            Policy = new PolicyOptions { HiddenSizes = [8], LstmHiddenSize = 6, RecurrentKind = gru ? Reinforce.Nn.RecurrentKind.Gru : Reinforce.Nn.RecurrentKind.Lstm },
        });
        var policy = agent.Policy;
        PolicyExporterTests.Randomize(policy, 17, scale: 2f);
        agent.StartEnvironments();
        agent.CollectRollout();

        var buffer = agent.Buffer;
        int truncatedAt = limit - 1;   // the fifth step of the first episode
        var layout = policy.ObservationLayout;
        var finalObservation = Clock.Observation(limit);
        for (int copy = 0; copy < envs; copy++)
        {
            Assert.True(buffer.Truncated[truncatedAt * envs + copy]);
            // The memory the copy had after its fifth step: replay its observations from the rollout's (zero) start.
            var memory = policy.CreateState(1);
            var action = new int[1];
            for (int t = 0; t <= truncatedAt; t++)
            {
                var row = buffer.Observations.AsSpan((t * envs + copy) * layout.Size, layout.Size);
                policy.Act(new ObservationBatch(row, 1, layout), memory, [], new Rng(1), deterministic: true, new ActionBatch(action, [], new float[1], new float[1]));
            }
            var expected = new float[1];
            policy.PredictValues(new ObservationBatch(finalObservation, 1, layout), memory, expected);
            var fresh = new float[1];
            policy.PredictValues(finalObservation, 1, fresh);

            float bootstrap = buffer.TruncationValues[truncatedAt * envs + copy];
            Assert.Equal(expected[0], bootstrap);
            Assert.True(Math.Abs(fresh[0] - bootstrap) > 1e-3, $"copy {copy}: the value with the episode's memory ({bootstrap}) equals the fresh-memory value ({fresh[0]}), so the test cannot tell them apart");
        }
    }
}
