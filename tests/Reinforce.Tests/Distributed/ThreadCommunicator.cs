using Reinforce.Distributed;

namespace Reinforce.Tests.Distributed;

/// <summary>
/// Ranks as threads of one test process: each rank's communicator exchanges through shared slots guarded by a
/// barrier, summing in rank order (so results are deterministic and identical on every rank, as MPI's are).
/// Lets the data-parallel logic be tested in-process, beside the real mpirun tests.
/// </summary>
internal sealed class ThreadCommunicatorGroup
{
    private readonly Barrier _barrier;
    private readonly object?[] _slots;

    public ThreadCommunicatorGroup(int size)
    {
        Size = size;
        _barrier = new Barrier(size);
        _slots = new object?[size];
        Ranks = Enumerable.Range(0, size).Select(r => (ICommunicator)new RankCommunicator(this, r)).ToArray();
    }

    public int Size { get; }
    public IReadOnlyList<ICommunicator> Ranks { get; }

    /// <summary>Runs <paramref name="body"/> once per rank, each on its own thread, and waits for all.</summary>
    public void Run(Action<ICommunicator> body)
    {
        var errors = new Exception?[Size];
        var threads = Enumerable.Range(0, Size).Select(r => new Thread(() =>
        {
            try { body(Ranks[r]); }
            catch (Exception e) { errors[r] = e; _barrier.Dispose(); }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        var first = errors.FirstOrDefault(e => e is not null);
        if (first is not null) throw new AggregateException(first);
    }

    private T[][] Exchange<T>(int rank, T[] mine)
    {
        _slots[rank] = mine;
        _barrier.SignalAndWait();
        var all = _slots.Select(s => (T[])s!).ToArray();
        _barrier.SignalAndWait();
        return all;
    }

    private sealed class RankCommunicator(ThreadCommunicatorGroup group, int rank) : ICommunicator
    {
        public int Rank => rank;
        public int Size => group.Size;
        public string Description => $"{group.Size} threads";

        public void AllReduceSum(Span<float> values)
        {
            var all = group.Exchange(rank, values.ToArray());
            for (int i = 0; i < values.Length; i++)
            {
                float sum = 0;
                foreach (var part in all) sum += part[i];
                values[i] = sum;
            }
        }

        public void AllReduceSum(Span<double> values)
        {
            var all = group.Exchange(rank, values.ToArray());
            for (int i = 0; i < values.Length; i++)
            {
                double sum = 0;
                foreach (var part in all) sum += part[i];
                values[i] = sum;
            }
        }

        public void AllReduceMax(Span<double> values)
        {
            var all = group.Exchange(rank, values.ToArray());
            for (int i = 0; i < values.Length; i++) values[i] = all.Max(p => p[i]);
        }

        public void Broadcast(Span<float> values, int root = 0) => group.Exchange(rank, values.ToArray())[root].CopyTo(values);

        public void Broadcast(Span<byte> bytes, int root = 0) => group.Exchange(rank, bytes.ToArray())[root].CopyTo(bytes);

        public void AllGather(long value, Span<long> all)
        {
            var parts = group.Exchange(rank, new[] { value });
            for (int i = 0; i < parts.Length; i++) all[i] = parts[i][0];
        }

        public void Barrier() => group.Exchange(rank, Array.Empty<int>());

        public void Dispose() { }
    }
}
