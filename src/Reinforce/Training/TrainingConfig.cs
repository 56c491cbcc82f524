using System.Text.Json;
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
public sealed class TrainingConfig : IJsonOnSerializing, IJsonOnSerialized
{
    /// <summary>The environment id (for example "CartPole-v1").</summary>
    public string Env { get; set; } = "";

    /// <summary>A note on where the settings come from.</summary>
    public string? Description { get; set; }

    /// <summary>The algorithm: a registered name (<see cref="AlgorithmRegistry.Names"/>: "ppo", "a2c", "vpg", ...).</summary>
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
    /// Write a row of metrics (<c>metrics.csv</c> and TensorBoard) every this many steps; null: automatic, every update up to
    /// about <see cref="AutomaticLogRows"/> updates and about that many rows for longer runs, so the log's size is bounded
    /// however long a run is. Updates that carry an evaluation, and the last update, are always written.
    /// </summary>
    public long? LogEverySteps { get; set; }

    /// <summary>About how many metrics rows a run writes when <see cref="LogEverySteps"/> is automatic.</summary>
    public const int AutomaticLogRows = 2000;

    /// <summary>The logging cadence in force: <see cref="LogEverySteps"/>, or total_steps / <see cref="AutomaticLogRows"/> (at least 1).</summary>
    public long LogCadence() => LogEverySteps ?? Math.Max(1, TotalSteps / AutomaticLogRows);

    /// <summary>
    /// An assembly of user environments to load before making <see cref="Env"/> (see <see cref="Envs.EnvironmentAssembly"/>);
    /// null for the built-in ones. Recorded so that <c>--resume</c> loads it again.
    /// </summary>
    public string? EnvAssembly { get; set; }

    /// <summary>Periodic and final evaluation.</summary>
    public EvaluationSettings Eval { get; set; } = new();

    // Algorithm sections by registered name, parsed into each algorithm's settings type.
    private readonly Dictionary<string, OnPolicyOptions> _sections = new(StringComparer.Ordinal);

    /// <summary>
    /// The algorithm sections as JSON (one per registered algorithm name, e.g. "ppo": { ... }): what the file holds.
    /// Read them through <see cref="Section(string)"/> or <see cref="AlgorithmOptions"/>.
    /// </summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? SectionsJson { get; set; }

    /// <summary>The algorithm names accepted by <see cref="Algo"/> (the registry's).</summary>
    public static IReadOnlyList<string> Algorithms => AlgorithmRegistry.Names;

    /// <summary>The names of the algorithm sections this config has, in registration order.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> SectionNames
    {
        get
        {
            ParseSections("config");
            return [.. AlgorithmRegistry.Names.Where(_sections.ContainsKey)];
        }
    }

    /// <summary>The settings of the section for <paramref name="algorithm"/> (null when the config has none); edits to it are kept.</summary>
    public OnPolicyOptions? Section(string algorithm)
    {
        ParseSections("config");
        return _sections.GetValueOrDefault(algorithm);
    }

    /// <summary>The section of the algorithm whose settings are <typeparamref name="T"/> (null when absent).</summary>
    public T? Section<T>() where T : OnPolicyOptions => Section(AlgorithmRegistry.ForOptions(typeof(T)).Name) as T;

    /// <summary>Sets (replaces) the section of <paramref name="options"/>' algorithm.</summary>
    public void SetSection(OnPolicyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ParseSections("config");
        _sections[AlgorithmRegistry.ForOptions(options.GetType()).Name] = options;
    }

    /// <summary>The chosen algorithm's settings (its defaults when the section is absent), with <see cref="Seed"/> applied.</summary>
    [JsonIgnore]
    public OnPolicyOptions AlgorithmOptions
    {
        get
        {
            var algorithm = AlgorithmRegistry.Get(Algo);
            ParseSections("config");
            if (!_sections.TryGetValue(algorithm.Name, out var options)) _sections[algorithm.Name] = options = algorithm.DefaultOptions();
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
        var copy = Parse(ToJson(), "config");
        _ = copy.AlgorithmOptions;   // materialises the chosen section with its defaults
        foreach (var name in copy._sections.Keys.Where(n => n != copy.Algo).ToList()) copy._sections.Remove(name);
        copy.Validate();
        return copy;
    }

    /// <summary>Turns the raw JSON sections into settings objects (once), naming <paramref name="source"/> in errors.</summary>
    private void ParseSections(string source)
    {
        if (SectionsJson is null) return;
        foreach (var (name, element) in SectionsJson)
        {
            var algorithm = AlgorithmRegistry.Find(name) ?? throw new ConfigurationException(name,
                $"in {source} is not a setting or a registered algorithm's section; algorithm sections: {string.Join(", ", AlgorithmRegistry.Names)}.");
            _sections[name] = algorithm.ParseOptions(element, source);
        }
        SectionsJson = null;
    }

    /// <summary>Writes the sections back as JSON before serialisation.</summary>
    void IJsonOnSerializing.OnSerializing()
    {
        ParseSections("config");
        var json = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var name in AlgorithmRegistry.Names.Where(_sections.ContainsKey))
            json[name] = JsonSerializer.SerializeToElement(_sections[name], _sections[name].GetType(), ConfigJson.Options);
        SectionsJson = json.Count == 0 ? null : json;
    }

    /// <summary>Clears the JSON copy after serialisation (the settings objects stay the truth).</summary>
    void IJsonOnSerialized.OnSerialized() => SectionsJson = null;

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the first invalid setting and how to fix it.</summary>
    public void Validate()
    {
        ConfigurationException.Require(!string.IsNullOrWhiteSpace(Env), "env", "is missing; name the environment, for example \"CartPole-v1\" (see `reinforce list`).");
        AlgorithmRegistry.Get(Algo);
        ConfigurationException.Require(NumEnvs >= 1 && NumEnvs <= 4096, "n_envs", $"is {NumEnvs}; use between 1 and 4096 environments (8 is a good start).");
        ConfigurationException.Require(TotalSteps >= 1, "total_steps", $"is {TotalSteps}; train for at least 1 step (for example 100000).");
        ConfigurationException.Require(CheckpointEverySteps >= 0, "checkpoint_every_steps", $"is {CheckpointEverySteps}; use 0 (final checkpoint only) or a positive number of steps.");
        ConfigurationException.Require(LogEverySteps is null or >= 1, "log_every_steps", $"is {LogEverySteps}; use a positive number of steps, or leave it out (null) for about {AutomaticLogRows} rows per run.");
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
    public static TrainingConfig Parse(string json, string source)
    {
        var config = ConfigJson.Parse<TrainingConfig>(json, source);
        if (config.Algo is null)
            throw new ConfigurationException("algo", $"is null in {source}; name an algorithm such as \"ppo\" (see `reinforce list`), or delete the key for the preset's.");
        // "ppo": null for the chosen algorithm would otherwise train silently with the library's defaults.
        var root = System.Text.Json.Nodes.JsonNode.Parse(json, documentOptions: new System.Text.Json.JsonDocumentOptions { CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true })!.AsObject();
        if (root.TryGetPropertyValue(config.Algo, out var section) && section is null)
            throw new ConfigurationException(config.Algo, $"is null in {source}, but algo is \"{config.Algo}\", so its settings are needed. Give them as {{ \"n_steps\": ..., ... }} (see presets/*.json), or delete the \"{config.Algo}\" key to use the algorithm's defaults.");
        config.ParseSections(source);
        return config;
    }

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
