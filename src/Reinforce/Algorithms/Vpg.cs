using Reinforce.Autograd;
using Reinforce.Envs;
using Reinforce.Envs.Vector;

namespace Reinforce.Algorithms;

/// <summary>
/// REINFORCE (Williams 1992, "Simple Statistical Gradient-Following Algorithms for Connectionist Reinforcement
/// Learning"), the vanilla policy gradient with reward-to-go:
/// <code>
///   G_t = Σ_{k≥t} γ^{k−t} r_k                     (the discounted return from step t to the episode's end)
///   ∇J(θ) ≈ Ê_t[ ∇ log π_θ(a_t|s_t) · (G_t − b(s_t)) ]
/// </code>
/// with an optional learned baseline b(s) = V(s) (Sutton &amp; Barto §13.4) fitted by least squares on G_t, and
/// optional standardisation of the weights G_t − b(s_t) over the batch. Only complete episodes count: the steps
/// of an episode still running when a rollout ends have no known return and get weight 0 (its later steps,
/// collected in the next rollout, count there with their own returns).
/// </summary>
public sealed class Vpg : OnPolicyAgent
{
    private readonly int[] _indices;
    private readonly Minibatch _batch;

    /// <summary>Creates REINFORCE for <paramref name="env"/>.</summary>
    public Vpg(IVectorEnv env, VpgOptions options, PolicyFactory? policy = null) : base(env, options?.Clone() ?? throw new ArgumentNullException(nameof(options)), withCritic: options.UseBaseline, policy)
    {
        _indices = Enumerable.Range(0, Buffer.Capacity).ToArray();
        _batch = new Minibatch(Buffer.Capacity, env.ObservationSize, Policy.DiscreteActionSize, Policy.ContinuousActionSize);
    }

    /// <summary>The settings.</summary>
    public new VpgOptions Options => (VpgOptions)base.Options;

    /// <summary>Loads a Vpg checkpoint (see <see cref="OnPolicyAgent.Load"/>).</summary>
    public static new Vpg Load(string directory, IVectorEnv? env = null) =>
        Checkpoint.Load(directory, env) as Vpg ?? throw new InvalidOperationException($"The checkpoint in '{directory}' is not a Vpg checkpoint.");

    /// <inheritdoc/>
    protected override void Update(double progress, TrainingMetrics metrics)
    {
        var o = Options;
        Buffer.ComputeRewardToGo(o.Gamma, completeEpisodesOnly: true);   // Returns = G_t, Advantages = G_t − V(s_t)
        int counted = Buffer.CountWeighted();
        metrics.Set("train/steps_with_return", counted);
        if (counted == 0) return;   // no episode finished in this rollout: nothing to learn from yet
        float learningRate = ApplyLearningRate(progress);
        if (o.NormalizeReturns) StandardizeWeighted(Buffer.Advantages, Buffer.Weights);
        _batch.Fill(Buffer, _indices, normalizeAdvantages: false);
        var weights = _batch.Weights;
        float perStep = 1f / counted;

        var (logProb, entropy, values) = Policy.EvaluateActions(_batch.Observations, _batch.DiscreteActions, _batch.ContinuousActions);

        // −Ê[log π(a_t|s_t) · (G_t − b(s_t))] over the steps whose return is known.
        var policyLoss = -Ops.Sum(logProb * _batch.Advantages * weights) * perStep;
        var entropyLoss = -Ops.Sum(entropy * weights) * perStep;
        var loss = policyLoss + o.EntropyCoef * entropyLoss;
        Tensor? valueLoss = null;
        if (values is not null)
        {
            // The baseline: least squares of V(s_t) on G_t.
            valueLoss = Ops.Sum(Ops.Square(values - _batch.Returns) * weights) * perStep;
            loss = loss + o.ValueCoef * valueLoss;
        }
        float gradNorm = GradientStep(loss);

        metrics.Set("train/policy_loss", policyLoss.Item());
        if (valueLoss is not null)
        {
            metrics.Set("train/value_loss", valueLoss.Item());
            metrics.Set("train/explained_variance", ExplainedVariance(Buffer.Values, Buffer.Returns));
        }
        metrics.Set("train/entropy", -entropyLoss.Item());
        metrics.Set("train/grad_norm", gradNorm);
        metrics.Set("train/learning_rate", learningRate);
    }

    /// <summary>Standardises <paramref name="values"/> over the entries with non-zero weight.</summary>
    private static void StandardizeWeighted(float[] values, float[] weights)
    {
        double sum = 0, count = 0;
        for (int i = 0; i < values.Length; i++) if (weights[i] != 0f) { sum += values[i]; count++; }
        if (count < 2) return;
        double mean = sum / count, ss = 0;
        for (int i = 0; i < values.Length; i++) if (weights[i] != 0f) ss += (values[i] - mean) * (values[i] - mean);
        double std = Math.Sqrt(ss / (count - 1));
        for (int i = 0; i < values.Length; i++) values[i] = weights[i] != 0f ? (float)((values[i] - mean) / (std + 1e-8)) : 0f;
    }
}
