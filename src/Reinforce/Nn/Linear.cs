using Reinforce.Autograd;

namespace Reinforce.Nn;

/// <summary>
/// y = x·Wᵀ + b, PyTorch's <c>nn.Linear</c>: <see cref="Weight"/> is [out, in], <see cref="Bias"/> [out]. Initialised as
/// PyTorch does by default: both uniform on ±1/√in.
/// </summary>
public sealed class Linear : Module
{
    public Linear(int inFeatures, int outFeatures, Rng rng, bool bias = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outFeatures);
        ArgumentNullException.ThrowIfNull(rng);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        double bound = 1.0 / Math.Sqrt(inFeatures);
        Weight = RegisterParameter("weight", Init.Uniform(Tensor.Zeros(outFeatures, inFeatures), -bound, bound, rng));
        if (bias) Bias = RegisterParameter("bias", Init.Uniform(Tensor.Zeros(outFeatures), -bound, bound, rng));
    }

    public int InFeatures { get; }
    public int OutFeatures { get; }

    /// <summary>[out, in].</summary>
    public Parameter Weight { get; }

    /// <summary>[out], or null.</summary>
    public Parameter? Bias { get; }

    /// <summary>x [..., in] → [..., out], one matrix multiply with the bias added in the same pass.</summary>
    public override Tensor Forward(Tensor x) => Ops.Linear(x, Weight.Value, Bias?.Value);
}

/// <summary>
/// y = x·W + b with <see cref="Weight"/> stored [in, out]: GPT-2's layout (its <c>Conv1D</c>), so GPT-2 checkpoints
/// load without transposing. Initialised N(0, 0.02²) with a zero bias, as GPT-2.
/// </summary>
public sealed class TransposedLinear : Module
{
    public TransposedLinear(int inFeatures, int outFeatures, Rng rng, bool bias = true, double initStd = 0.02)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outFeatures);
        ArgumentNullException.ThrowIfNull(rng);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", Init.Normal(Tensor.Zeros(inFeatures, outFeatures), initStd, rng));
        if (bias) Bias = RegisterParameter("bias", Tensor.Zeros(outFeatures));
    }

    public int InFeatures { get; }
    public int OutFeatures { get; }

    /// <summary>[in, out].</summary>
    public Parameter Weight { get; }

    /// <summary>[out], or null.</summary>
    public Parameter? Bias { get; }

    /// <summary>The LoRA adapter on this layer, if any (see <see cref="Transformers.LoraAdapters"/>).</summary>
    public Transformers.LoraAdapter? Adapter { get; internal set; }

    /// <summary>The weight the layer computes with: W, or W + ΔW while a LoRA adapter is active.</summary>
    public Tensor EffectiveWeight => Adapter is { Active: true } a ? a.EffectiveWeight(Weight.Value) : Weight.Value;

    public override Tensor Forward(Tensor x)
    {
        if (Adapter is { Active: true, TrainingDropout: > 0f } a)
        {
            // PEFT's form with dropout on the adapter's input: x·W + b + scale·(drop(x)·Aᵀ)·Bᵀ.
            int rows = x.Size / InFeatures;
            float p = a.TrainingDropout, keep = 1f / (1f - p);
            var mask = Tensor.Zeros(x.Shape);
            var rng = a.DropoutRng;
            for (int i = 0; i < mask.Data.Length; i++) mask.Data[i] = rng.NextDouble() < p ? 0f : keep;
            var dropped = Ops.Reshape(Ops.Mul(x, mask), rows, InFeatures);
            var update = Ops.MatMul(Ops.MatMul(dropped, a.A.Value, transposeB: true), a.B.Value, transposeB: true);
            var outShape = x.Shape.ToArray();
            outShape[^1] = OutFeatures;
            return Ops.Add(Ops.Affine(x, Weight.Value, Bias?.Value), Ops.Reshape(Ops.MulScalar(update, a.Scale), outShape));
        }
        return Ops.Affine(x, EffectiveWeight, Bias?.Value);
    }
}
