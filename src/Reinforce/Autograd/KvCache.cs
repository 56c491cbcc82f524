namespace Reinforce.Autograd;

/// <summary>
/// The keys and values of one attention layer for the positions generated so far, so each new token costs one
/// query against the cache instead of recomputing the whole sequence (<see cref="Ops.CausalSelfAttention"/> with a cache).
/// Laid out [batch, heads, capacity, headDim].
/// </summary>
public sealed class KvCache
{
    /// <summary>An empty cache for <paramref name="batch"/> sequences of at most <paramref name="capacity"/> positions.</summary>
    public KvCache(int batch, int heads, int headDim, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        long size = (long)batch * heads * headDim * capacity;
        if (size > Array.MaxLength) throw new ArgumentException($"KvCache: {batch}×{heads}×{capacity}×{headDim} floats do not fit in one array.");
        Batch = batch; MaxBatch = batch; Heads = heads; HeadDim = headDim; Capacity = capacity;
        Keys = new float[size];
        Values = new float[size];
    }

    /// <summary>Number of sequences (batch rows) cached.</summary>
    public int Batch { get; private set; }
    /// <summary>Attention heads.</summary>
    public int Heads { get; }
    /// <summary>Width of one head.</summary>
    public int HeadDim { get; }

    /// <summary>The most positions the cache can hold.</summary>
    public int Capacity { get; }

    /// <summary>How many positions are cached.</summary>
    public int Length { get; internal set; }

    internal float[] Keys { get; }
    internal float[] Values { get; }

    /// <summary>The batch the cache was made for (<see cref="KeepRows"/> shrinks <see cref="Batch"/>, not this).</summary>
    public int MaxBatch { get; }

    /// <summary>Empties the cache for a new batch of <paramref name="batch"/> sequences (at most <see cref="MaxBatch"/>), reusing its memory.</summary>
    public void Restart(int batch)
    {
        if (batch < 1 || batch > MaxBatch) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"KvCache.Restart: the cache holds at most {MaxBatch} sequences.");
        Batch = batch;
        Length = 0;
    }

    /// <summary>Forgets every cached position (for a new batch of prompts).</summary>
    public void Reset() => Length = 0;

    /// <summary>Keeps only the first <paramref name="length"/> positions (for example a shared prompt, to sample again from it).</summary>
    public void Truncate(int length)
    {
        if (length < 0 || length > Length) throw new ArgumentOutOfRangeException(nameof(length), $"KvCache.Truncate: {length} is outside [0, {Length}].");
        Length = length;
    }

    /// <summary>
    /// Keeps only the batch rows <paramref name="rows"/> (ascending, each in [0, Batch)), moved to the front in that
    /// order; the batch shrinks to their count. Generation uses it to drop the sequences that have finished.
    /// </summary>
    public void KeepRows(ReadOnlySpan<int> rows)
    {
        for (int i = 0; i < rows.Length; i++)
            if ((uint)rows[i] >= (uint)Batch || (i > 0 && rows[i] <= rows[i - 1]))
                throw new ArgumentException($"KvCache.KeepRows: the rows must be ascending and inside [0, {Batch}); row {rows[i]} at index {i} is not.", nameof(rows));
        int rowSize = Heads * Capacity * HeadDim, used = Length * HeadDim;
        for (int i = 0; i < rows.Length; i++)
        {
            if (rows[i] == i) continue;
            for (int h = 0; h < Heads; h++)
            {
                int from = rows[i] * rowSize + h * Capacity * HeadDim, to = i * rowSize + h * Capacity * HeadDim;
                Keys.AsSpan(from, used).CopyTo(Keys.AsSpan(to, used));
                Values.AsSpan(from, used).CopyTo(Values.AsSpan(to, used));
            }
        }
        Batch = rows.Length;
    }
}
