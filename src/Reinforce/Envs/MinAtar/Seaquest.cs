namespace Reinforce.Envs.MinAtar;

/// <summary>
/// MinAtar Seaquest (<c>minatar/environments/seaquest.py</c>): shoot fish and enemy subs (+1), rescue divers, surface
/// for oxygen; surfacing with six divers pays the remaining oxygen; every surfacing ramps the difficulty. The Python
/// keeps its objects in lists that it walks backwards while removing from them by value; <see cref="PyList"/>
/// reproduces those semantics so that even collisions of identical objects resolve the same way.
/// </summary>
internal sealed class Seaquest : MinAtarGame
{
    private const int MaxOxygen = 200, InitSpawnSpeed = 20, DiverSpawnSpeed = 30, InitMoveInterval = 5,
        ShotCoolDown = 5, EnemyShotInterval = 10, DiverMoveInterval = 5;

    private readonly PyList _friendlyBullets = new(); // [x, y, facing right]
    private readonly PyList _enemyBullets = new();    // [x, y, moving right]
    private readonly PyList _fish = new();            // [x, y, moving right, move timer]
    private readonly PyList _subs = new();            // [x, y, moving right, move timer, shot timer]
    private readonly PyList _divers = new();          // [x, y, moving right, move timer]
    private int _oxygen, _diverCount, _subX, _subY, _spawnSpeed, _spawnTimer, _diverSpawnTimer, _moveSpeed, _rampIndex, _shotTimer;
    private bool _facingRight, _surface;

    public override string[] ChannelNames => ["sub_front", "sub_back", "friendly_bullet", "trail", "enemy_bullet", "enemy_fish", "enemy_sub", "oxygen_guage", "diver_guage", "diver"];

    public override int[] MinimalActionSet => [Noop, Left, Up, Right, Down, Fire];

    public override int? DifficultyRamp => _rampIndex;

    public override void Reset()
    {
        _oxygen = MaxOxygen;
        _diverCount = 0;
        _subX = 5;
        _subY = 0;
        _facingRight = false;
        _friendlyBullets.Clear();
        _enemyBullets.Clear();
        _fish.Clear();
        _subs.Clear();
        _divers.Clear();
        _spawnSpeed = InitSpawnSpeed;
        _spawnTimer = _spawnSpeed;
        _diverSpawnTimer = DiverSpawnSpeed;
        _moveSpeed = InitMoveInterval;
        _rampIndex = 0;
        _shotTimer = 0;
        _surface = true;
        Terminal = false;
    }

    private bool AtSub(int[] o) => o[0] == _subX && o[1] == _subY;

    private static bool SamePlace(int[] a, int[] b) => a[0] == b[0] && a[1] == b[1];

    private static int Step(int[] o) => o[2] != 0 ? 1 : -1;

    protected override int OnAct(int action)
    {
        int r = 0;
        if (_spawnTimer == 0)
        {
            SpawnEnemy();
            _spawnTimer = _spawnSpeed;
        }
        if (_diverSpawnTimer == 0)
        {
            SpawnDiver();
            _diverSpawnTimer = DiverSpawnSpeed;
        }

        if (action == Fire && _shotTimer == 0)
        {
            _friendlyBullets.Add([_subX, _subY, _facingRight ? 1 : 0]);
            _shotTimer = ShotCoolDown;
        }
        else if (action == Left) { _subX = Math.Max(0, _subX - 1); _facingRight = false; }
        else if (action == Right) { _subX = Math.Min(9, _subX + 1); _facingRight = true; }
        else if (action == Up) _subY = Math.Max(0, _subY - 1);
        else if (action == Down) _subY = Math.Min(8, _subY + 1);

        // Friendly bullets.
        for (var it = _friendlyBullets.Reversed(); it.MoveNext();)
        {
            var bullet = it.Current;
            bullet[0] += Step(bullet);
            if (bullet[0] < 0 || bullet[0] > 9)
            {
                _friendlyBullets.Remove(bullet);
                continue;
            }
            bool removed = false;
            for (int i = 0; i < _fish.Count; i++)
            {
                var x = _fish[i];
                if (SamePlace(bullet, x))
                {
                    _fish.Remove(x);
                    _friendlyBullets.Remove(bullet);
                    r += 1;
                    removed = true;
                    break;
                }
            }
            if (!removed)
            {
                for (int i = 0; i < _subs.Count; i++)
                {
                    var x = _subs[i];
                    if (SamePlace(bullet, x))
                    {
                        _subs.Remove(x);
                        _friendlyBullets.Remove(bullet);
                        r += 1;
                        break;
                    }
                }
            }
        }

        // Divers.
        for (var it = _divers.Reversed(); it.MoveNext();)
        {
            var diver = it.Current;
            if (AtSub(diver) && _diverCount < 6)
            {
                _divers.Remove(diver);
                _diverCount += 1;
            }
            else if (diver[3] == 0)
            {
                diver[3] = DiverMoveInterval;
                diver[0] += Step(diver);
                if (diver[0] < 0 || diver[0] > 9) _divers.Remove(diver);
                else if (AtSub(diver) && _diverCount < 6)
                {
                    _divers.Remove(diver);
                    _diverCount += 1;
                }
            }
            else
            {
                diver[3] -= 1;
            }
        }

        // Enemy subs.
        for (var it = _subs.Reversed(); it.MoveNext();)
        {
            var sub = it.Current;
            if (AtSub(sub)) Terminal = true;
            if (sub[3] == 0)
            {
                sub[3] = _moveSpeed;
                sub[0] += Step(sub);
                if (sub[0] < 0 || sub[0] > 9) _subs.Remove(sub);
                else if (AtSub(sub)) Terminal = true;
                else
                {
                    for (int i = 0; i < _friendlyBullets.Count; i++)
                    {
                        var x = _friendlyBullets[i];
                        if (SamePlace(sub, x))
                        {
                            _subs.Remove(sub);
                            _friendlyBullets.Remove(x);
                            r += 1;
                            break;
                        }
                    }
                }
            }
            else
            {
                sub[3] -= 1;
            }
            if (sub[4] == 0)
            {
                sub[4] = EnemyShotInterval;
                _enemyBullets.Add([sub[0], sub[1], sub[2]]);
            }
            else
            {
                sub[4] -= 1;
            }
        }

        // Enemy bullets.
        for (var it = _enemyBullets.Reversed(); it.MoveNext();)
        {
            var bullet = it.Current;
            if (AtSub(bullet)) Terminal = true;
            bullet[0] += Step(bullet);
            if (bullet[0] < 0 || bullet[0] > 9) _enemyBullets.Remove(bullet);
            else if (AtSub(bullet)) Terminal = true;
        }

        // Enemy fish.
        for (var it = _fish.Reversed(); it.MoveNext();)
        {
            var fish = it.Current;
            if (AtSub(fish)) Terminal = true;
            if (fish[3] == 0)
            {
                fish[3] = _moveSpeed;
                fish[0] += Step(fish);
                if (fish[0] < 0 || fish[0] > 9) _fish.Remove(fish);
                else if (AtSub(fish)) Terminal = true;
                else
                {
                    for (int i = 0; i < _friendlyBullets.Count; i++)
                    {
                        var x = _friendlyBullets[i];
                        if (SamePlace(fish, x))
                        {
                            _fish.Remove(fish);
                            _friendlyBullets.Remove(x);
                            r += 1;
                            break;
                        }
                    }
                }
            }
            else
            {
                fish[3] -= 1;
            }
        }

        if (_spawnTimer > 0) _spawnTimer -= 1;
        if (_diverSpawnTimer > 0) _diverSpawnTimer -= 1;
        if (_shotTimer > 0) _shotTimer -= 1;
        if (_oxygen <= 0) Terminal = true;
        if (_subY > 0)
        {
            _oxygen -= 1;
            _surface = false;
        }
        else if (!_surface)
        {
            if (_diverCount == 0) Terminal = true;
            else r += Surface();
        }
        return r;
    }

    private int Surface()
    {
        _surface = true;
        int r = 0;
        if (_diverCount == 6)
        {
            _diverCount = 0;
            r = _oxygen * 10 / MaxOxygen;
        }
        _oxygen = MaxOxygen;
        _diverCount -= 1; // as in the original: surfacing with six divers leaves the count at -1
        if (Ramping && (_spawnSpeed > 1 || _moveSpeed > 2))
        {
            if (_moveSpeed > 2 && _rampIndex % 2 != 0) _moveSpeed -= 1;
            if (_spawnSpeed > 1) _spawnSpeed -= 1;
            _rampIndex += 1;
        }
        return r;
    }

    private void SpawnEnemy()
    {
        bool lr = Random.Rand() < 1.0 / 2;
        bool isSub = Random.Rand() < 1.0 / 3;
        int x = lr ? 0 : 9;
        int y = Random.RandInt(1, 9);
        int direction = lr ? 1 : 0;
        for (int i = 0; i < _subs.Count; i++) if (_subs[i][1] == y && _subs[i][2] != direction) return;
        for (int i = 0; i < _fish.Count; i++) if (_fish[i][1] == y && _fish[i][2] != direction) return;
        if (isSub) _subs.Add([x, y, direction, _moveSpeed, EnemyShotInterval]);
        else _fish.Add([x, y, direction, _moveSpeed]);
    }

    private void SpawnDiver()
    {
        bool lr = Random.Rand() < 1.0 / 2;
        int x = lr ? 0 : 9;
        int y = Random.RandInt(1, 9);
        _divers.Add([x, y, lr ? 1 : 0, DiverMoveInterval]);
    }

    public override void WriteState(Span<byte> state)
    {
        Set(state, 0, _subY, _subX);
        Set(state, 1, _subY, _facingRight ? _subX - 1 : _subX + 1);
        int oxygenCells = Math.Max(0, _oxygen) * 10 / MaxOxygen;
        for (int x = 0; x < oxygenCells; x++) Set(state, 7, 9, x);
        for (int x = Math.Max(0, 9 - _diverCount); x < 9; x++) Set(state, 8, 9, x);
        for (int i = 0; i < _friendlyBullets.Count; i++) Set(state, 2, _friendlyBullets[i][1], _friendlyBullets[i][0]);
        for (int i = 0; i < _enemyBullets.Count; i++) Set(state, 4, _enemyBullets[i][1], _enemyBullets[i][0]);
        WriteMovers(state, _fish, 5);
        WriteMovers(state, _subs, 6);
        WriteMovers(state, _divers, 9);
    }

    private static void WriteMovers(Span<byte> state, PyList movers, int channel)
    {
        for (int i = 0; i < movers.Count; i++)
        {
            var m = movers[i];
            Set(state, channel, m[1], m[0]);
            int backX = m[2] != 0 ? m[0] - 1 : m[0] + 1;
            if (backX >= 0 && backX <= 9) Set(state, 3, m[1], backX);
        }
    }
}

/// <summary>
/// A Python list of small int lists, with the two behaviours the original relies on: <see cref="Remove"/> deletes the
/// first element equal by value (not necessarily the same object), and <see cref="Reversed"/> walks by index from the
/// end as <c>reversed(list)</c> does, seeing the list as it is changed during the walk.
/// </summary>
internal sealed class PyList
{
    private readonly List<int[]> _items = [];

    public int Count => _items.Count;

    public int[] this[int index] => _items[index];

    public void Add(int[] item) => _items.Add(item);

    public void Clear() => _items.Clear();

    /// <summary>Python's <c>list.remove(item)</c>: removes the first element whose values equal <paramref name="item"/>'s.</summary>
    public void Remove(int[] item)
    {
        for (int i = 0; i < _items.Count; i++)
        {
            if (_items[i].AsSpan().SequenceEqual(item))
            {
                _items.RemoveAt(i);
                return;
            }
        }
        throw new InvalidOperationException("list.remove(x): x not in list");
    }

    /// <summary>Python's <c>reversed(list)</c> iterator.</summary>
    public ReverseIterator Reversed() => new(this);

    /// <summary>Yields <c>list[i]</c> for i from the last index down, stopping when the index leaves the (changing) list.</summary>
    public struct ReverseIterator(PyList list)
    {
        private int _index = list.Count - 1;

        public int[] Current { get; private set; } = [];

        public bool MoveNext()
        {
            if (_index >= 0 && _index < list.Count)
            {
                Current = list[_index];
                _index--;
                return true;
            }
            _index = -1;
            return false;
        }
    }
}
