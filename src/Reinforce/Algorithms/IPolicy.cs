using Reinforce.Nn;
using Reinforce.Spaces;

namespace Reinforce.Algorithms;

/// <summary>
/// What a policy remembers between steps for each environment copy (an LSTM's hidden and cell state, a frame
/// history, ...). The rollout and evaluation loops create one per vector environment with
/// <see cref="IPolicy.CreateState"/> and call <see cref="Reset"/> for a copy whose episode just ended, so the next
/// episode starts from a clean memory. Stateless policies use <see cref="None"/>.
/// </summary>
public abstract class PolicyState
{
    /// <summary>The state of a policy that remembers nothing (shared; <see cref="Reset"/> does nothing).</summary>
    public static PolicyState None { get; } = new StatelessState();

    /// <summary>Environment copies the state covers (0 for <see cref="None"/>).</summary>
    public abstract int Copies { get; }

    /// <summary>Forgets copy <paramref name="copy"/>'s memory: its episode ended and the next observation starts a new one.</summary>
    public abstract void Reset(int copy);

    /// <summary>Forgets every copy's memory (the environments were reset).</summary>
    public void ResetAll()
    {
        for (int i = 0; i < Copies; i++) Reset(i);
    }

    private sealed class StatelessState : PolicyState
    {
        public override int Copies => 0;

        public override void Reset(int copy) { }
    }
}

/// <summary>
/// Where <see cref="IPolicy.Act"/> writes, for a batch of rows: the actions (ints for Discrete/MultiDiscrete, floats
/// for Box, as sampled), their log-probabilities and, when <see cref="Values"/> is not empty, the critic's values.
/// </summary>
public readonly ref struct ActionBatch
{
    /// <summary>Destinations for one batch; pass empty spans for what the caller does not need or the space does not have.</summary>
    public ActionBatch(Span<int> discrete, Span<float> continuous, Span<float> logProbs, Span<float> values)
    {
        Discrete = discrete;
        Continuous = continuous;
        LogProbs = logProbs;
        Values = values;
    }

    /// <summary>[rows × DiscreteActionSize] ints (empty for Box actions).</summary>
    public Span<int> Discrete { get; }

    /// <summary>[rows × ContinuousActionSize] floats, unclipped (empty for discrete actions).</summary>
    public Span<float> Continuous { get; }

    /// <summary>[rows] log π(a|s) of the chosen actions.</summary>
    public Span<float> LogProbs { get; }

    /// <summary>[rows] V(s), or empty when the caller does not want values.</summary>
    public Span<float> Values { get; }
}

/// <summary>
/// The inference side of a policy, what acting needs (rollouts, <see cref="Agent.Predict(ReadOnlySpan{float}, bool)"/>,
/// evaluation): a batch of structured observations in, actions out, optionally carrying recurrent state per
/// environment copy and honouring action masks. Implementations must not allocate in <see cref="Act"/> once warm.
/// </summary>
public interface IPolicy
{
    /// <summary>What an observation row holds (a block per Dict key, images as [C, H, W]; one block for a Box).</summary>
    ObservationLayout ObservationLayout { get; }

    /// <summary>Floats per observation row.</summary>
    int ObservationSize { get; }

    /// <summary>The action space the policy acts in.</summary>
    Space ActionSpace { get; }

    /// <summary>Ints per action (Discrete: 1, MultiDiscrete: branches; 0 for Box).</summary>
    int DiscreteActionSize { get; }

    /// <summary>Floats per action (the Box dimension; 0 for discrete actions).</summary>
    int ContinuousActionSize { get; }

    /// <summary>Width of an action mask row (one flag per choice of every branch; 0 when masks are not supported).</summary>
    int ActionMaskSize { get; }

    /// <summary>Whether the policy carries memory between steps (then the loops must keep and reset its <see cref="PolicyState"/>).</summary>
    bool IsRecurrent { get; }

    /// <summary>A fresh (reset) memory for <paramref name="copies"/> environment copies; <see cref="PolicyState.None"/> when not recurrent.</summary>
    PolicyState CreateState(int copies);

    /// <summary>
    /// Called before each rollout step's <see cref="Act"/> (step 0 starts a rollout): policies whose exploration noise
    /// lasts several steps (gSDE) draw it here, from the training generator.
    /// </summary>
    void OnRolloutStep(int step, int rows, Rng rng);

    /// <summary>
    /// Chooses actions for every row of <paramref name="observations"/> in one batched pass, without recording a graph:
    /// samples (or takes the mode when <paramref name="deterministic"/>) and writes into <paramref name="output"/>;
    /// advances <paramref name="state"/> (recurrent policies).
    /// </summary>
    /// <param name="observations">The batch (rows = environment copies).</param>
    /// <param name="state">The memory made by <see cref="CreateState"/> for these rows (<see cref="PolicyState.None"/> when not recurrent).</param>
    /// <param name="actionMask">[rows × <see cref="ActionMaskSize"/>] flags, true = allowed; empty = every action allowed.</param>
    /// <param name="rng">The sampling generator.</param>
    /// <param name="deterministic">Take the most likely action instead of sampling.</param>
    /// <param name="output">Where the actions, log-probabilities and values go.</param>
    void Act(in ObservationBatch observations, PolicyState state, ReadOnlySpan<bool> actionMask, Rng rng, bool deterministic, in ActionBatch output);

    /// <summary>The critic's V(s) for every row, without recording or advancing <paramref name="state"/> (zeros without a critic).</summary>
    void PredictValues(in ObservationBatch observations, PolicyState state, Span<float> values);

    /// <summary>Turns sampled continuous actions into what the environment receives (a Box policy clips them to the bounds).</summary>
    void ToEnvironmentActions(ReadOnlySpan<float> sampled, Span<float> environmentActions);
}

/// <summary>log π(a|s) [N], the entropy of π(·|s) [N] and the critic's V(s) [N] (null without a critic), recorded for backpropagation.</summary>
public readonly record struct PolicyEvaluation(Tensor LogProb, Tensor Entropy, Tensor? Values);

/// <summary>
/// A policy an on-policy algorithm can train: the inference side (<see cref="IPolicy"/>) and a differentiable
/// evaluation of stored actions, over parameters held as an <see cref="Module"/> tree (saved in checkpoints, given to
/// the optimizer). <see cref="ActorCriticPolicy"/> is the MLP one; issue-11 encoders (CNN, LSTM) derive from this.
/// </summary>
public abstract class TrainablePolicy : Module, IPolicy
{
    /// <inheritdoc/>
    public abstract ObservationLayout ObservationLayout { get; }

    /// <inheritdoc/>
    public int ObservationSize => ObservationLayout.Size;

    /// <inheritdoc/>
    public abstract Space ActionSpace { get; }

    /// <inheritdoc/>
    public abstract int DiscreteActionSize { get; }

    /// <inheritdoc/>
    public abstract int ContinuousActionSize { get; }

    /// <inheritdoc/>
    public virtual int ActionMaskSize => 0;

    /// <summary>Whether the network has a value head.</summary>
    public abstract bool HasCritic { get; }

    /// <inheritdoc/>
    public virtual bool IsRecurrent => false;

    /// <summary>
    /// For a policy whose actions come from one categorical actor-critic head read without memory: that head and the
    /// features it reads for <paramref name="observations"/> (recorded for backpropagation); null for every other head or a
    /// recurrent policy. PPO computes its loss straight from the head's logits then (<see cref="PpoObjective.CategoricalLoss"/>:
    /// the same bits as the distribution's separate operations, in fewer passes, the loss itself allocating nothing).
    /// </summary>
    internal virtual (ActorCriticPolicy Head, Tensor Features)? CategoricalHead(Tensor observations) => null;

    /// <summary>The learned log standard deviation of a Gaussian head (null for discrete actions), reported as <c>train/std</c>.</summary>
    public virtual Parameter? LogStd => null;

    /// <inheritdoc/>
    public virtual PolicyState CreateState(int copies) => PolicyState.None;

    /// <inheritdoc/>
    public virtual void OnRolloutStep(int step, int rows, Rng rng) { }

    /// <summary>
    /// Called by the rollout loop before its first step: the weights will not change until the returned scope is
    /// disposed, so a policy may prepare them once for the many small batches to come (the MLP policy transposes its
    /// weights, <see cref="Nn.FusedMlp.Freeze"/>). The default prepares nothing.
    /// </summary>
    protected internal virtual IDisposable? FreezeForRollout() => null;

    /// <inheritdoc/>
    public abstract void Act(in ObservationBatch observations, PolicyState state, ReadOnlySpan<bool> actionMask, Rng rng, bool deterministic, in ActionBatch output);

    /// <summary>Throws when <paramref name="observations"/> are not rows of this policy's layout, naming both layouts and the fix.</summary>
    protected void CheckObservations(in ObservationBatch observations)
    {
        if (ReferenceEquals(observations.Layout, ObservationLayout) || observations.RowSize == ObservationSize) return;
        throw new ArgumentException(
            $"{GetType().Name}: observations of {observations.RowSize} floats per row ({ObservationErrors.Blocks(observations.Layout)}) do not fit the policy, " +
            $"which was built for rows of {ObservationSize} floats ({ObservationErrors.Blocks(ObservationLayout)}). Act on observations of the space the policy was made for " +
            "(ObservationLayout.Of(env.SingleObservationSpace) of the training environment; images channels first).", nameof(observations));
    }

    /// <inheritdoc/>
    public abstract void PredictValues(in ObservationBatch observations, PolicyState state, Span<float> values);

    /// <summary>
    /// Whether a rollout may leave V(s) out of each step's <see cref="Act"/> and compute a rollout's values in one batch at
    /// its end (<see cref="PredictValues(in ObservationBatch, PolicyState, Span{float})"/> over the stored observations):
    /// true only when V reads the observation alone (no memory, no features the actor computes anyway) and the batch gives
    /// each row the same bits as the step did. One pass over 512 rows instead of 128 passes over 4 took CleanRL's rollout
    /// from about 185 to about 160 µs. The default is false.
    /// </summary>
    protected internal virtual bool ValuesAfterRollout => false;

    /// <summary>Multiply-adds of V(s) for one observation row, when <see cref="ValuesAfterRollout"/> (what decides whether a second core is worth it).</summary>
    protected internal virtual long ValueWorkPerRow => 0;

    /// <summary>V(s) for <paramref name="rows"/> flat observation rows, each from a fresh memory (a convenience over <see cref="PredictValues(in ObservationBatch, PolicyState, Span{float})"/>).</summary>
    public void PredictValues(ReadOnlySpan<float> observations, int rows, Span<float> values) =>
        PredictValues(new ObservationBatch(observations, rows, ObservationLayout), CreateState(rows), values);

    /// <inheritdoc/>
    public virtual void ToEnvironmentActions(ReadOnlySpan<float> sampled, Span<float> environmentActions) => sampled.CopyTo(environmentActions);

    /// <summary>
    /// log π(a|s), the entropy and V(s) for a minibatch of stored observations [N, ObservationSize] and the actions taken
    /// (discrete as [N × DiscreteActionSize] ints, continuous as a tensor [N, D]), recorded for backpropagation;
    /// <paramref name="actionMask"/> ([N × ActionMaskSize] or empty) must be the mask the actions were sampled under.
    /// </summary>
    public abstract PolicyEvaluation EvaluateActions(Tensor observations, ReadOnlySpan<int> discreteActions, Tensor? continuousActions, ReadOnlySpan<bool> actionMask = default);
}

/// <summary>Builds the policy an on-policy agent trains (the default is the MLP <see cref="ActorCriticPolicy"/>).</summary>
/// <param name="layout">The environment's observation layout.</param>
/// <param name="actionSpace">The environment's single action space.</param>
/// <param name="options">The algorithm's policy settings.</param>
/// <param name="withCritic">Whether the algorithm needs a value head.</param>
/// <param name="rng">The weight-initialisation generator.</param>
public delegate TrainablePolicy PolicyFactory(ObservationLayout layout, Space actionSpace, PolicyOptions options, bool withCritic, Rng rng);
