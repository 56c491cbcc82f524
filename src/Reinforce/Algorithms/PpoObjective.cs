using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Autograd;
using Reinforce.Tensors;
using Reinforce.Distributions;

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
internal static partial class PpoObjective
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
        var terms = new Terms(batch, epsilon, epsilonVf, entropyCoef, valueCoef, share, n, TensorArena.Allocate(n));
        var y = Tensor.Uninitialized([]);
        y.Data[0] = terms.Forward(logProb.Data, entropy.Data, values.Data, ratio, logRatio, out parts);
        // Without an entropy bonus (c₂ = 0, the common case) the entropy is reported but takes no part in the gradient:
        // it is left out of the recorded inputs, so the backward pass never visits its operation (its contribution
        // would be zeros, which change no gradient).
        ReadOnlySpan<Tensor> inputs = entropyCoef == 0f ? [logProb, values] : [logProb, entropy, values];
        return Graph.Record(y, "PpoObjective", inputs, (Terms: terms, LogProb: logProb, Entropy: entropy, Values: values, Y: y), static s =>
        {
            float g = s.Y.Grad!.Data[0];
            if (s.LogProb.RequiresGrad) s.Terms.PolicyGradient(g, s.LogProb.GradBuffer());
            if (s.Terms.EntropyCoef != 0f && s.Entropy.RequiresGrad) s.Terms.EntropyGradient(g, s.Entropy.GradBuffer());
            if (s.Values.RequiresGrad) s.Terms.ValueGradient(g, s.Values.Data, s.Values.GradBuffer());
        });
    }

    /// <summary>Buffers for <see cref="CategoricalLoss"/>, reused from one minibatch to the next.</summary>
    public sealed class Workspace
    {
        internal float[] LogProbs = [], Probs = [], Scratch = [], GradLogProbs = [], Gp = [];
        internal float[] TakenLogProb = [], Entropy = [], GradTaken = [], GradEntropy = [], GradSum = [], Ratio = [];
        internal int[] Actions = [];
        internal int Classes;

        // The short-rows path (rows of two or three logits, sixteen rows per vector): the log-probabilities, probabilities
        // and softmax column by column, each column padded to a whole number of vectors; the per-row buffers above are
        // padded as well.
        internal float[] ColumnLogProbs = [], ColumnProbs = [], ColumnSoftmax = [], ColumnSums = [];
        internal int Stride;
        internal bool ShortRows;

        /// <summary>Sizes the buffers for <paramref name="rows"/> rows of <paramref name="c"/> logits, those of the short-rows path or the row-by-row one.</summary>
        [BypassReadyToRun]
        internal void Ensure(int rows, int c, bool shortRows)
        {
            int padded = (rows + 15) & ~15;
            if (Entropy.Length != padded)
            {
                TakenLogProb = new float[padded];
                Entropy = new float[padded];
                GradTaken = new float[padded];
                GradEntropy = new float[padded];
                GradSum = new float[padded];
                Ratio = new float[padded];
                Actions = new int[padded];
            }
            if (!shortRows && LogProbs.Length != rows * c)
            {
                LogProbs = new float[rows * c];
                Probs = new float[rows * c];
                Scratch = new float[rows * c];
                GradLogProbs = new float[rows * c];
                Gp = new float[rows * c];
            }
            if (shortRows && ColumnLogProbs.Length != padded * c)
            {
                ColumnLogProbs = new float[padded * c];
                ColumnProbs = new float[padded * c];
                ColumnSoftmax = new float[padded * c];
                ColumnSums = new float[padded];
            }
            Stride = padded;
        }
    }

    /// <summary>
    /// <see cref="Loss"/> for a categorical policy, from its logits [N, C] and the actions taken (0-based), as one recorded
    /// operation: log-softmax, the taken actions' log-probabilities, the entropy and the loss forward, and backward
    /// straight to the logits. It performs the float operations of the separate operations it stands for
    /// (<c>Categorical</c>'s log-softmax, gather and entropy, then <see cref="Loss"/>) in the order the autograd walk ran
    /// them — the entropy's gradient, then the gather's, then the log-softmax's — so the gradients are the same bits
    /// (FusedLossTests compares the two); it saves their tensors, graph nodes and allocations in every minibatch.
    /// </summary>
    [BypassReadyToRun]
    public static Tensor CategoricalLoss(
        Tensor logits, ReadOnlySpan<int> actions, Tensor values, Minibatch batch,
        float epsilon, float? epsilonVf, float entropyCoef, float valueCoef, float share,
        Workspace workspace, Span<float> ratio, Span<float> logRatio, out Parts parts)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(workspace);
        if (logits.Rank != 2) throw new ArgumentException($"PpoObjective: logits of shape {Tensor.ShapeString(logits.Shape)}; expected [N, C].");
        int n = logits.Shape[0], c = logits.Shape[1];
        if (actions.Length != n || values.Size != n || batch.Size != n || ratio.Length != n || logRatio.Length != n)
            throw new ArgumentException($"PpoObjective: {n} rows of logits, {actions.Length} actions, {values.Size} values, a minibatch of {batch.Size} and {ratio.Length} ratio slots must agree.");
        var ws = workspace;
        CategoricalForward(logits, actions, ws);
        var terms = new Terms(batch, epsilon, epsilonVf, entropyCoef, valueCoef, share, n, ws.Ratio);
        var y = Tensor.Uninitialized([]);
        y.Data[0] = terms.Forward(ws.TakenLogProb, ws.Entropy, values.Data, ratio, logRatio, out parts);
        return Graph.Record(y, "PpoCategoricalObjective", [logits, values], (Terms: terms, Logits: logits, Values: values, Workspace: ws, Y: y), static s =>
        {
            var (terms, logits, values, ws) = (s.Terms, s.Logits, s.Values, s.Workspace);
            float g = s.Y.Grad!.Data[0];
            if (values.RequiresGrad) terms.ValueGradient(g, values.Data, values.GradBuffer());
            if (logits.RequiresGrad) CategoricalBackward(terms, ws, g, logits.GradBuffer());
        });
    }

    /// <summary>
    /// The policy side's forward pass for <see cref="CategoricalLoss"/>: the checks, log-softmax, the taken actions'
    /// log-probabilities and the entropy, into <paramref name="ws"/> (sized for the logits).
    /// </summary>
    [BypassReadyToRun]
    internal static void CategoricalForward(Tensor logits, ReadOnlySpan<int> actions, Workspace ws)
    {
        int n = logits.Shape[0], c = logits.Shape[1];
        ws.ShortRows = ShortRowsApply(n, c);
        ws.Ensure(n, c, ws.ShortRows);
        ws.Classes = c;
        Categorical.CheckFinite(logits.Data.AsSpan(0, n * c), c);
        Categorical.CheckActions(actions, c);
        actions.CopyTo(ws.Actions);
        if (ws.ShortRows)
        {
            ShortRowsForward(logits.Data.AsSpan(0, n * c), n, c, ws);
            return;
        }
        var logp = ws.LogProbs;
        Kernels.LogSoftmaxRows(logits.Data.AsSpan(0, n * c), logp, c);
        for (int r = 0; r < n; r++) ws.TakenLogProb[r] = logp[r * c + actions[r]];
        DistributionOps.EntropyRows(logp, ws.Probs, ws.Scratch, ws.Entropy, c);
    }

    /// <summary>
    /// The policy side's backward pass: the loss's gradient <paramref name="g"/> to the logits, added into
    /// <paramref name="logitsGrad"/>, in the order the separate operations' autograd walk ran it (the entropy's gradient,
    /// then the gather's, then the log-softmax's).
    /// </summary>
    internal static void CategoricalBackward(in Terms terms, Workspace ws, float g, Span<float> logitsGrad)
    {
        int n = terms.Count, c = ws.Classes;
        if (ws.ShortRows)
        {
            ShortRowsBackward(terms, ws, g, logitsGrad);
            return;
        }
        // The loss's gradient for the taken log-probabilities and the entropies, each into zeros (as fresh gradients).
        var logp = ws.LogProbs;
        var gLogp = ws.GradLogProbs;
        Array.Clear(gLogp);
        Array.Clear(ws.GradTaken);
        terms.PolicyGradient(g, ws.GradTaken);
        if (terms.EntropyCoef != 0f)
        {
            Array.Clear(ws.GradEntropy);
            terms.EntropyGradient(g, ws.GradEntropy);
            DistributionOps.EntropyRowsBackward(ws.GradEntropy, logp, ws.Probs, ws.Scratch, ws.Gp, ws.GradSum, gLogp, c);
        }
        // The gather's backward, then the log-softmax's into the logits' gradient.
        for (int r = 0; r < n; r++) gLogp[r * c + ws.Actions[r]] += ws.GradTaken[r];
        Kernels.LogSoftmaxBackwardRows(logp, gLogp, logitsGrad, c);
    }

    /// <summary>
    /// The loss's terms for one minibatch: its forward pass, and each input's gradient from the loss's. The forward pass
    /// keeps r per sample in <c>savedRatio</c> (n long) for the policy gradient.
    /// </summary>
    internal readonly struct Terms(Minibatch batch, float epsilon, float? epsilonVf, float entropyCoef, float valueCoef, float share, int n, float[] savedRatio)
    {
        private readonly float[] _advantages = batch.Advantages.Data, _returns = batch.Returns.Data, _oldValues = batch.OldValues.Data;
        private readonly float _lo = 1f - epsilon, _hi = 1f + epsilon;
        private readonly float[] _ratio = savedRatio;

        /// <summary>The minibatch's size.</summary>
        public int Count => n;

        /// <summary>c₂, the entropy bonus's coefficient.</summary>
        public float EntropyCoef => entropyCoef;

        /// <summary>The loss; r and log r per sample into <paramref name="ratio"/> and <paramref name="logRatio"/>.</summary>
        public float Forward(ReadOnlySpan<float> logProb, ReadOnlySpan<float> entropy, ReadOnlySpan<float> values,
            Span<float> ratio, Span<float> logRatio, out Parts parts)
        {
            var (policyLoss, entropyMean) = PolicyForward(logProb, entropy, ratio, logRatio);
            float valueLoss = ValueForward(values);
            parts = new Parts(policyLoss, valueLoss, entropyMean);
            return Total(parts);
        }

        /// <summary>The policy term −mean(min(r·Â, clip(r)·Â)) and the mean entropy; r and log r per sample into the spans (and kept for the gradient).</summary>
        [BypassReadyToRun]
        public (float PolicyLoss, float EntropyMean) PolicyForward(ReadOnlySpan<float> logProb, ReadOnlySpan<float> entropy, Span<float> ratio, Span<float> logRatio)
        {
            var old = batch.OldLogProbs.Data;
            var advantages = _advantages;
            float lo = _lo, hi = _hi;

            // The policy term: surrogate and clipped surrogate, their minimum, its mean.
            TensorPrimitives.Subtract(logProb[..n], old, logRatio);
            TensorPrimitives.Exp(logRatio, ratio);
            double minimumSum = 0;
            for (int i = 0; i < n; i++)
            {
                float surrogate = ratio[i] * advantages[i];
                float clipped = Math.Clamp(ratio[i], lo, hi) * advantages[i];
                minimumSum += MathF.Min(surrogate, clipped);
            }
            float policyLoss = ((float)minimumSum / n) * -1f;
            float entropyMean = Ops.PairwiseSum(entropy[..n]) / n;
            ratio[..n].CopyTo(_ratio);
            return (policyLoss, entropyMean);
        }

        /// <summary>The value term: mean squared error, or of the larger of the plain and the clipped error.</summary>
        [BypassReadyToRun]
        public float ValueForward(ReadOnlySpan<float> values)
        {
            double squareSum = 0;
            for (int i = 0; i < n; i++)
            {
                float d = values[i] - _returns[i];
                float square = d * d;
                if (epsilonVf is float e)
                {
                    float clippedD = _oldValues[i] + Math.Clamp(values[i] - _oldValues[i], -e, e) - _returns[i];
                    square = MathF.Max(square, clippedD * clippedD);
                }
                squareSum += square;
            }
            return (float)squareSum / n;
        }

        /// <summary>The loss from its parts: policy − c₂·entropy + c₁·value, times this rank's share.</summary>
        public float Total(Parts parts)
        {
            float entropyLoss = parts.Entropy * -1f;
            float total = parts.PolicyLoss + entropyCoef * entropyLoss + valueCoef * parts.ValueLoss;
            if (share != 1f) total *= share;
            return total;
        }

        /// <summary>The loss's gradient g, scaled by this rank's share.</summary>
        private float Scaled(float g) => share != 1f ? g * share : g;

        /// <summary>The advantages of the minibatch's samples.</summary>
        public ReadOnlySpan<float> Advantages => _advantages.AsSpan(0, n);

        /// <summary>∂loss/∂m for each sample's minimum m (policyLoss = −mean(m)).</summary>
        private float PerMinimum(float g) => (Scaled(g) * -1f) / n;

        /// <summary><see cref="PolicyGradient"/>'s arithmetic sixteen samples at a time.</summary>
        public PolicyGradientLanes PolicyGradientParts(float g) => new(PerMinimum(g), _lo, _hi);

        /// <summary>∂loss/∂S for each sample's entropy S (c₂·entropyLoss = c₂·(−mean(S))).</summary>
        public float PerEntropy(float g) => ((Scaled(g) * entropyCoef) * -1f) / n;

        /// <summary>gl += ∂loss/∂log π(a|s) per sample (policyLoss = −mean(m)).</summary>
        [BypassReadyToRun]
        public void PolicyGradient(float g, Span<float> gl)
        {
            float perMinimum = PerMinimum(g);
            float lo = _lo, hi = _hi;
            for (int i = 0; i < n; i++)
            {
                float r = _ratio[i], a = _advantages[i];
                float surrogate = r * a, clipped = Math.Clamp(r, lo, hi) * a;
                float toSurrogate = surrogate == clipped ? 0.5f * perMinimum : surrogate < clipped ? perMinimum : 0f;
                float toClipped = surrogate == clipped ? 0.5f * perMinimum : perMinimum - toSurrogate;
                float gRatio = toSurrogate * a;
                if (r >= lo && r <= hi) gRatio += toClipped * a;
                gl[i] += gRatio * r;
            }
        }

        /// <summary>ge += ∂loss/∂S per sample (c₂·entropyLoss = c₂·(−mean(S))).</summary>
        public void EntropyGradient(float g, Span<float> ge)
        {
            float perEntropy = PerEntropy(g);
            for (int i = 0; i < n; i++) ge[i] += perEntropy;
        }

        /// <summary>gv += ∂loss/∂V per sample (c₁·valueLoss).</summary>
        [BypassReadyToRun]
        public void ValueGradient(float g, ReadOnlySpan<float> values, Span<float> gv)
        {
            float perSquare = (Scaled(g) * valueCoef) / n;
            for (int i = 0; i < n; i++)
            {
                float v = values[i];
                float d = v - _returns[i];
                if (epsilonVf is not float e)
                {
                    gv[i] += 2f * perSquare * d;
                    continue;
                }
                float delta = v - _oldValues[i];
                float clippedD = _oldValues[i] + Math.Clamp(delta, -e, e) - _returns[i];
                float plain = d * d, clippedSquare = clippedD * clippedD;
                float toPlain = plain == clippedSquare ? 0.5f * perSquare : plain > clippedSquare ? perSquare : 0f;
                float toClipped = plain == clippedSquare ? 0.5f * perSquare : perSquare - toPlain;
                float fromPlain = 2f * toPlain * d;
                float fromClipped = delta >= -e && delta <= e ? 2f * toClipped * clippedD : 0f;
                gv[i] += fromPlain + fromClipped;
            }
        }
    }
}
