using System.Runtime.ExceptionServices;

namespace Reinforce.Envs.Vector;

/// <summary>
/// Steps the copies in contiguous blocks on dedicated worker threads (the calling thread takes the first block),
/// meeting at a barrier twice per step. Worth it only when one step of the environment costs several
/// microseconds; for the classic control tasks <see cref="SyncVectorEnv"/> is faster. Results are identical to
/// <see cref="SyncVectorEnv"/> because every copy is stepped by exactly one thread with its own generator.
/// Dispose it to stop the threads.
/// </summary>
public sealed class ThreadedVectorEnv : VectorEnv
{
    private enum Work { Discrete, MultiDiscrete, Continuous }

    private readonly Thread[] _threads;
    private readonly Barrier _barrier;
    private readonly int[] _blockStart; // participant p steps [_blockStart[p], _blockStart[p + 1])
    private readonly int[] _intActions;
    private readonly float[] _floatActions;
    private Work _work;
    private volatile bool _stopping;
    private Exception? _error;

    /// <summary>
    /// Batches <paramref name="envs"/> on <paramref name="workers"/> threads in all (default: the core count, at most
    /// one per copy), under an optional per-copy time limit.
    /// </summary>
    public ThreadedVectorEnv(IReadOnlyList<IVectorizableEnv> envs, int? maxEpisodeSteps = null, int? workers = null) : base(envs, maxEpisodeSteps)
    {
        if (workers is <= 0) throw new ArgumentOutOfRangeException(nameof(workers), workers, "Use at least one worker.");
        int participants = Math.Min(workers ?? Environment.ProcessorCount, NumEnvs);
        _blockStart = new int[participants + 1];
        for (int p = 0; p <= participants; p++) _blockStart[p] = (int)((long)NumEnvs * p / participants);
        _intActions = new int[NumEnvs * ActionSize];
        _floatActions = new float[NumEnvs * ActionSize];
        _barrier = new Barrier(participants);
        _threads = new Thread[participants - 1];
        for (int t = 0; t < _threads.Length; t++)
        {
            int participant = t + 1;
            _threads[t] = new Thread(() => WorkerLoop(participant)) { IsBackground = true, Name = $"{Name} worker {participant}" };
            _threads[t].Start();
        }
    }

    /// <summary>The number of threads stepping (including the caller's).</summary>
    public int Workers => _blockStart.Length - 1;

    /// <inheritdoc/>
    protected override void StepDiscrete(ReadOnlySpan<int> actions)
    {
        actions.CopyTo(_intActions);
        Run(Work.Discrete);
    }

    /// <inheritdoc/>
    protected override void StepMultiDiscrete(ReadOnlySpan<int> actions)
    {
        actions.CopyTo(_intActions);
        Run(Work.MultiDiscrete);
    }

    /// <inheritdoc/>
    protected override void StepContinuous(ReadOnlySpan<float> actions)
    {
        actions.CopyTo(_floatActions);
        Run(Work.Continuous);
    }

    private void Run(Work work)
    {
        _work = work;
        _error = null;
        _barrier.SignalAndWait(); // release the workers
        try
        {
            DoBlock(0);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
        }
        _barrier.SignalAndWait(); // wait for every block
        if (_error is { } error) ExceptionDispatchInfo.Capture(error).Throw();
    }

    private void WorkerLoop(int participant)
    {
        while (true)
        {
            _barrier.SignalAndWait();
            if (_stopping) return;
            try
            {
                DoBlock(participant);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            _barrier.SignalAndWait();
        }
    }

    private void DoBlock(int participant)
    {
        int from = _blockStart[participant], to = _blockStart[participant + 1];
        switch (_work)
        {
            case Work.Discrete: StepDiscreteRange(_intActions, from, to); break;
            case Work.MultiDiscrete: StepMultiDiscreteRange(_intActions, from, to); break;
            default: StepContinuousRange(_floatActions, from, to); break;
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (!IsDisposed && disposing)
        {
            _stopping = true;
            if (_threads.Length > 0) _barrier.SignalAndWait();
            foreach (var t in _threads) t.Join();
            _barrier.Dispose();
        }
        base.Dispose(disposing);
    }
}
