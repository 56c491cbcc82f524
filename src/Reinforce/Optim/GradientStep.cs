using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Distributed;

namespace Reinforce.Optim;

/// <summary>
/// One optimizer step on a loss, the same for every trainer: zero the gradients, backpropagate, average them over the
/// ranks of a data-parallel run, clip their global norm, step. The language-model trainers (pretraining, reward model,
/// RLOO/GRPO/PPO, DPO) step through one of these, so making a trainer data-parallel is <see cref="Distribute"/> and
/// nothing else at the step.
/// </summary>
public sealed class GradientStep
{
    private DataParallel? _dataParallel;

    /// <summary>Steps <paramref name="optimizer"/>, clipping the global norm to <paramref name="maxGradNorm"/> when given.</summary>
    /// <param name="optimizer">The optimizer (its parameters are the ones averaged and clipped).</param>
    /// <param name="maxGradNorm">Clip the gradients' global norm to this (null: no clipping).</param>
    /// <param name="errorIfNonFinite">Throw when the norm is NaN or infinite instead of stepping on it.</param>
    public GradientStep(Optimizer optimizer, float? maxGradNorm, bool errorIfNonFinite = true)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        MaxGradNorm = maxGradNorm;
        ErrorIfNonFinite = errorIfNonFinite;
    }

    /// <summary>The optimizer stepped.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The clipping norm (null: none).</summary>
    public float? MaxGradNorm { get; }

    /// <summary>Whether a non-finite gradient norm throws.</summary>
    public bool ErrorIfNonFinite { get; }

    /// <summary>The gradient averaging over the ranks (null until <see cref="Distribute"/>): its communication time, its checksum.</summary>
    public DataParallel? DataParallel => _dataParallel;

    /// <summary>The ranks the gradients are averaged over (a single process unless <see cref="Distribute"/> was called).</summary>
    public ICommunicator Communicator => _dataParallel?.Communicator ?? SingleProcessCommunicator.Instance;

    /// <summary>
    /// Makes the steps data-parallel over <paramref name="communicator"/>: copies rank 0's parameter values to every rank
    /// now, and averages the gradients over the ranks at every step (in one fixed-order all-reduce, so the result is the
    /// same on every rank). Call on every rank, with optimizers built over the same parameter list.
    /// </summary>
    public void Distribute(ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        if (_dataParallel is not null) throw new InvalidOperationException("GradientStep.Distribute: already distributed.");
        _dataParallel = new DataParallel(communicator, Optimizer.Parameters);
        _dataParallel.BroadcastParameters();
    }

    /// <summary>A checksum of the parameter values (to check that the ranks hold the same weights).</summary>
    public ulong WeightsChecksum() => (_dataParallel ?? new DataParallel(SingleProcessCommunicator.Instance, Optimizer.Parameters)).WeightsChecksum();

    /// <summary>
    /// In a data-parallel run, checks that every rank holds the same weights (checksums all-gathered); <paramref name="when"/>
    /// says where for the message ("after step 12"). Call on every rank, at the same point.
    /// </summary>
    /// <exception cref="DistributedException">A rank's weights differ from rank 0's.</exception>
    public void EnsureSameWeights(string when)
    {
        if (_dataParallel is { IsDistributed: true } dp) DataParallelRuns.EnsureSameWeights(dp.Communicator, dp.WeightsChecksum(), when);
    }

    /// <summary>
    /// One step on <paramref name="loss"/>; returns the gradient norm before clipping (of the averaged gradient). A null
    /// loss (a rank that holds none of the batch) contributes zero gradients and still takes part in the average.
    /// </summary>
    [BypassReadyToRun]
    public float Apply(Tensor? loss)
    {
        Optimizer.ZeroGrad();
        loss?.Backward();
        return AverageClipAndStep();
    }

    /// <summary>
    /// One step on the gradients <paramref name="accumulateGradients"/> puts into the parameters (after they are zeroed),
    /// for a caller that runs its own backward pass (a model's training arena); otherwise as <see cref="Apply"/>.
    /// </summary>
    public float ApplyAfter(Action? accumulateGradients)
    {
        Optimizer.ZeroGrad();
        accumulateGradients?.Invoke();
        return AverageClipAndStep();
    }

    /// <summary>The step once the gradients are in: average them over the ranks, clip, step; returns the norm before clipping.</summary>
    private float AverageClipAndStep()
    {
        _dataParallel?.AverageGradients();
        float norm = MaxGradNorm is float max
            ? GradientClipping.ClipGlobalNorm(Optimizer, max, ErrorIfNonFinite)
            : GradientClipping.GlobalNorm(Optimizer.Parameters);
        Optimizer.Step();
        return norm;
    }
}
