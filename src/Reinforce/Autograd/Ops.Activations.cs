using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime;
using Reinforce.Tensors;

namespace Reinforce.Autograd;

public static partial class Ops
{
    /// <summary>tanh(x).</summary>
    public static Tensor Tanh(Tensor x)
    {
        var y = Tensor.Zeros(x.Shape);
        TensorPrimitives.Tanh(x.Data, y.Data);
        return Graph.Record(y, "Tanh", x, () =>
        {
            // d tanh = 1 − y²
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int i = 0; i < gx.Length; i++) gx[i] += g[i] * (1f - y.Data[i] * y.Data[i]);
        });
    }

    /// <summary>max(x, 0); the gradient at exactly 0 is 0, as in PyTorch.</summary>
    public static Tensor Relu(Tensor x)
    {
        var y = Tensor.Zeros(x.Shape);
        TensorPrimitives.Max(x.Data, 0f, y.Data);
        return Graph.Record(y, "Relu", x, [BypassReadyToRun] () =>
        {
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int i = 0; i < gx.Length; i++) if (x.Data[i] > 0f) gx[i] += g[i];
        });
    }

    /// <summary>1 / (1 + exp(−x)).</summary>
    public static Tensor Sigmoid(Tensor x)
    {
        var y = Tensor.Zeros(x.Shape);
        TensorPrimitives.Sigmoid(x.Data, y.Data);
        return Graph.Record(y, "Sigmoid", x, () =>
        {
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int i = 0; i < gx.Length; i++) gx[i] += g[i] * y.Data[i] * (1f - y.Data[i]);
        });
    }

    /// <summary>ELU: x for x &gt; 0, α(eˣ − 1) otherwise (PyTorch's <c>elu</c>; α = 1 by default).</summary>
    public static Tensor Elu(Tensor x, float alpha = 1f)
    {
        var y = Tensor.Zeros(x.Shape);
        // eˣ − 1 in double: in float it loses most digits for small negative x.
        for (int i = 0; i < y.Size; i++) y.Data[i] = x.Data[i] > 0f ? x.Data[i] : (float)(alpha * SpecialFunctions.Expm1(x.Data[i]));
        return Graph.Record(y, "Elu", x, () =>
        {
            // dy/dx = 1 for x > 0, α·eˣ = y + α otherwise
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int i = 0; i < gx.Length; i++) gx[i] += x.Data[i] > 0f ? g[i] : g[i] * (y.Data[i] + alpha);
        });
    }

    private const float SqrtTwoOverPi = 0.7978845608028654f;
    private const float GeluCubic = 0.044715f;

    /// <summary>
    /// GELU, tanh approximation (PyTorch's <c>gelu(approximate="tanh")</c>, GPT-2's "gelu_new"):
    /// ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
    /// </summary>
    public static Tensor GeluTanh(Tensor x)
    {
        // ½(1 + tanh z) = σ(2z): the sigmoid form keeps full relative precision in the negative tail, where 1 + tanh z
        // would cancel, and runs on the vectorised sigmoid. 2z = x·(a + b·x²) with a = 2√(2/π), b = a·0.044715, in SIMD.
        // Large tensors (a GPT's MLP) are split over the cores in blocks of whole vectors: the same bits on any thread count.
        int n = x.Size;
        var s = TensorArena.AllocateUninitialized(n);
        var xd = x.Data;
        var y = Tensor.Uninitialized(x.Shape);
        var yd = y.Data;
        Kernels.ForRanges(n, 8, (from, to) =>
        {
            var sr = s.AsSpan(from, to - from);
            var xr = xd.AsSpan(from, to - from);
            GeluTanhScale(xr, sr);
            TensorPrimitives.Sigmoid(sr, sr);
            TensorPrimitives.Multiply(xr, sr, yd.AsSpan(from, to - from));
        }, alignment: 64);
        return Graph.Record(y, "GeluTanh", x, () =>
        {
            var g = y.Grad!.Data;
            x.GradBufferToSet(out bool fresh);
            var gx = x.Grad!.Data;   // an array: the ranges below run in lambdas
            Kernels.ForRanges(n, 8, (from, to) => GeluTanhBackward(xd.AsSpan(from, to - from), s.AsSpan(from, to - from), g.AsSpan(from, to - from), gx.AsSpan(from, to - from), set: fresh), alignment: 64);
            TensorArena.Release(s);
        });
    }

    private const float GeluA = 2f * SqrtTwoOverPi, GeluB = GeluA * GeluCubic;

    /// <summary>s = x·(a + b·x²), the argument of GELU's sigmoid.</summary>
    [BypassReadyToRun]
    private static void GeluTanhScale(ReadOnlySpan<float> x, Span<float> s)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var v = Vector256.Create(x[i..]);
                (v * (Vector256.Create(GeluA) + Vector256.Create(GeluB) * v * v)).CopyTo(s[i..]);
            }
        }
        for (; i < x.Length; i++) s[i] = x[i] * (GeluA + GeluB * x[i] * x[i]);
    }

    /// <summary>
    /// gx += g·dy/dx with dy/dx = s + x·s(1 − s)·(a + 3b·x²), s the forward's sigmoid; gx = g·dy/dx when
    /// <paramref name="set"/> (a fresh gradient buffer, its contents unspecified).
    /// </summary>
    [BypassReadyToRun]
    private static void GeluTanhBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> s, ReadOnlySpan<float> g, Span<float> gx, bool set)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256.Create(1f);
            for (; j <= x.Length - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                var v = Vector256.Create(x[j..]);
                var sv = Vector256.Create(s[j..]);
                var dz = Vector256.Create(GeluA) + Vector256.Create(3f * GeluB) * v * v;
                var d = sv + v * sv * (one - sv) * dz;
                var term = Vector256.Create(g[j..]) * d;
                (set ? term : Vector256.Create(gx[j..]) + term).CopyTo(gx[j..]);
            }
        }
        for (; j < x.Length; j++)
        {
            float v = x[j], si = s[j];
            float term = g[j] * (si + v * si * (1f - si) * (GeluA + 3f * GeluB * v * v));
            gx[j] = set ? term : gx[j] + term;
        }
    }

    /// <summary>GELU, exact form (PyTorch's default <c>gelu</c>): x·Φ(x) with Φ the standard normal CDF.</summary>
    public static Tensor GeluErf(Tensor x)
    {
        int n = x.Size;
        var cdf = TensorArena.Allocate(n);
        var y = Tensor.Zeros(x.Shape);
        for (int i = 0; i < n; i++)
        {
            double phi = SpecialFunctions.NormalCdf(x.Data[i]);
            cdf[i] = (float)phi;
            y.Data[i] = (float)(x.Data[i] * phi);
        }
        return Graph.Record(y, "GeluErf", x, () =>
        {
            // dy/dx = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π)
            const double invSqrtTwoPi = 0.3989422804014327;
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int i = 0; i < n; i++)
            {
                double v = x.Data[i];
                gx[i] += (float)(g[i] * (cdf[i] + v * invSqrtTwoPi * Math.Exp(-0.5 * v * v)));
            }
        });
    }

    /// <summary>
    /// Softplus: log(1 + e^(βx))/β, and exactly x where βx &gt; <paramref name="threshold"/> (PyTorch's <c>softplus</c>,
    /// β = 1, threshold 20 by default).
    /// </summary>
    public static Tensor Softplus(Tensor x, float beta = 1f, float threshold = 20f)
    {
        if (!(beta > 0f)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "Softplus: beta must be positive.");
        var y = Tensor.Zeros(x.Shape);
        for (int i = 0; i < y.Size; i++)
        {
            float bx = beta * x.Data[i];
            y.Data[i] = bx > threshold ? x.Data[i] : (float)(SpecialFunctions.Softplus(bx) / beta);
        }
        return Graph.Record(y, "Softplus", x, () =>
        {
            // dy/dx = σ(βx), and 1 above the threshold
            var g = y.Grad!.Data;
            var gx = x.GradBuffer();
            for (int i = 0; i < gx.Length; i++)
            {
                float bx = beta * x.Data[i];
                gx[i] += bx > threshold ? g[i] : g[i] * (float)(1.0 / (1.0 + Math.Exp(-bx)));
            }
        });
    }
}
