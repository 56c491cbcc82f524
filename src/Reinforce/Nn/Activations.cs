using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Autograd;
using Reinforce.Tensors;

namespace Reinforce.Nn;

/// <summary>The element-wise nonlinearities a network can use between layers (each described once by an <see cref="ActivationFunction"/>).</summary>
public enum Activation
{
    /// <summary>tanh.</summary>
    Tanh,
    /// <summary>max(x, 0).</summary>
    Relu,
    /// <summary>ELU with α = 1.</summary>
    Elu,
    /// <summary>GELU, tanh approximation (GPT-2's).</summary>
    GeluTanh,
    /// <summary>GELU, exact (erf) form.</summary>
    GeluErf,
    /// <summary>The logistic sigmoid.</summary>
    Sigmoid,
    /// <summary>log(1 + eˣ).</summary>
    Softplus,
    /// <summary>No nonlinearity.</summary>
    Identity,
}

/// <summary>In-place activation of a span of pre-activations (the compiled path's kernel).</summary>
public delegate void ActivationKernel(Span<float> z);

/// <summary>dz = g ⊙ f′, written from the activation's output y = f(z) (the compiled path's derivative).</summary>
public delegate void ActivationDerivative(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> dz);

/// <summary>z ← f(z + b) for rows of b's length in one pass, or false when this shape has no fused form (nothing done).</summary>
internal delegate bool ActivationBiasKernel(Span<float> z, ReadOnlySpan<float> bias);

/// <summary>The derivative and columnSums += Σ_rows dz in one pass, or false when this shape has no fused form (nothing done).</summary>
internal delegate bool ActivationDerivativeWithColumnSums(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> dz, Span<float> columnSums, int cols);

/// <summary>
/// Everything the library knows about one activation, in one place: its configuration names, its differentiable
/// operation (used by <see cref="ActivationLayer"/> and the autograd path), its span kernel and derivative (used by the
/// compiled <see cref="FusedMlp"/>), its ONNX operator (used by the exporter) and its initialisation gain. Adding an
/// activation is one entry in <see cref="Activations.All"/>: one operation and one kernel.
/// </summary>
public sealed class ActivationFunction
{
    internal ActivationFunction(Activation kind, string[] names, Func<Tensor, Tensor> operation, ActivationKernel? kernel,
        ActivationDerivative? derivative, string? onnxOperator, float? onnxAlpha = null, float gain = 1f,
        ActivationBiasKernel? biasKernel = null, ActivationDerivativeWithColumnSums? derivativeWithColumnSums = null)
    {
        _biasKernel = biasKernel;
        _derivativeWithColumnSums = derivativeWithColumnSums;
        Kind = kind;
        Names = names;
        Operation = operation;
        Kernel = kernel;
        Derivative = derivative;
        OnnxOperator = onnxOperator;
        OnnxAlpha = onnxAlpha;
        Gain = gain;
    }

    /// <summary>The enumeration value.</summary>
    public Activation Kind { get; }

    /// <summary>The names configuration files accept (the first is the canonical one).</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The canonical configuration name.</summary>
    public string Name => Names[0];

    /// <summary>The differentiable operation y = f(x) (recorded on the autograd tape).</summary>
    public Func<Tensor, Tensor> Operation { get; }

    /// <summary>The in-place span kernel of the compiled path (null: the activation has no compiled form).</summary>
    public ActivationKernel? Kernel { get; }

    /// <summary>The derivative from the output (null when f′ cannot be written from y alone, as for GELU).</summary>
    public ActivationDerivative? Derivative { get; }

    /// <summary>Whether <see cref="FusedMlp"/> (and so the policy networks) can use this activation.</summary>
    public bool IsCompilable => Kernel is not null && Derivative is not null;

    private readonly ActivationBiasKernel? _biasKernel;
    private readonly ActivationDerivativeWithColumnSums? _derivativeWithColumnSums;

    /// <summary>
    /// z ← f(z + b) for <paramref name="rows"/> rows of b's length (a layer's product, its bias and activation): one pass
    /// where the activation has a fused form for this width, else the bias added and <see cref="Kernel"/> run. The same
    /// bits either way. For compilable activations only.
    /// </summary>
    [BypassReadyToRun]
    internal void ActivateWithBias(Span<float> z, ReadOnlySpan<float> bias, int rows)
    {
        if (_biasKernel?.Invoke(z, bias) == true) return;
        Kernels.AddRowToRows(bias, z, rows);
        Kernel!(z);
    }

    /// <summary>
    /// dz = g ⊙ f′ from the output y, and <paramref name="biasGradient"/> += Σ_rows dz (rows of <paramref name="cols"/>):
    /// one pass where the activation has a fused form for this width, else <see cref="Derivative"/> then
    /// <see cref="Kernels.SumRows"/>. The same bits either way. For compilable activations only.
    /// </summary>
    internal void DerivativeWithBiasGradient(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> dz, Span<float> biasGradient, int cols)
    {
        if (_derivativeWithColumnSums?.Invoke(y, g, dz, biasGradient, cols) == true) return;
        Derivative!(y, g, dz);
        Kernels.SumRows(dz[..y.Length], biasGradient, cols, accumulate: true);
    }

    /// <summary>The ONNX operator ("" for identity: no node; null: not exportable).</summary>
    public string? OnnxOperator { get; }

    /// <summary>The ONNX node's <c>alpha</c> attribute, when it has one (ELU).</summary>
    public float? OnnxAlpha { get; }

    /// <summary>PyTorch's <c>calculate_gain</c> for this nonlinearity.</summary>
    public float Gain { get; }

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>The activations, and applying and parsing them.</summary>
public static class Activations
{
    private static readonly ActivationFunction[] Table =
    [
        new(Activation.Tanh, ["tanh"], Ops.Tanh, FastTanh.InPlace, FastTanh.Backward, "Tanh", gain: 5f / 3f,
            biasKernel: FastTanh.TryBiasInPlace, derivativeWithColumnSums: FastTanh.TryBackwardWithColumnSums),
        new(Activation.Relu, ["relu"], Ops.Relu,
            z => TensorPrimitives.Max(z, 0f, z),
            [BypassReadyToRun] (y, g, dz) => { for (int i = 0; i < y.Length; i++) dz[i] = y[i] > 0f ? g[i] : 0f; },
            "Relu", gain: MathF.Sqrt(2f)),
        new(Activation.Elu, ["elu"], x => Ops.Elu(x),
            z => { for (int i = 0; i < z.Length; i++) if (z[i] <= 0f) z[i] = MathF.Exp(z[i]) - 1f; },
            (y, g, dz) => { for (int i = 0; i < y.Length; i++) dz[i] = y[i] > 0f ? g[i] : g[i] * (y[i] + 1f); },   // α·eᶻ = y + α
            "Elu", onnxAlpha: 1f),
        new(Activation.GeluTanh, ["gelu_tanh", "gelu", "gelu_new"], Ops.GeluTanh, null, null, null),
        new(Activation.GeluErf, ["gelu_erf", "gelu_exact"], Ops.GeluErf, null, null, null),
        new(Activation.Sigmoid, ["sigmoid"], Ops.Sigmoid,
            z => TensorPrimitives.Sigmoid(z, z),
            (y, g, dz) => { for (int i = 0; i < y.Length; i++) dz[i] = g[i] * y[i] * (1f - y[i]); },
            "Sigmoid"),
        new(Activation.Softplus, ["softplus"], x => Ops.Softplus(x),
            // log(1 + eᶻ) without overflow: max(z, 0) + log(1 + e^-|z|); its derivative σ(z) = 1 − e^(−y).
            z => { for (int i = 0; i < z.Length; i++) z[i] = MathF.Max(z[i], 0f) + MathF.Log(1f + MathF.Exp(-MathF.Abs(z[i]))); },
            (y, g, dz) => { for (int i = 0; i < y.Length; i++) dz[i] = g[i] * (1f - MathF.Exp(-y[i])); },
            "Softplus"),
        new(Activation.Identity, ["identity", "linear", "none"], x => x, _ => { }, (_, g, dz) => g.CopyTo(dz), ""),
    ];

    /// <summary>Every activation, in the order of <see cref="Activation"/>.</summary>
    public static IReadOnlyList<ActivationFunction> All => Table;

    /// <summary>The description of <paramref name="activation"/>.</summary>
    public static ActivationFunction Of(Activation activation) =>
        (uint)activation < (uint)Table.Length ? Table[(int)activation]
            : throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");

    /// <summary>The canonical names of the activations <see cref="FusedMlp"/> and the policies accept ("tanh, relu, ...").</summary>
    public static string CompilableNames => string.Join(", ", Table.Where(a => a.IsCompilable).Select(a => a.Name));

    /// <summary>Applies <paramref name="activation"/>'s differentiable operation.</summary>
    public static Tensor Apply(Activation activation, Tensor x) => Of(activation).Operation(x);

    /// <summary>Parses a name as used in configuration files: tanh, relu, elu, gelu (tanh form), gelu_tanh, gelu_erf, sigmoid, softplus, identity.</summary>
    public static Activation Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string key = name.Trim().ToLowerInvariant().Replace("-", "_", StringComparison.Ordinal);
        foreach (var a in Table)
            if (a.Names.Contains(key)) return a.Kind;
        throw new ArgumentException($"Unknown activation '{name}'; use one of {string.Join(", ", Table.Select(a => a.Name))}.", nameof(name));
    }
}

/// <summary>A module that applies an <see cref="Activation"/> (it has no parameters).</summary>
public sealed class ActivationLayer(Activation kind) : Module
{
    /// <summary>Which activation.</summary>
    public Activation Kind { get; } = kind;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Activations.Of(Kind).Operation(x);
}
