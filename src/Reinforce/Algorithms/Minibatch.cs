using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime;
using Reinforce.Tensors;

namespace Reinforce.Algorithms;

/// <summary>
/// A minibatch drawn from a <see cref="RolloutBuffer"/> as tensors (constants, outside the graph): observations,
/// actions, the rollout policy's log-probabilities and values, advantages and returns. The arrays are allocated
/// once and refilled by <see cref="Fill"/>; the tensors wrap them without copying.
/// </summary>
internal sealed class Minibatch
{
    private readonly float[] _observations;
    private readonly float[] _continuousActions;
    private readonly float[] _oldLogProbs, _oldValues, _advantages, _returns, _weights;
    private readonly int[] _discreteActions;
    private readonly bool[] _actionMasks;

    /// <summary>The action masks the actions were sampled under, [B × mask size] (empty without masks).</summary>
    public ReadOnlySpan<bool> ActionMask => _actionMasks;

    public Minibatch(int size, int observationSize, int discreteActionSize, int continuousActionSize, int actionMaskSize = 0)
    {
        Size = size;
        _actionMasks = new bool[size * actionMaskSize];
        _observations = new float[size * observationSize];
        _discreteActions = new int[size * discreteActionSize];
        _continuousActions = new float[size * continuousActionSize];
        _oldLogProbs = new float[size];
        _oldValues = new float[size];
        _advantages = new float[size];
        _returns = new float[size];
        _weights = new float[size];
        Observations = new Tensor(_observations, size, observationSize);
        ContinuousActions = continuousActionSize > 0 ? new Tensor(_continuousActions, size, continuousActionSize) : null;
        OldLogProbs = new Tensor(_oldLogProbs, size);
        OldValues = new Tensor(_oldValues, size);
        Advantages = new Tensor(_advantages, size);
        Returns = new Tensor(_returns, size);
        Weights = new Tensor(_weights, size);
    }

    public int Size { get; }

    /// <summary>s_t, [B, obs].</summary>
    public Tensor Observations { get; }

    /// <summary>a_t for discrete spaces, [B × branches].</summary>
    public ReadOnlySpan<int> DiscreteActions => _discreteActions;

    /// <summary>a_t for Box spaces, [B, D] (null for discrete spaces).</summary>
    public Tensor? ContinuousActions { get; }

    /// <summary>log π_old(a_t|s_t), [B].</summary>
    public Tensor OldLogProbs { get; }

    /// <summary>V_old(s_t), [B].</summary>
    public Tensor OldValues { get; }

    /// <summary>Â_t, [B] (standardised when asked).</summary>
    public Tensor Advantages { get; }

    /// <summary>Value targets, [B].</summary>
    public Tensor Returns { get; }

    /// <summary>Per-transition weights, [B].</summary>
    public Tensor Weights { get; }

    /// <summary>Copies the transitions <paramref name="indices"/> of <paramref name="buffer"/> in; standardises the advantages when <paramref name="normalizeAdvantages"/>.</summary>
    [BypassReadyToRun]
    public void Fill(RolloutBuffer buffer, ReadOnlySpan<int> indices, bool normalizeAdvantages)
    {
        if (indices.Length != Size) throw new ArgumentException($"Minibatch.Fill: {indices.Length} indices for a minibatch of {Size}.");
        buffer.GatherObservations(indices, _observations);
        if (_discreteActions.Length > 0) buffer.GatherDiscreteActions(indices, _discreteActions);
        if (_continuousActions.Length > 0) buffer.GatherContinuousActions(indices, _continuousActions);
        if (_actionMasks.Length > 0) buffer.GatherActionMasks(indices, _actionMasks);
        buffer.GatherFigures(indices, _oldLogProbs, _oldValues, _advantages, _returns, _weights);
        if (normalizeAdvantages && Size > 1) Standardize(_advantages);
    }

    /// <summary>(x − mean) / (std + 1e-8) with the unbiased standard deviation, as PyTorch's <c>std()</c> in SB3 and CleanRL.</summary>
    [BypassReadyToRun]
    internal static void Standardize(Span<float> values)
    {
        double mean = 0;
        foreach (var v in values) mean += v;
        mean /= values.Length;
        // The squares eight at a time (each the same double operations), added in order; then the division eight at a time.
        double ss = 0;
        int i = 0;
        ref float x = ref MemoryMarshal.GetReference(values);
        var m = Vector512.Create(mean);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= values.Length - 8; i += 8)
            {
                var d = Vector512.WidenLower(Vector256.LoadUnsafe(ref x, (nuint)i).ToVector512Unsafe()) - m;
                ss = Kernels.AddInOrder(ss, d * d);
            }
        }
        for (; i < values.Length; i++) ss += (values[i] - mean) * (values[i] - mean);
        double std = Math.Sqrt(ss / (values.Length - 1));
        double scale = std + 1e-8;
        i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var s = Vector512.Create(scale);
            for (; i <= values.Length - 16; i += 16)
            {
                var (lo, hi) = Vector512.Widen(Vector512.LoadUnsafe(ref x, (nuint)i));
                Vector512.Narrow((lo - m) / s, (hi - m) / s).StoreUnsafe(ref x, (nuint)i);
            }
        }
        for (; i < values.Length; i++) values[i] = (float)((values[i] - mean) / scale);
    }
}
