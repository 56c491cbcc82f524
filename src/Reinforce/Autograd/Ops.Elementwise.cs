using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Tensors;
using static Reinforce.Tensors.Broadcast;

namespace Reinforce.Autograd;

/// <summary>
/// Differentiable operations. Each forward is followed by its backward closure, which reads the output's
/// gradient and accumulates into the inputs' gradients (micrograd's shape, on tensors).
/// </summary>
public static partial class Ops
{
    /// <summary>a + b, with broadcasting (see <see cref="Broadcast"/>).</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        var (shape, ma, mb) = Plan("Add", a, b);
        var y = Tensor.Uninitialized(shape);   // every element written below
        TensorPrimitives.Add(Expand(a, ma, y.Size), Expand(b, mb, y.Size), y.Data);
        return Graph.Record(y, "Add", a, b, () =>
        {
            var g = y.Grad!.Data;
            if (a.RequiresGrad) AccumulateReduced(a, ma, g);
            if (b.RequiresGrad) AccumulateReduced(b, mb, g);
        });
    }

    /// <summary>a - b, with broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b)
    {
        var (shape, ma, mb) = Plan("Sub", a, b);
        var y = Tensor.Uninitialized(shape);   // every element written below
        TensorPrimitives.Subtract(Expand(a, ma, y.Size), Expand(b, mb, y.Size), y.Data);
        return Graph.Record(y, "Sub", a, b, () =>
        {
            var g = y.Grad!.Data;
            if (a.RequiresGrad) AccumulateReduced(a, ma, g);
            if (b.RequiresGrad)
            {
                if (mb == Mode.Full) TensorPrimitives.Subtract(b.GradBuffer(), g, b.GradBuffer());
                else AccumulateReduced(b, mb, Negated(g));
            }
        });
    }

    /// <summary>a * b element-wise, with broadcasting.</summary>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        var (shape, ma, mb) = Plan("Mul", a, b);
        var y = Tensor.Uninitialized(shape);   // every element written below
        var ea = ExpandedArray(a, ma, y.Size);
        var eb = ExpandedArray(b, mb, y.Size);
        TensorPrimitives.Multiply(ea, eb, y.Data);
        return Graph.Record(y, "Mul", a, b, () =>
        {
            var g = y.Grad!.Data;
            if (a.RequiresGrad) AccumulateProduct(a, ma, g, eb);
            if (b.RequiresGrad) AccumulateProduct(b, mb, g, ea);
        });
    }

    /// <summary>a / b element-wise, with broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b)
    {
        var (shape, ma, mb) = Plan("Div", a, b);
        var y = Tensor.Uninitialized(shape);   // every element written below
        var ea = ExpandedArray(a, ma, y.Size);
        var eb = ExpandedArray(b, mb, y.Size);
        TensorPrimitives.Divide(ea, eb, y.Data);
        return Graph.Record(y, "Div", a, b, () =>
        {
            // d(a/b)/da = 1/b ; d(a/b)/db = -a/b² = -y/b
            var g = y.Grad!.Data;
            var tmp = TensorArena.Allocate(g.Length);
            if (a.RequiresGrad)
            {
                TensorPrimitives.Divide(g, eb, tmp);
                AccumulateReduced(a, ma, tmp);
            }
            if (b.RequiresGrad)
            {
                TensorPrimitives.Multiply(g, y.Data, tmp);
                TensorPrimitives.Divide(tmp, eb, tmp);
                TensorPrimitives.Negate(tmp, tmp);
                AccumulateReduced(b, mb, tmp);
            }
            TensorArena.Release(tmp);
        });
    }

    /// <summary>x + c.</summary>
    public static Tensor AddScalar(Tensor x, float c)
    {
        var y = Tensor.Zeros(x.Shape);
        TensorPrimitives.Add(x.Data, c, y.Data);
        return Graph.Record(y, "AddScalar", x, () => x.AccumulateGrad(y.Grad!.Data));
    }

    /// <summary>x * c.</summary>
    public static Tensor MulScalar(Tensor x, float c)
    {
        var y = Tensor.Zeros(x.Shape);
        TensorPrimitives.Multiply(x.Data, c, y.Data);
        return Graph.Record(y, "MulScalar", x, () =>
        {
            var gx = x.GradBuffer();
            TensorPrimitives.MultiplyAdd(y.Grad!.Data, c, gx, gx);
        });
    }

    /// <summary>-x.</summary>
    public static Tensor Neg(Tensor x) => MulScalar(x, -1f);

    /// <summary>exp(x).</summary>
    public static Tensor Exp(Tensor x)
    {
        var y = Tensor.Zeros(x.Shape);
        TensorPrimitives.Exp(x.Data, y.Data);
        return Graph.Record(y, "Exp", x, () =>
        {
            var gx = x.GradBuffer();
            TensorPrimitives.MultiplyAdd(y.Grad!.Data, y.Data, gx, gx);
        });
    }

    /// <summary>Natural logarithm.</summary>
    public static Tensor Log(Tensor x)
    {
        var y = Tensor.Zeros(x.Shape);
        TensorPrimitives.Log(x.Data, y.Data);
        return Graph.Record(y, "Log", x, () =>
        {
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int i = 0; i < gx.Length; i++) gx[i] += g[i] / x.Data[i];
        });
    }

    /// <summary>x².</summary>
    public static Tensor Square(Tensor x)
    {
        var y = Tensor.Zeros(x.Shape);
        TensorPrimitives.Multiply(x.Data, x.Data, y.Data);
        return Graph.Record(y, "Square", x, [BypassReadyToRun] () =>
        {
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int i = 0; i < gx.Length; i++) gx[i] += 2f * g[i] * x.Data[i];
        });
    }

    /// <summary>√x.</summary>
    public static Tensor Sqrt(Tensor x)
    {
        var y = Tensor.Zeros(x.Shape);
        TensorPrimitives.Sqrt(x.Data, y.Data);
        return Graph.Record(y, "Sqrt", x, () =>
        {
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int i = 0; i < gx.Length; i++) gx[i] += 0.5f * g[i] / y.Data[i];
        });
    }

    /// <summary>xᵖ for a constant exponent p (gradient p·xᵖ⁻¹).</summary>
    public static Tensor Pow(Tensor x, float p)
    {
        var y = Tensor.Zeros(x.Shape);
        for (int i = 0; i < y.Size; i++) y.Data[i] = MathF.Pow(x.Data[i], p);
        return Graph.Record(y, "Pow", x, () =>
        {
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int i = 0; i < gx.Length; i++) gx[i] += g[i] * p * MathF.Pow(x.Data[i], p - 1f);
        });
    }

    /// <summary>|x| (gradient sign(x), 0 at 0).</summary>
    public static Tensor Abs(Tensor x)
    {
        var y = Tensor.Zeros(x.Shape);
        TensorPrimitives.Abs(x.Data, y.Data);
        return Graph.Record(y, "Abs", x, () =>
        {
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int i = 0; i < gx.Length; i++) gx[i] += x.Data[i] > 0 ? g[i] : x.Data[i] < 0 ? -g[i] : 0f;
        });
    }

    /// <summary>x clamped to [min, max]; the gradient passes where x is inside the interval (PyTorch's clamp).</summary>
    public static Tensor Clamp(Tensor x, float min, float max)
    {
        if (min > max) throw new ArgumentException($"Clamp: min {min} is greater than max {max}.");
        var y = Tensor.Zeros(x.Shape);
        TensorPrimitives.Clamp(x.Data, min, max, y.Data);
        return Graph.Record(y, "Clamp", x, () =>
        {
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int i = 0; i < gx.Length; i++) if (x.Data[i] >= min && x.Data[i] <= max) gx[i] += g[i];
        });
    }

    /// <summary>Element-wise minimum of two same-shaped tensors; the gradient goes to the smaller.</summary>
    /// <remarks>PyTorch's element-wise minimum splits the gradient evenly on exact ties; so does this.</remarks>
    public static Tensor Minimum(Tensor a, Tensor b) => MinMax(a, b, isMin: true);

    /// <summary>Element-wise maximum of two same-shaped tensors (gradient split evenly on ties, as PyTorch).</summary>
    public static Tensor Maximum(Tensor a, Tensor b) => MinMax(a, b, isMin: false);

    private static Tensor MinMax(Tensor a, Tensor b, bool isMin)
    {
        string name = isMin ? "Minimum" : "Maximum";
        RequireSameShape(name, a, b);
        var y = Tensor.Zeros(a.Shape);
        if (isMin) TensorPrimitives.Min(a.Data, b.Data, y.Data); else TensorPrimitives.Max(a.Data, b.Data, y.Data);
        return Graph.Record(y, name, a, b, () =>
        {
            var g = y.Grad!.Data;
            var ga = a.RequiresGrad ? a.GradBuffer() : default;
            var gb = b.RequiresGrad ? b.GradBuffer() : default;
            for (int i = 0; i < g.Length; i++)
            {
                float av = a.Data[i], bv = b.Data[i];
                float toA = av == bv ? 0.5f * g[i] : (av < bv) == isMin ? g[i] : 0f;
                float toB = av == bv ? 0.5f * g[i] : g[i] - toA;
                if (!ga.IsEmpty) ga[i] += toA;
                if (!gb.IsEmpty) gb[i] += toB;
            }
        });
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>The operand laid out over the full size: its own array when it already is full size (no copy).</summary>
    private static float[] ExpandedArray(Tensor t, Mode mode, int fullSize) =>
        mode == Mode.Full ? t.Data : Expand(t, mode, fullSize).ToArray();

    /// <summary>Accumulates g ⊙ factor into t's gradient, reduced over t's broadcast copies.</summary>
    private static void AccumulateProduct(Tensor t, Mode mode, ReadOnlySpan<float> g, ReadOnlySpan<float> factor)
    {
        if (mode == Mode.Full)
        {
            var gt = t.GradBuffer();
            TensorPrimitives.MultiplyAdd(g, factor, gt, gt);
            return;
        }
        var tmp = TensorArena.Allocate(g.Length);
        TensorPrimitives.Multiply(g, factor, tmp);
        AccumulateReduced(t, mode, tmp);
        TensorArena.Release(tmp);
    }

    internal static float[] Product(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var r = new float[a.Length];
        TensorPrimitives.Multiply(a, b, r);
        return r;
    }

    private static float[] Negated(ReadOnlySpan<float> a)
    {
        var r = new float[a.Length];
        TensorPrimitives.Negate(a, r);
        return r;
    }

    /// <summary>Throws an exception naming the operation and both shapes when they differ.</summary>
    internal static void RequireSameShape(string operation, Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!Tensor.SameShape(a.Shape, b.Shape))
            throw new ArgumentException($"{operation}: shapes {Tensor.ShapeString(a.Shape)} and {Tensor.ShapeString(b.Shape)} must be equal.");
    }
}
