using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime;
using Reinforce.Nn;

namespace Reinforce.Optim;

/// <summary>
/// Adam (Kingma &amp; Ba), exactly as PyTorch's <c>torch.optim.Adam</c>: g = g + wd·p (L2, coupled);
/// m = β₁·m + (1 − β₁)·g; v = β₂·v + (1 − β₂)·g²; p = p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + eps).
/// Note eps is added after the bias correction of √v, as PyTorch does (not to √v̂ before dividing).
/// </summary>
public class Adam : Optimizer
{
    private static readonly string[] MomentBuffers = ["exp_avg", "exp_avg_sq"];
    private readonly bool _decoupled;
    private bool[]? _decays;   // per parameter: whether the weight decay applies (null: to all)
    private long _correctedStep = -1;     // the step the bias corrections below were computed for
    private double _biasCorrection1;
    private float _biasCorrection2Sqrt;

    /// <summary>Creates Adam over <paramref name="parameters"/> (optionally named, for saved state).</summary>
    /// <param name="parameters">The tensors to update.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="beta1">Decay of the first-moment average.</param>
    /// <param name="beta2">Decay of the second-moment average.</param>
    /// <param name="eps">Added to the denominator (PPO implementations often use 1e-5).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient (coupled, as Adam's weight_decay in PyTorch; see <see cref="AdamW"/> for decoupled).</param>
    /// <param name="names">Parameter names for saved state (null: by position).</param>
    public Adam(IEnumerable<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
        float weightDecay = 0f, IEnumerable<string>? names = null)
        : this(parameters, lr, beta1, beta2, eps, weightDecay, names, decoupled: false)
    {
    }

    /// <summary>For <see cref="AdamW"/>: the same moments with the weight decay applied to the parameter directly.</summary>
    private protected Adam(IEnumerable<Tensor> parameters, float lr, float beta1, float beta2, float eps, float weightDecay,
        IEnumerable<string>? names, bool decoupled)
        : base(parameters, lr, names)
    {
        _decoupled = decoupled;
        Configure(beta1, beta2, eps, weightDecay);
    }

    /// <summary>Creates Adam over a module's parameters (<c>model.Parameters()</c>), keyed in saved state by their names.</summary>
    public Adam(IEnumerable<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0f)
        : this(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: false)
    {
    }

    /// <summary>For <see cref="AdamW"/> over module parameters.</summary>
    private protected Adam(IEnumerable<Parameter> parameters, float lr, float beta1, float beta2, float eps, float weightDecay, bool decoupled)
        : base(parameters, lr)
    {
        _decoupled = decoupled;
        Configure(beta1, beta2, eps, weightDecay);
    }

    /// <summary>Limits the weight decay to the parameters marked true (one flag per parameter, in order).</summary>
    private protected void SetDecays(bool[] decays)
    {
        if (decays.Length != Parameters.Count) throw new ArgumentException($"{Algorithm}: {decays.Length} weight-decay flags for {Parameters.Count} parameters.", nameof(decays));
        _decays = decays;
    }

    /// <summary>Decay of the first-moment (mean) average.</summary>
    public float Beta1 { get; private set; }

    /// <summary>Decay of the second-moment (uncentred variance) average.</summary>
    public float Beta2 { get; private set; }

    /// <summary>Added to the bias-corrected root of the second moment.</summary>
    public float Eps { get; private set; }

    /// <summary>Weight-decay coefficient (L2 for Adam, decoupled for AdamW).</summary>
    public float WeightDecay { get; private set; }

    /// <inheritdoc />
    public override string Algorithm => "Adam";

    /// <inheritdoc />
    protected override IReadOnlyList<string> BufferNames => MomentBuffers;

    /// <inheritdoc />
    protected override int ScratchCount => 1;

    private void Configure(float beta1, float beta2, float eps, float weightDecay)
    {
        string name = Algorithm;
        CheckRange(name, "beta1", beta1, 0f, 1f, maxExclusive: true);
        CheckRange(name, "beta2", beta2, 0f, 1f, maxExclusive: true);
        CheckRange(name, "eps", eps, 0f, float.MaxValue);
        CheckRange(name, "weightDecay", weightDecay, 0f, float.MaxValue);
        Beta1 = beta1;
        Beta2 = beta2;
        _correctedStep = -1;
        Eps = eps;
        WeightDecay = weightDecay;
    }

    /// <summary>
    /// Without weight decay an update reads only its own parameter (and the bias corrections, computed before the threads
    /// start); with it, it reads which parameters decay by <see cref="Optimizer.ParameterIndex"/> and may use the shared scratch.
    /// </summary>
    internal override bool StepsParametersIndependently => WeightDecay == 0f;

    /// <summary>The bias corrections, computed in double as PyTorch computes them in Python floats, once per step (every parameter of a step shares them).</summary>
    private protected override void PrepareSharedStep(long step)
    {
        _biasCorrection1 = 1.0 - Math.Pow(Beta1, step);
        _biasCorrection2Sqrt = (float)Math.Sqrt(1.0 - Math.Pow(Beta2, step));
        _correctedStep = step;
    }

    /// <inheritdoc />
    [BypassReadyToRun]
    protected override void Update(Span<float> parameter, ReadOnlySpan<float> gradient, float[][] buffers, long step)
    {
        int n = parameter.Length;
        var expAvg = buffers[0].AsSpan();
        var expAvgSq = buffers[1].AsSpan();
        var scratch = ScratchA(n);
        ReadOnlySpan<float> g = gradient;

        if (WeightDecay != 0f && (_decays is null || _decays[ParameterIndex]))
        {
            if (_decoupled)
            {
                // AdamW: p *= 1 − lr·wd before the Adam step (PyTorch's order).
                TensorPrimitives.Multiply(parameter, (float)(1.0 - (double)LearningRate * WeightDecay), parameter);
            }
            else
            {
                TensorPrimitives.MultiplyAdd(parameter, WeightDecay, gradient, scratch);
                g = scratch;
            }
        }

        if (step != _correctedStep) PrepareSharedStep(step);
        float stepSize = (float)(LearningRate / _biasCorrection1);
        float biasCorrection2Sqrt = _biasCorrection2Sqrt;
        Step(parameter, g, expAvg, expAvgSq, Beta1, Beta2, Eps, stepSize, biasCorrection2Sqrt);
    }

    /// <summary>
    /// The Adam step in one pass over the parameter, its gradient and both moments (one read and write of each element
    /// instead of eleven whole-array passes). Each element sees the operations of PyTorch's single-tensor Adam in the same
    /// order, each rounded to float (no fused multiply-add), so the result is bit-identical to the pass-by-pass form:
    /// m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; p −= stepSize · m / (√v / √(1−β₂ᵗ) + eps).
    /// </summary>
    [BypassReadyToRun]
    internal static void Step(Span<float> parameter, ReadOnlySpan<float> gradient, Span<float> expAvg, Span<float> expAvgSq,
        float beta1, float beta2, float eps, float stepSize, float biasCorrection2Sqrt)
    {
        int n = parameter.Length;
        if (gradient.Length != n || expAvg.Length != n || expAvgSq.Length != n)
            throw new ArgumentException($"Adam.Step: the parameter has {n} elements, the gradient {gradient.Length}, the moments {expAvg.Length} and {expAvgSq.Length}.");
        float oneMinusBeta1 = 1f - beta1, oneMinusBeta2 = 1f - beta2, negativeStep = -stepSize;
        int i = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            // The same operations as below, sixteen elements at a time (each is rounded the same way in any width).
            var b1 = Vector512.Create(beta1);
            var b2 = Vector512.Create(beta2);
            var c1 = Vector512.Create(oneMinusBeta1);
            var c2 = Vector512.Create(oneMinusBeta2);
            var bc2 = Vector512.Create(biasCorrection2Sqrt);
            var epsilon = Vector512.Create(eps);
            var step = Vector512.Create(negativeStep);
            ref float pRef = ref MemoryMarshal.GetReference(parameter);
            ref float gRef = ref MemoryMarshal.GetReference(gradient);
            ref float mRef = ref MemoryMarshal.GetReference(expAvg);
            ref float vRef = ref MemoryMarshal.GetReference(expAvgSq);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var g = Vector512.LoadUnsafe(ref gRef, (nuint)i);
                var m = Vector512.LoadUnsafe(ref mRef, (nuint)i) * b1;
                m = g * c1 + m;
                var v = Vector512.LoadUnsafe(ref vRef, (nuint)i) * b2;
                v = (g * g) * c2 + v;
                var denom = Vector512.Sqrt(v) / bc2 + epsilon;
                var p = (m / denom) * step + Vector512.LoadUnsafe(ref pRef, (nuint)i);
                m.StoreUnsafe(ref mRef, (nuint)i);
                v.StoreUnsafe(ref vRef, (nuint)i);
                p.StoreUnsafe(ref pRef, (nuint)i);
            }
        }
        if (Vector256.IsHardwareAccelerated && n - i >= Vector256<float>.Count)
        {
            var b1 = Vector256.Create(beta1);
            var b2 = Vector256.Create(beta2);
            var c1 = Vector256.Create(oneMinusBeta1);
            var c2 = Vector256.Create(oneMinusBeta2);
            var bc2 = Vector256.Create(biasCorrection2Sqrt);
            var epsilon = Vector256.Create(eps);
            var step = Vector256.Create(negativeStep);
            ref float pRef = ref MemoryMarshal.GetReference(parameter);
            ref float gRef = ref MemoryMarshal.GetReference(gradient);
            ref float mRef = ref MemoryMarshal.GetReference(expAvg);
            ref float vRef = ref MemoryMarshal.GetReference(expAvgSq);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var g = Vector256.LoadUnsafe(ref gRef, (nuint)i);
                var m = Vector256.LoadUnsafe(ref mRef, (nuint)i) * b1;
                m = g * c1 + m;
                var v = Vector256.LoadUnsafe(ref vRef, (nuint)i) * b2;
                v = (g * g) * c2 + v;
                var denom = Vector256.Sqrt(v) / bc2 + epsilon;
                var p = (m / denom) * step + Vector256.LoadUnsafe(ref pRef, (nuint)i);
                m.StoreUnsafe(ref mRef, (nuint)i);
                v.StoreUnsafe(ref vRef, (nuint)i);
                p.StoreUnsafe(ref pRef, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float g = gradient[i];
            float m = expAvg[i] * beta1;
            m = g * oneMinusBeta1 + m;
            float v = expAvgSq[i] * beta2;
            v = (g * g) * oneMinusBeta2 + v;
            float denom = MathF.Sqrt(v) / biasCorrection2Sqrt + eps;
            parameter[i] = (m / denom) * negativeStep + parameter[i];
            expAvg[i] = m;
            expAvgSq[i] = v;
        }
    }

    /// <inheritdoc />
    protected override void WriteHyperparameters(IDictionary<string, double> destination)
    {
        destination["beta1"] = Beta1;
        destination["beta2"] = Beta2;
        destination["eps"] = Eps;
        destination["weight_decay"] = WeightDecay;
    }

    /// <inheritdoc />
    protected override void ReadHyperparameters(IReadOnlyDictionary<string, double> source) =>
        Configure((float)source["beta1"], (float)source["beta2"], (float)source["eps"], (float)source["weight_decay"]);
}

/// <summary>
/// AdamW (Loshchilov &amp; Hutter), exactly as PyTorch's <c>torch.optim.AdamW</c>: first p = p·(1 − lr·wd) (decoupled
/// weight decay, not added to the gradient), then the <see cref="Adam"/> step with the unmodified gradient.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates AdamW over <paramref name="parameters"/> (PyTorch's default weight decay 0.01).</summary>
    public AdamW(IEnumerable<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
        float weightDecay = 0.01f, IEnumerable<string>? names = null)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, names, decoupled: true)
    {
    }

    /// <summary>Creates AdamW over a module's parameters (<c>model.Parameters()</c>), keyed in saved state by their names.</summary>
    public AdamW(IEnumerable<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0.01f)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: true)
    {
    }

    /// <inheritdoc />
    public override string Algorithm => "AdamW";

    /// <summary>
    /// AdamW over every parameter of <paramref name="model"/> as transformer training sets it up: the weight decay applies
    /// to the matrices (parameters of rank 2 or more: linear weights and embeddings) and not to the vectors (biases and
    /// LayerNorm gains), which decay would only pull towards zero. Parameters are keyed by their names in saved state.
    /// </summary>
    public static AdamW DecayingMatrices(Module model, float lr, float weightDecay, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f)
    {
        ArgumentNullException.ThrowIfNull(model);
        var named = model.NamedParameters().ToList();
        var optimizer = new AdamW(named.Select(p => p.Parameter.Value), lr, beta1, beta2, eps, weightDecay, named.Select(p => p.Name));
        optimizer.SetDecays([.. named.Select(p => p.Parameter.Value.Rank >= 2)]);
        return optimizer;
    }
}
