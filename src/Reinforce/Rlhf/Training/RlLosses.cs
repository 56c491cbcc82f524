using Reinforce.Autograd;

namespace Reinforce.Rlhf.Training;

/// <summary>
/// The policy-gradient losses of RL fine-tuning on flat arrays of terms (tokens or whole sequences), with per-term
/// weights that carry both the padding mask and the averaging (a weight of 1/|o| for each token of a completion o
/// averages within the sequence; a further 1/N averages over the batch).
/// </summary>
public static class RlLosses
{
    /// <summary>
    /// PPO's clipped surrogate: Σ_m w_m · max(−ρ_m A_m, −clip(ρ_m, 1 − ε, 1 + ε) A_m), with ρ_m = exp(logp_m − old_m).
    /// At ρ = 1 (the first update on fresh samples) its gradient is the plain policy gradient −Σ w A ∇logp.
    /// Also returns the clip fraction: the weighted share of terms where the clipped branch is the larger loss.
    /// </summary>
    public static (Tensor Loss, double ClipFraction) ClippedSurrogate(Tensor logProbs, ReadOnlySpan<float> oldLogProbs,
        ReadOnlySpan<float> advantages, ReadOnlySpan<float> weights, float clipRange)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        int m = logProbs.Size;
        if (oldLogProbs.Length != m || advantages.Length != m || weights.Length != m)
            throw new ArgumentException($"ClippedSurrogate: {m} log-probs need as many old log-probs, advantages and weights (got {oldLogProbs.Length}, {advantages.Length}, {weights.Length}).");
        if (!(clipRange > 0f)) throw new ArgumentOutOfRangeException(nameof(clipRange), clipRange, "ClippedSurrogate: the clip range must be positive (0.2 is usual).");
        var flat = Ops.Reshape(logProbs, m);
        var ratio = Ops.Exp(Ops.Sub(flat, Tensor.FromArray(oldLogProbs.ToArray())));
        var adv = Tensor.FromArray(advantages.ToArray());
        var unclipped = Ops.Neg(Ops.Mul(ratio, adv));
        var clipped = Ops.Neg(Ops.Mul(Ops.Clamp(ratio, 1f - clipRange, 1f + clipRange), adv));
        var perTerm = Ops.Maximum(unclipped, clipped);
        var loss = Ops.Sum(Ops.Mul(perTerm, Tensor.FromArray(weights.ToArray())));
        double clippedWeight = 0, totalWeight = 0;
        for (int i = 0; i < m; i++)
        {
            totalWeight += weights[i];
            if (clipped.Data[i] > unclipped.Data[i]) clippedWeight += weights[i];
        }
        return (loss, totalWeight > 0 ? clippedWeight / totalWeight : 0);
    }

    /// <summary>
    /// GRPO's KL penalty: Σ_m w_m · k3_m with k3 = exp(ref − logp) − (ref − logp) − 1, the unbiased, never-negative
    /// estimator of KL(π‖π_ref) at a token sampled from π.
    /// </summary>
    public static Tensor K3Penalty(Tensor logProbs, ReadOnlySpan<float> refLogProbs, ReadOnlySpan<float> weights)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        int m = logProbs.Size;
        if (refLogProbs.Length != m || weights.Length != m)
            throw new ArgumentException($"K3Penalty: {m} log-probs need as many reference log-probs and weights (got {refLogProbs.Length}, {weights.Length}).");
        var diff = Ops.Sub(Tensor.FromArray(refLogProbs.ToArray()), Ops.Reshape(logProbs, m));
        var k3 = Ops.AddScalar(Ops.Sub(Ops.Exp(diff), diff), -1f);
        return Ops.Sum(Ops.Mul(k3, Tensor.FromArray(weights.ToArray())));
    }

    /// <summary>
    /// PPO's clipped value loss: Σ_m w_m · ½ max((V − R)², (V_old + clip(V − V_old, −ε, ε) − R)²), which keeps the value
    /// head from moving far from the values the advantages were computed with.
    /// </summary>
    public static Tensor ClippedValueLoss(Tensor values, ReadOnlySpan<float> oldValues, ReadOnlySpan<float> returns,
        ReadOnlySpan<float> weights, float clipRange)
    {
        ArgumentNullException.ThrowIfNull(values);
        int m = values.Size;
        if (oldValues.Length != m || returns.Length != m || weights.Length != m)
            throw new ArgumentException($"ClippedValueLoss: {m} values need as many old values, returns and weights (got {oldValues.Length}, {returns.Length}, {weights.Length}).");
        var v = Ops.Reshape(values, m);
        var old = Tensor.FromArray(oldValues.ToArray());
        var ret = Tensor.FromArray(returns.ToArray());
        var unclipped = Ops.Square(Ops.Sub(v, ret));
        var vClipped = Ops.Add(old, Ops.Clamp(Ops.Sub(v, old), -clipRange, clipRange));
        var clipped = Ops.Square(Ops.Sub(vClipped, ret));
        return Ops.MulScalar(Ops.Sum(Ops.Mul(Ops.Maximum(unclipped, clipped), Tensor.FromArray(weights.ToArray()))), 0.5f);
    }
}
