using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Tensors;

namespace Reinforce.Autograd;

public static partial class Ops
{
    /// <summary>
    /// Matrix product op(a) · op(b), where op transposes when asked. Without <paramref name="transposeA"/>, a may have
    /// leading batch dimensions ([..., K]); they are flattened into rows and restored in the result ([..., N]).
    /// b is always a matrix (see <see cref="BatchedMatMul"/> for a batch of matrices on both sides).
    /// </summary>
    [BypassReadyToRun]
    public static Tensor MatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (b.Rank != 2 || a.Rank < 2 || (transposeA && a.Rank != 2))
            throw new ArgumentException($"MatMul: shapes {Tensor.ShapeString(a.Shape)} and {Tensor.ShapeString(b.Shape)}: b must be a matrix, and a a matrix (or [..., K] without transposeA). For a batch of matrices on both sides use BatchedMatMul.");
        int m = transposeA ? a.Shape[1] : a.Size / a.Shape[^1];
        int k = transposeA ? a.Shape[0] : a.Shape[^1];
        int kb = transposeB ? b.Shape[1] : b.Shape[0];
        int n = transposeB ? b.Shape[0] : b.Shape[1];
        if (k != kb)
            throw new ArgumentException($"MatMul: inner dimensions differ: {Tensor.ShapeString(a.Shape)}{(transposeA ? "ᵀ" : "")} x {Tensor.ShapeString(b.Shape)}{(transposeB ? "ᵀ" : "")} ({k} vs {kb}).");
        int[] shape = a.Rank == 2 || transposeA ? [m, n] : [.. a.Shape[..^1], n];
        var y = Tensor.Zeros(shape);
        Kernels.MatMul(a.Data, b.Data, y.Data, m, k, n, transposeA, transposeB);
        return Graph.Record(y, "MatMul", a, b, () =>
            MatMulBackward(y.Grad!.Data, a.Data, b.Data, a.RequiresGrad ? a.GradBuffer() : default,
                b.RequiresGrad ? b.GradBuffer() : default, m, k, n, transposeA, transposeB));
    }

    /// <summary>
    /// A batch of matrix products: for each leading index, op(a[i]) · op(b[i]). a is [..., M, K] (or [..., K, M] with
    /// <paramref name="transposeA"/>), b is [..., K, N] (or [..., N, K] with <paramref name="transposeB"/>), with the same
    /// leading dimensions; the result is [..., M, N].
    /// </summary>
    public static Tensor BatchedMatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Rank < 3 || a.Rank != b.Rank || !a.Shape.AsSpan(0, a.Rank - 2).SequenceEqual(b.Shape.AsSpan(0, b.Rank - 2)))
            throw new ArgumentException($"BatchedMatMul: shapes {Tensor.ShapeString(a.Shape)} and {Tensor.ShapeString(b.Shape)} must both be [..., rows, cols] with the same leading (batch) dimensions.");
        int m = transposeA ? a.Shape[^1] : a.Shape[^2];
        int k = transposeA ? a.Shape[^2] : a.Shape[^1];
        int kb = transposeB ? b.Shape[^1] : b.Shape[^2];
        int n = transposeB ? b.Shape[^2] : b.Shape[^1];
        if (k != kb)
            throw new ArgumentException($"BatchedMatMul: inner dimensions differ: {Tensor.ShapeString(a.Shape)}{(transposeA ? "ᵀ" : "")} x {Tensor.ShapeString(b.Shape)}{(transposeB ? "ᵀ" : "")} ({k} vs {kb}).");
        int batch = (int)Tensor.ShapeSize(a.Shape[..^2]);
        var y = Tensor.Zeros([.. a.Shape[..^2], m, n]);
        for (int i = 0; i < batch; i++)
            Kernels.MatMul(a.Data.AsSpan(i * m * k, m * k), b.Data.AsSpan(i * k * n, k * n), y.Data.AsSpan(i * m * n, m * n), m, k, n, transposeA, transposeB);
        return Graph.Record(y, "BatchedMatMul", a, b, () =>
        {
            var g = y.Grad!.Data;
            var ga = a.RequiresGrad ? a.GradBuffer() : default;
            var gb = b.RequiresGrad ? b.GradBuffer() : default;
            for (int i = 0; i < batch; i++)
                MatMulBackward(g.AsSpan(i * m * n, m * n), a.Data.AsSpan(i * m * k, m * k), b.Data.AsSpan(i * k * n, k * n),
                    ga.IsEmpty ? default : ga.Slice(i * m * k, m * k), gb.IsEmpty ? default : gb.Slice(i * k * n, k * n),
                    m, k, n, transposeA, transposeB);
        });
    }

    /// <summary>
    /// A linear layer in PyTorch's layout: y = x·Wᵀ + b with x [..., in], <paramref name="weight"/> [out, in] and
    /// <paramref name="bias"/> [out] (or null). One matrix multiply plus the bias in the same pass over the output.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null) =>
        AffineCore("Linear", x, weight, bias, weightIsOutByIn: true);

    /// <summary>
    /// An affine map in GPT-2's layout (its "Conv1D"): y = x·W + b with x [..., in], <paramref name="weight"/> [in, out]
    /// and <paramref name="bias"/> [out] (or null).
    /// </summary>
    public static Tensor Affine(Tensor x, Tensor weight, Tensor? bias = null) =>
        AffineCore("Affine", x, weight, bias, weightIsOutByIn: false);

    private static Tensor AffineCore(string name, Tensor x, Tensor weight, Tensor? bias, bool weightIsOutByIn)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        string layout = weightIsOutByIn ? "[out, in]" : "[in, out]";
        if (weight.Rank != 2)
            throw new ArgumentException($"{name}: weight shape {Tensor.ShapeString(weight.Shape)} must be a matrix {layout}; the input has shape {Tensor.ShapeString(x.Shape)}.");
        int inFeatures = weightIsOutByIn ? weight.Shape[^1] : weight.Shape[0];
        int outFeatures = weightIsOutByIn ? weight.Shape[0] : weight.Shape[^1];
        if (x.Rank < 1 || x.LastDim != inFeatures)
            throw new ArgumentException($"{name}: input shape {Tensor.ShapeString(x.Shape)} does not fit weight shape {Tensor.ShapeString(weight.Shape)} (weight is {layout}, so the input's last dimension must be {inFeatures}).");
        if (bias is not null && (bias.Rank != 1 || bias.Size != outFeatures))
            throw new ArgumentException($"{name}: bias shape {Tensor.ShapeString(bias.Shape)} does not match weight shape {Tensor.ShapeString(weight.Shape)}: it must be [{outFeatures}].");
        int m = x.Rows, k = inFeatures, n = outFeatures;
        var y = Tensor.Uninitialized(x.Rank == 1 ? [n] : [.. x.Shape[..^1], n]);   // written whole: the bias, or the product
        var b = bias is null ? default : bias.Data.AsSpan();
        if (weightIsOutByIn) Kernels.LinearForward(x.Data, weight.Data, b, y.Data, m, k, n);
        else
        {
            // The bias is the starting value of every row, so the product accumulates onto it in one pass.
            if (bias is not null) Kernels.BroadcastRows(bias.Data, y.Data, m);
            Kernels.MatMul(x.Data, weight.Data, y.Data, m, k, n, accumulate: bias is not null);
        }
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return Graph.Record(y, name, inputs, () =>
        {
            var g = y.Grad!.Data;
            bool freshX = false;
            var gx = x.RequiresGrad ? x.GradBufferToSet(out freshX) : default;
            var gw = weight.RequiresGrad ? weight.GradBuffer() : default;
            var gb = bias is not null && bias.RequiresGrad ? bias.GradBuffer() : default;
            if (weightIsOutByIn) Kernels.LinearBackward(x.Data, weight.Data, g, gx, gw, gb, m, k, n, accumulateDx: !freshX);
            else
            {
                MatMulBackward(g, x.Data, weight.Data, gx, gw, m, k, n, false, false, setA: freshX);
                if (!gb.IsEmpty) Kernels.SumRows(g, gb, n, accumulate: true);
            }
        });
    }

    /// <summary>
    /// Accumulates the gradients of C = op(A)·op(B) (C is [m, n], the inner size k) given dC: into
    /// <paramref name="ga"/> and <paramref name="gb"/> when they are not empty (<paramref name="ga"/> written instead
    /// when <paramref name="setA"/>: a fresh gradient buffer, see <see cref="Tensor.GradBufferToSet"/>).
    /// </summary>
    [BypassReadyToRun]
    internal static void MatMulBackward(ReadOnlySpan<float> g, ReadOnlySpan<float> a, ReadOnlySpan<float> b,
        Span<float> ga, Span<float> gb, int m, int k, int n, bool transposeA, bool transposeB, bool setA = false)
    {
        if (!ga.IsEmpty)
        {
            bool add = !setA;
            if (!transposeA && !transposeB) Kernels.MatMul(g, b, ga, m, n, k, false, true, accumulate: add);   // dA = dC Bᵀ
            else if (!transposeA) Kernels.MatMul(g, b, ga, m, n, k, false, false, accumulate: add);           // dA = dC B
            else if (!transposeB) Kernels.MatMul(b, g, ga, k, n, m, false, true, accumulate: add);            // dA = B dCᵀ
            else Kernels.MatMul(b, g, ga, k, n, m, true, true, accumulate: add);                              // dA = Bᵀ dCᵀ
        }
        if (!gb.IsEmpty)
        {
            if (!transposeA && !transposeB) Kernels.MatMul(a, g, gb, k, m, n, true, false, accumulate: true);   // dB = Aᵀ dC
            else if (!transposeA) Kernels.MatMul(g, a, gb, n, m, k, true, false, accumulate: true);            // dB = dCᵀ A
            else if (!transposeB) Kernels.MatMul(a, g, gb, k, m, n, false, false, accumulate: true);           // dB = A dC
            else Kernels.MatMul(g, a, gb, n, m, k, true, true, accumulate: true);                              // dB = dCᵀ Aᵀ
        }
    }
}
