namespace Reinforce.Envs.MinAtar;

/// <summary>MinAtar Asterix (<c>minatar/environments/asterix.py</c>): move in four directions, pick up gold (+1), avoid enemies; spawn rate and speed ramp up every 100 frames.</summary>
internal sealed class Asterix : MinAtarGame
{
    private const int RampInterval = 100, InitSpawnSpeed = 10, InitMoveInterval = 5;

    // Each entity is [x, y, moving right (0/1), gold (0/1)], or null for an empty row slot.
    private readonly int[]?[] _entities = new int[8][];
    private int _playerX, _playerY, _spawnSpeed, _spawnTimer, _moveSpeed, _moveTimer, _rampTimer, _rampIndex;

    public override string[] ChannelNames => ["player", "enemy", "trail", "gold"];

    public override int[] MinimalActionSet => [Noop, Left, Up, Right, Down];

    public override int? DifficultyRamp => _rampIndex;

    public override void Reset()
    {
        _playerX = 5;
        _playerY = 5;
        Array.Clear(_entities);
        _spawnSpeed = InitSpawnSpeed;
        _spawnTimer = _spawnSpeed;
        _moveSpeed = InitMoveInterval;
        _moveTimer = _moveSpeed;
        _rampTimer = RampInterval;
        _rampIndex = 0;
        Terminal = false;
    }

    protected override int OnAct(int action)
    {
        int r = 0;
        if (_spawnTimer == 0)
        {
            SpawnEntity();
            _spawnTimer = _spawnSpeed;
        }

        if (action == Left) _playerX = Math.Max(0, _playerX - 1);
        else if (action == Right) _playerX = Math.Min(9, _playerX + 1);
        else if (action == Up) _playerY = Math.Max(1, _playerY - 1);
        else if (action == Down) _playerY = Math.Min(8, _playerY + 1);

        for (int i = 0; i < _entities.Length; i++)
        {
            var x = _entities[i];
            if (x is not null && x[0] == _playerX && x[1] == _playerY)
            {
                if (x[3] != 0) { _entities[i] = null; r += 1; }
                else Terminal = true;
            }
        }
        if (_moveTimer == 0)
        {
            _moveTimer = _moveSpeed;
            for (int i = 0; i < _entities.Length; i++)
            {
                var x = _entities[i];
                if (x is null) continue;
                x[0] += x[2] != 0 ? 1 : -1;
                if (x[0] < 0 || x[0] > 9) _entities[i] = null;
                if (x[0] == _playerX && x[1] == _playerY)
                {
                    if (x[3] != 0) { _entities[i] = null; r += 1; }
                    else Terminal = true;
                }
            }
        }

        _spawnTimer -= 1;
        _moveTimer -= 1;

        if (Ramping && (_spawnSpeed > 1 || _moveSpeed > 1))
        {
            if (_rampTimer >= 0)
            {
                _rampTimer -= 1;
            }
            else
            {
                if (_moveSpeed > 1 && _rampIndex % 2 != 0) _moveSpeed -= 1;
                if (_spawnSpeed > 1) _spawnSpeed -= 1;
                _rampIndex += 1;
                _rampTimer = RampInterval;
            }
        }
        return r;
    }

    private void SpawnEntity()
    {
        bool lr = Random.Rand() < 1.0 / 2;
        bool gold = Random.Rand() < 1.0 / 3;
        int x = lr ? 0 : 9;
        Span<int> slots = stackalloc int[8];
        int count = 0;
        for (int i = 0; i < _entities.Length; i++) if (_entities[i] is null) slots[count++] = i;
        if (count == 0) return;
        int slot = slots[Random.RandInt(count)];
        _entities[slot] = [x, slot + 1, lr ? 1 : 0, gold ? 1 : 0];
    }

    public override void WriteState(Span<byte> state)
    {
        Set(state, 0, _playerY, _playerX);
        foreach (var x in _entities)
        {
            if (x is null) continue;
            Set(state, x[3] != 0 ? 3 : 1, x[1], x[0]);
            int backX = x[2] != 0 ? x[0] - 1 : x[0] + 1;
            if (backX >= 0 && backX <= 9) Set(state, 2, x[1], backX);
        }
    }
}
