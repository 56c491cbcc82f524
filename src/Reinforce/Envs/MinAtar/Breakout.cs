namespace Reinforce.Envs.MinAtar;

/// <summary>MinAtar Breakout (<c>minatar/environments/breakout.py</c>): bounce the ball off the paddle to break three rows of bricks; +1 per brick; the rows refill when cleared; the episode ends when the ball reaches the bottom.</summary>
internal sealed class Breakout : MinAtarGame
{
    private readonly bool[,] _bricks = new bool[10, 10];
    private int _ballX, _ballY, _ballDir, _pos, _lastX, _lastY;
    private bool _strike;

    public override string[] ChannelNames => ["paddle", "ball", "trail", "brick"];

    public override int[] MinimalActionSet => [Noop, Left, Right];

    public override void Reset()
    {
        _ballY = 3;
        int ballStart = Random.RandInt(2);
        (_ballX, _ballDir) = ballStart == 0 ? (0, 2) : (9, 3);
        _pos = 4;
        Array.Clear(_bricks);
        for (int y = 1; y < 4; y++) for (int x = 0; x < 10; x++) _bricks[y, x] = true;
        _strike = false;
        _lastX = _ballX;
        _lastY = _ballY;
        Terminal = false;
    }

    protected override int OnAct(int action)
    {
        int r = 0;
        if (action == Left) _pos = Math.Max(0, _pos - 1);
        else if (action == Right) _pos = Math.Min(9, _pos + 1);

        _lastX = _ballX;
        _lastY = _ballY;
        int newX, newY;
        switch (_ballDir)
        {
            case 0: newX = _ballX - 1; newY = _ballY - 1; break;
            case 1: newX = _ballX + 1; newY = _ballY - 1; break;
            case 2: newX = _ballX + 1; newY = _ballY + 1; break;
            default: newX = _ballX - 1; newY = _ballY + 1; break;
        }

        bool strikeToggle = false;
        if (newX < 0 || newX > 9)
        {
            newX = Math.Clamp(newX, 0, 9);
            _ballDir = s_flipX[_ballDir];
        }
        if (newY < 0)
        {
            newY = 0;
            _ballDir = s_flipY[_ballDir];
        }
        else if (_bricks[newY, newX])
        {
            strikeToggle = true;
            if (!_strike)
            {
                r += 1;
                _strike = true;
                _bricks[newY, newX] = false;
                newY = _lastY;
                _ballDir = s_flipY[_ballDir];
            }
        }
        else if (newY == 9)
        {
            if (!AnyBrick()) for (int y = 1; y < 4; y++) for (int x = 0; x < 10; x++) _bricks[y, x] = true;
            if (_ballX == _pos)
            {
                _ballDir = s_flipY[_ballDir];
                newY = _lastY;
            }
            else if (newX == _pos)
            {
                _ballDir = s_flipBoth[_ballDir];
                newY = _lastY;
            }
            else
            {
                Terminal = true;
            }
        }
        if (!strikeToggle) _strike = false;
        _ballX = newX;
        _ballY = newY;
        return r;
    }

    private static readonly int[] s_flipX = [1, 0, 3, 2];
    private static readonly int[] s_flipY = [3, 2, 1, 0];
    private static readonly int[] s_flipBoth = [2, 3, 0, 1];

    private bool AnyBrick()
    {
        foreach (bool b in _bricks) if (b) return true;
        return false;
    }

    public override void WriteState(Span<byte> state)
    {
        Set(state, 1, _ballY, _ballX);
        Set(state, 0, 9, _pos);
        Set(state, 2, _lastY, _lastX);
        for (int y = 0; y < 10; y++) for (int x = 0; x < 10; x++) if (_bricks[y, x]) Set(state, 3, y, x);
    }
}
