using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Autograd;
using Reinforce.Distributions;
using Reinforce.Nn;
using Reinforce.Spaces;
using Reinforce.Tensors;

namespace Reinforce.Algorithms;

/// <summary>What <see cref="ActorCriticPolicy.ActorCritic"/> computes for a batch, recorded for backpropagation.</summary>
/// <param name="ActorOutput">Logits [N, OutputSize] or Gaussian means [N, D].</param>
/// <param name="Values">The critic's V(s) [N] (null without a critic).</param>
/// <param name="Latent">The actor's last hidden features [N, L], which gSDE's noise is a function of (null without gSDE).</param>
public readonly record struct PolicyOutput(Tensor ActorOutput, Tensor? Values, Tensor? Latent);

/// <summary>How the policy turns its network output into actions.</summary>
public enum ActionHeadKind
{
    /// <summary>One softmax over the choices of a Discrete space.</summary>
    Categorical,

    /// <summary>One softmax per branch of a MultiDiscrete space.</summary>
    MultiCategorical,

    /// <summary>Independent binary choices, P(1) = σ(logit): Discrete(2), or a MultiDiscrete whose branches all have two choices.</summary>
    Bernoulli,

    /// <summary>A diagonal Gaussian with a state-independent log-std (Box).</summary>
    Gaussian,
}

/// <summary>
/// The actor-critic network of Stable-Baselines3's <c>MlpPolicy</c> and CleanRL's <c>Agent</c>: an MLP actor whose
/// output parameterises the action distribution (logits, or Gaussian means with a learned state-independent
/// log-std) and an MLP critic V(s), separate or on a shared trunk; orthogonal initialisation with gain √2 on
/// hidden layers, 0.01 on the policy head and 1 on the value head, zero biases.
/// </summary>
/// <remarks>
/// <para>Two ways through the network: <see cref="ActorCritic"/> records a differentiable graph for the update;
/// <see cref="IPolicy.Act"/> and <see cref="IPolicy.PredictValues"/> compute the same numbers without recording and without
/// allocating, for the rollout loop (one batched pass over all environments per step).</para>
/// <para>For Box actions the environment receives the action clipped to its bounds; the unclipped sample and
/// its log-probability are what the buffer stores and the update trains on.</para>
/// </remarks>
public sealed class ActorCriticPolicy : TrainablePolicy
{
    private readonly Linear[] _trunk;        // shared hidden layers (empty unless SharedTrunk)
    private readonly Linear[] _actor;        // actor hidden layers + policy head
    private readonly Linear[] _critic;       // critic hidden layers + value head (empty without a critic)
    private readonly FusedMlp? _trunkNet;
    private readonly FusedMlp _actorNet;
    private readonly FusedMlp? _actorHidden;  // gSDE: the actor's hidden layers alone (its latent features)
    private readonly FusedMlp? _actorHead;    // gSDE: the policy head alone
    private readonly FusedMlp? _criticNet;
    private readonly FrozenNetworks _rolloutNetworks;
    private readonly int[] _branches;
    private readonly int _start;             // Discrete(n, start): the environment's first action value
    private readonly float[] _low = [], _high = [];

    // Inference scratch (sized for the largest batch seen).
    private float[] _logSoftmax = [];

    // gSDE exploration matrices, one [L, D] per row of the batch being acted on.
    private float[] _exploration = [];
    private int _explorationRows;

    /// <summary>Builds the network for observations of <paramref name="observationSize"/> floats and actions from <paramref name="actionSpace"/>.</summary>
    public ActorCriticPolicy(int observationSize, Space actionSpace, PolicyOptions options, bool withCritic, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(actionSpace);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rng);
        if (observationSize < 1) throw new ArgumentOutOfRangeException(nameof(observationSize), observationSize, "The policy needs at least one observation feature.");
        options.Validate();
        Options = options.Clone();
        ObservationLayout = ObservationLayout.Of(new Box(float.NegativeInfinity, float.PositiveInfinity, [observationSize]));
        HasCritic = withCritic;
        Activation = ParseActivation(options.Activation);
        (Kind, _branches, OutputSize) = ChooseHead(actionSpace, options.Distribution);
        _start = actionSpace is Discrete discrete ? discrete.Start : 0;
        if (Kind == ActionHeadKind.Gaussian)
        {
            var box = (Box)actionSpace;
            _low = box.Low;
            _high = box.High;
        }
        ActionSpace = actionSpace;

        if (options.UseSde && Kind != ActionHeadKind.Gaussian)
            throw new ConfigurationException("policy.use_sde", $"is true, but gSDE needs continuous (Box) actions and the action space is {actionSpace}; set use_sde to false.");
        int[] hidden = options.HiddenSizes;
        int featureSize = observationSize;
        LatentSize = hidden.Length > 0 ? hidden[^1] : observationSize;
        if (options.SharedTrunk && hidden.Length > 0)
        {
            _trunk = MakeLayers(observationSize, hidden, rng, out featureSize);
            _actor = [Head(featureSize, OutputSize, 0.01f, rng)];
            _critic = withCritic ? [Head(featureSize, 1, 1f, rng)] : [];
        }
        else
        {
            _trunk = [];
            _actor = [.. MakeLayers(observationSize, hidden, rng, out int actorFeatures), Head(actorFeatures, OutputSize, 0.01f, rng)];
            _critic = withCritic ? [.. MakeLayers(observationSize, hidden, rng, out int criticFeatures), Head(criticFeatures, 1, 1f, rng)] : [];
        }
        // Hidden layers as PyTorch's nn.Sequential (Linear, activation, Linear, ...): actor.0.weight, actor.2.weight, ...
        if (_trunk.Length > 0) RegisterModule("trunk", Stack(_trunk));
        if (_actor.Length > 1) RegisterModule("actor", Stack(_actor[..^1]));
        RegisterModule("policy_head", _actor[^1]);
        if (_critic.Length > 1) RegisterModule("critic", Stack(_critic[..^1]));
        if (_critic.Length > 0) RegisterModule("value_head", _critic[^1]);
        if (Kind == ActionHeadKind.Gaussian)
        {
            // gSDE learns one standard deviation per (latent feature, action) pair; plain Gaussian one per action.
            LogStd = RegisterParameter("log_std", UsesSde ? Tensor.Full(options.LogStdInit, LatentSize, OutputSize) : Tensor.Full(options.LogStdInit, OutputSize));
        }

        _trunkNet = _trunk.Length > 0 ? Fuse(_trunk, activateLast: true) : null;
        _actorNet = Fuse(_actor, activateLast: false);
        if (UsesSde)
        {
            _actorHidden = _actor.Length > 1 ? Fuse(_actor[..^1], activateLast: true) : null;
            _actorHead = Fuse(_actor[^1..], activateLast: false);
        }
        _criticNet = withCritic ? Fuse(_critic, activateLast: false) : null;
        _rolloutNetworks = new FrozenNetworks([.. new[] { _trunkNet, _actorNet, _actorHidden, _actorHead, _criticNet }.Distinct().OfType<FusedMlp>()]);
    }

    /// <summary>The settings the network was built with.</summary>
    public PolicyOptions Options { get; }

    /// <summary>One flat vector part of the observation size (the MLP reads the row as features).</summary>
    public override ObservationLayout ObservationLayout { get; }

    /// <summary>The action space the policy acts in.</summary>
    public override Space ActionSpace { get; }

    /// <summary>Whether the network has a value head.</summary>
    public override bool HasCritic { get; }

    /// <summary>The hidden layers' activation.</summary>
    public Activation Activation { get; }

    /// <summary>How actions are drawn.</summary>
    public ActionHeadKind Kind { get; }

    /// <summary>Width of the actor's output: logits (all branches together) or Gaussian means.</summary>
    public int OutputSize { get; }

    /// <summary>Ints per action (Discrete: 1, MultiDiscrete / Bernoulli: the branch count; 0 for Box).</summary>
    public override int DiscreteActionSize => Kind == ActionHeadKind.Gaussian ? 0 : _branches.Length;

    /// <summary>Floats per action (the Box dimension; 0 for discrete actions).</summary>
    public override int ContinuousActionSize => Kind == ActionHeadKind.Gaussian ? OutputSize : 0;

    /// <summary>The learned log standard deviation of the Gaussian head: [D], or [L, D] with gSDE (null for discrete actions).</summary>
    public override Parameter? LogStd { get; }

    /// <summary>Whether exploration is generalised state-dependent (gSDE, Raffin et al. 2021): Box actions with <c>use_sde</c>.</summary>
    public bool UsesSde => Kind == ActionHeadKind.Gaussian && Options.UseSde;

    /// <summary>The modules that turn an observation into the actor's features, in order (the shared trunk, then the actor's hidden stack): what exporters walk.</summary>
    public IReadOnlyList<Module> ActorFeatureModules => [.. Children().Where(c => c.Name is "trunk" or "actor").Select(c => c.Module)];

    /// <summary>The policy head: features → logits or Gaussian means.</summary>
    public Linear PolicyHead => _actor[^1];

    /// <summary>Width L of the actor's last hidden layer (the observation size without hidden layers).</summary>
    public int LatentSize { get; }

    /// <inheritdoc/>
    protected internal override IDisposable? FreezeForRollout() => _rolloutNetworks.Freeze();

    /// <summary>The policy's compiled networks, frozen for a rollout (<see cref="FusedMlp.Freeze"/>) and thawed together; one object for every rollout.</summary>
    private sealed class FrozenNetworks(FusedMlp[] networks) : IDisposable
    {
        private readonly FusedMlp.FrozenScope[] _scopes = new FusedMlp.FrozenScope[networks.Length];

        public FrozenNetworks Freeze()
        {
            for (int i = 0; i < networks.Length; i++) _scopes[i] = networks[i].Freeze();
            return this;
        }

        public void Dispose()
        {
            foreach (var scope in _scopes) scope.Dispose();
        }
    }

    // ------------------------------------------------------------------ differentiable path (updates)

    /// <summary>
    /// The actor output (logits [N, OutputSize] or Gaussian means [N, D]), the critic's values [N] (null without
    /// a critic) and, with gSDE, the actor's latent features, for observations [N, ObservationSize], recorded for backpropagation.
    /// </summary>
    [BypassReadyToRun]
    public PolicyOutput ActorCritic(Tensor observations)
    {
        ArgumentNullException.ThrowIfNull(observations);
        int rows = observations.Rows;
        var features = _trunkNet is null ? observations : _trunkNet.Forward(observations);
        // Separate actor and critic networks run side by side, one per core (the shared-trunk heads are too small to bother).
        var actorFirstPart = UsesSde ? _actorHidden : _actorNet;
        if (_trunkNet is null && _criticNet is not null && actorFirstPart is not null
            && FusedMlp.PairRunsInParallel(actorFirstPart, _criticNet, rows))
        {
            var both = FusedMlp.ForwardPair(actorFirstPart, _criticNet, features);
            int width = actorFirstPart.OutputSize;
            var values = Ops.Reshape(Ops.Slice(both, width, 1), rows);
            if (!UsesSde) return new PolicyOutput(Ops.Slice(both, 0, width), values, null);
            var latent = Ops.Slice(both, 0, width);
            return new PolicyOutput(_actorHead!.Forward(latent), values, latent);
        }

        Tensor actorOutput;
        Tensor? latentFeatures = null;
        if (UsesSde)
        {
            latentFeatures = _actorHidden is null ? features : _actorHidden.Forward(features);
            actorOutput = _actorHead!.Forward(latentFeatures);
        }
        else
        {
            actorOutput = _actorNet.Forward(features);
        }
        Tensor? criticValues = _criticNet is null ? null : Ops.Reshape(_criticNet.Forward(features), rows);
        return new PolicyOutput(actorOutput, criticValues, latentFeatures);
    }

    /// <summary>
    /// The actor and critic networks when they are separate networks straight on the observations (no shared trunk, no
    /// gSDE): PPO then steps each on its own core (<see cref="PpoPairedStep"/>). Null otherwise.
    /// </summary>
    internal (FusedMlp Actor, FusedMlp Critic)? SeparateNetworks =>
        _trunkNet is null && !UsesSde && _criticNet is not null ? (_actorNet, _criticNet) : null;

    /// <summary>The actor output alone (logits or Gaussian means) for observations [N, ObservationSize]: the deployable policy network.</summary>
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return ActorCritic(x).ActorOutput;
    }

    /// <summary>The critic's values [N] for observations [N, ObservationSize], recorded for backpropagation.</summary>
    public Tensor Values(Tensor observations)
    {
        if (_criticNet is null) throw new InvalidOperationException("This policy has no critic (it was built without a value head).");
        var features = _trunkNet is null ? observations : _trunkNet.Forward(observations);
        return Ops.Reshape(_criticNet.Forward(features), observations.Rows);
    }

    /// <inheritdoc/>
    public override PolicyEvaluation EvaluateActions(Tensor observations, ReadOnlySpan<int> discreteActions, Tensor? continuousActions, ReadOnlySpan<bool> actionMask = default)
    {
        ArgumentNullException.ThrowIfNull(observations);
        CheckMask(actionMask, observations.Rows);
        var output = ActorCritic(observations);
        var (logProb, entropy) = Evaluate(output, discreteActions, continuousActions, actionMask);
        return new PolicyEvaluation(logProb, entropy, output.Values);
    }

    /// <inheritdoc/>
    internal override (ActorCriticPolicy Head, Tensor Features)? CategoricalHead(Tensor observations) =>
        Kind == ActionHeadKind.Categorical && HasCritic ? (this, observations) : null;

    /// <summary>
    /// The 0-based indices of <paramref name="discreteActions"/> as the environment gives them (Discrete(n, start)), in
    /// <paramref name="buffer"/> when they need shifting: the columns of a categorical head's logits.
    /// </summary>
    internal ReadOnlySpan<int> ActionIndices(ReadOnlySpan<int> discreteActions, ref int[] buffer)
    {
        if (_start == 0) return discreteActions;
        if (buffer.Length < discreteActions.Length) buffer = new int[discreteActions.Length];
        for (int i = 0; i < discreteActions.Length; i++) buffer[i] = discreteActions[i] - _start;
        return buffer.AsSpan(0, discreteActions.Length);
    }

    /// <summary>
    /// log π(a|s) [N] and the entropy of π(·|s) [N] for the given actions, from the actor output of <see cref="ActorCritic"/>:
    /// discrete actions as [N × <see cref="DiscreteActionSize"/>] ints (as the environment takes them), continuous ones as a tensor [N, D].
    /// </summary>
    /// <remarks>With an <paramref name="actionMask"/> ([N × ActionMaskSize], true = allowed; discrete heads), log-probabilities and
    /// entropy are those of the masked distribution (MaskablePPO), and an action the mask forbids is an error.</remarks>
    public (Tensor LogProb, Tensor Entropy) Evaluate(PolicyOutput output, ReadOnlySpan<int> discreteActions, Tensor? continuousActions, ReadOnlySpan<bool> actionMask = default)
    {
        var actorOutput = output.ActorOutput ?? throw new ArgumentException("Evaluate: the policy output has no actor output.", nameof(output));
        if (_start != 0)
        {
            var shifted = new int[discreteActions.Length];
            for (int i = 0; i < shifted.Length; i++) shifted[i] = discreteActions[i] - _start;
            discreteActions = shifted;
        }
        switch (Kind)
        {
            case ActionHeadKind.Categorical:
            {
                var dist = new Categorical(actorOutput, actionMask.IsEmpty ? null : actionMask.ToArray());
                return (dist.LogProb(discreteActions), dist.Entropy());
            }
            case ActionHeadKind.MultiCategorical:
            {
                Tensor? logProb = null, entropy = null;
                int offset = 0;
                int rows = actorOutput.Rows;
                var branchActions = new int[rows];
                for (int b = 0; b < _branches.Length; b++)
                {
                    bool[]? branchMask = null;
                    if (!actionMask.IsEmpty)
                    {
                        branchMask = new bool[rows * _branches[b]];
                        for (int r = 0; r < rows; r++) actionMask.Slice(r * OutputSize + offset, _branches[b]).CopyTo(branchMask.AsSpan(r * _branches[b], _branches[b]));
                    }
                    var dist = new Categorical(Ops.Slice(actorOutput, offset, _branches[b]), branchMask);
                    for (int r = 0; r < rows; r++) branchActions[r] = discreteActions[r * _branches.Length + b];
                    var lp = dist.LogProb(branchActions);
                    var h = dist.Entropy();
                    logProb = logProb is null ? lp : Ops.Add(logProb, lp);
                    entropy = entropy is null ? h : Ops.Add(entropy, h);
                    offset += _branches[b];
                }
                return (logProb!, entropy!);
            }
            case ActionHeadKind.Bernoulli:
            {
                var dist = new Bernoulli(actorOutput);
                var actions = new float[discreteActions.Length];
                for (int i = 0; i < actions.Length; i++) actions[i] = discreteActions[i];
                return (Ops.SumLastDim(dist.LogProb(actions)), Ops.SumLastDim(dist.Entropy()));
            }
            default:
            {
                if (continuousActions is null) throw new ArgumentNullException(nameof(continuousActions), "A Gaussian policy needs the continuous actions.");
                if (!UsesSde)
                {
                    var dist = new DiagGaussian(actorOutput, LogStd!.Value);
                    return (dist.LogProb(continuousActions), dist.Entropy());
                }
                // gSDE: the noise latent·E with E ~ N(0, σ²) has variance Σ_l latent_l²·σ_ld² per action d; as in
                // Stable-Baselines3 the features are not trained through the variance (learn_features = false).
                var latent = output.Latent ?? throw new ArgumentException("Evaluate: a gSDE policy needs the latent features of ActorCritic.", nameof(output));
                var variance = Ops.MatMul(Ops.Square(latent.Detach()), Ops.Exp(LogStd!.Value * 2f)) + SdeEpsilon;
                var sde = new DiagGaussian(actorOutput, Ops.Log(variance) * 0.5f);
                return (sde.LogProb(continuousActions), sde.Entropy());
            }
        }
    }

    // ------------------------------------------------------------------ inference path (rollouts, Predict)

    /// <inheritdoc/>
    [BypassReadyToRun]
    public override void Act(in ObservationBatch observations, PolicyState state, ReadOnlySpan<bool> actionMask, Rng rng, bool deterministic, in ActionBatch output)
    {
        CheckObservations(observations);
        Act(observations.Data, observations.Rows, actionMask, rng, deterministic, output);
    }

    /// <summary>
    /// <see cref="Act(in ObservationBatch, PolicyState, ReadOnlySpan{bool}, Rng, bool, in ActionBatch)"/> on flat feature rows
    /// [rows × ObservationSize] (what an encoder in front of this head produces), with an optional action mask
    /// ([rows × ActionMaskSize], true = allowed): masked actions are never sampled nor taken as the mode, and the
    /// log-probabilities are those of the masked distribution.
    /// </summary>
    [BypassReadyToRun]
    public void Act(ReadOnlySpan<float> observations, int rows, ReadOnlySpan<bool> actionMask, Rng rng, bool deterministic, in ActionBatch output)
    {
        CheckMask(actionMask, rows);
        _mask = actionMask.IsEmpty ? null : ActionMaskScratch(actionMask);
        try
        {
            Act(observations, rows, rng, deterministic, output.Discrete, output.Continuous, output.LogProbs, output.Values);
        }
        finally
        {
            _mask = null;
        }
    }

    /// <summary>The critic's V(s) for flat feature rows [rows × ObservationSize] (zeros without a critic).</summary>
    public void PredictValuesFeatures(ReadOnlySpan<float> observations, int rows, Span<float> values) => PredictValuesFlat(observations, rows, values);

    /// <summary>Width of an action mask row: one flag per choice of every branch for discrete heads (Discrete, MultiDiscrete); 0 otherwise.</summary>
    public override int ActionMaskSize => Kind is ActionHeadKind.Categorical or ActionHeadKind.MultiCategorical ? OutputSize : 0;

    private bool[]? _mask;
    private bool[] _maskBuffer = [];

    private bool[] ActionMaskScratch(ReadOnlySpan<bool> mask)
    {
        if (_maskBuffer.Length < mask.Length) _maskBuffer = new bool[mask.Length];
        mask.CopyTo(_maskBuffer);
        return _maskBuffer;
    }

    /// <summary>Checks a mask's size and that every row (and branch) allows at least one action.</summary>
    private void CheckMask(ReadOnlySpan<bool> actionMask, int rows)
    {
        if (actionMask.IsEmpty) return;
        if (ActionMaskSize == 0 || actionMask.Length != rows * ActionMaskSize) ThrowBadMask(actionMask.Length, rows);
        for (int r = 0; r < rows; r++)
        {
            int offset = 0;
            for (int b = 0; b < _branches.Length; b++)
            {
                if (!actionMask.Slice(r * OutputSize + offset, _branches[b]).Contains(true)) ThrowMaskedOut(r, b);
                offset += _branches[b];
            }
        }
    }

    // The messages are formatted in methods of their own, compiled only when one is thrown (not with every run's first step).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ThrowBadMask(int length, int rows)
    {
        if (ActionMaskSize == 0)
            throw new ArgumentException($"ActorCriticPolicy: the action space {ActionSpace} takes no action masks (only Discrete and MultiDiscrete actions can be masked); pass an empty mask.", "actionMask");
        throw new ArgumentException($"ActorCriticPolicy: the action mask has {length} flags, but {rows} rows of {ActionMaskSize} (one per choice of {ActionSpace}) are needed.", "actionMask");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ThrowMaskedOut(int r, int b) =>
        throw new ArgumentException(
            $"ActorCriticPolicy: the action mask of row {r}{(_branches.Length > 1 ? $" (branch {b})" : "")} allows no action: every choice of {ActionSpace} is masked out. " +
            "An environment must leave at least one legal action in every state (end the episode instead).", "actionMask");

    /// <inheritdoc/>
    public override void PredictValues(in ObservationBatch observations, PolicyState state, Span<float> values)
    {
        CheckObservations(observations);
        PredictValuesFlat(observations.Data, observations.Rows, values);
    }

    /// <summary>gSDE: draws new exploration matrices at the start of each rollout and every <c>sde_sample_freq</c> steps.</summary>
    public override void OnRolloutStep(int step, int rows, Rng rng)
    {
        int frequency = Options.SdeSampleFreq;
        if (UsesSde && (step == 0 || (frequency > 0 && step % frequency == 0))) ResampleExploration(rng, rows);
    }

    /// <summary>Clips Gaussian actions to the Box bounds (what the environment receives).</summary>
    public override void ToEnvironmentActions(ReadOnlySpan<float> sampled, Span<float> environmentActions) => ClipToBounds(sampled, environmentActions);

    /// <summary>
    /// Chooses actions for <paramref name="rows"/> observations in one batched pass, without recording a graph or
    /// allocating: samples (or takes the mode when <paramref name="deterministic"/>), writing the actions, their
    /// log-probabilities and, when <paramref name="values"/> is not empty, the critic's values.
    /// </summary>
    [BypassReadyToRun]
    public void Act(ReadOnlySpan<float> observations, int rows, Rng rng, bool deterministic,
        Span<int> discreteActions, Span<float> continuousActions, Span<float> logProbs, Span<float> values)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ReadOnlySpan<float> features = _trunkNet is null ? observations[..(rows * ObservationSize)] : _trunkNet.Infer(observations, rows);
        if (UsesSde)
        {
            var latent = _actorHidden is null ? features : _actorHidden.Infer(features, rows);
            SampleSde(latent, _actorHead!.Infer(latent, rows), rows, rng, deterministic, continuousActions, logProbs);
            if (!values.IsEmpty) CriticInfer(features, rows, values);
            return;
        }
        var output = _actorNet.Infer(features, rows);
        switch (Kind)
        {
            case ActionHeadKind.Categorical:
            case ActionHeadKind.MultiCategorical:
                SampleCategorical(output, rows, rng, deterministic, discreteActions, logProbs);
                break;
            case ActionHeadKind.Bernoulli:
                SampleBernoulli(output, rows, rng, deterministic, discreteActions, logProbs);
                break;
            default:
                SampleGaussian(output, rows, rng, deterministic, continuousActions, logProbs);
                break;
        }
        if (_start != 0)
            for (int i = 0; i < rows; i++) discreteActions[i] += _start;
        if (!values.IsEmpty) CriticInfer(features, rows, values);
    }

    /// <summary>
    /// A separate critic on the observations (no shared trunk) reads each row alone, and its products sum every row in the
    /// same order whatever the number of rows (the kernels split rows and columns, never the sum), so a rollout's values
    /// come in one batch with the same bits (checked in the tests).
    /// </summary>
    protected internal override bool ValuesAfterRollout => _trunkNet is null && _criticNet is not null;

    /// <inheritdoc/>
    protected internal override long ValueWorkPerRow => _criticNet?.MultiplyAddsPerRow ?? 0;

    /// <summary>The critic's V(s) for <paramref name="rows"/> observations, without recording or allocating (zeros without a critic).</summary>
    private void PredictValuesFlat(ReadOnlySpan<float> observations, int rows, Span<float> values)
    {
        ReadOnlySpan<float> features = _trunkNet is null ? observations[..(rows * ObservationSize)] : _trunkNet.Infer(observations, rows);
        CriticInfer(features, rows, values);
    }

    /// <summary>
    /// gSDE: draws new exploration matrices E ~ N(0, exp(log_std)²), one [L, D] per row, so that each environment's
    /// noise latent·E is a smooth function of its state until the next resample.
    /// </summary>
    [BypassReadyToRun]
    public void ResampleExploration(Rng rng, int rows)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (!UsesSde) return;
        int size = LatentSize * OutputSize;
        if (_exploration.Length < rows * size) _exploration = new float[rows * size];
        var logStd = LogStd!.Value.Data;
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < size; k++)
                _exploration[r * size + k] = MathF.Exp(logStd[k]) * (float)rng.NextGaussian();
        _explorationRows = rows;
    }

    /// <summary>Clips Gaussian actions to the Box bounds (what the environment receives).</summary>
    public void ClipToBounds(ReadOnlySpan<float> actions, Span<float> clipped)
    {
        int d = OutputSize;
        for (int i = 0; i < actions.Length; i++) clipped[i] = Math.Clamp(actions[i], _low[i % d], _high[i % d]);
    }

    private void CriticInfer(ReadOnlySpan<float> features, int rows, Span<float> values)
    {
        if (_criticNet is null) { values[..rows].Clear(); return; }
        _criticNet.Infer(features, rows).CopyTo(values);
    }

    // Sampling goes through the distributions' span-level helpers (the same code the tensor distributions sample with).

    [BypassReadyToRun]
    private void SampleCategorical(ReadOnlySpan<float> logits, int rows, Rng rng, bool deterministic, Span<int> actions, Span<float> logProbs)
    {
        if (_logSoftmax.Length < OutputSize) _logSoftmax = new float[OutputSize];
        for (int r = 0; r < rows; r++)
        {
            float total = 0f;
            int offset = 0;
            for (int b = 0; b < _branches.Length; b++)
            {
                int n = _branches[b];
                var row = logits.Slice(r * OutputSize + offset, n);
                var logp = _logSoftmax.AsSpan(0, n);
                var allowed = _mask is null ? default : _mask.AsSpan(r * OutputSize + offset, n);
                int choice;
                if (allowed.IsEmpty)
                {
                    Kernels.LogSoftmaxRows(row, logp, n);
                    choice = deterministic ? Categorical.ModeIndex(row) : Categorical.SampleIndex(logp, rng.NextDouble());
                }
                else
                {
                    MaskedLogSoftmax(row, allowed, logp);
                    if (deterministic)
                    {
                        choice = -1;
                        for (int k = 0; k < n; k++)
                            if (allowed[k] && (choice < 0 || row[k] > row[choice])) choice = k;
                    }
                    else
                    {
                        // Inverse CDF: the first action whose cumulative probability exceeds u (masked actions have probability 0).
                        double u = rng.NextDouble(), cumulative = 0;
                        choice = -1;
                        for (int k = 0; k < n; k++)
                        {
                            if (!allowed[k]) continue;
                            choice = k;
                            cumulative += Math.Exp(logp[k]);
                            if (u < cumulative) break;
                        }
                    }
                }
                actions[r * _branches.Length + b] = choice;
                total += logp[choice];
                offset += n;
            }
            logProbs[r] = total;
        }
    }

    /// <summary>log-softmax over the allowed entries only; masked entries get −∞ (never read as a probability).</summary>
    private static void MaskedLogSoftmax(ReadOnlySpan<float> row, ReadOnlySpan<bool> allowed, Span<float> logp)
    {
        float max = float.NegativeInfinity;
        for (int k = 0; k < row.Length; k++) if (allowed[k] && row[k] > max) max = row[k];
        double sum = 0;
        for (int k = 0; k < row.Length; k++) if (allowed[k]) sum += Math.Exp(row[k] - max);
        float logSum = max + (float)Math.Log(sum);
        for (int k = 0; k < row.Length; k++) logp[k] = allowed[k] ? row[k] - logSum : float.NegativeInfinity;
    }

    private void SampleBernoulli(ReadOnlySpan<float> logits, int rows, Rng rng, bool deterministic, Span<int> actions, Span<float> logProbs)
    {
        int k = OutputSize;
        for (int r = 0; r < rows; r++)
        {
            float total = 0f;
            for (int j = 0; j < k; j++)
            {
                float x = logits[r * k + j];
                int a = deterministic ? Bernoulli.ModeOne(x) : Bernoulli.SampleOne(x, rng.NextDouble());
                actions[r * k + j] = a;
                total += (float)Bernoulli.LogProbOne(x, a);
            }
            logProbs[r] = total;
        }
    }

    private void SampleGaussian(ReadOnlySpan<float> means, int rows, Rng rng, bool deterministic, Span<float> actions, Span<float> logProbs)
    {
        int d = OutputSize;
        var logStd = LogStd!.Value.Data;
        for (int r = 0; r < rows; r++)
        {
            float total = 0f;
            for (int j = 0; j < d; j++)
            {
                float eps = deterministic ? 0f : (float)rng.NextGaussian();
                actions[r * d + j] = DiagGaussian.SampleOne(means[r * d + j], logStd[j], eps, out float logDensity);
                total += logDensity;
            }
            logProbs[r] = total;
        }
    }

    private const float SdeEpsilon = 1e-6f;

    [BypassReadyToRun]
    private void SampleSde(ReadOnlySpan<float> latent, ReadOnlySpan<float> means, int rows, Rng rng, bool deterministic, Span<float> actions, Span<float> logProbs)
    {
        if (!deterministic && _explorationRows < rows) ResampleExploration(rng, rows);
        int d = OutputSize, l = LatentSize;
        var logStd = LogStd!.Value.Data;
        for (int r = 0; r < rows; r++)
        {
            var z = latent.Slice(r * l, l);
            float total = 0f;
            for (int j = 0; j < d; j++)
            {
                float variance = SdeEpsilon, noise = 0f;
                for (int k = 0; k < l; k++)
                {
                    float sigma = MathF.Exp(logStd[k * d + j]);
                    variance += z[k] * z[k] * sigma * sigma;
                    if (!deterministic) noise += z[k] * _exploration[(r * l + k) * d + j];
                }
                float std = MathF.Sqrt(variance);
                actions[r * d + j] = means[r * d + j] + noise;
                total += DiagGaussian.LogDensity(noise, std, MathF.Log(std));
            }
            logProbs[r] = total;
        }
    }

    // ------------------------------------------------------------------ construction

    private static (ActionHeadKind Kind, int[] Branches, int OutputSize) ChooseHead(Space space, DistributionKind requested)
    {
        switch (space)
        {
            case Discrete d:
                if (requested == DistributionKind.Bernoulli)
                {
                    if (d.N != 2) throw new ConfigurationException("policy.distribution", $"is bernoulli, but the action space {d} has {d.N} choices; Bernoulli needs exactly 2. Use \"auto\" or \"categorical\".");
                    return (ActionHeadKind.Bernoulli, [2], 1);
                }
                return (ActionHeadKind.Categorical, [d.N], d.N);
            case MultiDiscrete m:
            {
                int[] nvec = m.Nvec;
                if (requested == DistributionKind.Bernoulli)
                {
                    if (nvec.Any(n => n != 2)) throw new ConfigurationException("policy.distribution", $"is bernoulli, but the action space {m} has branches with other than 2 choices. Use \"auto\" or \"categorical\".");
                    return (ActionHeadKind.Bernoulli, nvec, nvec.Length);
                }
                return (ActionHeadKind.MultiCategorical, nvec, nvec.Sum());
            }
            case Box b:
                if (requested != DistributionKind.Auto)
                    throw new ConfigurationException("policy.distribution", $"is {requested.ToString().ToLowerInvariant()}, but the action space {b} is continuous; use \"auto\" (a diagonal Gaussian).");
                if (b.Shape.Length != 1) throw new ArgumentException($"ActorCriticPolicy: Box action spaces must be vectors; got shape [{string.Join(", ", b.Shape)}].");
                return (ActionHeadKind.Gaussian, [], b.FlatSize);
            default:
                throw new ArgumentException($"ActorCriticPolicy: unsupported action space {space}; use Discrete, MultiDiscrete or Box.");
        }
    }

    internal static Activation ParseActivation(string name)
    {
        Activation activation;
        try
        {
            activation = Activations.Parse(name);
        }
        catch (ArgumentException)
        {
            throw new ConfigurationException("policy.activation", $"is \"{name}\"; use {Activations.CompilableNames}.");
        }
        if (!Activations.Of(activation).IsCompilable)
            throw new ConfigurationException("policy.activation", $"is \"{name}\", which the policy network does not support; use {Activations.CompilableNames}.");
        return activation;
    }

    private Linear[] MakeLayers(int inputSize, int[] hidden, Rng rng, out int outputSize)
    {
        var layers = new Linear[hidden.Length];
        int size = inputSize;
        for (int i = 0; i < hidden.Length; i++)
        {
            layers[i] = Layer(size, hidden[i], MathF.Sqrt(2f), rng);
            size = hidden[i];
        }
        outputSize = size;
        return layers;
    }

    private Linear Head(int inputSize, int outputSize, float gain, Rng rng) => Layer(inputSize, outputSize, gain, rng);

    private Linear Layer(int inputSize, int outputSize, float gain, Rng rng)
    {
        var layer = new Linear(inputSize, outputSize, rng);
        if (Options.OrthoInit)
        {
            Init.Orthogonal(layer.Weight.Value, gain, rng);
            Init.Zeros(layer.Bias!.Value);
        }
        return layer;
    }

    private Sequential Stack(Linear[] layers)
    {
        var stack = new Sequential();
        foreach (var layer in layers)
        {
            stack.Add(layer);
            stack.Add(new ActivationLayer(Activation));
        }
        return stack;
    }

    private FusedMlp Fuse(Linear[] layers, bool activateLast) => new(layers, Activation, activateLast);
}
