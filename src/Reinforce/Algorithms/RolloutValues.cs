using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Tensors;

namespace Reinforce.Algorithms;

/// <summary>
/// A rollout's values V(s) for a policy whose critic reads the observation alone (<see cref="TrainablePolicy.ValuesAfterRollout"/>),
/// computed apart from the steps: with a second core, on the agent's <see cref="PairedWorker"/> in pieces of about
/// <see cref="RowsPerPiece"/> stored rows while the rollout goes on (the critic's passes leave the rollout's critical
/// path: the actor samples, the environments step, the worker reads what is stored); otherwise in pieces of that size at
/// the end. Every row gets the bits its step would have computed (the critic's products sum each row in the same order
/// whatever the number of rows), so where the values are computed never changes a result.
/// <para>
/// Only the rollout's thread posts and waits, one piece at a time; anything else that runs the critic on that thread
/// (a truncated episode's bootstrap value, the last observations' values) calls <see cref="Finish"/> first, because
/// the critic's inference buffers are the network's own.
/// </para>
/// </summary>
internal sealed class RolloutValues : IPairedWork
{
    /// <summary>Stored rows per piece: a piece of a 4-64-64 critic takes about 5 µs, short enough that the worker, spinning
    /// between pieces, finds the next one before it sleeps, and long enough that handing it over costs little.</summary>
    internal const int RowsPerPiece = 64;

    /// <summary>
    /// Whether pieces of <paramref name="policy"/>'s values go to a second core: two threads allowed (<paramref name="maxThreads"/>, <see cref="Kernels.MaxThreads"/>) and a piece's work at
    /// least <see cref="PpoPairedStep.MinimumWork"/> (CleanRL's 4-64-64 critic: 283k multiply-adds per piece, rollout
    /// 284 → 227 µs; the CartPole preset's 4-32-32: 76k, where handing pieces to a worker that sleeps between rollouts
    /// made it slower, 57 → 75 µs, and computing them at the end on the rollout's thread faster, 55 → 49 µs).
    /// </summary>
    public static bool WorthASecondCore(TrainablePolicy policy, int maxThreads) =>
        maxThreads >= 2 && RowsPerPiece * policy.ValueWorkPerRow >= PpoPairedStep.MinimumWork;

    private readonly TrainablePolicy _policy;
    private readonly RolloutBuffer _buffer;
    private readonly PairedWorker? _worker;
    private int _done;             // rows whose values are computed or posted
    private int _from, _to;        // the piece being posted
    private bool _posted;

    public RolloutValues(TrainablePolicy policy, RolloutBuffer buffer, PairedWorker? worker)
    {
        (_policy, _buffer, _worker) = (policy, buffer, worker);
    }

    /// <summary>Starts a rollout: no row has a value yet.</summary>
    public void Begin()
    {
        _done = 0;
        _posted = false;
    }

    /// <summary>
    /// After a step is stored: posts the rows stored since the last piece once there are enough of them — a quarter as
    /// many in the rollout's last <see cref="RowsPerPiece"/> rows, and all that remain at its last step — so that the
    /// piece the rollout's end waits for is short.
    /// </summary>
    [BypassReadyToRun]
    public void Stored()
    {
        if (_worker is null) return;
        int stored = _buffer.Count * _buffer.Envs, left = _buffer.Capacity - stored;
        int enough = left >= RowsPerPiece ? RowsPerPiece : left == 0 ? 1 : RowsPerPiece / 4;
        if (stored - _done < enough) return;
        if (_posted) _worker.Wait();
        (_from, _to) = (_done, stored);
        _done = stored;
        _posted = true;
        _worker.Post(this);
    }

    /// <summary>Waits for the piece in flight (running it here if the worker has not started it), so the critic is free.</summary>
    [BypassReadyToRun]
    public void Finish()
    {
        if (!_posted) return;
        _posted = false;
        _worker!.Wait();
    }

    /// <summary>Ends the rollout: the remaining rows' values, here, in pieces (each below the size at which a product splits over the cores).</summary>
    [BypassReadyToRun]
    public void End()
    {
        Finish();
        int stored = _buffer.Count * _buffer.Envs;
        for (; _done < stored; _done = Math.Min(stored, _done + 2 * RowsPerPiece))
            Compute(_done, Math.Min(stored, _done + 2 * RowsPerPiece));
    }

    /// <summary>The worker's piece.</summary>
    [BypassReadyToRun]
    void IPairedWork.Run() => Compute(_from, _to);

    [BypassReadyToRun]
    private void Compute(int from, int to)
    {
        int size = _policy.ObservationSize;
        _policy.PredictValues(new ObservationBatch(_buffer.Observations.AsSpan(from * size, (to - from) * size), to - from, _policy.ObservationLayout),
            PolicyState.None, _buffer.Values.AsSpan(from, to - from));
    }
}
