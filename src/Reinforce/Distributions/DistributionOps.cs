using System.Numerics.Tensors;
using Reinforce.Autograd;

namespace Reinforce.Distributions;

/// <summary>
/// The few differentiable operations the distributions need beyond <see cref="Ops"/>, each forward beside its backward.
/// They are computed in double element by element, with the stable forms that keep logits of ±1000 exact.
/// </summary>
internal static class DistributionOps
{
    /// <summary>
    /// The entropy −Σ_j p_j·log p_j of each row from normalised log-probabilities [N, C] → [N], with p = exp(log p), as
    /// one recorded operation. It performs exactly the float operations of the chain it replaces,
    /// <c>Neg(SumLastDim(Mul(Exp(logp), logp)))</c>, forward and backward and in the same order (the same
    /// <see cref="TensorPrimitives"/> calls on the same arrays), so results are the same bits; it saves the chain's four
    /// tensors and graph nodes, which cost more than the arithmetic in a training step of a small policy. Gradient:
    /// ∂H/∂log p_j = −p_j·(log p_j + 1) (the log-softmax before it turns this into −p_j·(log p_j + H) for the logits).
    /// </summary>
    internal static Tensor EntropyFromLogProbs(Tensor logProbs)
    {
        int c = logProbs.LastDim, rows = logProbs.Rows;
        var logp = logProbs.Data;
        var p = new float[logp.Length];
        var pLogp = new float[logp.Length];
        var entropy = Tensor.Zeros(logProbs.Rank <= 1 ? [] : logProbs.Shape[..^1]);
        EntropyRows(logp, p, pLogp, entropy.Data, c);
        return Graph.Record(entropy, "CategoricalEntropy", logProbs, () =>
            EntropyRowsBackward(entropy.Grad!.Data, logp, p, pLogp, new float[logp.Length], new float[rows], logProbs.GradBuffer(), c));
    }

    /// <summary>
    /// The arithmetic of <see cref="EntropyFromLogProbs"/>'s forward pass on spans: p = exp(log p), p·log p, and each
    /// row's entropy −Σ_j p_j·log p_j (rows of <paramref name="c"/> entries; <paramref name="entropy"/> has one per row).
    /// </summary>
    internal static void EntropyRows(ReadOnlySpan<float> logp, Span<float> p, Span<float> pLogp, Span<float> entropy, int c)
    {
        int rows = logp.Length / c;
        TensorPrimitives.Exp(logp, p[..logp.Length]);
        TensorPrimitives.Multiply(p[..logp.Length], logp, pLogp[..logp.Length]);
        if (c <= 3)
        {
            // TensorPrimitives.Sum of a row shorter than a vector, without a call per row: from 0, last element first.
            for (int r = 0, o = 0; r < rows; r++, o += c)
            {
                float sum = 0f;
                for (int j = c - 1; j >= 0; j--) sum += pLogp[o + j];
                entropy[r] = sum;
            }
        }
        else
        {
            for (int r = 0; r < rows; r++) entropy[r] = TensorPrimitives.Sum(pLogp.Slice(r * c, c));
        }
        TensorPrimitives.Multiply(entropy[..rows], -1f, entropy[..rows]);
    }

    /// <summary>
    /// The backward pass of <see cref="EntropyRows"/>: adds ∂(Σ_r g_r·H_r)/∂log p into <paramref name="gLogp"/>, as the chain
    /// Neg, SumLastDim, Mul, Exp would, in its order. <paramref name="gProduct"/> (the forward's p·log p may be passed: it is
    /// overwritten), <paramref name="gp"/> and <paramref name="gSum"/> are scratch of the logits' and the rows' sizes.
    /// </summary>
    internal static void EntropyRowsBackward(ReadOnlySpan<float> gEntropy, ReadOnlySpan<float> logp, ReadOnlySpan<float> p,
        Span<float> gProduct, Span<float> gp, Span<float> gSum, Span<float> gLogp, int c)
    {
        int n = logp.Length, rows = n / c;
        gProduct = gProduct[..n];
        gp = gp[..n];
        gSum = gSum[..rows];
        gLogp = gLogp[..n];
        // Neg, then SumLastDim: every entry of a row gets −g_r.
        gSum.Clear();
        TensorPrimitives.MultiplyAdd(gEntropy[..rows], -1f, gSum, gSum);
        gProduct.Clear();
        for (int r = 0, o = 0; r < rows; r++, o += c)
            for (int j = 0; j < c; j++) gProduct[o + j] += gSum[r];
        // Mul: d p = g·log p, d log p += g·p; then Exp: d log p += (d p)·p.
        gp.Clear();
        TensorPrimitives.MultiplyAdd(gProduct, logp, gp, gp);
        TensorPrimitives.MultiplyAdd(gProduct, p, gLogp, gLogp);
        TensorPrimitives.MultiplyAdd(gp, p, gLogp, gLogp);
    }

    /// <summary>
    /// Logits with the disallowed entries (mask false) replaced by a value so far below the row's largest allowed logit
    /// that their probability is exactly zero (exp underflows) while their log-probability stays finite, so
    /// p·log p is exactly 0 for them and no NaN or infinity can reach a gradient. The gradient flows to allowed entries only.
    /// </summary>
    /// <param name="logits">[N, C] logits.</param>
    /// <param name="allowed">N·C flags, true where the action may be taken.</param>
    public static Tensor MaskLogits(Tensor logits, bool[] allowed)
    {
        int c = logits.LastDim, rows = logits.Rows;
        var y = Tensor.Zeros(logits.Shape);
        var x = logits.Data;
        for (int r = 0; r < rows; r++)
        {
            int o = r * c;
            double max = double.NegativeInfinity;
            for (int j = 0; j < c; j++) if (allowed[o + j]) max = Math.Max(max, x[o + j]);
            // A gap of 1e4 + |max| puts exp(fill - max) far below double's smallest subnormal, for any finite max.
            float fill = (float)Math.Max(max - (1e4 + Math.Abs(max)), float.MinValue);
            for (int j = 0; j < c; j++) y.Data[o + j] = allowed[o + j] ? x[o + j] : fill;
        }
        return Graph.Record(y, "MaskLogits", logits, () =>
        {
            var g = y.Grad!.Data;
            var gx = logits.GradBuffer();
            for (int i = 0; i < g.Length; i++) if (allowed[i]) gx[i] += g[i];
        });
    }

    /// <summary>
    /// Bernoulli log-probability from logits: log σ(x) where a = 1, log σ(−x) = log(1 − σ(x)) where a = 0, computed as
    /// −softplus(∓x) with softplus(z) = max(z, 0) + log1p(exp(−|z|)). Gradient: a − σ(x).
    /// </summary>
    public static Tensor BernoulliLogProb(Tensor logits, float[] actions)
    {
        var y = Tensor.Zeros(logits.Shape);
        var x = logits.Data;
        for (int i = 0; i < x.Length; i++) y.Data[i] = (float)-Softplus(actions[i] != 0f ? -(double)x[i] : x[i]);
        return Graph.Record(y, "BernoulliLogProb", logits, () =>
        {
            var g = y.Grad!.Data;
            var gx = logits.GradBuffer();
            for (int i = 0; i < g.Length; i++) gx[i] += (float)(g[i] * (actions[i] - Sigmoid(x[i])));
        });
    }

    /// <summary>
    /// Bernoulli entropy from logits: H = softplus(x) − x·σ(x), computed in the symmetric, cancellation-free form
    /// log1p(exp(−|x|)) + |x|·σ(−|x|). Gradient: −x·σ(x)·σ(−x).
    /// </summary>
    public static Tensor BernoulliEntropy(Tensor logits)
    {
        var y = Tensor.Zeros(logits.Shape);
        var x = logits.Data;
        for (int i = 0; i < x.Length; i++)
        {
            double a = Math.Abs((double)x[i]);
            y.Data[i] = (float)(Log1p(Math.Exp(-a)) + a * Sigmoid(-a));
        }
        return Graph.Record(y, "BernoulliEntropy", logits, () =>
        {
            var g = y.Grad!.Data;
            var gx = logits.GradBuffer();
            for (int i = 0; i < g.Length; i++)
            {
                double v = x[i];
                gx[i] += (float)(-g[i] * v * Sigmoid(v) * Sigmoid(-v));
            }
        });
    }

    /// <summary>σ(x) = 1 / (1 + exp(−x)), exact at both tails (0 and 1, never NaN).</summary>
    public static double Sigmoid(double x) => x >= 0 ? 1.0 / (1.0 + Math.Exp(-x)) : Math.Exp(x) / (1.0 + Math.Exp(x));

    /// <summary>log(1 + exp(z)) without overflow or loss of the small tail.</summary>
    public static double Softplus(double z) => Math.Max(z, 0.0) + Log1p(Math.Exp(-Math.Abs(z)));

    /// <summary>log(1 + u) accurate for small u (the classic correction: log(w)·u/(w − 1) with w = 1 + u).</summary>
    public static double Log1p(double u)
    {
        double w = 1.0 + u;
        return w == 1.0 ? u : Math.Log(w) * u / (w - 1.0);
    }
}
