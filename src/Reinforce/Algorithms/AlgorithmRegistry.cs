using System.Text.Json;
using Reinforce.Envs.Vector;

namespace Reinforce.Algorithms;

/// <summary>
/// One registered algorithm: its name (the <c>--algo</c> value, the config and preset section, the checkpoint's
/// <c>algorithm</c> field), its settings type and how to build an agent from settings, as rl-baselines3-zoo's
/// <c>ALGOS</c> table.
/// </summary>
public sealed class AlgorithmInfo
{
    private readonly Func<IVectorEnv, OnPolicyOptions, PolicyFactory?, OnPolicyAgent> _create;

    internal AlgorithmInfo(string name, string description, Type optionsType, Func<OnPolicyOptions> defaults,
        Func<IVectorEnv, OnPolicyOptions, PolicyFactory?, OnPolicyAgent> create)
    {
        Name = name;
        Description = description;
        OptionsType = optionsType;
        DefaultOptions = defaults;
        _create = create;
    }

    /// <summary>The registered name ("ppo"): <c>--algo</c>, the section of configs and presets, the checkpoint's algorithm.</summary>
    public string Name { get; }

    /// <summary>One line for listings ("Proximal Policy Optimization, clipped surrogate").</summary>
    public string Description { get; }

    /// <summary>The settings class (a section of a config or preset deserialises into it).</summary>
    public Type OptionsType { get; }

    /// <summary>Fresh default settings.</summary>
    public Func<OnPolicyOptions> DefaultOptions { get; }

    /// <summary>Builds the agent for <paramref name="env"/> (settings of <see cref="OptionsType"/>; <paramref name="policy"/> null for the MLP policy).</summary>
    public OnPolicyAgent Create(IVectorEnv env, OnPolicyOptions options, PolicyFactory? policy = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!OptionsType.IsInstanceOfType(options))
            throw new ArgumentException($"The {Name} algorithm takes {OptionsType.Name}, not {options.GetType().Name}.", nameof(options));
        return _create(env, options, policy);
    }

    /// <summary>Reads this algorithm's settings from a JSON object (a config section or a checkpoint's options), rejecting unknown or mistyped settings with their path.</summary>
    public OnPolicyOptions ParseOptions(JsonElement element, string source) => (OnPolicyOptions)ConfigJson.Parse(element, OptionsType, Name, source);

    /// <summary>The settings as snake_case JSON (every setting written out).</summary>
    public static string SerializeOptions(OnPolicyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return JsonSerializer.Serialize(options, options.GetType(), ConfigJson.Options);
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// The algorithms the library knows, by name. Everything that chooses an algorithm asks here — the training config
/// and presets (one section per algorithm name), checkpoints (the recorded name picks the loader), the CLI's
/// <c>--algo</c> — so adding an algorithm is its own files plus one <see cref="Register{TOptions}"/> line below.
/// </summary>
public static class AlgorithmRegistry
{
    private static readonly List<AlgorithmInfo> Entries = [];
    private static readonly Lock Gate = new();

    static AlgorithmRegistry()
    {
        Register<PpoOptions>("ppo", "Proximal Policy Optimization, clipped surrogate (Schulman et al. 2017)", (env, o, p) => new Ppo(env, o, p));
        Register<A2cOptions>("a2c", "Advantage actor-critic, synchronous (Mnih et al. 2016)", (env, o, p) => new A2c(env, o, p));
        Register<VpgOptions>("vpg", "REINFORCE / vanilla policy gradient, optional learned baseline (Williams 1992)", (env, o, p) => new Vpg(env, o, p));
        Register<PpoKlOptions>("ppo_kl", "PPO with an adaptive KL penalty instead of clipping (Schulman et al. 2017, section 4)", (env, o, p) => new PpoKl(env, o, p));
    }

    /// <summary>Registers an algorithm (its name must be new): its settings type and how to build it.</summary>
    public static AlgorithmInfo Register<TOptions>(string name, string description, Func<IVectorEnv, TOptions, PolicyFactory?, OnPolicyAgent> create)
        where TOptions : OnPolicyOptions, new()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(create);
        if (name != name.ToLowerInvariant() || name.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '_'))
            throw new ArgumentException($"Algorithm name '{name}': use lower-case letters, digits and '_' (it is a JSON section name and a --algo value).", nameof(name));
        var probe = new TOptions();
        if (probe.AlgorithmName != name)
            throw new ArgumentException($"Algorithm '{name}': {typeof(TOptions).Name}.AlgorithmName is '{probe.AlgorithmName}'; they must agree (it names the settings' section).", nameof(name));
        var info = new AlgorithmInfo(name, description, typeof(TOptions), () => new TOptions(), (env, options, policy) => create(env, (TOptions)options, policy));
        lock (Gate)
        {
            if (Entries.Any(e => e.Name == name)) throw new ArgumentException($"An algorithm named '{name}' is already registered.", nameof(name));
            if (Entries.Any(e => e.OptionsType == typeof(TOptions))) throw new ArgumentException($"{typeof(TOptions).Name} already belongs to another algorithm.", nameof(name));
            Entries.Add(info);
        }
        return info;
    }

    /// <summary>Every registered algorithm, in registration order.</summary>
    public static IReadOnlyList<AlgorithmInfo> All
    {
        get
        {
            lock (Gate) return [.. Entries];
        }
    }

    /// <summary>The registered names, in registration order.</summary>
    public static IReadOnlyList<string> Names => [.. All.Select(e => e.Name)];

    /// <summary>The algorithm called <paramref name="name"/>, or null.</summary>
    public static AlgorithmInfo? Find(string? name)
    {
        if (name is null) return null;
        lock (Gate) return Entries.FirstOrDefault(e => e.Name == name);
    }

    /// <summary>The algorithm called <paramref name="name"/>; a <see cref="ConfigurationException"/> listing the registered ones when there is none.</summary>
    public static AlgorithmInfo Get(string? name, string settingPath = "algo") =>
        Find(name) ?? throw new ConfigurationException(settingPath, $"is \"{name}\", which is not a registered algorithm; use one of {string.Join(", ", Names)}.");

    /// <summary>The algorithm whose settings type is <paramref name="optionsType"/>.</summary>
    public static AlgorithmInfo ForOptions(Type optionsType)
    {
        ArgumentNullException.ThrowIfNull(optionsType);
        lock (Gate)
            return Entries.FirstOrDefault(e => e.OptionsType == optionsType)
                ?? throw new ArgumentException($"{optionsType.Name} belongs to no registered algorithm; register it with AlgorithmRegistry.Register.", nameof(optionsType));
    }
}
