using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Reinforce.Autograd;
using Reinforce.Envs.Vector;

namespace Reinforce.Algorithms;

/// <summary>
/// PPO with an adaptive KL penalty (Schulman, Wolski, Dhariwal, Radford, Klimov 2017, section 4), the paper's
/// alternative to clipping: the surrogate is penalised by the divergence from the rollout policy, and the penalty's
/// weight β adapts after every update so that the divergence stays near a target d_targ:
/// <code>
///   L^KLPEN  = Ê_t[ r_t(θ)·Â_t − β·KL[π_θold(·|s_t), π_θ(·|s_t)] ]
///   after the epochs:  d = Ê_t[ KL[π_θold(·|s_t), π_θ(·|s_t)] ]
///                      d &lt; d_targ / 1.5  →  β ← β / 2
///                      d &gt; d_targ × 1.5  →  β ← β × 2
/// </code>
/// The KL of each state is estimated from the stored action a_t ~ π_θold as (r − 1) − log r (Schulman's
/// non-negative unbiased estimator, whose gradient is that of the KL), so the rollout needs no stored logits; d is
/// measured over the whole rollout after the update. Value loss, entropy bonus, GAE and minibatch epochs are PPO's.
/// β is part of the agent's state and travels with checkpoints.
/// </summary>
public sealed class PpoKl : OnPolicyAgent
{
    private readonly int[] _indices;
    private readonly Minibatch _batch;
    private readonly Minibatch _whole;
    private readonly int[] _all;

    /// <summary>Creates PPO-KL for <paramref name="env"/>.</summary>
    public PpoKl(IVectorEnv env, PpoKlOptions options, PolicyFactory? policy = null)
        : base(env, (PpoKlOptions)(options ?? throw new ArgumentNullException(nameof(options))).CloneOptions(), withCritic: true, policy)
    {
        _indices = new int[Buffer.Capacity];
        _all = [.. Enumerable.Range(0, Buffer.Capacity)];
        _batch = new Minibatch(Options.BatchSize, env.ObservationSize, Policy.DiscreteActionSize, Policy.ContinuousActionSize);
        _whole = new Minibatch(Buffer.Capacity, env.ObservationSize, Policy.DiscreteActionSize, Policy.ContinuousActionSize);
        KlCoef = Options.KlCoef;
    }

    /// <summary>The settings.</summary>
    public new PpoKlOptions Options => (PpoKlOptions)base.Options;

    /// <summary>The current penalty weight β (starts at <c>kl_coef</c>, doubled or halved after each update).</summary>
    public float KlCoef { get; private set; }

    /// <inheritdoc/>
    protected override void Update(double progress, TrainingMetrics metrics)
    {
        var o = Options;
        Buffer.ComputeGae(o.Gamma, o.GaeLambda);
        float learningRate = ApplyLearningRate(progress);
        float beta = KlCoef;

        double policyLossSum = 0, valueLossSum = 0, entropySum = 0, klSum = 0, gradNormSum = 0;
        int minibatches = 0;
        for (int epoch = 0; epoch < o.NumEpochs; epoch++)
        {
            Permute(_indices);
            for (int start = 0; start < _indices.Length; start += o.BatchSize)
            {
                _batch.Fill(Buffer, _indices.AsSpan(start, o.BatchSize), o.NormalizeAdvantage);
                var (logProb, entropy, values) = Policy.EvaluateActions(_batch.Observations, _batch.DiscreteActions, _batch.ContinuousActions);
                var logRatio = logProb - _batch.OldLogProbs;
                var ratio = Ops.Exp(logRatio);

                // −(r·Â − β·KL), with KL[π_old, π_θ] per state estimated as (r − 1) − log r at a ~ π_old.
                var kl = Ops.Mean(ratio - 1f - logRatio);
                var policyLoss = -Ops.Mean(ratio * _batch.Advantages) + beta * kl;
                var valueLoss = Ops.Mean(Ops.Square(values! - _batch.Returns));
                var entropyLoss = -Ops.Mean(entropy);

                var loss = policyLoss + o.EntropyCoef * entropyLoss + o.ValueCoef * valueLoss;
                gradNormSum += GradientStep(loss);

                policyLossSum += policyLoss.Item();
                valueLossSum += valueLoss.Item();
                entropySum += -entropyLoss.Item();
                klSum += kl.Item();
                minibatches++;
            }
        }

        // d over the whole rollout under the updated policy, then β's adaptation.
        double d = RolloutKl();
        if (d < o.TargetKl / 1.5) KlCoef = beta / 2f;
        else if (d > o.TargetKl * 1.5) KlCoef = beta * 2f;

        int n = Math.Max(minibatches, 1);
        metrics.Set("train/policy_loss", policyLossSum / n);
        metrics.Set("train/value_loss", valueLossSum / n);
        metrics.Set("train/entropy", entropySum / n);
        metrics.Set("train/approx_kl", klSum / n);
        metrics.Set("train/kl", d);
        metrics.Set("train/kl_coef", beta);
        metrics.Set("train/grad_norm", gradNormSum / n);
        metrics.Set("train/explained_variance", ExplainedVariance(Buffer.Values, Buffer.Returns));
        metrics.Set("train/learning_rate", learningRate);
        if (Policy.LogStd is not null) metrics.Set("train/std", Math.Exp(Policy.LogStd.Value.Data.Average()));
    }

    /// <summary>Ê[(r − 1) − log r] over every stored step, under the current policy.</summary>
    private double RolloutKl()
    {
        using var _ = Graph.NoGrad();
        _whole.Fill(Buffer, _all, normalizeAdvantages: false);
        var logProb = Policy.EvaluateActions(_whole.Observations, _whole.DiscreteActions, _whole.ContinuousActions).LogProb.Data;
        var old = _whole.OldLogProbs.Data;
        double sum = 0;
        for (int i = 0; i < logProb.Length; i++)
        {
            double logRatio = logProb[i] - old[i];
            sum += Math.Exp(logRatio) - 1.0 - logRatio;
        }
        return sum / logProb.Length;
    }

    /// <inheritdoc/>
    protected internal override JsonObject? SaveAlgorithmState() => new() { ["kl_coef"] = KlCoef };

    /// <inheritdoc/>
    protected internal override void RestoreAlgorithmState(JsonObject? state)
    {
        if (state?["kl_coef"] is JsonValue value && value.TryGetValue(out float beta) && float.IsFinite(beta) && beta > 0f) KlCoef = beta;
        else throw new InvalidDataException("the ppo_kl state needs a positive finite kl_coef");
    }
}

/// <summary>
/// Settings of PPO with an adaptive KL penalty (<see cref="PpoKl"/>): PPO's rollout and minibatch settings, with the
/// penalty's initial weight β and the target divergence d_targ in place of the clip range.
/// </summary>
public sealed class PpoKlOptions : OnPolicyOptions
{
    /// <inheritdoc/>
    [JsonIgnore]
    public override string AlgorithmName => "ppo_kl";

    /// <summary>GAE λ.</summary>
    public float GaeLambda { get; set; } = 0.95f;

    /// <summary>Minibatch size; must divide n_steps × n_envs.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Passes over the rollout per update.</summary>
    [JsonPropertyName("n_epochs")]
    public int NumEpochs { get; set; } = 10;

    /// <summary>Standardise advantages within each minibatch.</summary>
    public bool NormalizeAdvantage { get; set; } = true;

    /// <summary>The initial penalty weight β (the paper's experiments start at 1).</summary>
    public float KlCoef { get; set; } = 1f;

    /// <summary>The target KL divergence d_targ per update (the paper tries 0.003, 0.01 and 0.03).</summary>
    [JsonPropertyName("target_kl")]
    public float TargetKl { get; set; } = 0.01f;

    /// <summary>The tuned settings of the preset for <paramref name="envId"/>.</summary>
    public static PpoKlOptions For(string envId) => PresetFiles.Section<PpoKlOptions>(envId);

    /// <summary>Keeps the number of minibatches per epoch when the number of environments changes.</summary>
    public override string? AdaptToEnvironmentCount(int oldEnvs, int newEnvs)
    {
        string? note = KeepMinibatchCount(BatchSize, oldEnvs, newEnvs, out int size);
        BatchSize = size;
        return note;
    }

    /// <inheritdoc/>
    public override void Validate(int envs)
    {
        base.Validate(envs);
        string p = AlgorithmName;
        ConfigurationException.Require(GaeLambda >= 0f && GaeLambda <= 1f, $"{p}.gae_lambda", $"is {GaeLambda}; λ must lie in [0, 1] (0.95 is usual).");
        ConfigurationException.Require(NumEpochs >= 1, $"{p}.n_epochs", $"is {NumEpochs}; make at least 1 pass over each rollout (10 is usual).");
        ConfigurationException.Require(KlCoef > 0f && float.IsFinite(KlCoef), $"{p}.kl_coef", $"is {KlCoef}; use a positive initial penalty weight such as 1.");
        ConfigurationException.Require(TargetKl > 0f && float.IsFinite(TargetKl), $"{p}.target_kl", $"is {TargetKl}; use a positive target divergence such as 0.01.");
        long rollout = (long)NumSteps * envs;
        ConfigurationException.Require(BatchSize >= 1 && BatchSize <= rollout, $"{p}.batch_size",
            $"is {BatchSize}, but a rollout holds n_steps × n_envs = {NumSteps} × {envs} = {rollout} transitions; use a minibatch size between 1 and {rollout}.");
        ConfigurationException.Require(rollout % BatchSize == 0, $"{p}.batch_size",
            $"is {BatchSize}, which does not divide n_steps × n_envs = {rollout}; pick a divisor so every transition is used once per epoch.");
    }
}
