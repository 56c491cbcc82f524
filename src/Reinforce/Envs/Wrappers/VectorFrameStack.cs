using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace Reinforce.Envs.Wrappers;

/// <summary>
/// Stacks each copy's last <see cref="StackSize"/> observations, oldest first, without allocating (SB3's
/// <c>VecFrameStack</c> with Gymnasium's reset padding: a new episode's first observation fills every slot). Because
/// rows are channels-first, stacking an image [C, H, W] along its channels is concatenating the flat rows, so one rule
/// serves images ([k·C, H, W]) and vectors ([k·n]). Final observations are stacked too, so bootstrapping a truncated
/// episode sees the same kind of input as acting.
/// </summary>
public sealed class VectorFrameStack : VectorEnvWrapper
{
    private readonly int _frame;
    private readonly float[] _observations;
    private readonly float[] _finals;
    private readonly Space _space;

    /// <summary>Stacks <paramref name="stackSize"/> observations of each copy of <paramref name="inner"/>.</summary>
    public VectorFrameStack(IVectorEnv inner, int stackSize) : base(inner)
    {
        if (stackSize < 1) throw new ArgumentOutOfRangeException(nameof(stackSize), stackSize, "Stack at least one frame (4 is the Atari convention).");
        StackSize = stackSize;
        _frame = inner.ObservationSize;
        _space = FrameStackObservation<float, int>.StackedSpace(inner.SingleObservationSpace, stackSize, inner.ToString() ?? "vector environment");
        _observations = new float[inner.NumEnvs * _frame * stackSize];
        _finals = new float[_observations.Length];
        Fill();
    }

    /// <summary>The number of frames stacked.</summary>
    public int StackSize { get; }

    /// <inheritdoc/>
    public override Space SingleObservationSpace => _space;

    /// <inheritdoc/>
    public override int ObservationSize => _frame * StackSize;

    /// <inheritdoc/>
    public override ReadOnlySpan<float> Observations => _observations;

    /// <inheritdoc/>
    public override ReadOnlySpan<float> FinalObservations => _finals;

    /// <inheritdoc/>
    public override ReadOnlySpan<float> FinalObservation(int envIndex)
    {
        Inner.FinalObservation(envIndex); // validates the index and that the copy finished
        return _finals.AsSpan(envIndex * ObservationSize, ObservationSize);
    }

    /// <inheritdoc/>
    public override void Reset(ulong seed)
    {
        Inner.Reset(seed);
        Fill();
    }

    /// <inheritdoc/>
    public override void Step(ReadOnlySpan<int> actions)
    {
        Inner.Step(actions);
        Advance();
    }

    /// <inheritdoc/>
    public override void Step(ReadOnlySpan<float> actions)
    {
        Inner.Step(actions);
        Advance();
    }

    private void Fill()
    {
        var raw = Inner.Observations;
        for (int i = 0; i < NumEnvs; i++) Repeat(raw.Slice(i * _frame, _frame), _observations.AsSpan(i * ObservationSize, ObservationSize));
    }

    private void Repeat(ReadOnlySpan<float> frame, Span<float> row)
    {
        for (int k = 0; k < StackSize; k++) frame.CopyTo(row.Slice(k * _frame, _frame));
    }

    private void Advance()
    {
        var raw = Inner.Observations;
        var terminated = Inner.Terminated;
        var truncated = Inner.Truncated;
        int size = ObservationSize;
        for (int i = 0; i < NumEnvs; i++)
        {
            var row = _observations.AsSpan(i * size, size);
            var frame = raw.Slice(i * _frame, _frame);
            if (terminated[i] || truncated[i])
            {
                var final = _finals.AsSpan(i * size, size);
                row[_frame..].CopyTo(final);
                Inner.FinalObservation(i).CopyTo(final[(size - _frame)..]);
                Repeat(frame, row);
            }
            else
            {
                row[_frame..].CopyTo(row);
                frame.CopyTo(row[(size - _frame)..]);
            }
        }
    }
}
