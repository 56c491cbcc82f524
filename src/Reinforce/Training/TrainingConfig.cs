using System.Text.Json.Serialization;
using Reinforce.Algorithms;
using Reinforce.Envs.ClassicControl;

namespace Reinforce.Training;

/// <summary>Periodic evaluation during training.</summary>
public sealed class EvaluationSettings
{
    /// <summary>Evaluate every this many environment steps (0: only at the end).</summary>
    public long EverySteps { get; set; } = 10_000;

    /// <summary>Episodes per periodic evaluation.</summary>
    public int Episodes { get; set; } = 20;

    /// <summary>Episodes of the final evaluation written to the run folder.</summary>
    public int FinalEpisodes { get; set; } = 100;

    /// <summary>Act with the distribution's mode (true) or sample (false).</summary>
    public bool Deterministic { get; set; } = true;

    /// <summary>Stop training as soon as a periodic evaluation reaches the reward threshold.</summary>
    public bool StopWhenSolved { get; set; }
}

/// <summary>
/// Everything a training run needs, and what a run folder's <c>config.json</c> holds: the environment, the
/// algorithm and its complete settings, the seed, the number of environments, the step budget, evaluation and
/// checkpoint cadence. Running the same config with the same build gives the same result bit for bit.
/// Preset files (<c>presets/*.json</c>) have this shape with one section per algorithm; <see cref="Resolve"/>
/// keeps the chosen one.
/// </summary>
public sealed class TrainingConfig
{
    /// <summary>The environment id (for example "CartPole-v1").</summary>
    public string Env { get; set; } = "";

    /// <summary>A note on where the settings come from.</summary>
    public string? Description { get; set; }

    /// <summary>The algorithm: "ppo", "a2c" or "vpg".</summary>
    public string Algo { get; set; } = "ppo";

    /// <summary>The run's seed: environments, weights and sampling all derive from it.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Environments stepped together.</summary>
    [JsonPropertyName("n_envs")]
    public int NumEnvs { get; set; } = 8;

    /// <summary>The training budget in environment steps (summed over environments).</summary>
    public long TotalSteps { get; set; } = 100_000;

    /// <summary>The reward that counts as solved (null: the environment's registered threshold).</summary>
    public double? RewardThreshold { get; set; }

    /// <summary>Save a checkpoint every this many steps (0: only the final one).</summary>
    public long CheckpointEverySteps { get; set; } = 50_000;

    /// <summary>Periodic checkpoints to keep, the newest (0: keep all); <c>final/</c> is always kept. Bounds the run folder's size on long runs.</summary>
    public int KeepCheckpoints { get; set; } = 5;

    /// <summary>
    /// An assembly of user environments to load before making <see cref="Env"/> (see <c>EnvironmentAssembly</c>);
    /// null for the built-in ones. Recorded so that <c>--resume</c> loads it again.
    /// </summary>
    public string? EnvAssembly { get; set; }

    /// <summary>Periodic and final evaluation.</summary>
    public EvaluationSettings Eval { get; set; } = new();

    /// <summary>PPO settings (used when <see cref="Algo"/> is "ppo").</summary>
    public PpoOptions? Ppo { get; set; }

    /// <summary>A2C settings (used when <see cref="Algo"/> is "a2c").</summary>
    public A2cOptions? A2c { get; set; }

    /// <summary>REINFORCE settings (used when <see cref="Algo"/> is "vpg").</summary>
    public VpgOptions? Vpg { get; set; }

    /// <summary>The algorithm names <see cref="Algo"/> accepts.</summary>
    public static IReadOnlyList<string> Algorithms { get; } = ["ppo", "a2c", "vpg"];

    /// <summary>The chosen algorithm's settings (its defaults when the section is absent), with <see cref="Seed"/> applied.</summary>
    [JsonIgnore]
    public OnPolicyOptions AlgorithmOptions
    {
        get
        {
            OnPolicyOptions options = Algo switch
            {
                "ppo" => Ppo ??= new PpoOptions(),
                "a2c" => A2c ??= new A2cOptions(),
                "vpg" => Vpg ??= new VpgOptions(),
                _ => throw new ConfigurationException("algo", $"is \"{Algo}\"; use one of {string.Join(", ", Algorithms)}."),
            };
            options.Seed = Seed;
            return options;
        }
    }

    /// <summary>
    /// A complete copy for one run: only the chosen algorithm's section is kept (with every setting written out),
    /// the seed is applied, and the whole is validated.
    /// </summary>
    public TrainingConfig Resolve()
    {
        var copy = ConfigJson.Parse<TrainingConfig>(ToJson(), "config");
        _ = copy.AlgorithmOptions;   // materialises the chosen section with its defaults
        if (copy.Algo != "ppo") copy.Ppo = null;
        if (copy.Algo != "a2c") copy.A2c = null;
        if (copy.Algo != "vpg") copy.Vpg = null;
        copy.Validate();
        return copy;
    }

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the first invalid setting and how to fix it.</summary>
    public void Validate()
    {
        ConfigurationException.Require(!string.IsNullOrWhiteSpace(Env), "env", "is missing; name the environment, for example \"CartPole-v1\" (see `reinforce list`).");
        ConfigurationException.Require(Algorithms.Contains(Algo), "algo", $"is \"{Algo}\"; use one of {string.Join(", ", Algorithms)}.");
        ConfigurationException.Require(NumEnvs >= 1 && NumEnvs <= 4096, "n_envs", $"is {NumEnvs}; use between 1 and 4096 environments (8 is a good start).");
        ConfigurationException.Require(TotalSteps >= 1, "total_steps", $"is {TotalSteps}; train for at least 1 step (for example 100000).");
        ConfigurationException.Require(CheckpointEverySteps >= 0, "checkpoint_every_steps", $"is {CheckpointEverySteps}; use 0 (final checkpoint only) or a positive number of steps.");
        ConfigurationException.Require(KeepCheckpoints >= 0, "keep_checkpoints", $"is {KeepCheckpoints}; use 0 (keep every periodic checkpoint) or a positive number such as 5.");
        ConfigurationException.Require(RewardThreshold is null || double.IsFinite(RewardThreshold.Value), "reward_threshold", "must be a finite number or null (the environment's own threshold).");
        ConfigurationException.Require(Eval is not null, "eval", "is missing; remove the key to use the defaults or give {\"every_steps\": 10000, \"episodes\": 20}.");
        ConfigurationException.Require(Eval!.EverySteps >= 0, "eval.every_steps", $"is {Eval.EverySteps}; use 0 (evaluate only at the end) or a positive number of steps.");
        ConfigurationException.Require(Eval.Episodes >= 1, "eval.episodes", $"is {Eval.Episodes}; evaluate at least 1 episode.");
        ConfigurationException.Require(Eval.FinalEpisodes >= 0, "eval.final_episodes", $"is {Eval.FinalEpisodes}; use 0 (no final evaluation) or a positive number such as 100.");
        AlgorithmOptions.Validate(NumEnvs);
    }

    /// <summary>The config as indented snake_case JSON.</summary>
    public string ToJson() => ConfigJson.Serialize(this);

    /// <summary>Parses a config (or preset) from JSON; <paramref name="source"/> names it in error messages. Not validated: call <see cref="Validate"/> or <see cref="Resolve"/>.</summary>
    public static TrainingConfig Parse(string json, string source) => ConfigJson.Parse<TrainingConfig>(json, source);

    /// <summary>Reads a config file; a missing file or a malformed setting gives a <see cref="ConfigurationException"/> naming it.</summary>
    public static TrainingConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new ConfigurationException($"Config file '{path}' does not exist. Copy one of presets/*.json (or a run folder's config.json) and pass its path.");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>The shipped preset for <paramref name="envId"/> (all its algorithm sections).</summary>
    public static TrainingConfig Preset(string envId)
    {
        var config = Parse(PresetFiles.Read(envId), $"preset {envId}");
        return config;
    }

    /// <summary>Whether a preset exists for <paramref name="envId"/>.</summary>
    public static bool HasPreset(string envId) => PresetFiles.Exists(envId);
}
