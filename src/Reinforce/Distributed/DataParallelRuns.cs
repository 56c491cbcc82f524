namespace Reinforce.Distributed;

/// <summary>Start-up checks shared by the data-parallel trainers.</summary>
public static class DataParallelRuns
{
    /// <summary>
    /// Checks that every rank starts at the same step (all fresh, or all resuming the same checkpoint), so a rank that
    /// read another run folder fails at start-up instead of training out of step.
    /// </summary>
    /// <exception cref="DistributedException">The ranks start at different steps; the message names them.</exception>
    public static void EnsureSameStep(ICommunicator communicator, long step)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        if (communicator.Size == 1) return;
        var steps = new long[communicator.Size];
        communicator.AllGather(step, steps);
        var behind = Enumerable.Range(0, steps.Length).Where(r => steps[r] != steps[0]).ToArray();
        if (behind.Length > 0)
            throw new DistributedException(
                $"rank(s) {string.Join(", ", behind)} start at step {steps[behind[0]]:N0} while rank 0 starts at {steps[0]:N0}: " +
                "every rank must start fresh or resume the same checkpoint (all ranks must see the same run folder).");
    }

    /// <summary>
    /// Checks that every rank holds the same weights (their checksums all-gathered), never assumed: a rank that ran
    /// another build, other settings or a collective out of order fails here, at the step where it drifted.
    /// </summary>
    /// <param name="communicator">The ranks.</param>
    /// <param name="checksum">This rank's weight checksum.</param>
    /// <param name="when">Where in training, for the message ("after update 12", "after step 40").</param>
    /// <exception cref="DistributedException">A rank's weights differ from rank 0's; the message names the ranks.</exception>
    public static void EnsureSameWeights(ICommunicator communicator, ulong checksum, string when)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        if (communicator.Size == 1) return;
        var sums = new long[communicator.Size];
        communicator.AllGather(unchecked((long)checksum), sums);
        var differing = Enumerable.Range(0, sums.Length).Where(r => sums[r] != sums[0]).ToArray();
        if (differing.Length > 0)
            throw new DistributedException(
                $"{when} the weights of rank(s) {string.Join(", ", differing)} differ from rank 0's. " +
                "The ranks must run the same build with the same settings; a rank that called a collective out of order also causes this.");
    }

    /// <summary>
    /// Rank 0's <paramref name="text"/> on every rank (others may pass null): how rank 0's resolved configuration reaches
    /// ranks that may not see its run folder (another machine).
    /// </summary>
    public static string BroadcastText(ICommunicator communicator, string? text)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        if (communicator.Rank == 0) ArgumentNullException.ThrowIfNull(text);
        if (communicator.Size == 1) return text!;
        var bytes = communicator.Rank == 0 ? System.Text.Encoding.UTF8.GetBytes(text!) : [];
        var lengths = new long[communicator.Size];
        communicator.AllGather(bytes.Length, lengths);
        if (communicator.Rank != 0) bytes = new byte[lengths[0]];
        communicator.Broadcast(bytes, root: 0);
        return System.Text.Encoding.UTF8.GetString(bytes);
    }
}
