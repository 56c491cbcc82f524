using Reinforce.Algorithms;
using Reinforce.Distributed;
using Reinforce.Mpi;
using Reinforce.Training;

namespace Reinforce.Cli.Commands;

/// <summary>`reinforce train --distributed mpi`: starting the ranks, the followers' scratch folders, thread counts.</summary>
internal static class DistributedTraining
{
    /// <summary>The communicator for <paramref name="backend"/> (null: train in one process).</summary>
    public static ICommunicator? Start(string? backend)
    {
        if (backend is null || backend.Equals("none", StringComparison.OrdinalIgnoreCase)) return null;
        if (!backend.Equals("mpi", StringComparison.OrdinalIgnoreCase))
            throw new ConfigurationException("--distributed", $"is \"{backend}\"; the backend is mpi (start the ranks with mpirun -np N reinforce train ... --distributed mpi).");
        var comm = MpiCommunicator.Start();
        ShareCores();
        return comm;
    }

    /// <summary>Ranks on one machine share its cores: unless --threads says otherwise, each takes its share for the network passes.</summary>
    public static void ShareCores()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE") ?? Environment.GetEnvironmentVariable("MPI_LOCALNRANKS"), out int local) && local > 0)
            Tensors.Kernels.MaxThreads = Math.Max(1, Environment.ProcessorCount / local);
    }

    /// <summary>A scratch folder for rank r &gt; 0 (deleted by <see cref="Cleanup"/>).</summary>
    public static string ScratchFolder(ICommunicator comm) =>
        Path.Combine(Path.GetTempPath(), $"reinforce-rank{comm.Rank}-{Environment.ProcessId}");

    public static void Cleanup(string? scratch)
    {
        if (scratch is null) return;
        try { if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>The line rank 0 prints when a data-parallel run ends.</summary>
    public static string Summary(ICommunicator comm, TrainingRun run) =>
        $"Data-parallel: {comm.Description}; {comm.Size} × {run.Agent.StepsDone:N0} = {(long)comm.Size * run.Agent.StepsDone:N0} environment steps in all; " +
        $"the weights were identical on every rank after each of the {run.Agent.Iterations:N0} updates (checked by checksum).";
}
