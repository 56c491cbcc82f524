namespace Reinforce.Envs.MinAtar;

/// <summary>MinAtar Freeway (<c>minatar/environments/freeway.py</c>): move the chicken up across eight lanes of cars (+1 per crossing, car speeds re-drawn); a car sends it back to the bottom; the episode ends after 2500 frames.</summary>
internal sealed class Freeway : MinAtarGame
{
    private const int PlayerSpeed = 3, TimeLimit = 2500;

    // Each car is [x, y, timer, signed speed].
    private readonly int[][] _cars = Enumerable.Range(0, 8).Select(_ => new int[4]).ToArray();
    private int _pos, _moveTimer, _terminateTimer;

    public override string[] ChannelNames => ["chicken", "car", "speed1", "speed2", "speed3", "speed4", "speed5"];

    public override int[] MinimalActionSet => [Noop, Up, Down];

    public override void Reset()
    {
        RandomizeCars(initialize: true);
        _pos = 9;
        _moveTimer = PlayerSpeed;
        _terminateTimer = TimeLimit;
        Terminal = false;
    }

    protected override int OnAct(int action)
    {
        int r = 0;
        if (action == Up && _moveTimer == 0)
        {
            _moveTimer = PlayerSpeed;
            _pos = Math.Max(0, _pos - 1);
        }
        else if (action == Down && _moveTimer == 0)
        {
            _moveTimer = PlayerSpeed;
            _pos = Math.Min(9, _pos + 1);
        }

        if (_pos == 0)
        {
            r += 1;
            RandomizeCars(initialize: false);
            _pos = 9;
        }

        foreach (var car in _cars)
        {
            if (car[0] == 4 && car[1] == _pos) _pos = 9;
            if (car[2] == 0)
            {
                car[2] = Math.Abs(car[3]);
                car[0] += car[3] > 0 ? 1 : -1;
                if (car[0] < 0) car[0] = 9;
                else if (car[0] > 9) car[0] = 0;
                if (car[0] == 4 && car[1] == _pos) _pos = 9;
            }
            else
            {
                car[2] -= 1;
            }
        }

        if (_moveTimer > 0) _moveTimer -= 1;
        _terminateTimer -= 1;
        if (_terminateTimer < 0) Terminal = true;
        return r;
    }

    private void RandomizeCars(bool initialize)
    {
        // speeds = randint(1, 6, 8); directions = sign(rand(8) - 0.5): eight integers drawn, then eight doubles.
        Span<int> speeds = stackalloc int[8];
        for (int i = 0; i < 8; i++) speeds[i] = Random.RandInt(1, 6);
        for (int i = 0; i < 8; i++) speeds[i] *= Math.Sign(Random.Rand() - 0.5);
        for (int i = 0; i < 8; i++)
        {
            if (initialize)
            {
                _cars[i][0] = 0;
                _cars[i][1] = i + 1;
            }
            _cars[i][2] = Math.Abs(speeds[i]);
            _cars[i][3] = speeds[i];
        }
    }

    public override void WriteState(Span<byte> state)
    {
        Set(state, 0, _pos, 4);
        foreach (var car in _cars)
        {
            Set(state, 1, car[1], car[0]);
            int backX = car[3] > 0 ? car[0] - 1 : car[0] + 1;
            if (backX < 0) backX = 9;
            else if (backX > 9) backX = 0;
            int speed = Math.Abs(car[3]);
            if (speed is >= 1 and <= 5) Set(state, 1 + speed, car[1], backX);
        }
    }
}
