using System.Globalization;
using Reinforce.Autograd;

namespace Reinforce.Distributions;

/// <summary>
/// Independent Bernoulli distributions over {0, 1}, one per logit (any shape): P(1) = σ(logit). Log-probability and
/// entropy are differentiable tensors computed in stable forms (exact for logits of ±1000).
/// </summary>
public sealed class Bernoulli
{
    private Tensor? _probs;

    /// <summary>Creates the distributions from finite <paramref name="logits"/>.</summary>
    public Bernoulli(Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        for (int i = 0; i < logits.Size; i++)
        {
            if (!float.IsFinite(logits.Data[i]))
                throw new ArgumentException($"Bernoulli: logit {i} is {logits.Data[i].ToString(CultureInfo.InvariantCulture)}; logits must be finite (a NaN usually means the network diverged).", nameof(logits));
        }
        Logits = logits;
    }

    /// <summary>The logits (log-odds of a 1).</summary>
    public Tensor Logits { get; }

    /// <summary>P(1) = σ(logits), differentiable.</summary>
    public Tensor Probs => _probs ??= Ops.Sigmoid(Logits);

    /// <summary>Draws 1 with probability σ(logit), else 0; one uniform draw per element, in order.</summary>
    public float[] Sample(Rng rng)
    {
        var samples = new float[Logits.Size];
        Sample(rng, samples);
        return samples;
    }

    /// <summary>Draws samples into <paramref name="destination"/> (one per logit).</summary>
    public void Sample(Rng rng, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (destination.Length != Logits.Size)
            throw new ArgumentException($"Bernoulli.Sample: destination holds {destination.Length} values, there are {Logits.Size} logits.", nameof(destination));
        var x = Logits.Data;
        for (int i = 0; i < destination.Length; i++) destination[i] = SampleOne(x[i], rng.NextDouble());
    }

    /// <summary>Span-level sampling of one binary choice, allocation-free: 1 when <paramref name="u"/> ~ U[0, 1) is below σ(logit).</summary>
    public static int SampleOne(float logit, double u) => u < DistributionOps.Sigmoid(logit) ? 1 : 0;

    /// <summary>Span-level mode of one binary choice: 1 when the logit is positive.</summary>
    public static int ModeOne(float logit) => logit > 0f ? 1 : 0;

    /// <summary>log P(action) for one logit, −softplus(∓logit), the same formula as <see cref="LogProb(float[])"/>.</summary>
    public static double LogProbOne(float logit, int action) => -DistributionOps.Softplus(action != 0 ? -(double)logit : logit);

    /// <summary>log P(a) for actions in {0, 1} (same count as the logits) → the logits' shape; differentiable.</summary>
    public Tensor LogProb(float[] actions)
    {
        ArgumentNullException.ThrowIfNull(actions);
        if (actions.Length != Logits.Size)
            throw new ArgumentException($"Bernoulli.LogProb: {actions.Length} actions for {Logits.Size} logits of shape {Tensor.ShapeString(Logits.Shape)}.", nameof(actions));
        for (int i = 0; i < actions.Length; i++)
        {
            if (actions[i] != 0f && actions[i] != 1f)
                throw new ArgumentException($"Bernoulli.LogProb: action {i} is {actions[i].ToString(CultureInfo.InvariantCulture)}; Bernoulli actions are 0 or 1.", nameof(actions));
        }
        return DistributionOps.BernoulliLogProb(Logits, (float[])actions.Clone());
    }

    /// <summary>log P(a) for actions given as a tensor of 0s and 1s.</summary>
    public Tensor LogProb(Tensor actions)
    {
        ArgumentNullException.ThrowIfNull(actions);
        return LogProb(actions.Data);
    }

    /// <summary>The entropy −p·log p − (1 − p)·log(1 − p) of each element → the logits' shape; differentiable.</summary>
    public Tensor Entropy() => DistributionOps.BernoulliEntropy(Logits);

    /// <summary>The more likely outcome of each element: 1 where the logit is positive, else 0 (0 on the tie p = ½).</summary>
    public float[] Mode()
    {
        var modes = new float[Logits.Size];
        for (int i = 0; i < modes.Length; i++) modes[i] = ModeOne(Logits.Data[i]);
        return modes;
    }
}
