using System.Numerics.Tensors;
using Reinforce.Optim;

namespace Reinforce.Tests.Optim;

/// <summary>
/// The one-pass Adam step against the pass-by-pass form it replaced (eleven TensorPrimitives passes in PyTorch's order):
/// bit-identical for every length from 1 to 80 (every SIMD remainder), over several steps and both moment decays.
/// </summary>
public class AdamFusedStepTests
{
    [Fact]
    public void OnePassStepIsBitIdenticalToThePassByPassForm()
    {
        var rng = new Rng(7);
        for (int n = 1; n <= 80; n++)
        {
            var p = Random(rng, n, 1f);
            var initial = (float[])p.Clone();
            var m = new float[n];
            var v = new float[n];
            var pRef = (float[])p.Clone();
            var mRef = new float[n];
            var vRef = new float[n];
            for (int step = 1; step <= 5; step++)
            {
                var g = Random(rng, n, step == 3 ? 1e-6f : 0.5f);   // tiny gradients at step 3: eps matters
                const float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-5f, lr = 0.002f;
                double bc1 = 1.0 - Math.Pow(beta1, step), bc2 = 1.0 - Math.Pow(beta2, step);
                float stepSize = (float)(lr / bc1), bc2Sqrt = (float)Math.Sqrt(bc2);

                Adam.Step(p, g, m, v, beta1, beta2, eps, stepSize, bc2Sqrt);
                PassByPass(pRef, g, mRef, vRef, beta1, beta2, eps, stepSize, bc2Sqrt);

                for (int i = 0; i < n; i++)
                {
                    Assert.Equal(BitConverter.SingleToInt32Bits(pRef[i]), BitConverter.SingleToInt32Bits(p[i]));
                    Assert.Equal(BitConverter.SingleToInt32Bits(mRef[i]), BitConverter.SingleToInt32Bits(m[i]));
                    Assert.Equal(BitConverter.SingleToInt32Bits(vRef[i]), BitConverter.SingleToInt32Bits(v[i]));
                }
            }
            Assert.All(p, x => Assert.True(float.IsFinite(x)));
            Assert.NotEqual(initial, p);   // the steps moved the parameters
        }
    }

    [Fact]
    public void MismatchedLengthsAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => Adam.Step(new float[4], new float[3], new float[4], new float[4], 0.9f, 0.999f, 1e-8f, 0.1f, 1f));
        Assert.Contains("gradient 3", e.Message, StringComparison.Ordinal);
    }

    /// <summary>The form Adam.Update had before the one-pass step (the reference).</summary>
    private static void PassByPass(Span<float> parameter, ReadOnlySpan<float> g, Span<float> expAvg, Span<float> expAvgSq,
        float beta1, float beta2, float eps, float stepSize, float bc2Sqrt)
    {
        var denom = new float[parameter.Length];
        TensorPrimitives.Multiply(expAvg, beta1, expAvg);
        TensorPrimitives.MultiplyAdd(g, 1f - beta1, expAvg, expAvg);
        TensorPrimitives.Multiply(expAvgSq, beta2, expAvgSq);
        TensorPrimitives.Multiply(g, g, denom);
        TensorPrimitives.MultiplyAdd(denom, 1f - beta2, expAvgSq, expAvgSq);
        TensorPrimitives.Sqrt(expAvgSq, denom);
        TensorPrimitives.Divide(denom, bc2Sqrt, denom);
        TensorPrimitives.Add(denom, eps, denom);
        TensorPrimitives.Divide(expAvg, denom, denom);
        TensorPrimitives.MultiplyAdd(denom, -stepSize, parameter, parameter);
    }

    private static float[] Random(Rng rng, int n, float scale)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return x;
    }
}
