using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using System.Runtime;
using Reinforce.Autograd;

namespace Reinforce.Tensors;

/// <summary>
/// A float32 tensor: contiguous row-major data with a shape. It doubles as an autograd variable
/// (as in PyTorch): when <see cref="RequiresGrad"/> is set, operations on it are recorded and
/// <see cref="Backward"/> fills <see cref="Grad"/>. Differentiable operations live in
/// <see cref="Ops"/>; the members here are conveniences that call them.
/// </summary>
public sealed partial class Tensor : IArenaObject<Tensor>
{
    /// <summary>The elements, row-major; its length is exactly <see cref="Size"/>.</summary>
    public float[] Data { get; private set; }

    /// <summary>The shape; a scalar has shape [] and one element.</summary>
    public int[] Shape { get; private set; }

    /// <summary>The gradient accumulated by <see cref="Backward"/>, same shape as this tensor; null until a backward pass reaches it.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>Whether operations on this tensor are recorded for differentiation.</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>The recorded operation that produced this tensor (null for leaves and for tensors made without gradient).</summary>
    internal Node? Creator { get; set; }

    /// <summary>Whether this tensor is a leaf of the graph (made by the user, not by a recorded operation).</summary>
    public bool IsLeaf => Creator is null;

    /// <summary>Wraps <paramref name="data"/> (not copied) with <paramref name="shape"/>.</summary>
    public Tensor(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        long size = ShapeSize(shape);
        if (size != data.Length)
            throw new ArgumentException($"Tensor: data has {data.Length} elements but shape {ShapeString(shape)} needs {size}.", nameof(data));
        Data = data;
        Shape = (int[])shape.Clone();
    }

    /// <summary>An empty tensor object for an arena to lend (<see cref="Wrap"/> gives it its data and shape).</summary>
    private Tensor()
    {
        Data = [];
        Shape = [];
    }

    static Tensor IArenaObject<Tensor>.Create() => new();

    void IArenaObject.Recycled()
    {
        Grad = null;
        Creator = null;
        RequiresGrad = false;
    }

    /// <summary>
    /// <paramref name="data"/> (not copied) with <paramref name="shape"/>, for an operation's output, gradient or view: the
    /// active arena's tensor object, valid until the arena's recycle as its buffers are, or a new one when no arena is active.
    /// A lent object keeps its shape array when the shape is the one it last had (shape arrays are never changed in place).
    /// </summary>
    [BypassReadyToRun]
    internal static Tensor Wrap(float[] data, ReadOnlySpan<int> shape)
    {
        int size = CheckedSize(shape);
        if (size != data.Length)
            throw new ArgumentException($"Tensor: data has {data.Length} elements but shape {ShapeString(shape.ToArray())} needs {size}.", nameof(data));
        var tensor = TensorArena.Lend<Tensor>() ?? new Tensor();
        tensor.Data = data;
        if (!shape.SequenceEqual(tensor.Shape)) tensor.Shape = shape.ToArray();
        return tensor;
    }

    /// <summary>Number of elements.</summary>
    public int Size => Data.Length;

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>The size of the last dimension (1 for a scalar).</summary>
    public int LastDim => Shape.Length == 0 ? 1 : Shape[^1];

    /// <summary>The number of rows when the tensor is viewed as [Size / LastDim, LastDim].</summary>
    public int Rows => LastDim == 0 ? 0 : Size / LastDim;

    /// <summary>The data as a span.</summary>
    public Span<float> Span => Data;

    /// <summary>The single value of a one-element tensor.</summary>
    public float Item()
    {
        if (Size != 1) throw new InvalidOperationException($"Item: tensor of shape {ShapeString(Shape)} has {Size} elements, not 1.");
        return Data[0];
    }

    /// <summary>Element access by flat row-major index.</summary>
    [IndexerName("At")]
    public float this[int flatIndex]
    {
        get => Data[flatIndex];
        set => Data[flatIndex] = value;
    }

    /// <summary>Element access for a matrix.</summary>
    [IndexerName("At")]
    public float this[int row, int col]
    {
        get => Data[row * Shape[^1] + col];
        set => Data[row * Shape[^1] + col] = value;
    }

    // ---------------------------------------------------------------- creation

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(params int[] shape) => Wrap(TensorArena.Allocate(CheckedSize(shape)), shape);

    /// <summary>A tensor whose contents are unspecified, for an operation that writes every element of its result.</summary>
    internal static Tensor Uninitialized(params ReadOnlySpan<int> shape) => Wrap(TensorArena.AllocateUninitialized(CheckedSize(shape)), shape);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = Zeros(shape);
        Array.Fill(t.Data, value);
        return t;
    }

    /// <summary>A scalar (shape []).</summary>
    public static Tensor Scalar(float value) => new([value]);

    /// <summary>A tensor with the same shape as <paramref name="like"/>, filled with zeros.</summary>
    public static Tensor ZerosLike(Tensor like) => Zeros(like.Shape);

    /// <summary>A copy of <paramref name="values"/> with the given shape (a vector when no shape is given).</summary>
    public static Tensor FromArray(float[] values, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new((float[])values.Clone(), shape.Length == 0 ? [values.Length] : shape);
    }

    /// <summary>A copy of <paramref name="values"/> converted to float32.</summary>
    public static Tensor FromArray(double[] values, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(values);
        var data = new float[values.Length];
        for (int i = 0; i < data.Length; i++) data[i] = (float)values[i];
        return new(data, shape.Length == 0 ? [values.Length] : shape);
    }

    /// <summary>A matrix from a rectangular 2-D array.</summary>
    public static Tensor FromArray(float[,] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        int r = values.GetLength(0), c = values.GetLength(1);
        var data = new float[r * c];
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) data[i * c + j] = values[i, j];
        return new(data, r, c);
    }

    /// <summary>Standard-normal samples times <paramref name="std"/> plus <paramref name="mean"/>, from <paramref name="rng"/>.</summary>
    public static Tensor RandomNormal(Rng rng, int[] shape, float mean = 0f, float std = 1f)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var t = Zeros(shape);
        for (int i = 0; i < t.Size; i++) t.Data[i] = (float)(mean + std * rng.NextGaussian());
        return t;
    }

    /// <summary>Uniform samples on [low, high) from <paramref name="rng"/>.</summary>
    public static Tensor RandomUniform(Rng rng, int[] shape, float low = 0f, float high = 1f)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var t = Zeros(shape);
        for (int i = 0; i < t.Size; i++) t.Data[i] = low + (high - low) * rng.NextFloat();
        return t;
    }

    /// <summary>0, 1, ..., n-1 as floats.</summary>
    public static Tensor Arange(int n)
    {
        var t = Zeros(n);
        for (int i = 0; i < n; i++) t.Data[i] = i;
        return t;
    }

    /// <summary>A copy with its own data, outside any graph.</summary>
    public Tensor Clone() => new((float[])Data.Clone(), Shape);

    /// <summary>The same data, cut from the graph: gradients do not flow through the result.</summary>
    public Tensor Detach() => new(Data, Shape);

    /// <summary>Marks this tensor as a leaf that collects gradients; returns it.</summary>
    public Tensor RequireGrad()
    {
        RequiresGrad = true;
        return this;
    }

    /// <summary>Copies <paramref name="source"/>'s values into this tensor (shapes must hold the same number of elements).</summary>
    public void CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Size != Size) throw new ArgumentException($"CopyFrom: shapes {ShapeString(source.Shape)} and {ShapeString(Shape)} differ in size.");
        source.Data.CopyTo(Data, 0);
    }

    /// <summary>Sets every element to zero.</summary>
    public void Fill(float value) => Array.Fill(Data, value);

    /// <summary>Sets the gradient to zero (keeps its buffer).</summary>
    public void ZeroGrad()
    {
        if (Grad is not null) Array.Clear(Grad.Data);
    }

    /// <summary>Adds <paramref name="gradient"/> into <see cref="Grad"/>, allocating it on first use.</summary>
    [BypassReadyToRun]
    internal void AccumulateGrad(ReadOnlySpan<float> gradient)
    {
        var target = GradBufferToSet(out bool fresh);
        if (fresh) gradient.CopyTo(target);
        else TensorPrimitives.Add(target, gradient, target);
    }

    /// <summary>
    /// The gradient buffer for a backward function that sets every element of it: when the tensor has no gradient yet, a
    /// new buffer with unspecified contents and <paramref name="fresh"/> true, so the function writes its result where it
    /// would add it to zeros (the zeroing pass saved: a GPT step cleared about a megabyte per activation for that);
    /// otherwise the gradient so far and false, and the function adds, as with <see cref="GradBuffer"/>. Writing and adding
    /// to zeros give the same values (only a zero's sign can differ: 0 + (−0) is +0).
    /// </summary>
    internal Span<float> GradBufferToSet(out bool fresh)
    {
        fresh = Grad is null;
        Grad ??= Creator is null ? new(new float[Size], Shape) : Wrap(TensorArena.AllocateUninitialized(Size), Shape);
        return Grad.Data;
    }

    /// <summary>The gradient buffer, allocated (zeros) if needed, for backward functions that accumulate in place.</summary>
    [BypassReadyToRun]
    internal Span<float> GradBuffer()
    {
        Grad ??= NewGrad();
        return Grad.Data;
    }

    /// <summary>
    /// A zero gradient: an intermediate tensor's lives only during the backward pass (from the active arena, if any, which
    /// takes it back as soon as the tensor's own backward has run); a leaf's (a parameter's) is kept across steps, so it is
    /// never taken from an arena.
    /// </summary>
    [BypassReadyToRun]
    private Tensor NewGrad() => Creator is null ? new(new float[Size], Shape) : Wrap(TensorArena.Allocate(Size), Shape);

    /// <summary>Runs reverse-mode differentiation from this tensor (a scalar, or any tensor with an explicit upstream gradient).</summary>
    public void Backward(Tensor? upstream = null) => Graph.Backward(this, upstream);

    /// <summary>Returns a copy of the data as a new array.</summary>
    public float[] ToArray() => (float[])Data.Clone();

    /// <summary>Changes the shape in place (same number of elements); used for views that own their data.</summary>
    internal void SetShape(int[] shape)
    {
        if (ShapeSize(shape) != Size) throw new ArgumentException($"SetShape: {ShapeString(shape)} does not hold {Size} elements.");
        Shape = (int[])shape.Clone();
    }

    /// <summary>A short description: shape and the first values.</summary>
    public override string ToString()
    {
        var shown = string.Join(", ", Data.Take(8).Select(v => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)));
        return $"Tensor{ShapeString(Shape)} [{shown}{(Size > 8 ? ", ..." : "")}]";
    }

    // ---------------------------------------------------------------- shape helpers

    /// <summary>"[2, 3]" for messages.</summary>
    public static string ShapeString(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>The number of elements a shape holds.</summary>
    public static long ShapeSize(IReadOnlyList<int> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long n = 1;
        for (int i = 0; i < shape.Count; i++)
        {
            if (shape[i] < 0) throw new ArgumentException($"Shape {ShapeString(shape)} has a negative dimension.");
            n *= shape[i];
        }
        return n;
    }

    /// <summary>The number of elements a shape holds (<see cref="ShapeSize(IReadOnlyList{int})"/> for a span).</summary>
    [BypassReadyToRun]
    internal static long SizeOf(ReadOnlySpan<int> shape)
    {
        long n = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0) throw new ArgumentException($"Shape {ShapeString(shape.ToArray())} has a negative dimension.");
            n *= shape[i];
        }
        return n;
    }

    [BypassReadyToRun]
    private static int CheckedSize(ReadOnlySpan<int> shape)
    {
        long n = SizeOf(shape);
        if (n > Array.MaxLength) throw new ArgumentException($"Shape {ShapeString(shape.ToArray())} holds {n} elements, more than an array can.");
        return (int)n;
    }

    /// <summary>Whether two shapes are equal.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool SameShape(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++) if (a[i] != b[i]) return false;
        return true;
    }
}
