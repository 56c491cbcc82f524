using Reinforce.Autograd;
using Reinforce.Rlhf.Training;
using Reinforce.Tensors;

namespace Reinforce.Tests.Rlhf;

public class RlLossesTests
{
    [Fact]
    public void At_ratio_one_the_surrogate_gradient_is_the_policy_gradient()
    {
        float[] lp = [-1.2f, -0.3f, -2.0f, -0.7f];
        float[] adv = [0.5f, -1.0f, 2.0f, 0.0f];
        float[] w = [0.25f, 0.25f, 0.5f, 1.0f];
        var logp = Tensor.FromArray(lp).RequireGrad();
        var (loss, clipFraction) = RlLosses.ClippedSurrogate(logp, lp, adv, w, 0.2f);
        loss.Backward();
        Assert.Equal(-(0.25f * 0.5f - 0.25f * 1.0f + 0.5f * 2.0f), loss.Item(), 5);
        for (int i = 0; i < 4; i++) Assert.Equal(-w[i] * adv[i], logp.Grad!.Data[i], 5);
        Assert.Equal(0, clipFraction);
    }

    [Fact]
    public void Clipped_terms_stop_the_gradient_and_are_counted()
    {
        // Term 0: A > 0, ratio 1.5 > 1.2, clipped. Term 1: A < 0, ratio 0.5 < 0.8, clipped.
        // Term 2: A > 0, ratio 0.5: the unclipped branch is larger, so it still pushes up. Term 3: inside the range.
        float[] old = [0f, 0f, 0f, 0f];
        float[] lp = [MathF.Log(1.5f), MathF.Log(0.5f), MathF.Log(0.5f), MathF.Log(1.1f)];
        float[] adv = [1f, -1f, 1f, 2f];
        float[] w = [1f, 1f, 1f, 1f];
        var logp = Tensor.FromArray(lp).RequireGrad();
        var (loss, clipFraction) = RlLosses.ClippedSurrogate(logp, old, adv, w, 0.2f);
        loss.Backward();
        Assert.Equal(-1.2f + 0.8f - 0.5f - 2.2f, loss.Item(), 5);
        Assert.Equal(0.5, clipFraction, 10);
        var g = logp.Grad!.Data;
        Assert.Equal(0f, g[0]);
        Assert.Equal(0f, g[1]);
        Assert.Equal(-0.5f, g[2], 5);          // d(-ρA)/dlogp = -ρA
        Assert.Equal(-2.2f, g[3], 5);
    }

    [Fact]
    public void Surrogate_gradient_matches_finite_differences()
    {
        var rng = new Rng(2);
        int m = 12;
        var old = Enumerable.Range(0, m).Select(_ => (float)(-1 - rng.NextDouble())).ToArray();
        var lp = old.Select(o => o + (float)(0.15 * rng.NextGaussian())).ToArray();
        var adv = Enumerable.Range(0, m).Select(_ => (float)rng.NextGaussian()).ToArray();
        var w = Enumerable.Range(0, m).Select(_ => 1f / m).ToArray();
        var logp = Tensor.FromArray(lp).RequireGrad();
        RlLosses.ClippedSurrogate(logp, old, adv, w, 0.2f).Loss.Backward();
        for (int i = 0; i < m; i++)
        {
            double h = 1e-3;
            float Loss(float delta)
            {
                var x = (float[])lp.Clone();
                x[i] += delta;
                using (Graph.NoGrad()) return RlLosses.ClippedSurrogate(Tensor.FromArray(x), old, adv, w, 0.2f).Loss.Item();
            }
            double numeric = (Loss((float)h) - Loss((float)-h)) / (2 * h);
            Assert.Equal(numeric, logp.Grad!.Data[i], 3);
        }
    }

    [Fact]
    public void K3_penalty_value_and_gradient()
    {
        float[] lp = [-1.0f, -2.0f];
        float[] reference = [-1.5f, -1.0f];
        float[] w = [0.5f, 0.5f];
        var logp = Tensor.FromArray(lp).RequireGrad();
        var loss = RlLosses.K3Penalty(logp, reference, w);
        loss.Backward();
        double expected = 0.5 * (KlEstimators.K3(-1f, -1.5f) + KlEstimators.K3(-2f, -1f));
        Assert.Equal(expected, loss.Item(), 5);
        // d k3 / d logp = 1 − exp(ref − logp)
        Assert.Equal(0.5 * (1 - Math.Exp(-0.5)), logp.Grad!.Data[0], 5);
        Assert.Equal(0.5 * (1 - Math.Exp(1.0)), logp.Grad!.Data[1], 5);
    }

    [Fact]
    public void Value_loss_takes_the_larger_of_the_clipped_and_unclipped_errors()
    {
        // V moved from 0 to 1 with return 2: unclipped (1-2)² = 1, clipped (0.2-2)² = 3.24 → 1.62 after the half.
        var v = Tensor.FromArray(new[] { 1f }).RequireGrad();
        var loss = RlLosses.ClippedValueLoss(v, [0f], [2f], [1f], 0.2f);
        loss.Backward();
        Assert.Equal(1.62f, loss.Item(), 5);
        Assert.Equal(0f, v.Grad!.Data[0]);   // the clipped branch is flat in V
        var v2 = Tensor.FromArray(new[] { 0.1f }).RequireGrad();
        var loss2 = RlLosses.ClippedValueLoss(v2, [0f], [2f], [1f], 0.2f);
        loss2.Backward();
        Assert.Equal(0.5f * 1.9f * 1.9f, loss2.Item(), 5);
        Assert.Equal(-1.9f, v2.Grad!.Data[0], 5);
    }
}
