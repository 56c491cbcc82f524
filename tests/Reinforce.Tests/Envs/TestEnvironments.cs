using Reinforce.Envs;
using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace Reinforce.Tests.Envs;

/// <summary>A walk on 0..Length-1: action 1 steps right, 0 left; reaching the right end terminates with +1. Written against the generic base, so vector environments adapt it.</summary>
internal sealed class LineWalk(int length = 5) : Environment<float[], int>(new Box(0f, 1f, [1]), new Discrete(2), "LineWalk")
{
    private int _position;

    protected override (float[] Observation, StepInfo Info) OnReset()
    {
        _position = Rng.NextInt(length - 1);
        return ([_position / (float)(length - 1)], StepInfo.Empty);
    }

    protected override Step<float[]> OnStep(int action)
    {
        _position = Math.Max(0, _position + (action == 1 ? 1 : -1));
        bool done = _position == length - 1;
        return new Step<float[]>([_position / (float)(length - 1)], done ? 1.0 : -0.1, done, false, StepInfo.Empty);
    }
}

/// <summary>Two independent counters driven by a MultiDiscrete action; the observation is both counters.</summary>
internal sealed class TwoCounters() : MultiDiscreteEnvironment("TwoCounters", new Box(0f, 100f, [2]), new MultiDiscrete([3, 2]))
{
    private int _a, _b;

    protected override void OnReset(Span<float> observation)
    {
        _a = Rng.NextInt(3);
        _b = 0;
        observation[0] = _a;
        observation[1] = _b;
    }

    protected override StepOutcome OnStep(ReadOnlySpan<int> action, Span<float> observation)
    {
        _a += action[0];
        _b += action[1];
        observation[0] = _a;
        observation[1] = _b;
        return new StepOutcome(action[0] + action[1], _a >= 10);
    }
}

/// <summary>An environment whose observation is a discrete cell index, for FlattenObservation.</summary>
internal sealed class DiscreteCells() : Environment<int, int>(new Discrete(4), new Discrete(2), "DiscreteCells")
{
    private int _cell;

    protected override (int Observation, StepInfo Info) OnReset()
    {
        _cell = 0;
        return (_cell, StepInfo.Empty);
    }

    protected override Step<int> OnStep(int action)
    {
        _cell = Math.Clamp(_cell + (action == 1 ? 1 : -1), 0, 3);
        return new Step<int>(_cell, 0, _cell == 3, false, StepInfo.Empty);
    }
}
