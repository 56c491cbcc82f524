using System.Runtime.InteropServices;

namespace Reinforce.Mpi;

/// <summary>
/// The few MPI functions Reinforce calls, bound at run time to whichever MPI library the machine has.
/// </summary>
/// <remarks>
/// <para>MPI's C API is a standard, its binary interface is not: Open MPI's handles (<c>MPI_COMM_WORLD</c>,
/// <c>MPI_FLOAT</c>, <c>MPI_SUM</c>) are the addresses of exported globals such as <c>ompi_mpi_comm_world</c>, and
/// its <c>MPI_IN_PLACE</c> is <c>(void*)1</c>; MPICH's handles are 32-bit integer constants and its
/// <c>MPI_IN_PLACE</c> is <c>(void*)-1</c>. Both pass a handle in one register, so a pointer-sized argument carries
/// either. (The MPI.NET package hard-codes MS-MPI's integer handles and crashes under Open MPI.)</para>
/// <para>Nothing here runs until a distributed run starts, so machines without MPI never load it.</para>
/// </remarks>
internal sealed unsafe class LibMpi
{
    private const int Success = 0;

    public nint Library { get; }
    public string Flavour { get; }
    public nint CommWorld { get; }
    public nint Float { get; }
    public nint Double { get; }
    public nint Byte { get; }
    public nint Int64 { get; }
    public nint OpSum { get; }
    public nint OpMax { get; }
    public nint InPlace { get; }

    public readonly delegate* unmanaged<int*, int> Initialized;
    public readonly delegate* unmanaged<int*, int> Finalized;
    public readonly delegate* unmanaged<int*, byte***, int> Init;
    public readonly delegate* unmanaged<int> Finalize;
    public readonly delegate* unmanaged<nint, int*, int> CommRank;
    public readonly delegate* unmanaged<nint, int*, int> CommSize;
    public readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> Allreduce;
    public readonly delegate* unmanaged<void*, int, nint, int, nint, int> Bcast;
    public readonly delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> Allgather;
    public readonly delegate* unmanaged<nint, int> Barrier;
    public readonly delegate* unmanaged<nint, int, int> Abort;
    public readonly delegate* unmanaged<byte*, int*, int> GetLibraryVersion;

    /// <summary>The library names tried, in order: Debian's Open MPI and MPICH, then the generic names.</summary>
    public static readonly string[] Candidates =
    [
        "libmpi.so.40", "libmpich.so.12", "libmpi.so.12", "libmpi.so",
    ];

    private LibMpi(nint library, string name)
    {
        Library = library;
        bool openMpi = NativeLibrary.TryGetExport(library, "ompi_mpi_comm_world", out nint world);
        if (openMpi)
        {
            Flavour = "Open MPI";
            CommWorld = world;
            Float = Export("ompi_mpi_float");
            Double = Export("ompi_mpi_double");
            Byte = Export("ompi_mpi_byte");
            Int64 = Export("ompi_mpi_int64_t");
            OpSum = Export("ompi_mpi_op_sum");
            OpMax = Export("ompi_mpi_op_max");
            InPlace = 1;
        }
        else
        {
            // MPICH and its derivatives (Intel MPI, Cray MPICH) share these constants (mpi.h of MPICH 3 and 4).
            Flavour = "MPICH";
            CommWorld = 0x44000000;
            Float = 0x4c00040a;
            Double = 0x4c00080b;
            Byte = 0x4c00010d;
            Int64 = 0x4c000837;     // MPI_INT64_T
            OpSum = 0x58000003;
            OpMax = 0x58000001;
            InPlace = -1;
        }
        Initialized = (delegate* unmanaged<int*, int>)Function("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)Function("MPI_Finalized");
        Init = (delegate* unmanaged<int*, byte***, int>)Function("MPI_Init");
        Finalize = (delegate* unmanaged<int>)Function("MPI_Finalize");
        CommRank = (delegate* unmanaged<nint, int*, int>)Function("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)Function("MPI_Comm_size");
        Allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Function("MPI_Allreduce");
        Bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Function("MPI_Bcast");
        Allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)Function("MPI_Allgather");
        Barrier = (delegate* unmanaged<nint, int>)Function("MPI_Barrier");
        Abort = (delegate* unmanaged<nint, int, int>)Function("MPI_Abort");
        GetLibraryVersion = (delegate* unmanaged<byte*, int*, int>)Function("MPI_Get_library_version");

        nint Export(string symbol) => NativeLibrary.TryGetExport(library, symbol, out nint address)
            ? address
            : throw new Distributed.DistributedException($"{name} has no symbol '{symbol}': it is not an MPI library this backend understands. Install Open MPI (apt-get install openmpi-bin) or MPICH.");
        nint Function(string symbol) => Export(symbol);
    }

    /// <summary>Loads the first MPI library found (or the one named by REINFORCE_MPI_LIBRARY).</summary>
    /// <exception cref="Distributed.DistributedException">No MPI library could be loaded; the message says how to install one.</exception>
    public static LibMpi Load()
    {
        string? chosen = Environment.GetEnvironmentVariable("REINFORCE_MPI_LIBRARY");
        var names = string.IsNullOrWhiteSpace(chosen) ? Candidates : [chosen];
        var failures = new List<string>();
        foreach (var name in names)
        {
            try
            {
                nint handle = NativeLibrary.Load(name);
                return new LibMpi(handle, name);
            }
            catch (DllNotFoundException e) { failures.Add($"{name}: {FirstLine(e.Message)}"); }
            catch (BadImageFormatException e) { failures.Add($"{name}: {FirstLine(e.Message)}"); }
        }
        throw new Distributed.DistributedException(
            "--distributed mpi needs an MPI library, and none could be loaded (tried " + string.Join("; ", failures) + "). " +
            "Install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin) or MPICH, or set REINFORCE_MPI_LIBRARY to the path of libmpi.so.");
    }

    public void Check(int code, string call)
    {
        if (code != Success)
            throw new Distributed.DistributedException($"{call} failed with MPI error code {code} ({Flavour}).");
    }

    private static string FirstLine(string text)
    {
        int newline = text.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? text : text[..newline];
    }
}
