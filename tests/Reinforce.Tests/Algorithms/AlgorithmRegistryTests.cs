using System.Text.Json.Nodes;
using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.IO;
using Reinforce.Training;

namespace Reinforce.Tests.Algorithms;

/// <summary>The algorithm registry: configs, presets, checkpoints and the CLI choose algorithms through it.</summary>
public sealed class AlgorithmRegistryTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "reinforce-registry-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static float[] Weights(OnPolicyAgent agent) => [.. agent.Policy.StateDict().Values.SelectMany(t => t.Data)];

    [Fact]
    public void The_registry_lists_each_algorithm_once_with_its_settings_type()
    {
        Assert.Equal(["ppo", "a2c", "vpg", "ppo_kl"], AlgorithmRegistry.Names);
        foreach (var info in AlgorithmRegistry.All)
        {
            Assert.Equal(info.Name, info.DefaultOptions().AlgorithmName);
            Assert.Same(info, AlgorithmRegistry.ForOptions(info.OptionsType));
            Assert.Contains(info.Name, TrainingConfig.Algorithms);
        }
        var ex = Assert.Throws<ConfigurationException>(() => AlgorithmRegistry.Get("sac"));
        Assert.Contains("\"sac\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ppo, a2c, vpg, ppo_kl", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => AlgorithmRegistry.Register<PpoOptions>("ppo", "again", (env, o, p) => new Ppo(env, o, p)));
    }

    [Theory]
    [InlineData("ppo")]
    [InlineData("a2c")]
    [InlineData("vpg")]
    [InlineData("ppo_kl")]
    public void Every_registered_algorithm_saves_and_resumes_through_the_registry_bit_for_bit(string name)
    {
        var info = AlgorithmRegistry.Get(name);
        var options = info.DefaultOptions();
        options.NumSteps = 32;
        options.Seed = 4;
        options.Policy.HiddenSizes = [16];
        using var envA = Environments.MakeVector("CartPole-v1", 2, 0);
        using var uninterrupted = info.Create(envA, options);
        uninterrupted.Learn(64);
        string dir = Path.Combine(_root, name);
        uninterrupted.Save(dir);
        uninterrupted.Learn(192);

        using var envB = Environments.MakeVector("CartPole-v1", 2, 0);
        var resumed = (OnPolicyAgent)Agent.Load(dir, envB);
        Assert.Equal(info.OptionsType, resumed.Options.GetType());
        Assert.Equal(name, resumed.AlgorithmName);
        Assert.Equal(64, resumed.StepsDone);
        resumed.Learn(192);
        Assert.Equal(Weights(uninterrupted), Weights(resumed));
        if (uninterrupted is PpoKl kl) Assert.Equal(kl.KlCoef, ((PpoKl)resumed).KlCoef);
    }

    [Fact]
    public void A_checkpoint_of_an_unregistered_algorithm_is_refused_with_the_registered_names()
    {
        using var env = Environments.MakeVector("CartPole-v1", 2, 0);
        using var agent = new Ppo(env, new PpoOptions { NumSteps = 16, BatchSize = 32, Policy = new() { HiddenSizes = [8] } });
        string dir = Path.Combine(_root, "sac");
        agent.Save(dir);
        string manifestPath = Path.Combine(dir, Checkpoint.ManifestFile);
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
        manifest["algorithm"] = "sac";
        CheckpointManifest.Seal(manifest);     // a consistent forgery: agent.json's own checksum matches, so the algorithm is what is refused
        File.WriteAllText(manifestPath, manifest.ToJsonString());
        var ex = Assert.Throws<CheckpointFormatException>(() => Agent.Load(dir));
        Assert.Contains("unknown algorithm \"sac\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ppo, a2c, vpg, ppo_kl", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_sections_are_the_registered_names_and_a_wrong_one_is_named_with_the_fix()
    {
        var preset = TrainingConfig.Preset("CartPole-v1");
        Assert.Equal(["ppo", "a2c", "vpg", "ppo_kl"], preset.SectionNames);
        var kl = PpoKlOptions.For("CartPole-v1");
        Assert.Equal(0.01f, kl.TargetKl);
        Assert.Equal(kl.TargetKl, preset.Section<PpoKlOptions>()!.TargetKl);

        // A round trip keeps every section and setting.
        preset.Section<PpoKlOptions>()!.KlCoef = 3f;
        var again = TrainingConfig.Parse(preset.ToJson(), "round trip");
        Assert.Equal(3f, again.Section<PpoKlOptions>()!.KlCoef);
        Assert.Equal(preset.Section<PpoOptions>()!.BatchSize, again.Section<PpoOptions>()!.BatchSize);
        // Resolve keeps the chosen section only.
        again.Algo = "ppo_kl";
        Assert.Equal(["ppo_kl"], again.Resolve().SectionNames);

        var unknownSection = Assert.Throws<ConfigurationException>(() => TrainingConfig.Parse("""{ "env": "CartPole-v1", "ppo2": { "n_steps": 8 } }""", "my.json"));
        Assert.Contains("ppo2", unknownSection.Message, StringComparison.Ordinal);
        Assert.Contains("algorithm sections: ppo, a2c, vpg, ppo_kl", unknownSection.Message, StringComparison.Ordinal);
        Assert.Contains("Did you mean 'ppo'", unknownSection.Message, StringComparison.Ordinal);

        var misspelt = Assert.Throws<ConfigurationException>(() => TrainingConfig.Parse("""{ "env": "CartPole-v1", "ppo_kl": { "target_kll": 0.01 } }""", "my.json"));
        Assert.Contains("ppo_kl.target_kll", misspelt.Message, StringComparison.Ordinal);
        Assert.Contains("Did you mean 'target_kl'", misspelt.Message, StringComparison.Ordinal);

        var wrongType = Assert.Throws<ConfigurationException>(() => TrainingConfig.Parse("""{ "env": "CartPole-v1", "ppo_kl": { "kl_coef": "big" } }""", "my.json"));
        Assert.Contains("ppo_kl.kl_coef", wrongType.Message, StringComparison.Ordinal);

        var unknownAlgo = new TrainingConfig { Env = "CartPole-v1", Algo = "trpo" };
        var ex = Assert.Throws<ConfigurationException>(() => unknownAlgo.Resolve());
        Assert.Contains("ppo, a2c, vpg, ppo_kl", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Changing_the_environment_count_keeps_the_minibatches_per_epoch_of_either_ppo()
    {
        var ppo = new PpoOptions { NumSteps = 32, BatchSize = 128 };
        Assert.NotNull(ppo.AdaptToEnvironmentCount(8, 4));
        Assert.Equal(64, ppo.BatchSize);
        var kl = new PpoKlOptions { NumSteps = 32, BatchSize = 128 };
        Assert.NotNull(kl.AdaptToEnvironmentCount(8, 16));
        Assert.Equal(256, kl.BatchSize);
        Assert.Null(new A2cOptions().AdaptToEnvironmentCount(8, 4));
    }

    /// <summary>The algorithm added through the registry alone learns: PPO with the adaptive KL penalty solves CartPole.</summary>
    [Fact]
    [Trait("Category", "Learning")]
    public void Ppo_with_an_adaptive_kl_penalty_solves_CartPole_and_adapts_beta()
    {
        var options = PpoKlOptions.For("CartPole-v1");
        options.Seed = 1;
        using var env = Environments.MakeVector("CartPole-v1", 8, 0);
        using var agent = new PpoKl(env, options);
        using var evalEnv = Environments.MakeVector("CartPole-v1", 20, 99);
        var evaluation = new EvalCallback(evalEnv, everySteps: 2560, episodes: 100, deterministic: true, stopAtReward: 475, seed: 5);
        var betas = new List<double>();
        agent.Learn(30_000, [evaluation, new BetaRecorder(betas)]);
        Assert.True(evaluation.SolvedAtSteps is not null, $"not solved in 30k steps; evaluations: {string.Join(", ", evaluation.History.Select(h => $"{h.Steps}: {h.Result.Mean:F0}"))}");
        using var fresh = Environments.MakeVector("CartPole-v1", 10, 12345);
        var result = agent.Evaluate(fresh, 100, deterministic: true, seed: 12345);
        Assert.True(result.Mean >= 475, $"fresh evaluation {result.Mean:F1} ± {result.Std:F1} after solving at {evaluation.SolvedAtSteps}");
        // β moved from its initial 1 by factors of 2, as section 4 prescribes.
        Assert.Equal(1.0, betas[0]);
        Assert.Contains(betas, b => b != 1.0);
        Assert.All(betas, b => Assert.Equal(0.0, Math.Log2(b) % 1.0, 9));
    }

    private sealed class BetaRecorder(List<double> betas) : TrainingCallback
    {
        public override bool OnUpdate(Agent agent, TrainingMetrics metrics)
        {
            betas.Add(metrics["train/kl_coef"]!.Value);
            return true;
        }
    }
}
