using System.Runtime.CompilerServices;
using System.Runtime;

namespace Reinforce.Tensors;

/// <summary>
/// The broadcasting the engine supports: equal shapes; a scalar; an operand whose shape is a suffix of the
/// other's (a bias row repeated over rows, "tile"); or an operand whose shape is a prefix of the other's followed by ones
/// (a per-row value repeated along the row, "repeat").
/// </summary>
internal static class Broadcast
{
    internal enum Mode { Full, Tile, Repeat }

    /// <summary>The result shape of a binary operation and how each operand maps onto it.</summary>
    [BypassReadyToRun]
    internal static (int[] Shape, Mode A, Mode B) Plan(string operation, Tensor a, Tensor b)
    {
        if (Tensor.SameShape(a.Shape, b.Shape)) return (a.Shape, Mode.Full, Mode.Full);
        if (Fits(b.Shape, a.Shape, out var mb)) return (a.Shape, Mode.Full, mb);
        if (Fits(a.Shape, b.Shape, out var ma)) return (b.Shape, ma, Mode.Full);
        throw new ArgumentException(
            $"{operation}: shapes {Tensor.ShapeString(a.Shape)} and {Tensor.ShapeString(b.Shape)} cannot be broadcast. " +
            "Supported: equal shapes, a scalar, a trailing-dimension match such as [N, D] with [D], or a leading match such as [N, D] with [N, 1].");
    }

    /// <summary>Whether <paramref name="small"/> broadcasts onto <paramref name="big"/>, and how.</summary>
    private static bool Fits(int[] small, int[] big, out Mode mode)
    {
        mode = Mode.Tile;
        long smallSize = Tensor.ShapeSize(small);
        if (smallSize == 1) return true;
        // Tile: small equals the last dims of big (leading ones in small are ignored).
        int lead = 0;
        while (lead < small.Length && small[lead] == 1) lead++;
        if (IsSuffix(small.AsSpan(lead), big)) return true;
        // Repeat: small equals the first dims of big, then ones (or nothing).
        mode = Mode.Repeat;
        int k = small.Length;
        while (k > 0 && small[k - 1] == 1) k--;
        if (k <= big.Length && k > 0)
        {
            for (int i = 0; i < k; i++) if (small[i] != big[i]) return false;
            return smallSize == Tensor.ShapeSize(big.AsSpan(0, k).ToArray());
        }
        return false;
    }

    private static bool IsSuffix(ReadOnlySpan<int> small, int[] big)
    {
        if (small.Length > big.Length) return false;
        for (int i = 0; i < small.Length; i++) if (small[i] != big[big.Length - small.Length + i]) return false;
        return true;
    }

    /// <summary>The operand's values laid out over the full result size.</summary>
    internal static ReadOnlySpan<float> Expand(Tensor t, Mode mode, int fullSize)
    {
        if (mode == Mode.Full) return t.Data;
        var result = new float[fullSize];
        int n = t.Size;
        if (n == 1) { Array.Fill(result, t.Data[0]); return result; }
        if (mode == Mode.Tile)
        {
            Kernels.BroadcastRows(t.Data, result, fullSize / n);
        }
        else
        {
            int group = fullSize / n;
            for (int j = 0; j < n; j++) result.AsSpan(j * group, group).Fill(t.Data[j]);
        }
        return result;
    }

    /// <summary>Adds a full-size gradient into an operand's gradient, summing over the broadcast copies.</summary>
    internal static void AccumulateReduced(Tensor t, Mode mode, ReadOnlySpan<float> fullGradient)
    {
        if (mode == Mode.Full) { t.AccumulateGrad(fullGradient); return; }
        var g = t.GradBuffer();
        int n = t.Size;
        if (n == 1) { g[0] += System.Numerics.Tensors.TensorPrimitives.Sum(fullGradient); return; }
        if (mode == Mode.Tile)
        {
            for (int offset = 0; offset < fullGradient.Length; offset += n)
                System.Numerics.Tensors.TensorPrimitives.Add(g, fullGradient.Slice(offset, n), g);
        }
        else
        {
            int group = fullGradient.Length / n;
            for (int j = 0; j < n; j++) g[j] += System.Numerics.Tensors.TensorPrimitives.Sum(fullGradient.Slice(j * group, group));
        }
    }
}
