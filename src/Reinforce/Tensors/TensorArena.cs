using System.Runtime.CompilerServices;
using System.Runtime;

namespace Reinforce.Tensors;

/// <summary>
/// Recycles the float buffers of short-lived tensors in a no-gradient loop, such as token-by-token generation: while an
/// arena is active on a thread (<see cref="Activate"/>), every tensor the operations create on that thread
/// (<see cref="Tensor.Zeros(int[])"/> and the operations' scratch arrays) takes its buffer from the arena, and
/// <see cref="Recycle"/> hands all of them back at once for the next step, which asks for the same sizes again. A step
/// then allocates no float arrays, where it would otherwise allocate every activation anew.
/// </summary>
/// <remarks>
/// The contract: a tensor created while the arena is active lives only until the next <see cref="Recycle"/>. Code that
/// keeps a tensor beyond that (a cache) creates it inside <see cref="Suspend"/>. Buffers are zeroed when handed out, as
/// fresh arrays are. An arena belongs to one thread at a time; work that a kernel spreads over other threads allocates
/// normally there.
/// <para>
/// A training step (forward and backward of a large model) runs inside an arena too, and hands buffers back as soon as
/// they are spent (<see cref="Release"/>): an intermediate tensor's gradient once its own backward has run, and the
/// scratch arrays of a backward function when it returns. So the step's peak is the activations plus the gradients in
/// flight, as in PyTorch, and a steady-state step takes no new memory from the runtime (no page faults, no garbage).
/// </para>
/// <para>
/// The arena lends the step's small objects too, on the same contract (<see cref="Lend{T}"/>): the <see cref="Tensor"/>
/// objects of the operations' outputs and gradients, and the graph nodes of the operations recorded in the allocation-free
/// form (<c>Graph.Record</c> with a state). They go back at <see cref="Recycle"/>, never before, and are lent again in the
/// order they were lent in the last step, so a step that repeats the last one's operations gets each object back in the
/// same role (the same shape, the same number of inputs) and allocates nothing at all.
/// </para>
/// </remarks>
internal sealed class TensorArena
{
    [ThreadStatic] private static TensorArena? t_active;

    private readonly Dictionary<int, Stack<float[]>> _free = [];
    private readonly HashSet<float[]> _lent = new(ReferenceEqualityComparer.Instance);
    private Stack<IArenaObject>[] _freeObjects = [];   // by ObjectType<T>.Slot
    private readonly List<(IArenaObject Item, int Slot)> _lentObjects = [];

    /// <summary>Bytes of the buffers the arena owns (lent and free).</summary>
    public long Bytes { get; private set; }

    /// <summary>A zeroed buffer of <paramref name="length"/> floats: from the thread's active arena, or a new array.</summary>
    public static float[] Allocate(int length)
    {
        var arena = t_active;
        return arena is null || length == 0 ? new float[length] : arena.Rent(length);
    }

    /// <summary>
    /// A buffer of <paramref name="length"/> floats with unspecified contents, for an output the caller overwrites
    /// entirely (an element-wise result, a normalised row): the clearing pass of <see cref="Allocate"/> saved.
    /// </summary>
    public static float[] AllocateUninitialized(int length)
    {
        var arena = t_active;
        return arena is null || length == 0 ? GC.AllocateUninitializedArray<float>(length) : arena.Rent(length, clear: false);
    }

    [BypassReadyToRun]
    private float[] Rent(int length, bool clear = true)
    {
        float[] buffer;
        if (_free.TryGetValue(length, out var stack) && stack.Count > 0)
        {
            buffer = stack.Pop();
            if (clear) Array.Clear(buffer);
        }
        else
        {
            buffer = new float[length];
            Bytes += 4L * length;
        }
        _lent.Add(buffer);
        return buffer;
    }

    /// <summary>
    /// Hands <paramref name="buffer"/> back to the thread's active arena for reuse within the same step, if that arena
    /// lent it (otherwise nothing happens). The caller guarantees nothing reads or writes the buffer afterwards.
    /// </summary>
    [BypassReadyToRun]
    public static void Release(float[]? buffer)
    {
        var arena = t_active;
        if (arena is null || buffer is null || !arena._lent.Remove(buffer)) return;
        if (!arena._free.TryGetValue(buffer.Length, out var stack)) arena._free[buffer.Length] = stack = new Stack<float[]>();
        stack.Push(buffer);
    }

    /// <summary>Whether an arena is active on this thread (tensors created now live only until its next recycle).</summary>
    public static bool IsActive => t_active is not null;

    /// <summary>
    /// An object of type <typeparamref name="T"/> lent by the thread's active arena until its next <see cref="Recycle"/>
    /// (one it took back, or a new one); null when no arena is active, and the caller makes its own. Never one that is
    /// still lent.
    /// </summary>
    public static T? Lend<T>() where T : class, IArenaObject<T>
    {
        var arena = t_active;
        if (arena is null) return null;
        int slot = ObjectType<T>.Slot;
        var free = arena._freeObjects;
        var item = slot < free.Length && free[slot] is { Count: > 0 } stack ? (T)stack.Pop() : T.Create();
        arena._lentObjects.Add((item, slot));
        return item;
    }

    private static int s_objectTypes;

    /// <summary>A small number per lendable type, so lending finds the type's free objects by index, not by hashing the type.</summary>
    private static class ObjectType<T>
    {
        public static readonly int Slot = Interlocked.Increment(ref s_objectTypes) - 1;
    }

    /// <summary>
    /// Takes back every buffer and object lent since the last call: the tensors made from them must no longer be used.
    /// </summary>
    [BypassReadyToRun]
    public void Recycle()
    {
        foreach (var buffer in _lent)
        {
            if (!_free.TryGetValue(buffer.Length, out var stack)) _free[buffer.Length] = stack = new Stack<float[]>();
            stack.Push(buffer);
        }
        _lent.Clear();
        // Last lent, first pushed: the next step's first request gets this step's first object back.
        for (int i = _lentObjects.Count - 1; i >= 0; i--)
        {
            var (item, slot) = _lentObjects[i];
            item.Recycled();
            if (slot >= _freeObjects.Length) Array.Resize(ref _freeObjects, Math.Max(slot + 1, 2 * _freeObjects.Length));
            (_freeObjects[slot] ??= new Stack<IArenaObject>()).Push(item);
        }
        _lentObjects.Clear();
    }

    /// <summary>Makes this arena the thread's active one until the scope is disposed (the previous one is restored then).</summary>
    public Scope Activate()
    {
        var previous = t_active;
        t_active = this;
        return new Scope(previous);
    }

    /// <summary>No arena on this thread until the scope is disposed: for tensors that must outlive the current step.</summary>
    public static Scope Suspend()
    {
        var previous = t_active;
        t_active = null;
        return new Scope(previous);
    }

    /// <summary>Restores the thread's previous arena when disposed.</summary>
    public readonly struct Scope(TensorArena? previous) : IDisposable
    {
        /// <summary>Restores the previous arena.</summary>
        public void Dispose() => t_active = previous;
    }
}

/// <summary>An object a <see cref="TensorArena"/> lends with a step's buffers (a tensor, a recorded operation) and takes back at its recycle.</summary>
internal interface IArenaObject
{
    /// <summary>Drops what the object referred to in the step it served (a gradient, a graph): the arena has taken it back.</summary>
    void Recycled();
}

/// <summary>An object type a <see cref="TensorArena"/> can lend (<see cref="TensorArena.Lend{T}"/>).</summary>
internal interface IArenaObject<TSelf> : IArenaObject where TSelf : class, IArenaObject<TSelf>
{
    /// <summary>A new object, when the arena has none of this type to lend again.</summary>
    static abstract TSelf Create();
}
