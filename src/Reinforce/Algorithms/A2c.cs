using Reinforce.Autograd;
using Reinforce.Envs;
using Reinforce.Envs.Vector;

namespace Reinforce.Algorithms;

/// <summary>
/// Advantage actor-critic, the synchronous form of A3C (Mnih et al. 2016, "Asynchronous Methods for Deep
/// Reinforcement Learning") as Stable-Baselines3's A2C: every n steps of all environments, one gradient step on
/// <code>
///   L = −Ê_t[ log π_θ(a_t|s_t) · Â_t ] + c₁·Ê_t[ (V_θ(s_t) − R_t)² ] − c₂·Ê_t[ S[π_θ](s_t) ]
/// </code>
/// with Â_t from GAE(γ, λ) (λ = 1: the n-step return minus the baseline), RMSprop, and global-norm clipping.
/// </summary>
public sealed class A2c : OnPolicyAgent
{
    private readonly int[] _indices;
    private readonly Minibatch _batch;

    /// <summary>Creates A2C for <paramref name="env"/>.</summary>
    public A2c(IVectorEnv env, A2cOptions options, PolicyFactory? policy = null) : base(env, options?.Clone() ?? throw new ArgumentNullException(nameof(options)), withCritic: true, policy)
    {
        _indices = Enumerable.Range(0, Buffer.Capacity).ToArray();
        _batch = new Minibatch(Buffer.Capacity, env.ObservationSize, Policy.DiscreteActionSize, Policy.ContinuousActionSize);
    }

    /// <summary>The settings.</summary>
    public new A2cOptions Options => (A2cOptions)base.Options;

    /// <summary>Loads a A2c checkpoint (see <see cref="OnPolicyAgent.Load"/>).</summary>
    public static new A2c Load(string directory, IVectorEnv? env = null) =>
        Checkpoint.Load(directory, env) as A2c ?? throw new InvalidOperationException($"The checkpoint in '{directory}' is not a A2c checkpoint.");

    /// <inheritdoc/>
    protected override void Update(double progress, TrainingMetrics metrics)
    {
        var o = Options;
        Buffer.ComputeGae(o.Gamma, o.GaeLambda);
        float learningRate = ApplyLearningRate(progress);
        _batch.Fill(Buffer, _indices, o.NormalizeAdvantage);

        var (logProb, entropy, values) = Policy.EvaluateActions(_batch.Observations, _batch.DiscreteActions, _batch.ContinuousActions);

        // The policy gradient: ∇ log π(a_t|s_t) weighted by the advantage (a constant here).
        var policyLoss = -Ops.Mean(logProb * _batch.Advantages);
        // The critic regresses on the GAE returns.
        var valueLoss = Ops.Mean(Ops.Square(values! - _batch.Returns));
        var entropyLoss = -Ops.Mean(entropy);

        var loss = policyLoss + o.EntropyCoef * entropyLoss + o.ValueCoef * valueLoss;
        float gradNorm = GradientStep(loss);

        metrics.Set("train/policy_loss", policyLoss.Item());
        metrics.Set("train/value_loss", valueLoss.Item());
        metrics.Set("train/entropy", -entropyLoss.Item());
        metrics.Set("train/grad_norm", gradNorm);
        metrics.Set("train/explained_variance", ExplainedVariance(Buffer.Values, Buffer.Returns));
        metrics.Set("train/learning_rate", learningRate);
        if (Policy.LogStd is not null) metrics.Set("train/std", Math.Exp(Policy.LogStd.Value.Data.Average()));
    }
}
