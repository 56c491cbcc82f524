using Reinforce.Algorithms;
using Reinforce.Autograd;
using Reinforce.Distributions;
using Reinforce.Nn;
using Reinforce.Spaces;
using Tensor = Reinforce.Tensors.Tensor;

namespace Reinforce.Tests.Algorithms;

/// <summary>
/// The <see cref="IPolicy"/> seam, shown with a recurrent test double driven through the real rollout and evaluation
/// loops: its memory counts the steps of the current episode per environment copy, and every call checks the count
/// against the step number the environment writes into the observation, so a loop that forgets to reset the memory
/// at an episode boundary (or resets it in the middle of an episode) is caught.
/// </summary>
public class PolicySeamTests
{
    /// <summary>A linear softmax policy with a value head whose "memory" is the step count of each copy's episode.</summary>
    private sealed class StepCountingPolicy : TrainablePolicy
    {
        private readonly Linear _actor;
        private readonly Linear _critic;
        private readonly float[] _logits = new float[2];

        public StepCountingPolicy(ObservationLayout layout, Space actionSpace, Rng rng)
        {
            ObservationLayout = layout;
            ActionSpace = actionSpace;
            _actor = RegisterModule("actor", new Linear(layout.Size, 2, rng));
            _critic = RegisterModule("critic", new Linear(layout.Size, 1, rng));
        }

        public override ObservationLayout ObservationLayout { get; }

        public override Space ActionSpace { get; }

        public override int DiscreteActionSize => 1;

        public override int ContinuousActionSize => 0;

        public override bool HasCritic => true;

        public override bool IsRecurrent => true;

        public int ActCalls { get; private set; }

        public int Mismatches { get; private set; }

        public int Resets { get; private set; }

        public List<string> Problems { get; } = [];

        public override PolicyState CreateState(int copies) => new Memory(this, copies);

        public override void Act(in ObservationBatch observations, PolicyState state, ReadOnlySpan<bool> actionMask, Rng rng, bool deterministic, in ActionBatch output)
        {
            var memory = (Memory)state;
            Assert.Equal(observations.Rows, memory.Copies);
            ActCalls++;
            var block = observations.Layout.Blocks[0];
            for (int r = 0; r < observations.Rows; r++)
            {
                var row = observations.Block(r, block);
                int stepOfEpisode = (int)MathF.Round(row[0] * 10f);   // CounterEnv writes t / 10
                if (memory.Steps[r] != stepOfEpisode)
                {
                    Mismatches++;
                    if (Problems.Count < 5) Problems.Add($"copy {r}: memory says step {memory.Steps[r]}, the environment says {stepOfEpisode}");
                }
                memory.Steps[r]++;

                for (int a = 0; a < 2; a++)
                {
                    float z = _actor.Bias!.Value.Data[a];
                    for (int k = 0; k < row.Length; k++) z += _actor.Weight.Value.Data[a * row.Length + k] * row[k];
                    _logits[a] = z;
                }
                float max = MathF.Max(_logits[0], _logits[1]);
                float logSum = max + MathF.Log(MathF.Exp(_logits[0] - max) + MathF.Exp(_logits[1] - max));
                int action = deterministic ? (_logits[1] > _logits[0] ? 1 : 0) : (rng.NextDouble() < MathF.Exp(_logits[1] - logSum) ? 1 : 0);
                output.Discrete[r] = action;
                output.LogProbs[r] = _logits[action] - logSum;
                if (!output.Values.IsEmpty) output.Values[r] = Value(row);
            }
        }

        public override void PredictValues(in ObservationBatch observations, PolicyState state, Span<float> values)
        {
            for (int r = 0; r < observations.Rows; r++) values[r] = Value(observations.Row(r));
        }

        private float Value(ReadOnlySpan<float> row)
        {
            float v = _critic.Bias!.Value.Data[0];
            for (int k = 0; k < row.Length; k++) v += _critic.Weight.Value.Data[k] * row[k];
            return v;
        }

        public override PolicyEvaluation EvaluateActions(Tensor observations, ReadOnlySpan<int> discreteActions, Tensor? continuousActions, ReadOnlySpan<bool> actionMask = default)
        {
            var dist = new Categorical(_actor.Forward(observations));
            return new PolicyEvaluation(dist.LogProb(discreteActions), dist.Entropy(), Ops.Reshape(_critic.Forward(observations), observations.Rows));
        }

        private sealed class Memory(StepCountingPolicy owner, int copies) : PolicyState
        {
            public int[] Steps { get; } = new int[copies];

            public override int Copies => Steps.Length;

            public override void Reset(int copy)
            {
                Steps[copy] = 0;
                owner.Resets++;
            }
        }
    }


    [Fact]
    public void The_rollout_loop_carries_a_recurrent_policys_memory_per_copy_and_resets_it_at_every_episode_start()
    {
        {
            StepCountingPolicy? built = null;
            // Copy 0 terminates after 3 steps, copy 1 is truncated by the time limit after 5.
            using var env = CounterEnv.TerminatingAndTruncating();
            using var agent = new Ppo(env, new PpoOptions { NumSteps = 16, BatchSize = 32, NumEpochs = 2, Seed = 3 },
                (layout, actionSpace, options, withCritic, rng) => built = new StepCountingPolicy(layout, actionSpace, rng));
            var policy = built!;
            Assert.Same(policy, agent.Policy);
            agent.Learn(3 * 16 * 2);

            Assert.Equal(3 * 16, policy.ActCalls);
            Assert.True(policy.Mismatches == 0, string.Join("; ", policy.Problems));
            // 48 steps: copy 0 ends an episode every 3 steps (16 ends), copy 1 every 5 (9 ends).
            Assert.Equal(16 + 9, policy.Resets);
            Assert.Equal(16 + 9, (int)agent.Episodes.Total);
            Assert.True(policy.Parameters().All(p => p.Value.Data.All(float.IsFinite)));

            // The evaluation loop goes through the same seam.
            using var evalEnv = CounterEnv.TerminatingAndTruncating();
            int before = policy.ActCalls;
            var result = agent.Evaluate(evalEnv, episodes: 6, deterministic: false, seed: 4);
            Assert.Equal(6, result.Returns.Length);
            Assert.True(policy.ActCalls > before);
            Assert.True(policy.Mismatches == 0, string.Join("; ", policy.Problems));
        }
    }

    [Fact]
    public void The_test_double_notices_a_loop_that_forgets_to_reset_its_memory()
    {
        {
            using var env = CounterEnv.TerminatingAndTruncating();
            var policy = new StepCountingPolicy(ObservationLayout.Of(env.SingleObservationSpace), env.SingleActionSpace, new Rng(1));
            var state = policy.CreateState(env.NumEnvs);
            var actions = new int[2];
            env.Reset(0);
            for (int t = 0; t < 6; t++)
            {
                policy.Act(new ObservationBatch(env.Observations, 2, policy.ObservationLayout), state, [], new Rng((ulong)t), false,
                    new ActionBatch(actions, [], new float[2], []));
                env.Step(actions);   // no state.Reset for finished copies: the next episode starts with stale memory
            }
            Assert.True(policy.Mismatches > 0);
        }
    }

    [Fact]
    public void An_observation_batch_views_the_blocks_of_a_dict_observation_in_place()
    {
        var layout = ObservationLayout.Of(new DictSpace(("vector", new Box(-1f, 1f, [3])), ("image", new Box(0f, 1f, [2, 2, 2]))));
        Assert.Equal(11, layout.Size);
        Assert.Equal(8, layout["vector"].Offset);   // keys sorted, as Gymnasium's Dict
        float[] data = [.. Enumerable.Range(0, 22).Select(i => (float)i)];
        var batch = new ObservationBatch(data, 2, layout);
        Assert.Equal([19f, 20f, 21f], batch.Block(1, layout["vector"]).ToArray());
        var images = new float[16];
        batch.GatherBlock(layout["image"], images);
        Assert.Equal([.. Enumerable.Range(0, 8).Select(i => (float)i), .. Enumerable.Range(11, 8).Select(i => (float)i)], images);
        Assert.Throws<KeyNotFoundException>(() => layout["depth"]);
        Assert.Throws<ArgumentException>(() => new ObservationBatch(data.AsSpan(0, 10), 1, layout));
    }

    [Fact]
    public void The_default_policy_refuses_an_action_mask_it_cannot_honour()
    {
        using var env = CounterEnv.TerminatingAndTruncating();
        using var agent = new Ppo(env, new PpoOptions { NumSteps = 4, BatchSize = 8 });
        Assert.Equal(0, agent.Policy.ActionMaskSize);
        env.Reset(0);
        var ex = Assert.Throws<ArgumentException>(() => agent.Policy.Act(new ObservationBatch(env.Observations, 2, agent.Policy.ObservationLayout),
            PolicyState.None, new bool[4], new Rng(1), false, new ActionBatch(new int[2], [], new float[2], [])));
        Assert.Contains("mask", ex.Message, StringComparison.Ordinal);
    }
}
