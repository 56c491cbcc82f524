using System.Numerics.Tensors;
using Reinforce.Algorithms;
using Reinforce.Autograd;
using Reinforce.Distributions;
using Reinforce.Tensors;
using Tensor = Reinforce.Tensors.Tensor;

namespace Reinforce.Tests.Algorithms;

/// <summary>
/// The fused operations of the PPO training step against the chains of operations they replace: PPO's whole loss
/// (PpoObjective) to the bit, loss and gradients; the categorical entropy from log-probabilities to the bit, values and
/// gradients, with and without masks; the bias-gradient column sums to the bit; and PPO's loss straight from a
/// categorical policy's logits (PpoObjective.CategoricalLoss) against the distribution's operations and the loss.
/// </summary>
public class FusedLossTests
{
    private static Tensor Leaf(Rng rng, int n, float scale, float shift = 0f)
    {
        var data = new float[n];
        for (int i = 0; i < n; i++) data[i] = shift + scale * (float)(2 * rng.NextDouble() - 1);
        return new Tensor(data, [n]) { RequiresGrad = true };
    }

    private static Minibatch Batch(Rng rng, int n)
    {
        var batch = new Minibatch(n, 4, 1, 0);
        for (int i = 0; i < n; i++)
        {
            batch.OldLogProbs.Data[i] = -0.7f + 0.3f * (float)(2 * rng.NextDouble() - 1);
            batch.Advantages.Data[i] = 2f * (float)(2 * rng.NextDouble() - 1);
            batch.Returns.Data[i] = 5f * (float)rng.NextDouble();
            batch.OldValues.Data[i] = 5f * (float)rng.NextDouble();
        }
        return batch;
    }

    /// <summary>The chain Ppo.Update built before the fused objective, verbatim.</summary>
    private static (Tensor Loss, float Policy, float Value, float Entropy) Chain(
        Tensor logProb, Tensor entropy, Tensor values, Minibatch batch, float epsilon, float? epsilonVf, float entCoef, float vfCoef, float? share)
    {
        var logRatio = logProb - batch.OldLogProbs;
        var ratio = Ops.Exp(logRatio);
        var surrogate = ratio * batch.Advantages;
        var clippedSurrogate = Ops.Clamp(ratio, 1f - epsilon, 1f + epsilon) * batch.Advantages;
        var policyLoss = -Ops.Mean(Ops.Minimum(surrogate, clippedSurrogate));
        var valueLoss = epsilonVf is float e
            ? Ops.Mean(Ops.Maximum(
                Ops.Square(values - batch.Returns),
                Ops.Square(batch.OldValues + Ops.Clamp(values - batch.OldValues, -e, e) - batch.Returns)))
            : Ops.Mean(Ops.Square(values - batch.Returns));
        var entropyLoss = -Ops.Mean(entropy);
        var loss = policyLoss + entCoef * entropyLoss + vfCoef * valueLoss;
        if (share is float s) loss = loss * s;
        return (loss, policyLoss.Item(), valueLoss.Item(), -entropyLoss.Item());
    }

    [Theory]
    [InlineData(null, 0f, null)]
    [InlineData(0.2f, 0.01f, null)]
    [InlineData(0.2f, 0.01f, 0.75f)]
    [InlineData(null, 0.05f, 1f)]
    public void The_fused_PPO_loss_is_the_same_bits_as_the_chain_it_replaces(float? epsilonVf, float entCoef, float? share)
    {
        const int n = 67;
        var rng = new Rng(11);
        var batch = Batch(rng, n);
        // Log-probabilities near the old ones (ratios on both sides of the clip range), plus exact ties: r = 1 ± ε and r = 1.
        var logProb = Leaf(rng, n, 0.4f, -0.7f);
        logProb.Data[0] = batch.OldLogProbs.Data[0];
        var entropy = Leaf(rng, n, 0.3f, 0.6f);
        var values = Leaf(rng, n, 3f, 2.5f);
        values.Data[1] = batch.OldValues.Data[1];   // a value-clipping tie between the plain and the clipped error
        batch.Returns.Data[1] = batch.OldValues.Data[1];

        var (chain, policy, value, meanEntropy) = Chain(logProb, entropy, values, batch, 0.2f, epsilonVf, entCoef, 0.5f, share);
        chain.Backward();
        float[] gl = logProb.Grad!.Data.ToArray(), ge = entropy.Grad!.Data.ToArray(), gv = values.Grad!.Data.ToArray();
        foreach (var t in new[] { logProb, entropy, values }) t.Grad = null;

        var ratio = new float[n];
        var logRatio = new float[n];
        var fused = PpoObjective.Loss(logProb, entropy, values, batch, 0.2f, epsilonVf, entCoef, 0.5f, share ?? 1f, ratio, logRatio, out var parts);
        fused.Backward();

        Assert.Equal(chain.Item(), fused.Item());
        Assert.Equal(policy, parts.PolicyLoss);
        Assert.Equal(value, parts.ValueLoss);
        Assert.Equal(meanEntropy, parts.Entropy);
        Assert.Equal(gl, logProb.Grad!.Data);
        if (entCoef == 0f)
        {
            // Without an entropy bonus the chain sends the entropy only zeros, and the fused loss leaves it out of the graph.
            Assert.All(ge, g => Assert.Equal(0f, Math.Abs(g)));
            Assert.Null(entropy.Grad);
        }
        else
        {
            Assert.Equal(ge, entropy.Grad!.Data);
        }
        Assert.Equal(gv, values.Grad!.Data);
        // The ratios came back too, and some were clipped on each side (so both branches of the minimum were taken).
        var expected = new float[n];
        TensorPrimitives.Subtract(logProb.Data, batch.OldLogProbs.Data, expected);
        TensorPrimitives.Exp(expected, expected);
        Assert.Equal(expected, ratio);
        Assert.Contains(ratio, r => r > 1.2f);
        Assert.Contains(ratio, r => r < 0.8f);
        Assert.Contains(gl, g => g == 0f);
        Assert.Contains(gl, g => g != 0f);
    }

    [Theory]
    [InlineData(2, false, false)]
    [InlineData(5, false, true)]
    [InlineData(5, true, false)]
    [InlineData(5, true, true)]
    public void Fused_categorical_entropy_is_the_same_bits_as_the_composed_chain(int classes, bool masked, bool logProbFirst)
    {
        // The entropy and a taken action's log-probability both reach the logits; either order of their backward passes.
        const int rows = 13;
        var rng = new Rng(5);
        var logitsData = new float[rows * classes];
        for (int i = 0; i < logitsData.Length; i++) logitsData[i] = 3f * (float)(2 * rng.NextDouble() - 1);
        logitsData[0] = 40f;   // a near-deterministic row
        bool[]? mask = null;
        var actions = new int[rows];
        if (masked)
        {
            mask = new bool[rows * classes];
            for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextDouble() < 0.6;
            for (int r = 0; r < rows; r++) mask[r * classes + r % classes] = true;
        }
        for (int r = 0; r < rows; r++) actions[r] = r % classes;
        var upstreamLp = new Tensor(Leaf(rng, rows, 1f).Data, [rows]);
        var upstreamH = new Tensor(Leaf(rng, rows, 1f).Data, [rows]);

        Tensor Loss(Tensor logProb, Tensor entropy) => logProbFirst
            ? Ops.Sum(logProb * upstreamLp) + Ops.Sum(entropy * upstreamH)
            : Ops.Sum(entropy * upstreamH) + Ops.Sum(logProb * upstreamLp);

        var a = new Tensor((float[])logitsData.Clone(), [rows, classes]) { RequiresGrad = true };
        var composed = new Categorical(a, mask);
        var hA = Ops.Neg(Ops.SumLastDim(Ops.Mul(Ops.Exp(composed.LogProbs), composed.LogProbs)));
        Loss(composed.LogProb(actions), hA).Backward();

        var b = new Tensor((float[])logitsData.Clone(), [rows, classes]) { RequiresGrad = true };
        var fused = new Categorical(b, mask);
        var hB = fused.Entropy();
        Loss(fused.LogProb(actions), hB).Backward();

        Assert.Equal(hA.Data, hB.Data);
        Assert.Equal(a.Grad!.Data, b.Grad!.Data);
        Assert.Contains(hB.Data, h => h > 0.1f);
        if (mask is not null) for (int i = 0; i < mask.Length; i++) if (!mask[i]) Assert.Equal(0f, b.Grad!.Data[i]);
    }

    [Theory]
    [InlineData(1, 128)]
    [InlineData(2, 7)]
    [InlineData(7, 3)]
    [InlineData(32, 128)]
    [InlineData(45, 9)]
    [InlineData(64, 1)]
    public void Column_sums_are_the_same_bits_as_adding_the_rows_in_order(int cols, int rows)
    {
        var rng = new Rng(3);
        var x = new float[rows * cols];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(1e3 * (2 * rng.NextDouble() - 1)) * (i % 3 == 0 ? 1e-4f : 1f);
        var start = new float[cols];
        for (int j = 0; j < cols; j++) start[j] = (float)rng.NextDouble();
        var expected = (float[])start.Clone();
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(expected, x.AsSpan(r * cols, cols), expected);
        var accumulated = (float[])start.Clone();
        Reinforce.Tensors.Kernels.SumRows(x, accumulated, cols, accumulate: true);
        Assert.Equal(expected, accumulated);
        var fresh = new float[cols + 1];
        fresh[cols] = 42f;
        Reinforce.Tensors.Kernels.SumRows(x, fresh, cols);
        var expectedFresh = new float[cols];
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(expectedFresh, x.AsSpan(r * cols, cols), expectedFresh);
        Assert.Equal(expectedFresh, fresh[..cols]);
        Assert.Equal(42f, fresh[cols]);
    }
    [Theory]
    [InlineData(2, null, 0f, null)]
    [InlineData(2, 0.2f, 0.01f, null)]
    [InlineData(3, 0.2f, 0.01f, 0.75f)]
    [InlineData(6, null, 0.05f, 1f)]
    [InlineData(1, null, 0.01f, null)]
    public void The_categorical_loss_from_logits_is_the_same_bits_as_the_distribution_and_the_loss(int c, float? epsilonVf, float entCoef, float? share)
    {
        // Logits → Categorical (log-softmax, gather, entropy) → PpoObjective.Loss, as Ppo.Update builds it for other
        // heads, against PpoObjective.CategoricalLoss: the loss, the metrics, every logit's and value's gradient.
        const int n = 67;
        var rng = new Rng(21 + c);
        var batch = Batch(rng, n);
        var logitsData = new float[n * c];
        for (int i = 0; i < logitsData.Length; i++) logitsData[i] = (float)((2 * rng.NextDouble() - 1) * (i % 5 == 0 ? 8 : 1));
        var actions = new int[n];
        for (int i = 0; i < n; i++) actions[i] = (int)(rng.NextDouble() * c);
        var values = Leaf(rng, n, 3f, 2.5f);
        var logits = new Tensor((float[])logitsData.Clone(), [n, c]) { RequiresGrad = true };
        // Old log-probabilities near the new ones, so ratios fall on both sides of the clip range.
        var reference = new float[n * c];
        Kernels.LogSoftmaxRows(logitsData, reference, c);
        for (int i = 0; i < n; i++) batch.OldLogProbs.Data[i] = reference[i * c + actions[i]] + 0.3f * (float)(2 * rng.NextDouble() - 1);

        var dist = new Categorical(logits);
        var ratioA = new float[n];
        var logRatioA = new float[n];
        var separate = PpoObjective.Loss(dist.LogProb(actions), dist.Entropy(), values, batch, 0.2f, epsilonVf, entCoef, 0.5f, share ?? 1f,
            ratioA, logRatioA, out var partsA);
        separate.Backward();
        float[] gLogits = logits.Grad!.Data.ToArray(), gValues = values.Grad!.Data.ToArray();
        logits.Grad = null;
        values.Grad = null;

        var ratioB = new float[n];
        var logRatioB = new float[n];
        var fused = PpoObjective.CategoricalLoss(logits, actions, values, batch, 0.2f, epsilonVf, entCoef, 0.5f, share ?? 1f,
            new PpoObjective.Workspace(), ratioB, logRatioB, out var partsB);
        fused.Backward();

        Assert.Equal(BitConverter.SingleToInt32Bits(separate.Item()), BitConverter.SingleToInt32Bits(fused.Item()));
        Assert.Equal(partsA, partsB);
        Assert.Equal(ratioA, ratioB);
        Assert.Equal(logRatioA, logRatioB);
        for (int i = 0; i < gLogits.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(gLogits[i]) == BitConverter.SingleToInt32Bits(logits.Grad!.Data[i]), $"logit gradient {i}: {logits.Grad!.Data[i]:R}, separately {gLogits[i]:R}");
        for (int i = 0; i < n; i++) Assert.Equal(BitConverter.SingleToInt32Bits(gValues[i]), BitConverter.SingleToInt32Bits(values.Grad!.Data[i]));
        if (c > 1) Assert.Contains(gLogits, g => g != 0f);   // the comparison is not of zeros (one action: log p = 0 whatever the logit)

        // Bad logits and actions get the distribution's own errors.
        var bad = new Tensor((float[])logitsData.Clone(), [n, c]) { RequiresGrad = true };
        bad.Data[c + (c - 1)] = float.NaN;
        var e1 = Assert.Throws<ArgumentException>(() => PpoObjective.CategoricalLoss(bad, actions, values, batch, 0.2f, null, 0f, 0.5f, 1f,
            new PpoObjective.Workspace(), ratioB, logRatioB, out _));
        Assert.Contains($"logit [1, {c - 1}] is NaN", e1.Message, StringComparison.Ordinal);
        var outside = (int[])actions.Clone();
        outside[3] = c;
        Assert.Throws<ArgumentOutOfRangeException>(() => PpoObjective.CategoricalLoss(logits, outside, values, batch, 0.2f, null, 0f, 0.5f, 1f,
            new PpoObjective.Workspace(), ratioB, logRatioB, out _));
    }

    [Theory]
    [InlineData(2, 16, 0f)]
    [InlineData(2, 128, 0f)]
    [InlineData(2, 67, 0.01f)]
    [InlineData(3, 17, 0.01f)]
    [InlineData(3, 128, 0f)]
    [InlineData(3, 200, 0.05f)]
    public void The_short_rows_path_is_the_same_bits_as_row_by_row(int c, int n, float entCoef)
    {
        // Two or three actions take sixteen rows per vector (PpoObjective.ShortRows); the row-by-row path is the reference.
        // Logits of every kind: small, large (exp of differences below −88 goes to the library's underflow handling),
        // ties (exp(0) for two columns), ±0, near-deterministic rows (log Σ near one), and every action.
        var rng = new Rng(97 + n + c);
        var batch = Batch(rng, n);
        var logitsData = new float[n * c];
        for (int i = 0; i < logitsData.Length; i++)
            logitsData[i] = (float)((2 * rng.NextDouble() - 1) * (i % 7 == 0 ? 30 : i % 5 == 0 ? 0.01 : 2));
        logitsData[0] = 150f;                        // row 0: exp(−150 − x) underflows
        logitsData[c] = logitsData[c + 1] = 0.25f;   // row 1: a tie
        logitsData[2 * c] = -0f;                     // row 2: −0 against +0
        logitsData[2 * c + 1] = 0f;
        logitsData[3 * c] = 12f;                     // row 3: the maximum in the first column
        var actions = new int[n];
        for (int i = 0; i < n; i++) actions[i] = i % c;
        var values = Leaf(rng, n, 3f, 2.5f);
        var reference = new float[n * c];
        Kernels.LogSoftmaxRows(logitsData, reference, c);
        for (int i = 0; i < n; i++) batch.OldLogProbs.Data[i] = reference[i * c + actions[i]] + 0.3f * (float)(2 * rng.NextDouble() - 1);
        Assert.True(PpoObjective.ShortRowsApply(n, c) || !System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated);

        (float Loss, PpoObjective.Parts Parts, float[] Ratio, float[] LogRatio, float[] Grad) Run(bool rowByRow)
        {
            PpoObjective.ShortRowsDisabled = rowByRow;
            try
            {
                var logits = new Tensor((float[])logitsData.Clone(), [n, c]) { RequiresGrad = true };
                logits.GradBuffer()[5] = -0f;   // the gradient accumulates into what is there
                var ratio = new float[n];
                var logRatio = new float[n];
                var workspace = new PpoObjective.Workspace();
                var loss = PpoObjective.CategoricalLoss(logits, actions, values, batch, 0.2f, null, entCoef, 0.5f, 1f,
                    workspace, ratio, logRatio, out var parts);
                // The path asked for is the path taken (the short rows need AVX-512).
                Assert.Equal(!rowByRow && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated, workspace.ShortRows);
                loss.Backward();
                values.Grad = null;
                return (loss.Item(), parts, ratio, logRatio, logits.Grad!.Data.ToArray());
            }
            finally
            {
                PpoObjective.ShortRowsDisabled = false;
            }
        }

        var rows = Run(rowByRow: true);
        var lanes = Run(rowByRow: false);
        Assert.Equal(BitConverter.SingleToInt32Bits(rows.Loss), BitConverter.SingleToInt32Bits(lanes.Loss));
        Assert.Equal(rows.Parts, lanes.Parts);
        Assert.Equal(rows.Ratio, lanes.Ratio);
        Assert.Equal(rows.LogRatio, lanes.LogRatio);
        for (int i = 0; i < rows.Grad.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(rows.Grad[i]) == BitConverter.SingleToInt32Bits(lanes.Grad[i]),
                $"logit gradient {i}: {lanes.Grad[i]:R}, row by row {rows.Grad[i]:R}");
        Assert.Contains(rows.Grad, g => g != 0f);
        Assert.True(rows.Parts.Entropy > 0f);
    }
}
