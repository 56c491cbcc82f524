using Reinforce.Envs.Vector;
using Reinforce.Spaces;

namespace Reinforce.Envs.Games;

/// <summary>How the fixed Connect Four opponent chooses its column.</summary>
public enum ConnectFourOpponent
{
    /// <summary>A uniformly random legal column.</summary>
    Random,

    /// <summary>One-step lookahead: win if it can, otherwise block the agent's immediate win, otherwise a random legal column.</summary>
    Lookahead,
}

/// <summary>
/// Connect Four (6 rows × 7 columns) against a fixed, seeded opponent: a game with illegal moves, for masked PPO.
/// The agent drops first; an action is a column. Rewards: +1 for a win, −1 for a loss, 0 for a draw; the episode ends
/// with the game. A full column is an illegal move: the episode ends with −1 (so an unmasked policy can still learn,
/// slowly, and <see cref="IllegalMoves"/> counts them). The legal columns are exposed as an action mask
/// (<see cref="IActionMaskEnv"/>). Observations are two 6×7 planes, flattened: floats 0–41 the agent's discs,
/// 42–83 the opponent's (row-major, row 0 at the top).
/// </summary>
public sealed class ConnectFour : DiscreteEnvironment, IActionMaskEnv
{
    /// <summary>Board rows.</summary>
    public const int Rows = 6;

    /// <summary>Board columns (the actions).</summary>
    public const int Columns = 7;

    private readonly int[] _board = new int[Rows * Columns]; // 0 empty, 1 agent, 2 opponent
    private readonly int[] _height = new int[Columns];

    /// <summary>Creates the game against <paramref name="opponent"/>.</summary>
    public ConnectFour(ConnectFourOpponent opponent = ConnectFourOpponent.Lookahead)
        : base("ConnectFour-v0", new Box(0f, 1f, [2 * Rows * Columns]), new Discrete(Columns))
    {
        Opponent = opponent;
    }

    /// <summary>The opponent's rule.</summary>
    public ConnectFourOpponent Opponent { get; }

    /// <summary>Illegal moves (full columns) played since the environment was created.</summary>
    public int IllegalMoves { get; private set; }

    /// <summary>The disc at (<paramref name="row"/>, <paramref name="column"/>): 0 empty, 1 the agent's, 2 the opponent's (row 0 at the top).</summary>
    public int this[int row, int column] => _board[row * Columns + column];

    /// <inheritdoc/>
    public void WriteActionMask(Span<bool> mask)
    {
        for (int c = 0; c < Columns; c++) mask[c] = _height[c] < Rows;
    }

    /// <inheritdoc/>
    protected override void OnReset(Span<float> observation)
    {
        Array.Clear(_board);
        Array.Clear(_height);
        Observe(observation);
    }

    /// <inheritdoc/>
    protected override StepOutcome OnStep(int action, Span<float> observation)
    {
        if (_height[action] >= Rows)
        {
            IllegalMoves++;
            Observe(observation);
            return new StepOutcome(-1, true);
        }
        int row = Drop(action, 1);
        if (Wins(row, action, 1)) return Finish(observation, 1);
        if (Full()) return Finish(observation, 0);

        int reply = ChooseReply();
        row = Drop(reply, 2);
        if (Wins(row, reply, 2)) return Finish(observation, -1);
        if (Full()) return Finish(observation, 0);
        Observe(observation);
        return new StepOutcome(0, false);
    }

    private StepOutcome Finish(Span<float> observation, double reward)
    {
        Observe(observation);
        return new StepOutcome(reward, true);
    }

    private int ChooseReply()
    {
        if (Opponent == ConnectFourOpponent.Lookahead)
        {
            for (int player = 2; player >= 1; player--) // first its own win, then the agent's threat
            {
                for (int c = 0; c < Columns; c++)
                {
                    if (_height[c] >= Rows) continue;
                    int row = Drop(c, player);
                    bool wins = Wins(row, c, player);
                    Undo(c);
                    if (wins) return c;
                }
            }
        }
        Span<int> legal = stackalloc int[Columns];
        int count = 0;
        for (int c = 0; c < Columns; c++) if (_height[c] < Rows) legal[count++] = c;
        return legal[Rng.NextInt(count)];
    }

    private int Drop(int column, int player)
    {
        int row = Rows - 1 - _height[column];
        _board[row * Columns + column] = player;
        _height[column]++;
        return row;
    }

    private void Undo(int column)
    {
        _height[column]--;
        _board[(Rows - 1 - _height[column]) * Columns + column] = 0;
    }

    private bool Full()
    {
        foreach (int h in _height) if (h < Rows) return false;
        return true;
    }

    private bool Wins(int row, int column, int player)
    {
        ReadOnlySpan<(int Dy, int Dx)> directions = [(0, 1), (1, 0), (1, 1), (1, -1)];
        foreach (var (dy, dx) in directions)
        {
            int count = 1 + Run(row, column, dy, dx, player) + Run(row, column, -dy, -dx, player);
            if (count >= 4) return true;
        }
        return false;
    }

    private int Run(int row, int column, int dy, int dx, int player)
    {
        int n = 0;
        for (int r = row + dy, c = column + dx; r >= 0 && r < Rows && c >= 0 && c < Columns && _board[r * Columns + c] == player; r += dy, c += dx) n++;
        return n;
    }

    private void Observe(Span<float> observation)
    {
        const int cells = Rows * Columns;
        for (int i = 0; i < cells; i++)
        {
            observation[i] = _board[i] == 1 ? 1f : 0f;
            observation[cells + i] = _board[i] == 2 ? 1f : 0f;
        }
    }
}
