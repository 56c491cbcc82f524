namespace Reinforce.Distributed;

/// <summary>
/// The collective operations data-parallel training needs (the subset of MPI that OpenAI Baselines' PPO and
/// DD-PPO use): every process ("rank") runs the same program on its own environment copies, and at each
/// optimizer step the ranks sum their gradients so that all of them apply the same update.
/// </summary>
/// <remarks>
/// <para>Every rank must call the collective operations in the same order with the same lengths; a call that
/// one rank skips leaves the others waiting (MPI's rule). The library's trainers keep to this by construction.</para>
/// <para>The default, <see cref="SingleProcessCommunicator"/>, is one rank: every operation is the identity, so
/// code written against this interface runs unchanged without MPI. The MPI backend is the optional package
/// <c>Reinforce.Mpi</c>, which calls the system's <c>libmpi</c> directly.</para>
/// </remarks>
public interface ICommunicator : IDisposable
{
    /// <summary>This process's index, 0 to <see cref="Size"/> − 1. Rank 0 writes the run folder.</summary>
    int Rank { get; }

    /// <summary>The number of processes taking part.</summary>
    int Size { get; }

    /// <summary>A short description for logs and run records ("single process", "Open MPI 4.1.4, 4 ranks").</summary>
    string Description { get; }

    /// <summary>Replaces <paramref name="values"/> on every rank by the element-wise sum over all ranks.</summary>
    void AllReduceSum(Span<float> values);

    /// <summary>Replaces <paramref name="values"/> on every rank by the element-wise sum over all ranks.</summary>
    void AllReduceSum(Span<double> values);

    /// <summary>Replaces <paramref name="values"/> on every rank by the element-wise maximum over all ranks.</summary>
    void AllReduceMax(Span<double> values);

    /// <summary>Copies <paramref name="values"/> from rank <paramref name="root"/> to every other rank.</summary>
    void Broadcast(Span<float> values, int root = 0);

    /// <summary>Copies <paramref name="bytes"/> from rank <paramref name="root"/> to every other rank.</summary>
    void Broadcast(Span<byte> bytes, int root = 0);

    /// <summary>Gathers one 64-bit value from each rank, in rank order, on every rank.</summary>
    void AllGather(long value, Span<long> all);

    /// <summary>Waits until every rank has reached this call.</summary>
    void Barrier();
}

/// <summary>One process, no communication: every collective operation leaves its input as it is.</summary>
public sealed class SingleProcessCommunicator : ICommunicator
{
    /// <summary>The shared instance (it holds no state).</summary>
    public static SingleProcessCommunicator Instance { get; } = new();

    /// <inheritdoc/>
    public int Rank => 0;
    /// <inheritdoc/>
    public int Size => 1;
    /// <inheritdoc/>
    public string Description => "single process";
    /// <inheritdoc/>
    public void AllReduceSum(Span<float> values) { }
    /// <inheritdoc/>
    public void AllReduceSum(Span<double> values) { }
    /// <inheritdoc/>
    public void AllReduceMax(Span<double> values) { }
    /// <inheritdoc/>
    public void Broadcast(Span<float> values, int root = 0) => CheckRoot(root);
    /// <inheritdoc/>
    public void Broadcast(Span<byte> bytes, int root = 0) => CheckRoot(root);
    /// <inheritdoc/>
    public void AllGather(long value, Span<long> all)
    {
        if (all.Length != 1) throw new ArgumentException($"AllGather needs one slot per rank (1), got {all.Length}.", nameof(all));
        all[0] = value;
    }
    /// <inheritdoc/>
    public void Barrier() { }
    /// <inheritdoc/>
    public void Dispose() { }

    private static void CheckRoot(int root)
    {
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), root, "A single process has only rank 0.");
    }
}
