using Reinforce.Algorithms;
using Reinforce.Training;
using Reinforce.Envs.ClassicControl;

namespace Reinforce.Tests.Training;

public class ConfigTests
{
    [Fact]
    public void Every_preset_parses_and_every_algorithm_section_in_it_validates()
    {
        Assert.Contains("CartPole-v1", PresetFiles.Names);
        foreach (var name in PresetFiles.Names)
        {
            var preset = TrainingConfig.Preset(name);
            Assert.Equal(name, preset.Env);
            int sections = 0;
            foreach (var algo in TrainingConfig.Algorithms)
            {
                bool present = preset.Section(algo) is not null;
                if (!present) continue;
                sections++;
                preset.Algo = algo;
                var resolved = preset.Resolve();   // throws on any invalid setting
                Assert.Equal(algo, resolved.AlgorithmOptions.AlgorithmName);
            }
            Assert.True(sections >= 1, $"preset {name} has no algorithm section");
        }
    }

    [Fact]
    public void The_preset_files_in_the_repository_are_the_embedded_ones()
    {
        // The readable copies users copy (presets/*.json) must be what the library runs with.
        var dir = FindRepositoryFolder("presets");
        // A '/' in an environment id (MinAtar/Breakout-v1) is '_' in the file's name.
        var files = Directory.GetFiles(dir, "*.json").Select(f => Path.GetFileNameWithoutExtension(f)!.Replace('_', '/')).Order(StringComparer.OrdinalIgnoreCase).ToArray();
        Assert.Equal(PresetFiles.Names, files);
        foreach (var name in PresetFiles.Names)
            Assert.Equal(File.ReadAllText(Path.Combine(dir, name.Replace('/', '_') + ".json")), PresetFiles.Read(name));
    }

    [Fact]
    public void Resolved_config_round_trips_through_json_with_every_setting_written_out()
    {
        var config = TrainingConfig.Preset("CartPole-v1");
        config.Seed = 42;
        var resolved = config.Resolve();
        string json = resolved.ToJson();
        Assert.Contains("\"seed\": 42", json, StringComparison.Ordinal);
        Assert.Contains("\"clip_range_vf\": null", json, StringComparison.Ordinal);
        Assert.Contains("\"learning_rate_schedule\": \"linear\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"a2c\": {", json, StringComparison.Ordinal);
        var again = TrainingConfig.Parse(json, "round trip");
        Assert.Equal(json, again.ToJson());
        Assert.Equal(42, again.AlgorithmOptions.Seed);
        Assert.Equal(0.8f, ((PpoOptions)again.AlgorithmOptions).GaeLambda);
    }

    [Fact]
    public void A_misspelt_setting_is_named_with_a_suggestion()
    {
        var ex = Assert.Throws<ConfigurationException>(() =>
            TrainingConfig.Parse("""{ "env": "CartPole-v1", "ppo": { "n_step": 64 } }""", "my.json"));
        Assert.Equal("ppo.n_step", ex.Setting);
        Assert.Contains("Did you mean 'n_steps'?", ex.Message, StringComparison.Ordinal);
        Assert.Contains("my.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_of_the_wrong_type_names_the_setting_and_the_expected_type()
    {
        var ex = Assert.Throws<ConfigurationException>(() =>
            TrainingConfig.Parse("""{ "env": "CartPole-v1", "ppo": { "n_epochs": "ten" } }""", "my.json"));
        Assert.Equal("ppo.n_epochs", ex.Setting);
        Assert.Contains("a whole number", ex.Message, StringComparison.Ordinal);

        var ex2 = Assert.Throws<ConfigurationException>(() =>
            TrainingConfig.Parse("""{ "env": "CartPole-v1", "ppo": { "learning_rate_schedule": "cosine" } }""", "my.json"));
        Assert.Contains("\"linear\"", ex2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Broken_json_gives_the_line()
    {
        var ex = Assert.Throws<ConfigurationException>(() =>
            TrainingConfig.Parse("{\n  \"env\": \"CartPole-v1\"\n  \"seed\": 3\n}", "my.json"));
        Assert.Contains("line 3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Out_of_range_values_say_how_to_fix_them()
    {
        var config = TrainingConfig.Preset("CartPole-v1");
        config.Section<PpoOptions>()!.BatchSize = 100;   // 8 envs × 32 steps = 256 is not divisible by 100
        var ex = Assert.Throws<ConfigurationException>(config.Validate);
        Assert.Equal("ppo.batch_size", ex.Setting);
        Assert.Contains("256", ex.Message, StringComparison.Ordinal);
        Assert.Contains("such as 64", ex.Message, StringComparison.Ordinal);

        config = TrainingConfig.Preset("CartPole-v1");
        config.Section<PpoOptions>()!.Gamma = 1.5f;
        Assert.Equal("ppo.gamma", Assert.Throws<ConfigurationException>(config.Validate).Setting);

        config = TrainingConfig.Preset("CartPole-v1");
        config.Algo = "dqn";
        Assert.Contains("ppo, a2c, vpg", Assert.Throws<ConfigurationException>(config.Validate).Message, StringComparison.Ordinal);

        config = TrainingConfig.Preset("CartPole-v1");
        config.Section<PpoOptions>()!.Policy.HiddenSizes = [64, 0];
        Assert.Equal("ppo.policy.hidden_sizes[1]", Assert.Throws<ConfigurationException>(config.Validate).Setting);
    }

    [Fact]
    public void Unknown_preset_lists_the_known_ones()
    {
        var ex = Assert.Throws<ConfigurationException>(() => PpoOptions.For("NoSuchEnv-v0"));
        Assert.Contains("CartPole-v1", ex.Message, StringComparison.Ordinal);
        Assert.Equal(32, PpoOptions.For("cartpole-v1").NumSteps);
    }

    internal static string FindRepositoryFolder(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, name);
            if (Directory.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "Reinforce.slnx"))) return candidate;
        }
        throw new DirectoryNotFoundException($"No '{name}' folder next to Reinforce.slnx above {AppContext.BaseDirectory}.");
    }
}
