using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.IO;
using Reinforce.Training;
using Reinforce.Envs.ClassicControl;
using Reinforce.Envs.Vector;

namespace Reinforce.Tests.Training;

[Collection("Fuzz")] // its FailBeforeSwapForTests hook is static: tests that save checkpoints run apart from it
public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "reinforce-ckpt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static PpoOptions SmallPpo(bool normalize = false) => new()
    {
        Seed = 4, NumSteps = 32, BatchSize = 64, NumEpochs = 3, LearningRate = 1e-3f, LearningRateSchedule = Schedule.Linear,
        ClipRangeSchedule = Schedule.Linear, NormalizeObservations = normalize, NormalizeRewards = normalize,
        Policy = new PolicyOptions { HiddenSizes = [16, 16] },
    };

    private static float[] Flat(OnPolicyAgent agent) => agent.Policy.StateDict().Values.SelectMany(t => t.Data).ToArray();

    [Theory]
    [InlineData("CartPole-v1", false)]
    [InlineData("Pendulum-v1", true)]
    public void Train_save_load_continue_equals_training_without_interruption_bit_for_bit(string envId, bool normalize)
    {
        const long total = 4 * 4 * 32 * 5;   // 5 rollouts of 4 envs × 32 steps… ×4
        var options = SmallPpo(normalize);
        using var envA = Environments.MakeVector(envId, 4, 0);
        using var uninterrupted = new Ppo(envA, options);
        uninterrupted.Learn(total);

        using var envB = Environments.MakeVector(envId, 4, 0);
        using (var first = new Ppo(envB, options))
        {
            first.Learn(total, [new StopAtSteps(total / 2)]);
            Assert.True(first.StepsDone < total);
            first.Save(_dir);
        }
        using var envC = Environments.MakeVector(envId, 4, 0);
        using var resumed = Ppo.Load(_dir, envC);
        Assert.Equal(total / 2, resumed.StepsDone);
        resumed.Learn(total);

        Assert.Equal(uninterrupted.StepsDone, resumed.StepsDone);
        Assert.Equal(Flat(uninterrupted), Flat(resumed));   // bit-identical weights
        Assert.Equal(uninterrupted.Optimizer.GetState().ToJson(), resumed.Optimizer.GetState().ToJson());
        if (normalize)
            Assert.Equal(uninterrupted.ObservationNormalizer!.Statistics.Mean, resumed.ObservationNormalizer!.Statistics.Mean);
    }

    [Fact]
    public void The_same_seed_gives_the_same_bits_and_another_seed_does_not()
    {
        float[] Train(int seed)
        {
            var o = SmallPpo();
            o.Seed = seed;
            using var env = Environments.MakeVector("CartPole-v1", 4, 0);
            using var agent = new Ppo(env, o);
            agent.Learn(1024);
            return Flat(agent);
        }
        Assert.Equal(Train(1), Train(1));
        Assert.NotEqual(Train(1), Train(2));
    }

    private OnPolicyAgent SavedAgent(IVectorEnv env)
    {
        var agent = new Ppo(env, SmallPpo());
        agent.Learn(512);
        agent.Save(_dir);
        return agent;
    }

    [Fact]
    public void A_truncated_weights_file_is_reported_with_its_name()
    {
        using var env = Environments.MakeVector("CartPole-v1", 4, 0);
        using (SavedAgent(env)) { }
        string model = Path.Combine(_dir, "model.safetensors");
        File.WriteAllBytes(model, File.ReadAllBytes(model)[..100]);
        var ex = Assert.Throws<CheckpointFormatException>(() => OnPolicyAgent.Load(_dir, Environments.MakeVector("CartPole-v1", 4, 0)));
        Assert.Contains("model.safetensors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("SHA-256", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupt_manifest_or_a_missing_file_is_reported()
    {
        using var env = Environments.MakeVector("CartPole-v1", 4, 0);
        using (SavedAgent(env)) { }
        // CartPole saves its state (environment.bin); environments that replay their actions keep actions.bin instead (EnvironmentStateTests).
        File.Delete(Path.Combine(_dir, "environment.bin"));
        var missing = Assert.Throws<CheckpointFormatException>(() => OnPolicyAgent.Load(_dir, Environments.MakeVector("CartPole-v1", 4, 0)));
        Assert.Contains("environment.bin", missing.Message, StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(_dir, "agent.json"), "{ \"format_version\": 1, \"files\": ");
        var corrupt = Assert.Throws<CheckpointFormatException>(() => OnPolicyAgent.Load(_dir, Environments.MakeVector("CartPole-v1", 4, 0)));
        Assert.Contains("agent.json", corrupt.Message, StringComparison.Ordinal);

        var notACheckpoint = Assert.Throws<CheckpointFormatException>(() => OnPolicyAgent.Load(Path.Combine(_dir, "nothing-here")));
        Assert.Contains("does not exist", notACheckpoint.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Weights_of_another_network_are_rejected()
    {
        string other = _dir + "-other";
        try
        {
            using var env = Environments.MakeVector("CartPole-v1", 4, 0);
            using (SavedAgent(env)) { }
            var bigger = SmallPpo();
            bigger.Policy.HiddenSizes = [32, 32];
            using (var agent = new Ppo(Environments.MakeVector("CartPole-v1", 4, 0), bigger))
            {
                agent.Learn(128);
                agent.Save(other);
            }
            // Mix the files: the bigger network's weights (with a matching checksum) under the smaller network's settings.
            File.Copy(Path.Combine(other, "model.safetensors"), Path.Combine(_dir, "model.safetensors"), overwrite: true);
            var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "agent.json")))!;
            manifest["files"]!["model.safetensors"] = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(other, "agent.json")))!["files"]!["model.safetensors"]!.GetValue<string>();
            CheckpointManifest.Seal(manifest.AsObject()); // a deliberate forgery, so agent.json's own checksum matches too
            File.WriteAllText(Path.Combine(_dir, "agent.json"), manifest.ToJsonString());
            var ex = Assert.Throws<CheckpointFormatException>(() => OnPolicyAgent.Load(_dir, Environments.MakeVector("CartPole-v1", 4, 0)));
            Assert.Contains("do not fit the network", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(other)) Directory.Delete(other, recursive: true);
        }
    }

    [Fact]
    public void Loading_into_a_different_environment_is_reported()
    {
        using var env = Environments.MakeVector("CartPole-v1", 4, 0);
        using (SavedAgent(env)) { }
        var count = Assert.Throws<ArgumentException>(() => OnPolicyAgent.Load(_dir, Environments.MakeVector("CartPole-v1", 2, 0)));
        Assert.Contains("4 environments", count.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_crash_while_saving_never_destroys_the_previous_checkpoint()
    {
        using var env = Environments.MakeVector("CartPole-v1", 4, 0);
        using var agent = SavedAgent(env);
        long savedSteps = agent.StepsDone;
        agent.Learn(agent.StepsDone + 256);

        // Crash after the new files are written but before the swap: the old checkpoint is untouched.
        Checkpoint.FailBeforeSwapForTests = true;
        try
        {
            Assert.Throws<IOException>(() => agent.Save(_dir));
        }
        finally
        {
            Checkpoint.FailBeforeSwapForTests = false;
        }
        Assert.Equal(savedSteps, Checkpoint.StepsOf(_dir));
        using (var loaded = OnPolicyAgent.Load(_dir, Environments.MakeVector("CartPole-v1", 4, 0))) Assert.Equal(savedSteps, loaded.StepsDone);

        // Crash between the two renames: the folder is gone but its renamed copy is found.
        string parked = _dir + ".old-deadbeef";
        Directory.Move(_dir, parked);
        try
        {
            using var recovered = OnPolicyAgent.Load(_dir, Environments.MakeVector("CartPole-v1", 4, 0));
            Assert.Equal(savedSteps, recovered.StepsDone);
        }
        finally
        {
            Directory.Move(parked, _dir);
        }

        // A successful save replaces it and leaves no temporary folders behind.
        agent.Save(_dir);
        Assert.Equal(agent.StepsDone, Checkpoint.StepsOf(_dir));
        Assert.DoesNotContain(Directory.GetDirectories(Path.GetDirectoryName(_dir)!), d => Path.GetFileName(d).StartsWith(Path.GetFileName(_dir) + ".", StringComparison.Ordinal));
    }

    [Fact]
    public void Predict_acts_from_raw_observations_after_loading()
    {
        using var env = Environments.MakeVector("Pendulum-v1", 2, 0);
        var o = SmallPpo(normalize: true);
        float[][] observations = [[1f, 0f, 0.5f], [0f, 1f, -3f], [-0.7f, 0.7f, 6f], [0.2f, -0.98f, 1.5f], [-1f, 0f, -7.5f]];
        var expected = new float[observations.Length];
        using (var agent = new Ppo(env, o))
        {
            agent.Learn(512);
            agent.Save(_dir);
            var action = new float[1];
            for (int i = 0; i < observations.Length; i++) { agent.Predict(observations[i], action, deterministic: true); expected[i] = action[0]; }
            // The normaliser has moved away from the identity, so acting on raw observations without it would differ.
            Assert.NotNull(agent.ObservationNormalizer);
        }
        using var loaded = Ppo.Load(_dir, Environments.MakeVector("Pendulum-v1", 2, 0));
        Assert.NotNull(loaded.ObservationNormalizer);
        var got = new float[observations.Length];
        var one = new float[1];
        for (int i = 0; i < observations.Length; i++) { loaded.Predict(observations[i], one, deterministic: true); got[i] = one[0]; }
        Assert.Equal(expected, got);                                   // the same actions, bit for bit, from raw observations
        Assert.Contains(got, a => a > -2f && a < 2f);                  // at least one unclipped, so the comparison has teeth
        Assert.True(got.Distinct().Count() > 1, "every observation got the same action; the comparison would be vacuous");
        Assert.Throws<InvalidOperationException>(() => loaded.Predict([1f, 0f, 0.5f]));   // not a Discrete space
        Assert.Throws<ArgumentException>(() => loaded.Predict([1f, 0f], one));             // wrong observation size
    }

    [Fact]
    public void Without_an_environment_Load_remakes_the_registered_one_the_agent_trained_in()
    {
        using var env = Environments.MakeVector("CartPole-v1", 4, 0);
        using var agent = SavedAgent(env);
        Assert.Equal("CartPole-v1", agent.EnvironmentId);
        using var loaded = OnPolicyAgent.Load(_dir);
        Assert.Equal(agent.StepsDone, loaded.StepsDone);
        Assert.Equal(4, loaded.Env.NumEnvs);
        Assert.Equal(Flat(agent), Flat(loaded));
    }
}
