using System.Numerics.Tensors;
using Reinforce.Autograd;

namespace Reinforce.Algorithms;

/// <summary>
/// PPO's whole minibatch loss as one recorded operation:
/// <code>
///   loss = share · ( −mean(min(r·Â, clip(r, 1 − ε, 1 + ε)·Â)) + c₂·(−mean(S)) + c₁·L^VF )
///   r = exp(log π_θ(a|s) − log π_old(a|s)),  L^VF = mean((V − V^targ)²)  or, with ε_vf, mean(max((V − V^targ)², (V_old + clip(V − V_old, −ε_vf, ε_vf) − V^targ)²))
/// </code>
/// It computes, in one pass forward and one backward, exactly what the chain of element-wise operations it replaces
/// computed (<c>Exp</c>, <c>Clamp</c>, <c>Minimum</c>, <c>Mean</c>, <c>Square</c>, ... and the scalar sums): the same
/// float operations in the same order, so the loss and every gradient are the same bits (a test compares them with
/// the chain). What it saves is the chain's cost: some twenty tensors, closures and graph nodes per minibatch.
/// </summary>
internal static class PpoObjective
{
    /// <summary>The loss's parts, for the metrics (policy loss, value loss, mean entropy).</summary>
    public readonly record struct Parts(float PolicyLoss, float ValueLoss, float Entropy);

    /// <summary>
    /// The loss (a scalar tensor, recorded so that <c>Backward</c> reaches <paramref name="logProb"/>,
    /// <paramref name="entropy"/> and <paramref name="values"/>); <paramref name="ratio"/> and <paramref name="logRatio"/>
    /// receive r and log r per sample (for the approximate KL and the clip fraction).
    /// </summary>
    public static Tensor Loss(
        Tensor logProb, Tensor entropy, Tensor values, Minibatch batch,
        float epsilon, float? epsilonVf, float entropyCoef, float valueCoef, float share,
        Span<float> ratio, Span<float> logRatio, out Parts parts)
    {
        int n = logProb.Size;
        if (entropy.Size != n || values.Size != n || batch.Size != n || ratio.Length != n || logRatio.Length != n)
            throw new ArgumentException($"PpoObjective: {n} log-probabilities, {entropy.Size} entropies, {values.Size} values, a minibatch of {batch.Size} and {ratio.Length} ratio slots must agree.");
        var old = batch.OldLogProbs.Data;
        var advantages = batch.Advantages.Data;
        var returns = batch.Returns.Data;
        var oldValues = batch.OldValues.Data;
        float lo = 1f - epsilon, hi = 1f + epsilon;

        // The policy term: surrogate and clipped surrogate, their minimum, its mean.
        TensorPrimitives.Subtract(logProb.Data, old, logRatio);
        TensorPrimitives.Exp(logRatio, ratio);
        double minimumSum = 0;
        for (int i = 0; i < n; i++)
        {
            float surrogate = ratio[i] * advantages[i];
            float clipped = Math.Clamp(ratio[i], lo, hi) * advantages[i];
            minimumSum += MathF.Min(surrogate, clipped);
        }
        float policyLoss = ((float)minimumSum / n) * -1f;

        // The value term: squared error, or the larger of the plain and the clipped squared error.
        double squareSum = 0;
        for (int i = 0; i < n; i++)
        {
            float d = values.Data[i] - returns[i];
            float square = d * d;
            if (epsilonVf is float e)
            {
                float clippedD = oldValues[i] + Math.Clamp(values.Data[i] - oldValues[i], -e, e) - returns[i];
                square = MathF.Max(square, clippedD * clippedD);
            }
            squareSum += square;
        }
        float valueLoss = (float)squareSum / n;

        float entropyMean = Ops.PairwiseSum(entropy.Data) / n;
        float entropyLoss = entropyMean * -1f;
        float total = policyLoss + entropyCoef * entropyLoss + valueCoef * valueLoss;
        if (share != 1f) total *= share;
        parts = new Parts(policyLoss, valueLoss, entropyMean);

        var y = Tensor.Scalar(total);
        var savedRatio = ratio.ToArray();
        float? vf = epsilonVf;
        // Without an entropy bonus (c₂ = 0, the common case) the entropy is reported but takes no part in the gradient:
        // it is left out of the recorded inputs, so the backward pass never visits its operation (its contribution
        // would be zeros, which change no gradient).
        Tensor[] inputs = entropyCoef == 0f ? [logProb, values] : [logProb, entropy, values];
        return Graph.Record(y, "PpoObjective", inputs, () =>
        {
            float g = y.Grad!.Data[0];
            if (share != 1f) g *= share;
            // Scalars: policyLoss = −mean(m), entropyLoss = −mean(S), c₂·entropyLoss, c₁·valueLoss.
            float perMinimum = (g * -1f) / n;
            float perEntropy = ((g * entropyCoef) * -1f) / n;
            float perSquare = (g * valueCoef) / n;

            if (logProb.RequiresGrad)
            {
                var gl = logProb.GradBuffer();
                for (int i = 0; i < n; i++)
                {
                    float r = savedRatio[i], a = advantages[i];
                    float surrogate = r * a, clipped = Math.Clamp(r, lo, hi) * a;
                    float toSurrogate = surrogate == clipped ? 0.5f * perMinimum : surrogate < clipped ? perMinimum : 0f;
                    float toClipped = surrogate == clipped ? 0.5f * perMinimum : perMinimum - toSurrogate;
                    float gRatio = toSurrogate * a;
                    if (r >= lo && r <= hi) gRatio += toClipped * a;
                    gl[i] += gRatio * r;
                }
            }
            if (entropyCoef != 0f && entropy.RequiresGrad)
            {
                var ge = entropy.GradBuffer();
                for (int i = 0; i < n; i++) ge[i] += perEntropy;
            }
            if (values.RequiresGrad)
            {
                var gv = values.GradBuffer();
                for (int i = 0; i < n; i++)
                {
                    float v = values.Data[i];
                    float d = v - returns[i];
                    if (vf is not float e)
                    {
                        gv[i] += 2f * perSquare * d;
                        continue;
                    }
                    float delta = v - oldValues[i];
                    float clippedD = oldValues[i] + Math.Clamp(delta, -e, e) - returns[i];
                    float plain = d * d, clippedSquare = clippedD * clippedD;
                    float toPlain = plain == clippedSquare ? 0.5f * perSquare : plain > clippedSquare ? perSquare : 0f;
                    float toClipped = plain == clippedSquare ? 0.5f * perSquare : perSquare - toPlain;
                    float fromPlain = 2f * toPlain * d;
                    float fromClipped = delta >= -e && delta <= e ? 2f * toClipped * clippedD : 0f;
                    gv[i] += fromPlain + fromClipped;
                }
            }
        });
    }
}
