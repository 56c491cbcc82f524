using System.Globalization;
using Reinforce.Envs.Vector;
using Reinforce.Spaces;

namespace Reinforce.Envs.MinAtar;

/// <summary>
/// MinAtar (Young &amp; Tian 2019, kenjyoung/MinAtar): five Atari games shrunk to a 10×10 grid with one boolean
/// plane per kind of object. This is a port of the Python package's game logic and its <c>Environment</c> wrapper,
/// including sticky actions (with probability 0.1 the previous action repeats) and difficulty ramping, and it draws
/// from a bit-exact copy of numpy's <c>RandomState</c>: <c>Reset(seed)</c> with a seed in [0, 2^32) follows the Python
/// <c>Environment(game).seed(seed)</c> frame for frame (the replay tests check every state and reward).
/// <para>
/// Observations are <see cref="ByteBox"/>(0, 1, [C, 10, 10]) in channels-first order (the Python state is
/// [10, 10, C]; the transposition happens here, once, when the state is written). Actions are the minimal action set
/// (the <c>-v1</c> ids, as <c>minatar.gym</c>) or all six (<c>-v0</c>): no-op, left, up, right, down, fire.
/// </para>
/// </summary>
public sealed class MinAtarEnvironment : IEnvironment<byte[], int>, IDiscreteActionEnv
{
    /// <summary>The games, by their Python module names.</summary>
    public static IReadOnlyList<string> Games { get; } = ["asterix", "breakout", "freeway", "seaquest", "space_invaders"];

    private readonly MinAtarGame _game;
    private readonly int[] _actionSet;
    private readonly Discrete _actions;
    private readonly byte[] _state;
    private NumpyRandomState _random = new(0u);
    private int _lastAction;
    private bool _needsReset = true;
    private bool _everReset;
    private int _episodeStep;

    /// <summary>Creates a game.</summary>
    /// <param name="game">asterix, breakout, freeway, seaquest or space_invaders (also Breakout, SpaceInvaders, …).</param>
    /// <param name="minimalActionSet">Act with the game's minimal action set (the <c>-v1</c> ids) rather than all six actions (<c>-v0</c>).</param>
    /// <param name="stickyActionProbability">The chance that the previous action repeats instead of the chosen one (MinAtar's default 0.1).</param>
    /// <param name="difficultyRamping">Whether Asterix, Seaquest and Space Invaders speed up as they go (the default, as the original).</param>
    public MinAtarEnvironment(string game, bool minimalActionSet = true, double stickyActionProbability = 0.1, bool difficultyRamping = true)
    {
        ArgumentNullException.ThrowIfNull(game);
        if (!(stickyActionProbability >= 0 && stickyActionProbability <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(stickyActionProbability), stickyActionProbability, "The sticky-action probability must be in [0, 1] (MinAtar uses 0.1).");
        }
        string module = ModuleName(game);
        _game = module switch
        {
            "asterix" => new Asterix { Ramping = difficultyRamping },
            "breakout" => new Breakout { Ramping = difficultyRamping },
            "freeway" => new Freeway { Ramping = difficultyRamping },
            "seaquest" => new Seaquest { Ramping = difficultyRamping },
            "space_invaders" => new SpaceInvaders { Ramping = difficultyRamping },
            _ => throw new ArgumentException($"MinAtar has no game '{game}'; the games are {string.Join(", ", Games)}.", nameof(game)),
        };
        Game = module;
        StickyActionProbability = stickyActionProbability;
        _actionSet = minimalActionSet ? _game.MinimalActionSet : [0, 1, 2, 3, 4, 5];
        _actions = new Discrete(_actionSet.Length);
        Channels = _game.ChannelNames.Length;
        _state = new byte[Channels * 100];
        ObservationSpace = new ByteBox(0, 1, [Channels, 10, 10]);
        Name = $"MinAtar/{TitleName(module)}-v{(minimalActionSet ? 1 : 0)}";
    }

    private static string ModuleName(string game)
    {
        string lower = game.ToLowerInvariant().Replace("-", "_", StringComparison.Ordinal);
        return lower == "spaceinvaders" ? "space_invaders" : lower;
    }

    /// <summary>The Gymnasium-style title of a game: SpaceInvaders for space_invaders.</summary>
    public static string TitleName(string game) =>
        string.Concat(ModuleName(game).Split('_').Select(w => w.Length == 0 ? w : char.ToUpperInvariant(w[0]) + w[1..]));

    /// <inheritdoc/>
    public string Name { get; set; }

    /// <summary>The game's Python module name.</summary>
    public string Game { get; }

    /// <summary>The chance that the previous action repeats.</summary>
    public double StickyActionProbability { get; }

    /// <summary>The number of boolean planes.</summary>
    public int Channels { get; }

    /// <summary>What each plane shows, in channel order (the Python <c>channels</c> dictionary).</summary>
    public IReadOnlyList<string> ChannelNames => _game.ChannelNames;

    /// <summary>The full-set action (0–5: n, l, u, r, d, f) each action of <see cref="ActionSpace"/> stands for.</summary>
    public IReadOnlyList<int> ActionSet => _actionSet;

    /// <summary>The current difficulty level (Asterix, Seaquest, SpaceInvaders), null for Breakout and Freeway.</summary>
    public int? DifficultyRamp => _game.DifficultyRamp;

    /// <inheritdoc/>
    public Space ObservationSpace { get; }

    /// <inheritdoc/>
    public Space ActionSpace => _actions;

    /// <inheritdoc/>
    public int ObservationSize => _state.Length;

    /// <inheritdoc/>
    public (byte[] Observation, StepInfo Info) Reset(int? seed = null)
    {
        ResetCore(seed is int s ? Seeding.ToUInt64(s) : null);
        return ((byte[])_state.Clone(), StepInfo.Empty);
    }

    /// <inheritdoc/>
    public void ResetInto(ulong? seed, Span<float> observation)
    {
        if (observation.Length < _state.Length) EnvironmentErrors.ThrowObservationBuffer(Name, observation.Length, _state.Length);
        ResetCore(seed);
        Copy(observation);
    }

    /// <inheritdoc/>
    public Step<byte[]> Step(int action)
    {
        var outcome = StepCore(action);
        return new Step<byte[]>((byte[])_state.Clone(), outcome.Reward, outcome.Terminated, false, StepInfo.Empty);
    }

    /// <inheritdoc/>
    public StepOutcome StepInto(int action, Span<float> observation)
    {
        if (observation.Length < _state.Length) EnvironmentErrors.ThrowObservationBuffer(Name, observation.Length, _state.Length);
        var outcome = StepCore(action);
        Copy(observation);
        return outcome;
    }

    private void ResetCore(ulong? seed)
    {
        if (seed is ulong s)
        {
            // A seeded reset is a fresh Python Environment: seed(s) gives the game the same RandomState, last action 0.
            _random = NumpyRandomState.FromSeed(s);
            _lastAction = 0;
        }
        _game.Random = _random;
        _game.Reset();
        _needsReset = false;
        _everReset = true;
        _episodeStep = 0;
        WriteState();
    }

    private StepOutcome StepCore(int action)
    {
        if (_needsReset) EnvironmentErrors.ThrowNeedsReset(Name, _everReset, "terminated", action.ToString(CultureInfo.InvariantCulture));
        if ((uint)action >= (uint)_actionSet.Length) EnvironmentErrors.ThrowDiscreteAction(Name, action, _actions);
        int a = _actionSet[action];
        if (_random.Rand() < StickyActionProbability) a = _lastAction;
        _lastAction = a;
        int reward = _game.Act(a);
        _episodeStep++;
        WriteState();
        if (_game.Terminal) _needsReset = true;
        return new StepOutcome(reward, _game.Terminal);
    }

    /// <summary>Steps taken in the current episode.</summary>
    public int EpisodeStep => _episodeStep;

    private void WriteState()
    {
        Array.Clear(_state);
        _game.WriteState(_state);
    }

    private void Copy(Span<float> observation)
    {
        for (int i = 0; i < _state.Length; i++) observation[i] = _state[i];
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
