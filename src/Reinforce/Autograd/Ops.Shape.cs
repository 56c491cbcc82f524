using System.Numerics.Tensors;
using Reinforce.Tensors;

namespace Reinforce.Autograd;

public static partial class Ops
{
    /// <summary>The same elements with a new shape (one dimension may be -1 and is inferred). The data is shared.</summary>
    public static Tensor Reshape(Tensor x, params ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(x);
        Span<int> resolved = shape.Length <= 8 ? stackalloc int[shape.Length] : new int[shape.Length];
        shape.CopyTo(resolved);
        int infer = resolved.IndexOf(-1);
        if (infer >= 0)
        {
            long known = 1;
            for (int i = 0; i < resolved.Length; i++) if (i != infer) known *= resolved[i];
            if (known == 0 || x.Size % known != 0)
                throw new ArgumentException($"Reshape: cannot infer -1 in {Tensor.ShapeString(resolved.ToArray())} for {x.Size} elements of shape {Tensor.ShapeString(x.Shape)}.");
            resolved[infer] = (int)(x.Size / known);
        }
        if (Tensor.SizeOf(resolved) != x.Size)
            throw new ArgumentException($"Reshape: shape {Tensor.ShapeString(x.Shape)} ({x.Size} elements) cannot become {Tensor.ShapeString(resolved.ToArray())}.");
        var y = Tensor.Wrap(x.Data, resolved);
        return Graph.Record(y, "Reshape", [x], (X: x, Y: y), static s => s.X.AccumulateGrad(s.Y.Grad!.Data));
    }

    /// <summary>Rows of a matrix (or of [N, ...] viewed as N rows) picked by index: y[i] = x[rows[i]].</summary>
    public static Tensor IndexRows(Tensor x, ReadOnlySpan<int> rows)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 1) throw new ArgumentException("IndexRows: a scalar has no rows.");
        return GatherRows("IndexRows", x, rows.ToArray(), [rows.Length, .. x.Shape[1..]]);
    }

    /// <summary>
    /// Embedding lookup: the rows of <paramref name="weight"/> [count, dim] picked by <paramref name="indices"/>, shaped
    /// [..<paramref name="shape"/>, dim]. The backward adds each output row's gradient into its row of the weight
    /// (repeated indices accumulate).
    /// </summary>
    public static Tensor Embedding(Tensor weight, ReadOnlySpan<int> indices, ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2) throw new ArgumentException($"Embedding: weight shape {Tensor.ShapeString(weight.Shape)} must be [count, dim].");
        if (Tensor.ShapeSize(shape.ToArray()) != indices.Length)
            throw new ArgumentException($"Embedding: {indices.Length} indices do not fill shape {Tensor.ShapeString(shape.ToArray())}.");
        return GatherRows("Embedding", weight, indices.ToArray(), [.. shape, weight.Shape[1]]);
    }

    private static Tensor GatherRows(string name, Tensor x, int[] idx, int[] shape)
    {
        int n = x.Shape[0], width = n == 0 ? 0 : x.Size / n;
        var y = Tensor.Zeros(shape);
        for (int i = 0; i < idx.Length; i++)
        {
            if ((uint)idx[i] >= (uint)n)
                throw new ArgumentOutOfRangeException(nameof(idx), $"{name}: index {idx[i]} (at position {i}) is outside [0, {n}) for shape {Tensor.ShapeString(x.Shape)}.");
            x.Data.AsSpan(idx[i] * width, width).CopyTo(y.Data.AsSpan(i * width, width));
        }
        return Graph.Record(y, name, x, () =>
        {
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int i = 0; i < idx.Length; i++)
            {
                var row = gx.Slice(idx[i] * width, width);
                TensorPrimitives.Add(row, g.AsSpan(i * width, width), row);
            }
        });
    }

    /// <summary>Picks one element per row along the last dimension: y[r] = x[r, index[r]] ([..., C] → [...]).</summary>
    public static Tensor GatherLastDim(Tensor x, ReadOnlySpan<int> index)
    {
        ArgumentNullException.ThrowIfNull(x);
        int c = x.LastDim, rows = x.Rows;
        if (index.Length != rows)
            throw new ArgumentException($"GatherLastDim: {index.Length} indices for {rows} rows of shape {Tensor.ShapeString(x.Shape)}.");
        int[] idx = index.ToArray();
        var y = Tensor.Uninitialized(x.Rank <= 1 ? [] : x.Shape[..^1]);   // one entry per row, each written below
        for (int r = 0; r < rows; r++)
        {
            if ((uint)idx[r] >= (uint)c) throw new ArgumentOutOfRangeException(nameof(index), $"GatherLastDim: index {idx[r]} at row {r} is outside [0, {c}).");
            y.Data[r] = x.Data[r * c + idx[r]];
        }
        return Graph.Record(y, "GatherLastDim", x, () =>
        {
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int r = 0; r < rows; r++) gx[r * c + idx[r]] += g[r];
        });
    }

    /// <summary>
    /// Joins tensors along <paramref name="axis"/> (the last by default; negative counts from the end). All other
    /// dimensions must agree.
    /// </summary>
    public static Tensor Concat(IReadOnlyList<Tensor> parts, int axis = -1)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0) throw new ArgumentException("Concat: no tensors to join.");
        var first = parts[0];
        int ax = NormalizeAxis("Concat", first, axis);
        int total = 0;
        foreach (var p in parts)
        {
            ArgumentNullException.ThrowIfNull(p);
            bool fits = p.Rank == first.Rank;
            for (int d = 0; fits && d < p.Rank; d++) fits = d == ax || p.Shape[d] == first.Shape[d];
            if (!fits)
                throw new ArgumentException($"Concat: shapes {Tensor.ShapeString(first.Shape)} and {Tensor.ShapeString(p.Shape)} differ outside axis {ax}.");
            total += p.Shape[ax];
        }
        int outer = (int)Tensor.ShapeSize(first.Shape[..ax]);
        int inner = (int)Tensor.ShapeSize(first.Shape[(ax + 1)..]);
        var shape = (int[])first.Shape.Clone();
        shape[ax] = total;
        var y = Tensor.Zeros(shape);
        int outRow = total * inner;
        int offset = 0;
        var offsets = new int[parts.Count];
        for (int i = 0; i < parts.Count; i++)
        {
            offsets[i] = offset;
            int block = parts[i].Shape[ax] * inner;
            for (int o = 0; o < outer; o++)
                parts[i].Data.AsSpan(o * block, block).CopyTo(y.Data.AsSpan(o * outRow + offset, block));
            offset += block;
        }
        Tensor[] inputs = [.. parts];
        return Graph.Record(y, "Concat", inputs, () =>
        {
            var g = y.Grad!.Data;
            for (int i = 0; i < inputs.Length; i++)
            {
                if (!inputs[i].RequiresGrad) continue;
                var gp = inputs[i].GradBuffer();
                int block = inputs[i].Shape[ax] * inner;
                for (int o = 0; o < outer; o++)
                {
                    var dst = gp.Slice(o * block, block);
                    TensorPrimitives.Add(dst, g.AsSpan(o * outRow + offsets[i], block), dst);
                }
            }
        });
    }

    /// <summary>
    /// The part of <paramref name="x"/> from <paramref name="start"/> (inclusive) with <paramref name="length"/> entries
    /// along <paramref name="axis"/> (the last by default). A copy; the gradient flows back into that part.
    /// </summary>
    public static Tensor Slice(Tensor x, int start, int length, int axis = -1)
    {
        ArgumentNullException.ThrowIfNull(x);
        int ax = NormalizeAxis("Slice", x, axis);
        int dim = x.Shape[ax];
        if (start < 0 || length < 0 || start + length > dim)
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice: [{start}, {start + length}) is outside [0, {dim}) on axis {ax} of shape {Tensor.ShapeString(x.Shape)}.");
        int outer = (int)Tensor.ShapeSize(x.Shape[..ax]);
        int inner = (int)Tensor.ShapeSize(x.Shape[(ax + 1)..]);
        var shape = (int[])x.Shape.Clone();
        shape[ax] = length;
        var y = Tensor.Zeros(shape);
        int inRow = dim * inner, block = length * inner, skip = start * inner;
        for (int o = 0; o < outer; o++) x.Data.AsSpan(o * inRow + skip, block).CopyTo(y.Data.AsSpan(o * block, block));
        return Graph.Record(y, "Slice", x, () =>
        {
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int o = 0; o < outer; o++)
            {
                var dst = gx.Slice(o * inRow + skip, block);
                TensorPrimitives.Add(dst, g.AsSpan(o * block, block), dst);
            }
        });
    }

    /// <summary>Swaps two dimensions (the last two by default): a copy with the elements rearranged, like PyTorch's <c>transpose(...).contiguous()</c>.</summary>
    public static Tensor Transpose(Tensor x, int dim0 = -2, int dim1 = -1)
    {
        ArgumentNullException.ThrowIfNull(x);
        int d0 = NormalizeAxis("Transpose", x, dim0), d1 = NormalizeAxis("Transpose", x, dim1);
        var perm = new int[x.Rank];
        for (int i = 0; i < perm.Length; i++) perm[i] = i;
        (perm[d0], perm[d1]) = (perm[d1], perm[d0]);
        return Permute(x, perm);
    }

    /// <summary>Reorders dimensions: output dimension i is input dimension <paramref name="permutation"/>[i] (PyTorch's <c>permute</c>, then contiguous).</summary>
    public static Tensor Permute(Tensor x, params int[] permutation)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(permutation);
        int rank = x.Rank;
        if (permutation.Length != rank || permutation.Distinct().Count() != rank || permutation.Any(p => (uint)p >= (uint)rank))
            throw new ArgumentException($"Permute: {Tensor.ShapeString(permutation)} is not a permutation of the {rank} dimensions of shape {Tensor.ShapeString(x.Shape)}.");
        var shape = new int[rank];
        for (int i = 0; i < rank; i++) shape[i] = x.Shape[permutation[i]];
        var inStrides = Strides(x.Shape);
        // The input stride to follow for each output dimension.
        var strides = new int[rank];
        for (int i = 0; i < rank; i++) strides[i] = inStrides[permutation[i]];
        var y = Tensor.Zeros(shape);
        var map = new int[y.Size];  // output position → input position
        var counter = new int[rank];
        int source = 0;
        for (int o = 0; o < map.Length; o++)
        {
            map[o] = source;
            for (int d = rank - 1; d >= 0; d--)
            {
                counter[d]++;
                source += strides[d];
                if (counter[d] < shape[d]) break;
                source -= strides[d] * shape[d];
                counter[d] = 0;
            }
        }
        for (int o = 0; o < map.Length; o++) y.Data[o] = x.Data[map[o]];
        return Graph.Record(y, "Permute", x, () =>
        {
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int o = 0; o < map.Length; o++) gx[map[o]] += g[o];
        });
    }

    private static int[] Strides(int[] shape)
    {
        var s = new int[shape.Length];
        int stride = 1;
        for (int d = shape.Length - 1; d >= 0; d--) { s[d] = stride; stride *= shape[d]; }
        return s;
    }

    private static int NormalizeAxis(string operation, Tensor x, int axis)
    {
        int ax = axis < 0 ? axis + x.Rank : axis;
        if ((uint)ax >= (uint)x.Rank)
            throw new ArgumentOutOfRangeException(nameof(axis), $"{operation}: axis {axis} is outside the {x.Rank} dimensions of shape {Tensor.ShapeString(x.Shape)}.");
        return ax;
    }
}
