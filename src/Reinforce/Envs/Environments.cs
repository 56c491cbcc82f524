using Reinforce.Envs.ClassicControl;
using Reinforce.Envs.Remote;
using Reinforce.Envs.Textbook;
using Reinforce.Envs.Vector;
using Reinforce.Envs.Wrappers;
namespace Reinforce.Envs;

/// <summary>What the registry knows about an environment id: its time limit and the return that counts as solved.</summary>
/// <param name="Id">The registered name, e.g. "CartPole-v1".</param>
/// <param name="MaxEpisodeSteps">The time limit <see cref="Environments.Make(string, EnvironmentOptions?)"/> applies (null: none).</param>
/// <param name="RewardThreshold">The mean episode return at which the task counts as solved (null: none).</param>
/// <param name="ObservationType">The observation type of the environment.</param>
/// <param name="ActionType">The action type of the environment.</param>
/// <param name="Description">One line for listings.</param>
public sealed record EnvironmentSpec(string Id, int? MaxEpisodeSteps, double? RewardThreshold, Type ObservationType, Type ActionType, string Description);

/// <summary>
/// The registry of environments by name, Gymnasium's <c>make</c>/<c>register</c>: <see cref="Make(string, EnvironmentOptions?)"/>
/// builds an environment and applies its registered time limit (<see cref="TimeLimit{TObservation, TAction}"/>);
/// <see cref="MakeVector"/> builds a vector environment of many copies with per-copy seeds; <see cref="Register{TObservation, TAction}(string, Func{IEnvironment{TObservation, TAction}}, int?, double?, string?)"/>
/// adds your own. Built in: CartPole-v1, Acrobot-v1, MountainCar-v0, MountainCarContinuous-v0, Pendulum-v1,
/// FryShack, ShortCorridor, Bandit-10arm (option <c>mean</c>, <c>arms</c>) and Bandit-10arm-mean4.
/// </summary>
public static class Environments
{
    private static readonly Dictionary<string, Registration> s_registry = new(StringComparer.Ordinal);
    private static readonly object s_gate = new();

    static Environments()
    {
        Register("CartPole-v1", () => new CartPole(), 500, 475.0, "Balance a pole on a cart; Discrete(2); Gymnasium 1.x.");
        Register("Acrobot-v1", () => new Acrobot(), 500, -100.0, "Swing a two-link arm above a line; Discrete(3); Gymnasium 1.x.");
        Register("MountainCar-v0", () => new MountainCar(), 200, -110.0, "Drive an underpowered car up a hill; Discrete(3); Gymnasium 1.x.");
        Register("MountainCarContinuous-v0", () => new MountainCarContinuous(), 999, 90.0, "Mountain car with a continuous force; Box(-1, 1, [1]); Gymnasium 1.x.");
        Register("Pendulum-v1", o => new Pendulum(o.GetDouble("g", 10.0)), 200, null, "Swing up and hold a pendulum; Box(-2, 2, [1]); option g; Gymnasium 1.x.");
        Register("FryShack", () => new FryShack(), null, null, "One-step choice between two fry shacks given your hunger; Discrete(2).");
        Register("ShortCorridor", () => new ShortCorridor(), 1000, null, "Sutton & Barto Example 13.1, the corridor with switched actions; Discrete(2).");
        Register("Bandit-10arm", o => new KArmedBandit(o.GetInt("arms", 10), o.GetDouble("mean", 0.0)), null, null, "Sutton & Barto 10-armed testbed, q* ~ N(mean, 1); options mean, arms.");
        Register("Bandit-10arm-mean4", o => new KArmedBandit(o.GetInt("arms", 10), o.GetDouble("mean", 4.0)), null, null, "The 10-armed testbed with mean +4 (Figure 2.5); options mean, arms.");
    }

    /// <summary>Registers an environment made without options. Throws when <paramref name="id"/> is taken (call <see cref="Unregister"/> first to replace it).</summary>
    public static void Register<TObservation, TAction>(string id, Func<IEnvironment<TObservation, TAction>> factory,
        int? maxEpisodeSteps = null, double? rewardThreshold = null, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Register<TObservation, TAction>(id, _ => factory(), maxEpisodeSteps, rewardThreshold, description);
    }

    /// <summary>Registers an environment whose factory reads <see cref="EnvironmentOptions"/>.</summary>
    public static void Register<TObservation, TAction>(string id, Func<EnvironmentOptions, IEnvironment<TObservation, TAction>> factory,
        int? maxEpisodeSteps = null, double? rewardThreshold = null, string? description = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(factory);
        if (maxEpisodeSteps is <= 0) throw new ArgumentOutOfRangeException(nameof(maxEpisodeSteps), maxEpisodeSteps, $"{id}: the time limit must be a positive number of steps (or null for none).");
        if (rewardThreshold is double t && !double.IsFinite(t)) throw new ArgumentOutOfRangeException(nameof(rewardThreshold), t, $"{id}: the reward threshold must be finite (or null for none).");
        var spec = new EnvironmentSpec(id, maxEpisodeSteps, rewardThreshold, typeof(TObservation), typeof(TAction), description ?? "");
        lock (s_gate)
        {
            if (s_registry.ContainsKey(id))
            {
                throw new InvalidOperationException($"An environment named '{id}' is already registered. Pick another id, or call Environments.Unregister(\"{id}\") first to replace it.");
            }
            s_registry[id] = new Registration<TObservation, TAction>(spec, factory);
        }
    }

    /// <summary>Removes a registration; returns whether there was one.</summary>
    public static bool Unregister(string id)
    {
        lock (s_gate) return s_registry.Remove(id);
    }

    /// <summary>Whether <paramref name="id"/> is registered.</summary>
    public static bool IsRegistered(string id)
    {
        lock (s_gate) return s_registry.ContainsKey(id);
    }

    /// <summary>The specs of all registered environments, sorted by id.</summary>
    public static IReadOnlyList<EnvironmentSpec> Specs
    {
        get
        {
            lock (s_gate) return s_registry.Values.Select(r => r.Spec).OrderBy(s => s.Id, StringComparer.Ordinal).ToArray();
        }
    }

    /// <summary>The spec of <paramref name="id"/> (time limit, reward threshold).</summary>
    public static EnvironmentSpec Spec(string id) => Find(id).Spec;

    /// <summary>Makes the environment registered as <paramref name="id"/>, wrapped in its registered <see cref="TimeLimit{TObservation, TAction}"/>.</summary>
    public static IEnvironment Make(string id, EnvironmentOptions? options = null) => Find(id).Make(options, applyTimeLimit: true);

    /// <summary>Makes the environment without its time limit (the bare environment the factory returns).</summary>
    public static IEnvironment MakeUnwrapped(string id, EnvironmentOptions? options = null) => Find(id).Make(options, applyTimeLimit: false);

    /// <summary>Makes the environment with its time limit, typed; throws when the registered types differ.</summary>
    public static IEnvironment<TObservation, TAction> Make<TObservation, TAction>(string id, EnvironmentOptions? options = null)
    {
        var registration = Find(id);
        var env = registration.Make(options, applyTimeLimit: true);
        if (env is IEnvironment<TObservation, TAction> typed) return typed;
        string obs = TypeName(registration.Spec.ObservationType), act = TypeName(registration.Spec.ActionType);
        throw new InvalidCastException($"{id} observes {obs} and acts with {act}; call Make<{obs}, {act}>(\"{id}\") instead of Make<{TypeName(typeof(TObservation))}, {TypeName(typeof(TAction))}>.");
    }

    /// <summary>
    /// Makes <paramref name="count"/> copies of <paramref name="id"/> in a vector environment (the registered time
    /// limit applied per copy, auto-reset, episode statistics) and resets it with <paramref name="seed"/>: copy i is
    /// seeded with <c>Rng.DeriveSeed(seed, i)</c>. <paramref name="threaded"/> steps the copies on several threads
    /// (<see cref="ThreadedVectorEnv"/>), worthwhile only for costly environments.
    /// </summary>
    public static IVectorEnv MakeVector(string id, int count, ulong seed, EnvironmentOptions? options = null, bool threaded = false, int? workers = null)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "A vector environment needs at least one environment.");
        if (RemoteAddress.IsRemote(id))
        {
            if (options is not null && !options.IsEmpty) throw new ArgumentException($"{id}: environment options are set by the server that hosts the environment, not by the learner.", nameof(options));
            return MakeRemote(id, count, seed);
        }
        var registration = Find(id);
        var envs = new IVectorizableEnv[count];
        for (int i = 0; i < count; i++) envs[i] = Vectorizable.From(registration.Make(options, applyTimeLimit: false));
        VectorEnv vector = threaded
            ? new ThreadedVectorEnv(envs, registration.Spec.MaxEpisodeSteps, workers)
            : new SyncVectorEnv(envs, registration.Spec.MaxEpisodeSteps);
        vector.Reset(seed);
        return vector;
    }

    /// <summary>
    /// Opens <paramref name="count"/> copies of an environment served by other processes (<c>reinforce serve-env</c>,
    /// a Python Gymnasium server, or several: <c>remote://host1:port1,host2:port2</c>, copies spread over them) and
    /// resets them with <paramref name="seed"/>. <see cref="MakeVector"/> does the same for an id that starts with
    /// <c>remote://</c>. See <see cref="RemoteAddress"/> for the address format.
    /// </summary>
    public static RemoteVectorEnv MakeRemote(string address, int count, ulong seed) => RemoteVectorEnv.Connect(address, count, seed);

    /// <summary>The C# spelling of common observation and action types (float[] rather than Single[]).</summary>
    internal static string TypeName(Type type) => Spaces.Space.TypeName(type);

    private static Registration Find(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        lock (s_gate)
        {
            if (s_registry.TryGetValue(id, out var r)) return r;
            var close = s_registry.Keys.Where(k => k.Contains(id, StringComparison.OrdinalIgnoreCase) || id.Contains(k.Split('-')[0], StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToArray();
            string hint = close.Length > 0 ? $" Did you mean {string.Join(" or ", close)}?" : "";
            throw new KeyNotFoundException($"No environment is registered as '{id}'.{hint} Registered: {string.Join(", ", s_registry.Keys.Order(StringComparer.Ordinal))}. Register your own with Environments.Register.");
        }
    }

    private abstract class Registration(EnvironmentSpec spec)
    {
        public EnvironmentSpec Spec { get; } = spec;

        public abstract IEnvironment Make(EnvironmentOptions? options, bool applyTimeLimit);
    }

    private sealed class Registration<TObservation, TAction>(EnvironmentSpec spec, Func<EnvironmentOptions, IEnvironment<TObservation, TAction>> factory)
        : Registration(spec)
    {
        public override IEnvironment Make(EnvironmentOptions? options, bool applyTimeLimit)
        {
            options ??= new EnvironmentOptions();
            var env = factory(options) ?? throw new InvalidOperationException($"The factory registered for {Spec.Id} returned null.");
            var (known, unknown) = options.Audit();
            if (unknown.Length > 0)
            {
                string takes = known.Length > 0 ? $"it takes: {string.Join(", ", known)}" : "it takes no options";
                throw new ArgumentException($"{Spec.Id} does not take the option{(unknown.Length > 1 ? "s" : "")} {string.Join(", ", unknown)}; {takes}.", nameof(options));
            }
            return applyTimeLimit && Spec.MaxEpisodeSteps is int limit ? new TimeLimit<TObservation, TAction>(env, limit) : env;
        }
    }
}
