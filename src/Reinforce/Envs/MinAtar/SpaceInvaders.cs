namespace Reinforce.Envs.MinAtar;

/// <summary>MinAtar Space Invaders (<c>minatar/environments/space_invaders.py</c>): shoot the descending aliens (+1 each) while dodging their bullets; each cleared wave comes back faster.</summary>
internal sealed class SpaceInvaders : MinAtarGame
{
    private const int ShotCoolDown = 5, EnemyMoveInterval = 12, EnemyShotInterval = 10;

    private int[,] _friendly = new int[10, 10];
    private int[,] _enemy = new int[10, 10];
    private int[,] _aliens = new int[10, 10];
    private int[,] _scratch = new int[10, 10];
    private int _pos, _alienDir, _enemyMoveInterval, _alienMoveTimer, _alienShotTimer, _rampIndex, _shotTimer;

    public override string[] ChannelNames => ["cannon", "alien", "alien_left", "alien_right", "friendly_bullet", "enemy_bullet"];

    public override int[] MinimalActionSet => [Noop, Left, Right, Fire];

    public override int? DifficultyRamp => _rampIndex;

    public override void Reset()
    {
        _pos = 5;
        Array.Clear(_friendly);
        Array.Clear(_enemy);
        Array.Clear(_aliens);
        FillWave();
        _alienDir = -1;
        _enemyMoveInterval = EnemyMoveInterval;
        _alienMoveTimer = _enemyMoveInterval;
        _alienShotTimer = EnemyShotInterval;
        _rampIndex = 0;
        _shotTimer = 0;
        Terminal = false;
    }

    private void FillWave()
    {
        for (int y = 0; y < 4; y++) for (int x = 2; x < 8; x++) _aliens[y, x] = 1;
    }

    protected override int OnAct(int action)
    {
        int r = 0;
        if (action == Fire && _shotTimer == 0)
        {
            _friendly[9, _pos] = 1;
            _shotTimer = ShotCoolDown;
        }
        else if (action == Left) _pos = Math.Max(0, _pos - 1);
        else if (action == Right) _pos = Math.Min(9, _pos + 1);

        // np.roll(f, -1, axis=0) then clear the bottom row; np.roll(e, 1, axis=0) then clear the top row.
        RollRows(ref _friendly, -1);
        for (int x = 0; x < 10; x++) _friendly[9, x] = 0;
        RollRows(ref _enemy, 1);
        for (int x = 0; x < 10; x++) _enemy[0, x] = 0;
        if (_enemy[9, _pos] != 0) Terminal = true;

        if (_aliens[9, _pos] != 0) Terminal = true;
        if (_alienMoveTimer == 0)
        {
            _alienMoveTimer = Math.Min(CountAliens(), _enemyMoveInterval);
            if ((ColumnHasAlien(0) && _alienDir < 0) || (ColumnHasAlien(9) && _alienDir > 0))
            {
                _alienDir = -_alienDir;
                if (RowHasAlien(9)) Terminal = true;
                RollRows(ref _aliens, 1);
            }
            else
            {
                RollColumns(ref _aliens, _alienDir);
            }
            if (_aliens[9, _pos] != 0) Terminal = true;
        }
        if (_alienShotTimer == 0)
        {
            _alienShotTimer = EnemyShotInterval;
            var (row, column) = NearestAlien(_pos);
            _enemy[row, column] = 1;
        }

        for (int y = 0; y < 10; y++)
        {
            for (int x = 0; x < 10; x++)
            {
                if (_aliens[y, x] != 0 && _aliens[y, x] == _friendly[y, x])
                {
                    r += 1;
                    _aliens[y, x] = 0;
                    _friendly[y, x] = 0;
                }
            }
        }

        if (_shotTimer > 0) _shotTimer -= 1;
        _alienMoveTimer -= 1;
        _alienShotTimer -= 1;
        if (CountAliens() == 0)
        {
            if (_enemyMoveInterval > 6 && Ramping)
            {
                _enemyMoveInterval -= 1;
                _rampIndex += 1;
            }
            FillWave();
        }
        return r;
    }

    /// <summary>The alien nearest the cannon's column (ties to the lower column, as Python's stable sort), its lowest row.</summary>
    private (int Row, int Column) NearestAlien(int pos)
    {
        for (int distance = 0; distance < 10; distance++)
        {
            foreach (int column in (ReadOnlySpan<int>)[pos - distance, pos + distance])
            {
                if (column < 0 || column > 9 || (distance == 0 && column != pos - distance)) continue;
                for (int y = 9; y >= 0; y--) if (_aliens[y, column] == 1) return (y, column);
            }
        }
        throw new InvalidOperationException("Space Invaders: no alien left to shoot (the wave refills before this can happen).");
    }

    private int CountAliens()
    {
        int n = 0;
        foreach (int a in _aliens) if (a != 0) n++;
        return n;
    }

    private bool ColumnHasAlien(int x)
    {
        for (int y = 0; y < 10; y++) if (_aliens[y, x] != 0) return true;
        return false;
    }

    private bool RowHasAlien(int y)
    {
        for (int x = 0; x < 10; x++) if (_aliens[y, x] != 0) return true;
        return false;
    }

    /// <summary>np.roll(map, shift, axis=0): row y moves to row y + shift (wrapping).</summary>
    private void RollRows(ref int[,] map, int shift)
    {
        for (int y = 0; y < 10; y++) for (int x = 0; x < 10; x++) _scratch[((y + shift) % 10 + 10) % 10, x] = map[y, x];
        (map, _scratch) = (_scratch, map);
    }

    /// <summary>np.roll(map, shift, axis=1): column x moves to column x + shift (wrapping).</summary>
    private void RollColumns(ref int[,] map, int shift)
    {
        for (int y = 0; y < 10; y++) for (int x = 0; x < 10; x++) _scratch[y, ((x + shift) % 10 + 10) % 10] = map[y, x];
        (map, _scratch) = (_scratch, map);
    }

    public override void WriteState(Span<byte> state)
    {
        Set(state, 0, 9, _pos);
        for (int y = 0; y < 10; y++)
        {
            for (int x = 0; x < 10; x++)
            {
                if (_aliens[y, x] != 0)
                {
                    Set(state, 1, y, x);
                    Set(state, _alienDir < 0 ? 2 : 3, y, x);
                }
                if (_friendly[y, x] != 0) Set(state, 4, y, x);
                if (_enemy[y, x] != 0) Set(state, 5, y, x);
            }
        }
    }
}
