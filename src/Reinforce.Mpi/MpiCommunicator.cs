using System.Text;
using Reinforce.Distributed;

namespace Reinforce.Mpi;

/// <summary>
/// An <see cref="ICommunicator"/> over MPI's <c>MPI_COMM_WORLD</c>, for runs started by <c>mpirun</c>,
/// <c>srun</c> or Kubernetes' MPI Operator. Create one per process (it initialises MPI) and dispose it at the end
/// (it finalises MPI).
/// </summary>
/// <remarks>
/// Every call passes the caller's memory to MPI in place (pinned for the call, no copy, no allocation), reducing
/// with <c>MPI_IN_PLACE</c>. Errors use MPI's default handler, <c>MPI_ERRORS_ARE_FATAL</c>: when a rank dies the
/// launcher ends the whole job and names the rank, instead of leaving the others blocked in a collective.
/// </remarks>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    private static MpiCommunicator? s_current;
    private readonly LibMpi _mpi;
    private bool _disposed;

    private MpiCommunicator(LibMpi mpi, int rank, int size, string version)
    {
        _mpi = mpi;
        Rank = rank;
        Size = size;
        Description = $"{version}, {size} rank{(size == 1 ? "" : "s")}";
    }

    /// <inheritdoc/>
    public int Rank { get; }
    /// <inheritdoc/>
    public int Size { get; }
    /// <inheritdoc/>
    public string Description { get; }

    /// <summary>
    /// True when this process was started by an MPI launcher (mpirun/mpiexec, srun with PMI/PMIx, the MPI Operator):
    /// the launchers set these variables in every rank's environment.
    /// </summary>
    public static bool LaunchedByMpi() =>
        Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null
        || Environment.GetEnvironmentVariable("PMI_SIZE") is not null
        || Environment.GetEnvironmentVariable("PMIX_RANK") is not null
        || Environment.GetEnvironmentVariable("MPI_LOCALNRANKS") is not null;

    /// <summary>
    /// Initialises MPI (once per process) and returns the communicator over all ranks.
    /// </summary>
    /// <param name="requireLauncher">When true (the default), a process not started by an MPI launcher is an error
    /// instead of silently training as a lone rank.</param>
    /// <param name="command">The command line every rank runs, shown in that error (default: a training run's).</param>
    /// <exception cref="DistributedException">No launcher, no MPI library, or MPI failed to start; the message says what to do.</exception>
    public static MpiCommunicator Start(bool requireLauncher = true, string? command = null)
    {
        if (s_current is { _disposed: false } current) return current;
        if (requireLauncher && !LaunchedByMpi())
            throw new DistributedException(command is null
                ? "--distributed mpi: this process was not started by an MPI launcher, so it would train alone. " +
                  "Start every rank with one: mpirun -np 4 reinforce train CartPole-v1 --distributed mpi " +
                  "(as root add --allow-run-as-root; under SLURM use srun --mpi=pmix). Leave out --distributed to train in one process."
                : $"{command}: this process was not started by an MPI launcher, so it would be the only rank. " +
                  $"Start every rank with one: mpirun -np 2 {command} (as root add --allow-run-as-root; under SLURM use srun --mpi=pmix).");
        var mpi = LibMpi.Load();
        int flag;
        mpi.Check(mpi.Finalized(&flag), "MPI_Finalized");
        if (flag != 0) throw new DistributedException("MPI was already finalised in this process; a process can take part in one distributed run only.");
        mpi.Check(mpi.Initialized(&flag), "MPI_Initialized");
        if (flag == 0) mpi.Check(mpi.Init(null, null), "MPI_Init");
        int rank, size;
        mpi.Check(mpi.CommRank(mpi.CommWorld, &rank), "MPI_Comm_rank");
        mpi.Check(mpi.CommSize(mpi.CommWorld, &size), "MPI_Comm_size");
        s_current = new MpiCommunicator(mpi, rank, size, LibraryVersion(mpi));
        return s_current;
    }

    private static string LibraryVersion(LibMpi mpi)
    {
        const int maxLength = 8192;     // MPI_MAX_LIBRARY_VERSION_STRING is 256 in Open MPI, 8192 in MPICH
        byte* text = stackalloc byte[maxLength];
        int length = 0;
        if (mpi.GetLibraryVersion(text, &length) != 0 || length <= 0) return mpi.Flavour;
        string full = Encoding.UTF8.GetString(text, Math.Min(length, maxLength)).Trim('\0', ' ', '\n');
        int cut = full.IndexOfAny([',', '\n']);
        return cut > 0 ? full[..cut] : full;
    }

    /// <inheritdoc/>
    public void AllReduceSum(Span<float> values)
    {
        ThrowIfDisposed();
        if (values.IsEmpty) return;
        fixed (float* p = values)
            _mpi.Check(_mpi.Allreduce((void*)_mpi.InPlace, p, values.Length, _mpi.Float, _mpi.OpSum, _mpi.CommWorld), "MPI_Allreduce");
    }

    /// <inheritdoc/>
    public void AllReduceSum(Span<double> values)
    {
        ThrowIfDisposed();
        if (values.IsEmpty) return;
        fixed (double* p = values)
            _mpi.Check(_mpi.Allreduce((void*)_mpi.InPlace, p, values.Length, _mpi.Double, _mpi.OpSum, _mpi.CommWorld), "MPI_Allreduce");
    }

    /// <inheritdoc/>
    public void AllReduceMax(Span<double> values)
    {
        ThrowIfDisposed();
        if (values.IsEmpty) return;
        fixed (double* p = values)
            _mpi.Check(_mpi.Allreduce((void*)_mpi.InPlace, p, values.Length, _mpi.Double, _mpi.OpMax, _mpi.CommWorld), "MPI_Allreduce");
    }

    /// <inheritdoc/>
    public void Broadcast(Span<float> values, int root = 0)
    {
        ThrowIfDisposed();
        CheckRoot(root);
        if (values.IsEmpty) return;
        fixed (float* p = values)
            _mpi.Check(_mpi.Bcast(p, values.Length, _mpi.Float, root, _mpi.CommWorld), "MPI_Bcast");
    }

    /// <inheritdoc/>
    public void Broadcast(Span<byte> bytes, int root = 0)
    {
        ThrowIfDisposed();
        CheckRoot(root);
        if (bytes.IsEmpty) return;
        fixed (byte* p = bytes)
            _mpi.Check(_mpi.Bcast(p, bytes.Length, _mpi.Byte, root, _mpi.CommWorld), "MPI_Bcast");
    }

    /// <inheritdoc/>
    public void AllGather(long value, Span<long> all)
    {
        ThrowIfDisposed();
        if (all.Length != Size) throw new ArgumentException($"AllGather needs one slot per rank ({Size}), got {all.Length}.", nameof(all));
        fixed (long* p = all)
            _mpi.Check(_mpi.Allgather(&value, 1, _mpi.Int64, p, 1, _mpi.Int64, _mpi.CommWorld), "MPI_Allgather");
    }

    /// <inheritdoc/>
    public void Barrier()
    {
        ThrowIfDisposed();
        _mpi.Check(_mpi.Barrier(_mpi.CommWorld), "MPI_Barrier");
    }

    /// <summary>Ends every rank of the job at once (after an error on this rank that the others cannot see).</summary>
    public void Abort(int exitCode)
    {
        if (!_disposed) _ = _mpi.Abort(_mpi.CommWorld, exitCode);
    }

    /// <summary>Finalises MPI (all ranks must reach this).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _ = _mpi.Finalize();
    }

    private void CheckRoot(int root)
    {
        if ((uint)root >= (uint)Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"The root must be a rank from 0 to {Size - 1}.");
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
