using System.Text.Json.Serialization;

namespace Reinforce.Algorithms;

/// <summary>How a hyperparameter changes over training.</summary>
public enum Schedule
{
    /// <summary>Stays at its initial value.</summary>
    Constant,

    /// <summary>Falls linearly from its initial value to zero at the end of training (rl-baselines3-zoo's <c>lin_</c> prefix, CleanRL's <c>anneal_lr</c>).</summary>
    Linear,
}

/// <summary>Which optimizer updates the policy.</summary>
public enum OptimizerKind
{
    /// <summary>Adam (what PPO and REINFORCE use in Stable-Baselines3 and CleanRL).</summary>
    Adam,

    /// <summary>RMSprop (A2C's optimizer in the paper and in Stable-Baselines3).</summary>
    RmsProp,

    /// <summary>Plain stochastic gradient descent, θ ← θ − α∇L (the textbook update of Sutton &amp; Barto's REINFORCE and gradient bandit).</summary>
    Sgd,
}

/// <summary>Which distribution turns the policy network's output into actions.</summary>
public enum DistributionKind
{
    /// <summary>Chosen from the action space: Categorical for Discrete, one Categorical per branch for MultiDiscrete, diagonal Gaussian for Box.</summary>
    Auto,

    /// <summary>Softmax over the choices.</summary>
    Categorical,

    /// <summary>One logit per binary choice, P(1) = sigmoid(logit); for Discrete(2) or a MultiDiscrete whose branches all have two choices.</summary>
    Bernoulli,
}

/// <summary>Helpers for <see cref="Schedule"/>.</summary>
public static class Schedules
{
    /// <summary>The value of a hyperparameter that starts at <paramref name="initial"/>, at <paramref name="progress"/> ∈ [0, 1] of training.</summary>
    public static float At(this Schedule schedule, float initial, double progress) => schedule switch
    {
        Schedule.Linear => (float)(initial * Math.Max(0.0, 1.0 - progress)),
        _ => initial,
    };
}

/// <summary>
/// The actor-critic network: an MLP actor whose output parameterises the action distribution and an MLP critic
/// V(s), separate or on a shared trunk. Defaults follow Stable-Baselines3's <c>MlpPolicy</c> for PPO and A2C.
/// </summary>
public sealed class PolicyOptions
{
    /// <summary>Widths of the hidden layers (of each of actor and critic, or of the shared trunk).</summary>
    public int[] HiddenSizes { get; set; } = [64, 64];

    /// <summary>The hidden layers' activation: tanh, relu, elu, gelu_tanh, sigmoid, softplus.</summary>
    public string Activation { get; set; } = "tanh";

    /// <summary>Whether actor and critic share their hidden layers (one trunk, two heads).</summary>
    public bool SharedTrunk { get; set; }

    /// <summary>Orthogonal initialisation as Stable-Baselines3 and CleanRL: gain √2 on hidden layers, 0.01 on the policy head, 1 on the value head, zero biases.</summary>
    public bool OrthoInit { get; set; } = true;

    /// <summary>Initial log standard deviation of the Gaussian policy (Box actions).</summary>
    public float LogStdInit { get; set; }

    /// <summary>The action distribution (auto picks from the action space).</summary>
    public DistributionKind Distribution { get; set; } = DistributionKind.Auto;

    /// <summary>Generalised state-dependent exploration (Raffin et al. 2021) for Box actions: the noise is a linear function of the policy's last hidden features, with weights resampled every <see cref="SdeSampleFreq"/> steps.</summary>
    public bool UseSde { get; set; }

    /// <summary>With <see cref="UseSde"/>: resample the exploration matrix every this many steps (−1: once per rollout).</summary>
    public int SdeSampleFreq { get; set; } = -1;

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the first invalid setting.</summary>
    public void Validate(string path = "policy")
    {
        ConfigurationException.Require(HiddenSizes is not null, $"{path}.hidden_sizes", "is missing; give the hidden layer widths, for example [64, 64] (or [] for a linear policy).");
        for (int i = 0; i < HiddenSizes!.Length; i++)
            ConfigurationException.Require(HiddenSizes[i] >= 1, $"{path}.hidden_sizes[{i}]", $"is {HiddenSizes[i]}; every hidden layer needs at least 1 unit (64 is a good default).");
        ConfigurationException.Require(!string.IsNullOrWhiteSpace(Activation), $"{path}.activation", "is missing; use tanh (the default) or relu.");
        ConfigurationException.Require(float.IsFinite(LogStdInit), $"{path}.log_std_init", "must be a finite number (0 means an initial standard deviation of 1).");
        ConfigurationException.Require(SdeSampleFreq == -1 || SdeSampleFreq >= 1, $"{path}.sde_sample_freq", $"is {SdeSampleFreq}; use -1 (resample once per rollout) or a positive number of steps such as 4.");
    }

    /// <summary>A deep copy.</summary>
    public PolicyOptions Clone()
    {
        var copy = (PolicyOptions)MemberwiseClone();
        copy.HiddenSizes = (int[])HiddenSizes.Clone();
        return copy;
    }
}

/// <summary>Settings every on-policy algorithm shares: rollout length, discount, optimizer, policy network, normalisation.</summary>
public abstract class OnPolicyOptions
{
    /// <summary>Seeds the weights' initialisation and the action sampling (environments are seeded separately).</summary>
    public int Seed { get; set; }

    /// <summary>Steps collected from each environment between two updates.</summary>
    [JsonPropertyName("n_steps")]
    public int NumSteps { get; set; } = 2048;

    /// <summary>Discount γ.</summary>
    public float Gamma { get; set; } = 0.99f;

    /// <summary>Initial learning rate.</summary>
    public float LearningRate { get; set; } = 3e-4f;

    /// <summary>How the learning rate changes over training.</summary>
    public Schedule LearningRateSchedule { get; set; } = Schedule.Constant;

    /// <summary>The optimizer.</summary>
    public OptimizerKind Optimizer { get; set; } = OptimizerKind.Adam;

    /// <summary>The optimizer's ε (Stable-Baselines3 uses 1e-5 for Adam in PPO and for RMSprop in A2C).</summary>
    public float OptimizerEps { get; set; } = 1e-5f;

    /// <summary>Weight of the entropy bonus in the loss.</summary>
    [JsonPropertyName("ent_coef")]
    public float EntropyCoef { get; set; }

    /// <summary>Weight of the value loss in the loss.</summary>
    [JsonPropertyName("vf_coef")]
    public float ValueCoef { get; set; } = 0.5f;

    /// <summary>Gradients are rescaled so their global L2 norm is at most this (null: no clipping).</summary>
    public float? MaxGradNorm { get; set; } = 0.5f;

    /// <summary>Standardise observations with running statistics (saved with the checkpoint and applied by Predict).</summary>
    public bool NormalizeObservations { get; set; }

    /// <summary>Scale rewards by the running standard deviation of the discounted return (as Stable-Baselines3's VecNormalize).</summary>
    public bool NormalizeRewards { get; set; }

    /// <summary>Normalised observations are clipped to ±this.</summary>
    public float ClipObservations { get; set; } = 10f;

    /// <summary>Normalised rewards are clipped to ±this.</summary>
    public float ClipRewards { get; set; } = 10f;

    /// <summary>The policy network.</summary>
    public PolicyOptions Policy { get; set; } = new();

    /// <summary>The JSON key of this algorithm's section ("ppo", "a2c", "vpg").</summary>
    [JsonIgnore]
    public abstract string AlgorithmName { get; }

    /// <summary>The optimizer <see cref="Optimizer"/> names, over the policy's parameters (with their names, for checkpoints).</summary>
    public virtual Optim.Optimizer CreateOptimizer(IEnumerable<Tensor> parameters, IEnumerable<string> names) => Optimizer switch
    {
        OptimizerKind.Sgd => new Optim.Sgd(parameters, LearningRate, names: names),
        OptimizerKind.RmsProp => new Optim.RmsProp(parameters, LearningRate, alpha: RmsPropSmoothing, eps: OptimizerEps, names: names),
        _ => new Optim.Adam(parameters, LearningRate, eps: OptimizerEps, names: names),
    };

    /// <summary>RMSprop's smoothing constant α when <see cref="Optimizer"/> is RMSprop (A2C makes it a setting).</summary>
    protected virtual float RmsPropSmoothing => 0.99f;

    /// <summary>
    /// Adjusts settings that depend on the number of environments when a run changes it from <paramref name="oldEnvs"/>
    /// to <paramref name="newEnvs"/> (PPO keeps its number of minibatches); returns a note for the user, or null.
    /// </summary>
    public virtual string? AdaptToEnvironmentCount(int oldEnvs, int newEnvs) => null;

    /// <summary>
    /// The minibatch size that keeps the number of minibatches per epoch when the rollout grows or shrinks from
    /// <paramref name="oldEnvs"/> to <paramref name="newEnvs"/> environments, and a note for the user (null, and the
    /// size unchanged, when it cannot or need not change).
    /// </summary>
    protected string? KeepMinibatchCount(int batchSize, int oldEnvs, int newEnvs, out int newBatchSize)
    {
        newBatchSize = batchSize;
        if (newEnvs < 1 || batchSize <= 0 || (long)NumSteps * oldEnvs % batchSize != 0) return null;
        long minibatches = (long)NumSteps * oldEnvs / batchSize;
        long rollout = (long)NumSteps * newEnvs;
        if (rollout % minibatches != 0 || rollout / minibatches == batchSize) return null;
        newBatchSize = (int)(rollout / minibatches);
        return $"Note: with {newEnvs} environments, {AlgorithmName}.batch_size becomes {newBatchSize} (was {batchSize}) to keep {minibatches} minibatch(es) per epoch.";
    }

    /// <summary>A deep copy of these settings (of the derived type).</summary>
    public OnPolicyOptions CloneOptions()
    {
        var copy = (OnPolicyOptions)MemberwiseClone();
        copy.Policy = Policy.Clone();
        return copy;
    }

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the first invalid setting; <paramref name="envs"/> is the number of environments it will run with.</summary>
    public virtual void Validate(int envs)
    {
        string p = AlgorithmName;
        ConfigurationException.Require(NumSteps >= 1, $"{p}.n_steps", $"is {NumSteps}; collect at least 1 step per environment per update (for example 128).");
        ConfigurationException.Require(Gamma >= 0f && Gamma <= 1f, $"{p}.gamma", $"is {Gamma}; the discount must lie in [0, 1] (0.99 is usual).");
        ConfigurationException.Require(LearningRate > 0f && float.IsFinite(LearningRate), $"{p}.learning_rate", $"is {LearningRate}; use a positive number such as 3e-4.");
        ConfigurationException.Require(OptimizerEps > 0f, $"{p}.optimizer_eps", $"is {OptimizerEps}; use a small positive number such as 1e-5.");
        ConfigurationException.Require(EntropyCoef >= 0f && float.IsFinite(EntropyCoef), $"{p}.ent_coef", $"is {EntropyCoef}; use 0 (no bonus) or a small positive number such as 0.01.");
        ConfigurationException.Require(ValueCoef >= 0f && float.IsFinite(ValueCoef), $"{p}.vf_coef", $"is {ValueCoef}; use a non-negative number such as 0.5.");
        ConfigurationException.Require(MaxGradNorm is null || MaxGradNorm > 0f, $"{p}.max_grad_norm", $"is {MaxGradNorm}; use a positive norm such as 0.5, or null for no clipping.");
        ConfigurationException.Require(ClipObservations > 0f, $"{p}.clip_observations", $"is {ClipObservations}; use a positive bound such as 10.");
        ConfigurationException.Require(ClipRewards > 0f, $"{p}.clip_rewards", $"is {ClipRewards}; use a positive bound such as 10.");
        ConfigurationException.Require(envs >= 1, "n_envs", $"is {envs}; use at least 1 environment.");
        ConfigurationException.Require(Policy is not null, $"{p}.policy", "is missing; give at least {\"hidden_sizes\": [64, 64]}.");
        Policy!.Validate($"{p}.policy");
    }
}

/// <summary>
/// Proximal Policy Optimization (Schulman et al. 2017) settings. Defaults are Stable-Baselines3's; presets
/// (<c>presets/*.json</c>) hold tuned values per environment.
/// </summary>
public sealed partial class PpoOptions : OnPolicyOptions
{
    /// <inheritdoc/>
    [JsonIgnore]
    public override string AlgorithmName => "ppo";

    /// <summary>GAE λ.</summary>
    public float GaeLambda { get; set; } = 0.95f;

    /// <summary>Minibatch size; must divide n_steps × n_envs.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Passes over the rollout per update.</summary>
    [JsonPropertyName("n_epochs")]
    public int NumEpochs { get; set; } = 10;

    /// <summary>ε of the clipped surrogate objective: the probability ratio is clipped to [1 − ε, 1 + ε].</summary>
    public float ClipRange { get; set; } = 0.2f;

    /// <summary>How ε changes over training.</summary>
    public Schedule ClipRangeSchedule { get; set; } = Schedule.Constant;

    /// <summary>When set, the new value prediction is kept within ±this of the old one in the value loss (null: no value clipping).</summary>
    public float? ClipRangeVf { get; set; }

    /// <summary>Standardise advantages within each minibatch.</summary>
    public bool NormalizeAdvantage { get; set; } = true;

    /// <summary>Stop the update's epochs early once the approximate KL divergence from the rollout policy exceeds 1.5 × this (null: never).</summary>
    public float? TargetKl { get; set; }

    /// <summary>Keeps PPO's number of minibatches per epoch when the number of environments changes.</summary>
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
        ConfigurationException.Require(GaeLambda >= 0f && GaeLambda <= 1f, "ppo.gae_lambda", $"is {GaeLambda}; λ must lie in [0, 1] (0.95 is usual).");
        ConfigurationException.Require(NumEpochs >= 1, "ppo.n_epochs", $"is {NumEpochs}; use at least 1 pass over each rollout (10 is usual).");
        ConfigurationException.Require(ClipRange > 0f, "ppo.clip_range", $"is {ClipRange}; use a positive ε such as 0.2.");
        ConfigurationException.Require(ClipRangeVf is null || ClipRangeVf > 0f, "ppo.clip_range_vf", $"is {ClipRangeVf}; use a positive bound or null (no value clipping).");
        ConfigurationException.Require(TargetKl is null || TargetKl > 0f, "ppo.target_kl", $"is {TargetKl}; use a positive KL such as 0.015, or null.");
        int rollout = NumSteps * envs;
        ConfigurationException.Require(BatchSize >= 1 && BatchSize <= rollout, "ppo.batch_size",
            $"is {BatchSize}, but a rollout holds n_steps × n_envs = {NumSteps} × {envs} = {rollout} transitions; use a minibatch size between 1 and {rollout}.");
        ConfigurationException.Require(rollout % BatchSize == 0, "ppo.batch_size",
            $"is {BatchSize}, which does not divide the rollout size n_steps × n_envs = {rollout}; use a divisor such as {LargestDivisorAtMost(rollout, BatchSize)}.");
    }

    private static int LargestDivisorAtMost(int n, int limit)
    {
        for (int d = Math.Min(limit, n); d > 1; d--) if (n % d == 0) return d;
        return 1;
    }

    /// <summary>A deep copy.</summary>
    public PpoOptions Clone()
    {
        var copy = (PpoOptions)MemberwiseClone();
        copy.Policy = Policy.Clone();
        return copy;
    }
}

/// <summary>
/// Advantage actor-critic (Mnih et al. 2016, synchronous) settings: n-step rollouts, GAE(λ) advantages, one
/// gradient step per rollout. Defaults are Stable-Baselines3's A2C.
/// </summary>
public sealed partial class A2cOptions : OnPolicyOptions
{
    /// <summary>Stable-Baselines3's A2C defaults: 5 steps, λ = 1, RMSprop with lr 7e-4.</summary>
    public A2cOptions()
    {
        NumSteps = 5;
        LearningRate = 7e-4f;
        Optimizer = OptimizerKind.RmsProp;
    }

    /// <inheritdoc/>
    [JsonIgnore]
    public override string AlgorithmName => "a2c";

    /// <summary>GAE λ (1: n-step returns minus the baseline, as the original A2C).</summary>
    public float GaeLambda { get; set; } = 1f;

    /// <summary>Standardise advantages over the rollout.</summary>
    public bool NormalizeAdvantage { get; set; }

    /// <summary>RMSprop's smoothing constant α.</summary>
    public float RmsPropAlpha { get; set; } = 0.99f;

    /// <inheritdoc/>
    protected override float RmsPropSmoothing => RmsPropAlpha;

    /// <inheritdoc/>
    public override void Validate(int envs)
    {
        base.Validate(envs);
        ConfigurationException.Require(GaeLambda >= 0f && GaeLambda <= 1f, "a2c.gae_lambda", $"is {GaeLambda}; λ must lie in [0, 1] (1 is A2C's default).");
        ConfigurationException.Require(RmsPropAlpha > 0f && RmsPropAlpha < 1f, "a2c.rms_prop_alpha", $"is {RmsPropAlpha}; use a value in (0, 1) such as 0.99.");
    }

    /// <summary>A deep copy.</summary>
    public A2cOptions Clone()
    {
        var copy = (A2cOptions)MemberwiseClone();
        copy.Policy = Policy.Clone();
        return copy;
    }
}

/// <summary>
/// REINFORCE (Williams 1992) settings: Monte-Carlo reward-to-go, optionally minus a learned value baseline,
/// optionally standardised over the batch. Only complete episodes contribute: the steps of an episode still
/// running at the end of a rollout are left out (their return is unknown) and its remaining steps, collected
/// in the next rollout, count from there.
/// </summary>
public sealed partial class VpgOptions : OnPolicyOptions
{
    /// <summary>REINFORCE defaults: long rollouts, Adam with lr 1e-3, a learned baseline.</summary>
    public VpgOptions()
    {
        NumSteps = 1000;
        LearningRate = 1e-3f;
        MaxGradNorm = null;
    }

    /// <inheritdoc/>
    [JsonIgnore]
    public override string AlgorithmName => "vpg";

    /// <summary>Subtract a learned value V(s) from the return (REINFORCE with baseline, Sutton &amp; Barto §13.4).</summary>
    public bool UseBaseline { get; set; } = true;

    /// <summary>Standardise the returns (or the advantages, with a baseline) over the batch before weighting the log-probabilities.</summary>
    public bool NormalizeReturns { get; set; }

    /// <inheritdoc/>
    public override void Validate(int envs)
    {
        base.Validate(envs);
        ConfigurationException.Require(UseBaseline || Policy.SharedTrunk == false, "vpg.policy.shared_trunk", "needs use_baseline = true (without a baseline there is no critic to share the trunk with).");
    }

    /// <summary>A deep copy.</summary>
    public VpgOptions Clone()
    {
        var copy = (VpgOptions)MemberwiseClone();
        copy.Policy = Policy.Clone();
        return copy;
    }
}
