using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.Envs.Vector;
using Reinforce.Spaces;
using Reinforce.Tests.Envs;

namespace Reinforce.Tests.Algorithms;

/// <summary>
/// Observations that do not fit the agent: every error names the space (a Box's shape, a Dict's keys, an image's CHW
/// layout), what is wrong with the value, and the fix.
/// </summary>
public class ObservationErrorTests
{
    private static PpoOptions Small(Action<PolicyOptions>? policy = null)
    {
        var options = new PpoOptions { Seed = 1, NumSteps = 8, BatchSize = 16, NumEpochs = 1, Policy = new PolicyOptions { HiddenSizes = [8] } };
        policy?.Invoke(options.Policy);
        return options;
    }

    [Fact]
    public void Predict_with_a_wrong_size_vector_names_the_Box_shape_and_the_size_to_pass()
    {
        using var env = Environments.MakeVector("CartPole-v1", 2, seed: 1);
        using var agent = new Ppo(env, Small());
        var ex = Assert.Throws<ArgumentException>(() => agent.Predict([0.1f, 0.2f, 0.3f]));
        Assert.Contains("Predict: 3 observation values do not fit the observation space Box(", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[4]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Pass 4 floats per observation", ex.Message, StringComparison.Ordinal);
        Assert.Equal("observations", ex.ParamName);
        // A batch is a whole number of observations: two CartPole states are fine.
        var actions = new int[2];
        agent.Predict(new float[8], actions);
    }

    [Fact]
    public void Predict_with_a_wrong_size_image_names_the_CHW_layout_the_channel_count_and_the_transposition()
    {
        using var env = Environments.MakeVector("MinAtar/Breakout-v1", 2, seed: 1);
        using var agent = new Ppo(env, Small(p => p.Cnn = "small"));
        // One plane of 10x10 instead of Breakout's four channels.
        var ex = Assert.Throws<ArgumentException>(() => agent.Predict(new float[100]));
        Assert.Contains("ByteBox(0, 1, [4, 10, 10])", ex.Message, StringComparison.Ordinal);
        Assert.Contains("image [4, 10, 10] (channels, height, width)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("has 4 channels of 10×10, but 100 values are 1 plane of 10×10", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Images are channels first, [C, H, W] = [4, 10, 10]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[H, W, C] order ([10, 10, 4])", ex.Message, StringComparison.Ordinal);
        Assert.Contains("TransposeImage", ex.Message, StringComparison.Ordinal);
        Assert.InRange(agent.Predict(new float[400]), 0, 2);   // Breakout's three actions
    }

    [Fact]
    public void A_Dict_observation_with_a_missing_or_extra_key_names_the_key_the_space_and_the_fix()
    {
        using var env = new SyncVectorEnv([Vectorizable.From(new CameraRobot()), Vectorizable.From(new CameraRobot())]);
        using var agent = new Ppo(env, Small(p => p.Cnn = "flatten"));
        var good = new Dictionary<string, object> { ["camera"] = new byte[6], ["velocity"] = new[] { 0.5f, -0.5f } };
        float[] row = agent.FlattenObservation(good);
        Assert.Equal([0, 0, 0, 0, 0, 0, 0.5f, -0.5f], row);   // keys in ordinal order: camera, then velocity
        agent.Predict(row);

        var missing = new Dictionary<string, object> { ["camera"] = new byte[6] };
        var ex = Assert.Throws<ArgumentException>(() => agent.FlattenObservation(missing));
        Assert.Contains("is missing key 'velocity'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Dict(camera: ByteBox(0, 255, [1, 2, 3]), velocity: Box(-1, 1, [2]))", ex.Message, StringComparison.Ordinal);
        Assert.Contains("add the key to the observation", ex.Message, StringComparison.Ordinal);

        var extra = new Dictionary<string, object> { ["camera"] = new byte[6], ["velocity"] = new[] { 0f, 0f }, ["speed"] = 1f };
        ex = Assert.Throws<ArgumentException>(() => agent.FlattenObservation(extra));
        Assert.Contains("has extra key 'speed' not in the space", ex.Message, StringComparison.Ordinal);

        var wrongShape = new Dictionary<string, object> { ["camera"] = new byte[5], ["velocity"] = new[] { 0f, 0f } };
        ex = Assert.Throws<ArgumentException>(() => agent.FlattenObservation(wrongShape));
        Assert.Contains("key 'camera'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("has 5 bytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains("channels first: [C, H, W]", ex.Message, StringComparison.Ordinal);

        // Flat values with a key left out: the message lays out the keys and says which one is missing.
        ex = Assert.Throws<ArgumentException>(() => agent.Predict(new float[6]));
        Assert.Contains("key 'camera': image [1, 2, 3] (channels, height, width) at floats 0–5; key 'velocity': vector [2] at floats 6–7", ex.Message, StringComparison.Ordinal);
        Assert.Contains("6 is the size of the observation without key 'velocity'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("agent.FlattenObservation(observation)", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("resizing", ex.Message, StringComparison.Ordinal);   // the key is missing; the image is fine
    }

    [Fact]
    public void A_policy_given_rows_of_another_layout_names_both_layouts()
    {
        using var env = Environments.MakeVector("MinAtar/Breakout-v1", 2, seed: 1);
        using var agent = new Ppo(env, Small(p => p.Cnn = "small"));
        var vectorLayout = ObservationLayout.Flat(4);
        var ex = Assert.Throws<ArgumentException>(() => agent.Policy.Act(new ObservationBatch(new float[4], 1, vectorLayout), PolicyState.None, [], new Rng(1), true,
            new ActionBatch(new int[1], [], new float[1], [])));
        Assert.Contains("EncoderPolicy: observations of 4 floats per row (vector [4], 4 floats)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("rows of 400 floats (image [4, 10, 10] (channels, height, width), 400 floats)", ex.Message, StringComparison.Ordinal);

        using var cartPole = Environments.MakeVector("CartPole-v1", 2, seed: 1);
        using var mlp = new Ppo(cartPole, Small());
        ex = Assert.Throws<ArgumentException>(() => mlp.Policy.Act(new ObservationBatch(new float[6], 2, ObservationLayout.Flat(3)), PolicyState.None, [], new Rng(1), true,
            new ActionBatch(new int[2], [], new float[2], [])));
        Assert.Contains("ActorCriticPolicy: observations of 3 floats per row", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_image_policy_on_a_vector_space_or_an_image_checkpoint_loaded_into_a_vector_environment_names_both_spaces()
    {
        using (var cartPole = Environments.MakeVector("CartPole-v1", 2, seed: 1))
        {
            var ex = Assert.Throws<ConfigurationException>(() => new Ppo(cartPole, Small(p => p.Cnn = "small")));
            Assert.Contains("policy.cnn", ex.Message, StringComparison.Ordinal);
            Assert.Contains("no image part", ex.Message, StringComparison.Ordinal);
            Assert.Contains("[C, H, W]", ex.Message, StringComparison.Ordinal);
        }

        string dir = Path.Combine(Path.GetTempPath(), "reinforce-image-checkpoint-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var env = Environments.MakeVector("MinAtar/Breakout-v1", 2, seed: 1))
            using (var agent = new Ppo(env, Small(p => p.Cnn = "small")))
            {
                agent.Learn(16);
                agent.Save(dir);
            }
            using var vector = Environments.MakeVector("CartPole-v1", 2, seed: 1);
            var ex = Assert.Throws<ArgumentException>(() => Ppo.Load(dir, vector));
            Assert.Contains("holds a policy for observations ByteBox(0, 1, [4, 10, 10])", ex.Message, StringComparison.Ordinal);
            Assert.Contains("(CartPole-v1) observes Box(", ex.Message, StringComparison.Ordinal);
            Assert.Contains("Load it with the environment it was trained in (MinAtar/Breakout-v1", ex.Message, StringComparison.Ordinal);
            // Without an environment the checkpoint makes its own, and acts on images.
            using var loaded = Ppo.Load(dir);
            Assert.Equal("ByteBox(0, 1, [4, 10, 10])", loaded.ObservationSpace.ToString());
            Assert.InRange(loaded.Predict(new float[400]), 0, 2);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
