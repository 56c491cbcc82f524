using Reinforce.Autograd;
using Reinforce.Envs;
using Reinforce.Envs.Vector;

namespace Reinforce.Algorithms;

/// <summary>
/// Proximal Policy Optimization (Schulman, Wolski, Dhariwal, Radford, Klimov 2017, "Proximal Policy Optimization
/// Algorithms"), the clipped-surrogate variant, as Stable-Baselines3 and CleanRL implement it:
/// <code>
///   r_t(θ)   = π_θ(a_t|s_t) / π_θold(a_t|s_t)
///   L^CLIP   = Ê_t[ min( r_t(θ)·Â_t, clip(r_t(θ), 1 − ε, 1 + ε)·Â_t ) ]
///   L^VF     = Ê_t[ (V_θ(s_t) − V_t^targ)² ]
///   maximise   L^CLIP − c₁·L^VF + c₂·S[π_θ](s_t)
/// </code>
/// with Â_t from GAE(γ, λ), several epochs of minibatch Adam steps per rollout, per-minibatch advantage
/// standardisation, optional value clipping, global-norm gradient clipping, linear annealing of the learning
/// rate and ε, and an optional early stop when the approximate KL from the rollout policy exceeds 1.5 × target.
/// </summary>
public sealed class Ppo : OnPolicyAgent
{
    private readonly int[] _indices;
    private readonly Minibatch _batch;

    /// <summary>Creates PPO for <paramref name="env"/> (for tuned settings use <c>PpoOptions.For("CartPole-v1")</c>).</summary>
    public Ppo(IVectorEnv env, PpoOptions options, PolicyFactory? policy = null) : base(env, options?.Clone() ?? throw new ArgumentNullException(nameof(options)), withCritic: true, policy)
    {
        _indices = new int[Buffer.Capacity];
        _batch = new Minibatch(Options.BatchSize, env.ObservationSize, Policy.DiscreteActionSize, Policy.ContinuousActionSize);
    }

    /// <summary>The settings.</summary>
    public new PpoOptions Options => (PpoOptions)base.Options;

    /// <summary>Loads a Ppo checkpoint (see <see cref="OnPolicyAgent.Load"/>).</summary>
    public static new Ppo Load(string directory, IVectorEnv? env = null) =>
        Checkpoint.Load(directory, env) as Ppo ?? throw new InvalidOperationException($"The checkpoint in '{directory}' is not a Ppo checkpoint.");

    /// <inheritdoc/>
    protected override void Update(double progress, TrainingMetrics metrics)
    {
        var o = Options;
        Buffer.ComputeGae(o.Gamma, o.GaeLambda);
        float learningRate = ApplyLearningRate(progress);
        float epsilon = o.ClipRangeSchedule.At(o.ClipRange, progress);

        double policyLossSum = 0, valueLossSum = 0, entropySum = 0, klSum = 0, clipFractionSum = 0, gradNormSum = 0;
        int minibatches = 0, epochsDone = 0;
        double approxKl = 0;
        bool stop = false;
        for (int epoch = 0; epoch < o.NumEpochs && !stop; epoch++)
        {
            Permute(_indices);
            for (int start = 0; start < _indices.Length; start += o.BatchSize)
            {
                _batch.Fill(Buffer, _indices.AsSpan(start, o.BatchSize), o.NormalizeAdvantage);
                var advantages = _batch.Advantages;

                // The probability ratio r_t(θ) = π_θ(a_t|s_t) / π_θold(a_t|s_t), from log-probabilities.
                var (logProb, entropy, values) = Policy.EvaluateActions(_batch.Observations, _batch.DiscreteActions, _batch.ContinuousActions);
                var logRatio = logProb - _batch.OldLogProbs;
                var ratio = Ops.Exp(logRatio);

                // The clipped surrogate objective L^CLIP (negated: we minimise).
                var surrogate = ratio * advantages;
                var clippedSurrogate = Ops.Clamp(ratio, 1f - epsilon, 1f + epsilon) * advantages;
                var policyLoss = -Ops.Mean(Ops.Minimum(surrogate, clippedSurrogate));

                // The value loss L^VF; with clip_range_vf, the larger of the plain and the clipped error (the new prediction
                // kept within ±ε_vf of the rollout's), as OpenAI Baselines and CleanRL do.
                var valueLoss = o.ClipRangeVf is float epsilonVf
                    ? Ops.Mean(Ops.Maximum(
                        Ops.Square(values! - _batch.Returns),
                        Ops.Square(_batch.OldValues + Ops.Clamp(values! - _batch.OldValues, -epsilonVf, epsilonVf) - _batch.Returns)))
                    : Ops.Mean(Ops.Square(values! - _batch.Returns));

                // The entropy bonus S[π_θ] (negated).
                var entropyLoss = -Ops.Mean(entropy);

                // Approximate KL(π_old ‖ π_θ) = E[(r − 1) − log r] (Schulman's low-variance estimator), and how often r was clipped.
                approxKl = ApproximateKl(ratio.Data, logRatio.Data);
                klSum += approxKl;
                clipFractionSum += ClipFraction(ratio.Data, epsilon);
                if (o.TargetKl is float targetKl && approxKl > 1.5 * targetKl)
                {
                    stop = true;
                    break;
                }

                var loss = policyLoss + o.EntropyCoef * entropyLoss + o.ValueCoef * valueLoss;
                gradNormSum += GradientStep(loss);

                policyLossSum += policyLoss.Item();
                valueLossSum += valueLoss.Item();
                entropySum += -entropyLoss.Item();
                minibatches++;
            }
            epochsDone++;
        }

        int n = Math.Max(minibatches, 1);
        metrics.Set("train/policy_loss", policyLossSum / n);
        metrics.Set("train/value_loss", valueLossSum / n);
        metrics.Set("train/entropy", entropySum / n);
        metrics.Set("train/approx_kl", klSum / Math.Max(minibatches + (stop ? 1 : 0), 1));
        metrics.Set("train/clip_fraction", clipFractionSum / Math.Max(minibatches + (stop ? 1 : 0), 1));
        metrics.Set("train/grad_norm", gradNormSum / n);
        metrics.Set("train/explained_variance", ExplainedVariance(Buffer.Values, Buffer.Returns));
        metrics.Set("train/learning_rate", learningRate);
        metrics.Set("train/clip_range", epsilon);
        metrics.Set("train/epochs", epochsDone);
        if (Policy.LogStd is not null) metrics.Set("train/std", Math.Exp(Policy.LogStd.Value.Data.Average()));
    }

    /// <summary>E[(r − 1) − log r] over the minibatch.</summary>
    internal static double ApproximateKl(ReadOnlySpan<float> ratio, ReadOnlySpan<float> logRatio)
    {
        double sum = 0;
        for (int i = 0; i < ratio.Length; i++) sum += (ratio[i] - 1.0) - logRatio[i];
        return sum / ratio.Length;
    }

    /// <summary>The fraction of the minibatch with |r − 1| &gt; ε.</summary>
    internal static double ClipFraction(ReadOnlySpan<float> ratio, float epsilon)
    {
        int clipped = 0;
        foreach (var r in ratio) if (Math.Abs(r - 1f) > epsilon) clipped++;
        return (double)clipped / ratio.Length;
    }
}
