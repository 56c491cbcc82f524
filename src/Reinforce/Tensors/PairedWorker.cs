using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime;

namespace Reinforce.Tensors;

/// <summary>A piece of work a <see cref="PairedWorker"/> runs on its thread (or its owner runs, if the worker is late).</summary>
internal interface IPairedWork
{
    /// <summary>Runs the work.</summary>
    void Run();
}

/// <summary>
/// A second thread that one owner thread hands short pieces of work to, many times a millisecond: the other half of a
/// step split over two cores (PPO's critic beside its actor). The owner posts a piece, does its own half, then
/// <see cref="Wait"/>s: if the worker has not started the piece by then, the owner runs it itself, so a worker that is
/// asleep or descheduled (other threads on the cores, such as the JIT compiling in the background) costs nothing but
/// the lost overlap. Between pieces the worker spins for <see cref="SpinTime"/> instead of sleeping, because waking a
/// sleeping thread costs tens of microseconds on virtual machines, more than a piece takes; after
/// <see cref="IdleTime"/> asleep its thread ends (the next <see cref="Post"/> starts another), so an idle or forgotten
/// worker holds neither a core nor a thread.
/// <para>
/// One piece at a time, and only the owner thread calls <see cref="Post"/> and <see cref="Wait"/>. Which thread runs
/// a piece must not change its result (each piece writes only its own outputs). Nothing is allocated per piece.
/// </para>
/// </summary>
internal sealed class PairedWorker : IDisposable
{
    /// <summary>How long the worker spins for the next piece before it sleeps (longer than the gaps within a step, shorter than a rollout).</summary>
    internal TimeSpan SpinTime { get; init; } = TimeSpan.FromMicroseconds(50);

    /// <summary>How long a sleeping worker waits for a piece before its thread ends.</summary>
    internal TimeSpan IdleTime { get; init; } = TimeSpan.FromSeconds(1);

    private const int None = 0, Posted = 1, Running = 2, Done = 3;

    private readonly object _gate = new();
    private IPairedWork? _work;
    private int _state;        // None, Posted, Running (by whichever thread claimed it), Done
    private int _sleeping;     // 1 while the worker waits on the monitor
    private bool _running;     // a worker thread exists (under _gate)
    private bool _disposed;
    private ExceptionDispatchInfo? _failure;

    /// <summary>Threads started so far (a new one after each idle exit), for tests.</summary>
    internal int ThreadsStarted { get; private set; }

    /// <summary>Pieces the worker ran and pieces the owner ran itself (the worker was late), for tests and benchmarks.</summary>
    internal long RunByWorker { get; private set; }

    /// <inheritdoc cref="RunByWorker"/>
    internal long RunByOwner { get; private set; }

    /// <summary>Bytes the worker thread allocated while running pieces (read after a <see cref="Wait"/>), for the allocation tests.</summary>
    internal long WorkerAllocatedBytes { get; private set; }

    /// <summary>Hands <paramref name="work"/> to the worker thread; call <see cref="Wait"/> before posting again.</summary>
    [BypassReadyToRun]
    public void Post(IPairedWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_state is Posted or Running) throw new InvalidOperationException("PairedWorker.Post: the last piece has not been waited for.");
        _work = work;
        _failure = null;
        Interlocked.Exchange(ref _state, Posted);   // a full fence: the worker sees the piece, and we see its _sleeping below
        if (Volatile.Read(ref _sleeping) == 1 || !Volatile.Read(ref _running))
        {
            lock (_gate)
            {
                if (!_running)
                {
                    try
                    {
                        new Thread(Loop) { IsBackground = true, Name = "reinforce paired worker" }.Start();
                        _running = true;
                        ThreadsStarted++;
                    }
                    catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
                    {
                        // No thread to spare: the piece stays posted and Wait runs it on the owner's thread.
                    }
                }
                else
                {
                    Monitor.Pulse(_gate);
                }
            }
        }
    }

    /// <summary>
    /// Waits for the posted piece: runs it here if the worker has not started it, else spins until it finishes (pieces
    /// are microseconds long). Rethrows the piece's exception.
    /// </summary>
    [BypassReadyToRun]
    public void Wait()
    {
        if (Interlocked.CompareExchange(ref _state, Running, Posted) == Posted)
        {
            RunByOwner++;
            try
            {
                _work!.Run();
            }
            finally
            {
                _work = null;
                Volatile.Write(ref _state, Done);
            }
            return;
        }
        var spinner = new SpinWait();
        while (Volatile.Read(ref _state) != Done)
        {
            // SpinWait yields the core now and then (never sleeping a millisecond), in case the worker was descheduled.
            spinner.SpinOnce(sleep1Threshold: -1);
        }
        RunByWorker++;
        _work = null;
        if (_failure is { } failure)
        {
            _failure = null;
            failure.Throw();
        }
    }

    /// <summary>
    /// Withdraws the posted piece if the worker has not started it, else waits for it to finish; either way nothing of it
    /// runs afterwards. Its exception, if it ran and threw, is dropped (the caller no longer wants its result).
    /// </summary>
    public void Cancel()
    {
        if (Interlocked.CompareExchange(ref _state, Done, Posted) != Posted)
        {
            var spinner = new SpinWait();
            while (Volatile.Read(ref _state) == Running) spinner.SpinOnce(sleep1Threshold: -1);
        }
        _work = null;
        _failure = null;
    }

    [BypassReadyToRun]
    private void Loop()
    {
        while (true)
        {
            if (!WaitForPiece()) return;
            if (Interlocked.CompareExchange(ref _state, Running, Posted) != Posted) continue;   // the owner took it
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                _work!.Run();
            }
            catch (Exception e)
            {
                _failure = ExceptionDispatchInfo.Capture(e);
            }
            WorkerAllocatedBytes += GC.GetAllocatedBytesForCurrentThread() - allocated;
            Volatile.Write(ref _state, Done);
        }
    }

    /// <summary>Spins, then sleeps, until a piece is posted and not yet taken; false when the thread should end.</summary>
    [BypassReadyToRun]
    private bool WaitForPiece()
    {
        long spinUntil = Stopwatch.GetTimestamp() + (long)(SpinTime.TotalSeconds * Stopwatch.Frequency);
        while (Volatile.Read(ref _state) != Posted)
        {
            if (Stopwatch.GetTimestamp() < spinUntil)
            {
                Thread.SpinWait(16);
                continue;
            }
            lock (_gate)
            {
                Interlocked.Exchange(ref _sleeping, 1);   // a full fence: a Post after this sees it, one before it is seen below
                while (Volatile.Read(ref _state) != Posted)
                {
                    if (_disposed || (!Monitor.Wait(_gate, IdleTime) && Volatile.Read(ref _state) != Posted))
                    {
                        // Idle (or disposed): end the thread; the next Post starts another. _running is cleared before
                        // _sleeping, so a Post that finds the worker awake also finds it running, or takes the lock.
                        _running = false;
                        Volatile.Write(ref _sleeping, 0);
                        return false;
                    }
                }
                Volatile.Write(ref _sleeping, 0);
            }
        }
        return true;
    }

    /// <summary>Ends the worker thread (after the piece in progress, if any).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.PulseAll(_gate);
        }
    }
}
