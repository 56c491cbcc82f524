using Reinforce.Distributed;

namespace Reinforce.Cli.Commands;

/// <summary>`--distributed mpi` for the language-model commands (lm pretrain, rlhf reward, rlhf train): the ranks' life cycle.</summary>
internal static class DistributedLm
{
    /// <summary>
    /// Runs <paramref name="body"/> in one process (a null communicator) or as one rank of an MPI job; a rank that
    /// disagrees or dies is an error naming the rank (exit 2); follower ranks' scratch folders are deleted at the end.
    /// </summary>
    public static int Run(string? backend, Func<ICommunicator?, int> body)
    {
        ICommunicator? comm = DistributedTraining.Start(backend);
        try
        {
            return body(comm);
        }
        catch (DistributedException ex)
        {
            Console.Error.WriteLine($"error: {(comm is null ? "" : $"rank {comm.Rank}: ")}{ex.Message}");
            return 2;
        }
        finally
        {
            string? scratch = comm is { Rank: > 0 } ? DistributedTraining.ScratchFolder(comm) : null;
            comm?.Dispose();
            DistributedTraining.Cleanup(scratch);
        }
    }
}
