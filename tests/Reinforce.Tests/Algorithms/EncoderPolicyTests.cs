using Reinforce.Algorithms;
using Reinforce.Autograd;
using Reinforce.Nn;
using Reinforce.Spaces;
using Reinforce.Tensors;
using ObservationLayout = Reinforce.Spaces.ObservationLayout;

namespace Reinforce.Tests.Algorithms;

/// <summary>
/// The encoder policy: encoders chosen from the observation layout (SB3's rules), the allocation-free acting path
/// agreeing with the recorded training path (feed-forward and recurrent, resets included), action masks, and the
/// errors for bad input.
/// </summary>
[Collection("Kernel paths")]   // asserts zero allocation in steady state: runs alone (see KernelPathsCollection)
public class EncoderPolicyTests
{
    private static EncoderPolicy Make(ObservationLayout layout, Space actions, Action<PolicyOptions>? configure = null, ulong seed = 1)
    {
        var options = new PolicyOptions { HiddenSizes = [16] };
        configure?.Invoke(options);
        return new EncoderPolicy(layout, actions, options, withCritic: true, new Rng(seed));
    }

    private static float[] RandomObservations(Rng rng, int rows, int size, float scale = 1f)
    {
        var x = new float[rows * size];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble() * scale;
        return x;
    }

    [Fact]
    public void Encoders_are_chosen_from_the_observation_like_SB3()
    {
        var small = Make(new ObservationLayout(("image", [4, 10, 10])), new Discrete(3));
        Assert.Equal(128, small.FeatureSize);                                     // MinAtar-sized images: the small CNN
        Assert.Single(small.ImageEncoder("image")!.Convolutions);
        var nature = Make(new ObservationLayout(("image", [84, 84, 4])), new Discrete(3));   // HWC recognised: channels are the smallest axis
        Assert.Equal(512, nature.FeatureSize);
        Assert.Equal(3, nature.ImageEncoder("image")!.Convolutions.Count);
        Assert.Equal(4, nature.ImageEncoder("image")!.InChannels);
        var multi = Make(new ObservationLayout(("camera", [3, 12, 12]), ("state", [5])), new Discrete(2), o => o.FeaturesDim = 32);
        Assert.Equal(32 + 5, multi.FeatureSize);                                  // one encoder per key, concatenated
        var names = multi.NamedParameters().Select(p => p.Name).ToList();
        Assert.Contains("features_extractor.camera.cnn.0.weight", names);         // SB3's NatureCNN names under the part
        Assert.Contains("features_extractor.camera.linear.0.weight", names);
        var recurrent = Make(ObservationLayout.Flat(3), new Discrete(2), o => o.LstmHiddenSize = 8);
        Assert.Contains("lstm.weight_ih_l0", recurrent.NamedParameters().Select(p => p.Name));
        Assert.True(recurrent.IsRecurrent);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Acting_agrees_with_the_recorded_evaluation_of_the_same_actions(bool channelsLast)
    {
        int[] shape = channelsLast ? [10, 10, 3] : [3, 10, 10];
        var layout = new ObservationLayout(("image", shape), ("state", [2]));
        var policy = Make(layout, new Discrete(4), o => o.NormalizeImages = true);
        var rng = new Rng(3);
        int rows = 5;
        var obs = RandomObservations(rng, rows, layout.Size, 255f);
        var actions = new int[rows];
        var logProbs = new float[rows];
        var values = new float[rows];
        policy.Act(new ObservationBatch(obs, rows, layout), PolicyState.None, [], new Rng(4), false, new ActionBatch(actions, [], logProbs, values));
        var evaluation = policy.EvaluateActions(Tensor.FromArray(obs, rows, layout.Size), actions, null);
        for (int r = 0; r < rows; r++)
        {
            Assert.Equal(evaluation.LogProb.Data[r], logProbs[r], 1e-5f);
            Assert.Equal(evaluation.Values!.Data[r], values[r], 1e-5f);
        }
    }

    [Fact]
    public void A_feed_forward_categorical_policy_hands_PPO_its_head_and_features_and_no_other_policy_does()
    {
        // PPO's one-pass categorical loss takes the head and its features from the policy: the features must be what
        // EvaluateActions reads (the same log-probabilities and values, bit for bit), and a policy the loss cannot serve
        // (recurrent: its features depend on the sequence; Gaussian; no critic to give values) must say no.
        var layout = new ObservationLayout(("image", [3, 10, 10]), ("state", [2]));
        var policy = Make(layout, new Discrete(4));
        var rng = new Rng(5);
        int rows = 6;
        var obs = Tensor.FromArray(RandomObservations(rng, rows, layout.Size), rows, layout.Size);
        int[] actions = [0, 3, 1, 2, 2, 0];
        var (head, features) = policy.CategoricalHead(obs) ?? throw new Xunit.Sdk.XunitException("no fast path for a feed-forward categorical policy");
        Assert.Equal([rows, policy.FeatureSize], features.Shape);
        var output = head.ActorCritic(features);
        var logSoftmax = Ops.LogSoftmax(output.ActorOutput);
        var evaluation = policy.EvaluateActions(obs, actions, null);
        for (int r = 0; r < rows; r++)
        {
            Assert.Equal(evaluation.LogProb.Data[r], logSoftmax.Data[r * 4 + actions[r]]);
            Assert.Equal(evaluation.Values!.Data[r], output.Values!.Data[r]);
        }

        var flat = ObservationLayout.Flat(3);
        Assert.Null(Make(flat, new Discrete(2), o => o.LstmHiddenSize = 4).CategoricalHead(Tensor.Zeros(2, 3)));
        Assert.Null(Make(flat, new Box(-1f, 1f, [2])).CategoricalHead(Tensor.Zeros(2, 3)));
        Assert.Null(new EncoderPolicy(flat, new Discrete(2), new PolicyOptions { HiddenSizes = [8] }, withCritic: false, new Rng(1)).CategoricalHead(Tensor.Zeros(2, 3)));

        var plain = new ActorCriticPolicy(3, new Discrete(2), new PolicyOptions { HiddenSizes = [8] }, withCritic: true, new Rng(1));
        var x = Tensor.Zeros(2, 3);
        var (same, input) = plain.CategoricalHead(x)!.Value;
        Assert.Same(plain, same);
        Assert.Same(x, input);
        Assert.Null(new ActorCriticPolicy(3, new Box(-1f, 1f, [2]), new PolicyOptions { HiddenSizes = [8] }, withCritic: true, new Rng(1)).CategoricalHead(x));
        Assert.Null(new ActorCriticPolicy(3, new Discrete(2), new PolicyOptions { HiddenSizes = [8] }, withCritic: false, new Rng(1)).CategoricalHead(x));
    }

    [Theory]
    [InlineData(RecurrentKind.Lstm)]
    [InlineData(RecurrentKind.Gru)]
    public void Recurrent_acting_step_by_step_agrees_with_evaluating_the_whole_sequence(RecurrentKind kind)
    {
        var layout = ObservationLayout.Flat(3);
        var policy = Make(layout, new Discrete(3), o => { o.LstmHiddenSize = 6; o.RecurrentKind = kind; o.LstmLayers = 2; });
        int steps = 6, envs = 3;
        var rng = new Rng(5);
        var obs = RandomObservations(rng, steps * envs, 3);
        var starts = new float[steps * envs];
        starts[2 * envs + 1] = 1;    // copy 1 starts a new episode at step 2
        starts[4 * envs + 0] = 1;
        var state = (RecurrentPolicyState)policy.CreateState(envs);
        // A non-zero memory at the start of the sequence, as the stored state of a rollout would be.
        foreach (var name in state.Names) state.Set(name, RandomObservations(rng, 2 * envs, 6));
        var initial = state.Names.Select(n => Tensor.FromArray(state.Get(n), 2, envs, 6)).ToArray();
        var actions = new int[steps * envs];
        var logProbs = new float[steps * envs];
        var values = new float[steps * envs];
        var actionRng = new Rng(6);
        for (int t = 0; t < steps; t++)
        {
            for (int e = 0; e < envs; e++) if (starts[t * envs + e] == 1) state.Reset(e);
            policy.Act(new ObservationBatch(obs.AsSpan(t * envs * 3, envs * 3), envs, layout), state, [], actionRng, false,
                new ActionBatch(actions.AsSpan(t * envs, envs), [], logProbs.AsSpan(t * envs, envs), values.AsSpan(t * envs, envs)));
        }
        var evaluation = policy.EvaluateSequences(Tensor.FromArray(obs, steps * envs, 3), steps, envs, initial, starts, actions, null);
        for (int i = 0; i < steps * envs; i++)
        {
            Assert.Equal(evaluation.LogProb.Data[i], logProbs[i], 1e-5f);
            Assert.Equal(evaluation.Values!.Data[i], values[i], 1e-5f);
        }
        // The recorded path backpropagates into the recurrent weights.
        Ops.Sum(evaluation.LogProb).Backward();
        Assert.Contains(policy.Memory!.WeightHh(0).Grad!.Data, v => v != 0);
    }

    [Fact]
    public void Masked_actions_are_never_sampled_and_the_masked_distribution_is_trained()
    {
        var policy = Make(ObservationLayout.Flat(4), new Discrete(5));
        Assert.Equal(5, policy.ActionMaskSize);
        int rows = 400;
        var obs = RandomObservations(new Rng(7), rows, 4);
        var mask = new bool[rows * 5];
        var maskRng = new Rng(8);
        for (int r = 0; r < rows; r++)
        {
            for (int a = 0; a < 5; a++) mask[r * 5 + a] = maskRng.NextDouble() < 0.4;
            mask[r * 5 + maskRng.NextInt(5)] = true;
        }
        var actions = new int[rows];
        var logProbs = new float[rows];
        policy.Act(new ObservationBatch(obs, rows, policy.ObservationLayout), PolicyState.None, mask, new Rng(9), false, new ActionBatch(actions, [], logProbs, []));
        for (int r = 0; r < rows; r++) Assert.True(mask[r * 5 + actions[r]], $"row {r}: masked action {actions[r]} was sampled");
        policy.Act(new ObservationBatch(obs, rows, policy.ObservationLayout), PolicyState.None, mask, new Rng(9), true, new ActionBatch(actions, [], logProbs, []));
        for (int r = 0; r < rows; r++) Assert.True(mask[r * 5 + actions[r]], $"row {r}: the deterministic action {actions[r]} is masked");
        // Log-probabilities over the legal actions only: they sum to one per row, and equal the recorded evaluation's.
        var evaluation = policy.EvaluateActions(Tensor.FromArray(obs, rows, 4), actions, null, mask);
        for (int r = 0; r < rows; r++) Assert.Equal(evaluation.LogProb.Data[r], logProbs[r], 1e-5f);
        var unmasked = policy.EvaluateActions(Tensor.FromArray(obs, rows, 4), actions, null);
        Assert.Contains(Enumerable.Range(0, rows), r => evaluation.LogProb.Data[r] > unmasked.LogProb.Data[r] + 1e-3f);
        Assert.All(Enumerable.Range(0, rows), r => Assert.True(evaluation.Entropy.Data[r] <= unmasked.Entropy.Data[r] + 1e-5f));
    }

    [Fact]
    public void A_mask_with_no_legal_action_is_an_error_naming_the_row()
    {
        var policy = Make(ObservationLayout.Flat(2), new Discrete(3));
        var mask = new[] { true, false, false, false, false, false };
        var ex = Assert.Throws<ArgumentException>(() => policy.Act(new ObservationBatch(new float[4], 2, policy.ObservationLayout), PolicyState.None, mask,
            new Rng(1), false, new ActionBatch(new int[2], [], new float[2], [])));
        Assert.Contains("row 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("allows no action", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_image_encoder_on_a_vector_observation_is_an_error_naming_the_space_and_the_fix()
    {
        var ex = Assert.Throws<ConfigurationException>(() => Make(ObservationLayout.Flat(4), new Discrete(2), o => o.Cnn = "nature"));
        Assert.Contains("policy.cnn", ex.Message, StringComparison.Ordinal);
        Assert.Contains("obs: Vector [4]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[C, H, W]", ex.Message, StringComparison.Ordinal);
        var tooSmall = Assert.Throws<ConfigurationException>(() => Make(new ObservationLayout(("image", [4, 10, 10])), new Discrete(2), o => o.Cnn = "nature"));
        Assert.Contains("cnn: small", tooSmall.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_recurrent_policy_without_its_memory_or_with_a_wrong_observation_shape_is_an_error_naming_the_fix()
    {
        var policy = Make(ObservationLayout.Flat(3), new Discrete(2), o => o.LstmHiddenSize = 4);
        var ex = Assert.Throws<ArgumentException>(() => policy.Act(new ObservationBatch(new float[6], 2, policy.ObservationLayout), PolicyState.None, [],
            new Rng(1), false, new ActionBatch(new int[2], [], new float[2], [])));
        Assert.Contains("CreateState(2)", ex.Message, StringComparison.Ordinal);
        var sequences = Assert.Throws<InvalidOperationException>(() => policy.EvaluateActions(Tensor.Zeros(2, 3), [0, 1], null));
        Assert.Contains("EvaluateSequences", sequences.Message, StringComparison.Ordinal);
        var image = Make(new ObservationLayout(("image", [2, 10, 10])), new Discrete(2));
        var shape = Assert.Throws<ArgumentException>(() => image.Features(Tensor.Zeros(3, 150)));
        Assert.Contains("[3, 150]", shape.Message, StringComparison.Ordinal);
        Assert.Contains("image: Image [2, 10, 10]", shape.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Acting_allocates_nothing_once_warm()
    {
        var layout = new ObservationLayout(("image", [4, 10, 10]));
        var policy = Make(layout, new Discrete(6), o => o.LstmHiddenSize = 16);
        int rows = 8;
        var obs = RandomObservations(new Rng(2), rows, layout.Size);
        var state = policy.CreateState(rows);
        var mask = Enumerable.Repeat(true, rows * 6).ToArray();
        var actions = new int[rows];
        var logProbs = new float[rows];
        var values = new float[rows];
        var rng = new Rng(3);
        int saved = Reinforce.Tensors.Kernels.MaxThreads;
        Reinforce.Tensors.Kernels.MaxThreads = 1;
        try
        {
            void Step() => policy.Act(new ObservationBatch(obs, rows, layout), state, mask, rng, false, new ActionBatch(actions, [], logProbs, values));
            Step();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 5; i++) Step();
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        finally
        {
            Reinforce.Tensors.Kernels.MaxThreads = saved;
        }
    }
}
