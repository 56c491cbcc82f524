namespace Reinforce.Envs.MinAtar;

/// <summary>
/// One MinAtar game's logic, a line-by-line port of the Python original (kenjyoung/MinAtar,
/// <c>minatar/environments/*.py</c>): the same state variables, the same order of updates and the same random draws
/// from the shared <see cref="NumpyRandomState"/>. Actions are indices into the full action set
/// <c>n, l, u, r, d, f</c> (no-op, left, up, right, down, fire).
/// </summary>
internal abstract class MinAtarGame
{
    /// <summary>The full action set's letters, as the Python <c>action_map</c>.</summary>
    public const string ActionMap = "nlurdf";

    protected const int Noop = 0, Left = 1, Up = 2, Right = 3, Down = 4, Fire = 5;

    /// <summary>The generator shared with the environment (sticky actions draw from it too).</summary>
    public NumpyRandomState Random { get; set; } = new(0u);

    /// <summary>Whether the game gets harder as it goes (the Python <c>ramping</c> flag).</summary>
    public bool Ramping { get; init; } = true;

    /// <summary>Whether the episode is over.</summary>
    public bool Terminal { get; protected set; }

    /// <summary>The names of the state's channels, in channel order.</summary>
    public abstract string[] ChannelNames { get; }

    /// <summary>The actions that matter in this game (indices into the full set), as <c>minimal_action_set()</c>.</summary>
    public abstract int[] MinimalActionSet { get; }

    /// <summary>The current difficulty level (<c>difficulty_ramp()</c>), null for games that do not ramp.</summary>
    public virtual int? DifficultyRamp => null;

    /// <summary>Starts an episode.</summary>
    public abstract void Reset();

    /// <summary>Advances one frame with full-set action <paramref name="action"/>; returns the reward (0 once terminal).</summary>
    public int Act(int action) => Terminal ? 0 : OnAct(action);

    /// <summary>The frame's logic.</summary>
    protected abstract int OnAct(int action);

    /// <summary>Writes the 10×10 boolean planes, channels first (<c>state[c, y, x]</c> at <c>c·100 + y·10 + x</c>; Python's <c>state()[y, x, c]</c>), into the cleared <paramref name="state"/>.</summary>
    public abstract void WriteState(Span<byte> state);

    /// <summary>Sets cell (<paramref name="y"/>, <paramref name="x"/>) of channel <paramref name="c"/>; negative indices wrap as numpy's do.</summary>
    protected static void Set(Span<byte> state, int c, int y, int x)
    {
        if (y < 0) y += 10;
        if (x < 0) x += 10;
        state[c * 100 + y * 10 + x] = 1;
    }
}
