using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Envs;
using Reinforce.IO;
using Reinforce.Optim;
using Reinforce.Spaces;
using Reinforce.Tensors;
using Reinforce.Envs.Vector;
using Reinforce.Envs.Wrappers;

namespace Reinforce.Algorithms;

/// <summary>
/// What REINFORCE, A2C and PPO share: <see cref="Learn"/> alternates collecting a rollout from the vector environment
/// with the algorithm's <see cref="Update"/>; acting, evaluation and checkpoints come from <see cref="Agent"/>.
/// </summary>
/// <remarks>
/// <para>One seed fixes everything: the weights, the action sampling, the minibatch order and the environments'
/// resets. The same seed on the same build gives the same numbers bit for bit, and a run resumed from a
/// checkpoint continues exactly as the uninterrupted run would have.</para>
/// <para>Observation and reward normalisation (options <c>normalize_observations</c>, <c>normalize_rewards</c>)
/// wrap the environment inside the agent, so the statistics travel with the checkpoint and
/// <see cref="Agent.Predict(ReadOnlySpan{float}, bool)"/> takes raw observations.</para>
/// <para>The rollout drives the policy only through <see cref="IPolicy"/>: structured observations
/// (<see cref="ObservationBatch"/>), one <see cref="PolicyState"/> per environment copy reset at episode starts, and
/// (issue 11) action masks. Pass a <see cref="PolicyFactory"/> to train another <see cref="TrainablePolicy"/>.</para>
/// </remarks>
public abstract partial class OnPolicyAgent : Agent
{
    private readonly IVectorEnv _rawEnv;
    private readonly int[] _discreteActions;
    private readonly float[] _continuousActions;
    private readonly float[] _envActions;
    private readonly float[] _logProbs;
    private readonly float[] _values;
    private readonly float[] _finalValue = new float[1];
    private readonly Rng _predictRng;
    private PolicyState _rolloutState = PolicyState.None;
    private RecurrentPolicyState? _finalState;   // one copy's memory, for the value of a truncated episode's final observation
    private bool _envStarted;

    /// <summary>Builds the agent for <paramref name="env"/>; <paramref name="withCritic"/> adds a value head; <paramref name="policyFactory"/> (default: the MLP <see cref="ActorCriticPolicy"/>) builds the policy.</summary>
    protected OnPolicyAgent(IVectorEnv env, OnPolicyOptions options, bool withCritic, PolicyFactory? policyFactory = null)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(env.NumEnvs);
        // Any observation space works: the vector environment flattens it into float rows and ObservationLayout.For
        // names the parts (a ByteBox image, the keys of a DictSpace, one-hot Discrete values).
        Options = options;
        _rawEnv = env;
        Env = env;
        if (options.NormalizeObservations)
        {
            ObservationNormalizer = new VectorNormalizeObservation(Env, clip: options.ClipObservations);
            Env = ObservationNormalizer;
        }
        if (options.NormalizeRewards)
        {
            RewardNormalizer = new VectorNormalizeReward(Env, gamma: options.Gamma);
            Env = RewardNormalizer;
        }

        // Separate streams so that, e.g., changing the network size does not change the environments' seeds.
        ulong seed = unchecked((ulong)(long)options.Seed);
        var initRng = new Rng(Rng.DeriveSeed(seed, 0));
        Rng = new Rng(Rng.DeriveSeed(seed, 1));
        EnvironmentSeed = Rng.DeriveSeed(seed, 2);
        _predictRng = new Rng(Rng.DeriveSeed(seed, 5));   // Predict never disturbs the training stream

        var layout = ObservationLayout.Of(env.SingleObservationSpace);
        Policy = (policyFactory ?? DefaultPolicy)(layout, env.SingleActionSpace, options.Policy, withCritic, initRng);
        if (Policy.ObservationSize != env.ObservationSize)
            throw new ArgumentException($"{options.AlgorithmName}: the policy takes observations of {Policy.ObservationSize} floats, the environment gives {env.ObservationSize}.");
        var named = Policy.NamedParameters().ToArray();
        Optimizer = options.CreateOptimizer(named.Select(p => p.Parameter.Value), named.Select(p => p.Name));
        _gradientStep = new Optim.GradientStep(Optimizer, options.MaxGradNorm, errorIfNonFinite: false);

        int envs = env.NumEnvs;
        // Action masks (MaskablePPO): used when the environment exposes its legal actions and the policy allows it.
        MaskSize = options.Policy.UseActionMasks ? env.ActionMaskSize : 0;
        if (MaskSize > 0 && Policy.ActionMaskSize != MaskSize)
            throw new ArgumentException(
                $"{options.AlgorithmName}: the environment gives action masks of {MaskSize} flags but the policy takes {Policy.ActionMaskSize} " +
                $"(action space {env.SingleActionSpace}); set policy.use_action_masks to false to ignore the environment's masks.");
        Buffer = new RolloutBuffer(options.NumSteps, envs, env.ObservationSize, Policy.DiscreteActionSize, Policy.ContinuousActionSize, MaskSize);
        _discreteActions = new int[envs * Policy.DiscreteActionSize];
        _continuousActions = new float[envs * Policy.ContinuousActionSize];
        _envActions = new float[envs * Policy.ContinuousActionSize];
        _logProbs = new float[envs];
        _values = new float[envs];
        // Environments made by Environments.Make/MakeVector carry their registered id as their name.
        string name = env.Envs.Count > 0 ? env.Envs[0].Name : "";
        EnvironmentId = Environments.IsRegistered(name) ? name : null;
        Actions = new ActionLog(Policy.DiscreteActionSize > 0 ? envs * Policy.DiscreteActionSize : envs * Policy.ContinuousActionSize, Policy.ContinuousActionSize > 0);
        // Only environments restored by replay need the actions; snapshots keep memory and checkpoints flat.
        _recordActions = Env.Restore == EnvironmentRestore.Replay;
    }

    private readonly bool _recordActions;

    /// <summary>How a checkpoint of this agent restores its training environments (see <see cref="Checkpoint"/>).</summary>
    public EnvironmentRestore EnvironmentRestore => Env.Restore;

    /// <summary>
    /// The MLP <see cref="ActorCriticPolicy"/> for a plain vector observation; the <see cref="EncoderPolicy"/> (CNN per
    /// image part, one encoder per part, optional LSTM/GRU) when the observation has images or several parts, or the
    /// settings ask for a CNN or memory.
    /// </summary>
    internal static TrainablePolicy DefaultPolicy(ObservationLayout layout, Space actionSpace, PolicyOptions options, bool withCritic, Rng rng) =>
        options.NeedsEncoderPolicy(layout)
            ? new EncoderPolicy(layout, actionSpace, options, withCritic, rng)
            : new ActorCriticPolicy(layout.Size, actionSpace, options, withCritic, rng);

    /// <summary>Flags per action mask the rollout takes from the environment (0: no masks).</summary>
    public int MaskSize { get; }

    /// <summary>The settings (validated).</summary>
    public OnPolicyOptions Options { get; }

    /// <summary>The environment as the algorithm sees it (normalisation wrappers included).</summary>
    public IVectorEnv Env { get; }

    /// <summary>The observation normaliser (null unless <c>normalize_observations</c>).</summary>
    public VectorNormalizeObservation? ObservationNormalizer { get; }

    /// <summary>The reward normaliser (null unless <c>normalize_rewards</c>).</summary>
    public VectorNormalizeReward? RewardNormalizer { get; }

    /// <summary>The policy being trained (by default the MLP <see cref="ActorCriticPolicy"/>).</summary>
    public TrainablePolicy Policy { get; }

    /// <inheritdoc/>
    public override IPolicy ActingPolicy => Policy;

    /// <inheritdoc/>
    public override Space ObservationSpace => _rawEnv.SingleObservationSpace;

    /// <inheritdoc/>
    protected override Rng PredictRng => _predictRng;

    /// <inheritdoc/>
    protected override bool UsesActionMasks => Options.Policy.UseActionMasks;

    /// <summary>The optimizer over all of the policy's parameters.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The rollout storage.</summary>
    protected internal RolloutBuffer Buffer { get; }

    /// <summary>The generator for action sampling and minibatch shuffling (its state is checkpointed).</summary>
    protected Rng Rng { get; private set; }

    /// <summary>The seed the training environments are reset with.</summary>
    public ulong EnvironmentSeed { get; }

    /// <summary>Every action sent to the training environments since their reset (replayed to restore them on <see cref="Load"/>).</summary>
    public ActionLog Actions { get; private set; }

    /// <summary>The algorithm's name ("ppo", "a2c", "vpg", ...).</summary>
    public override string AlgorithmName => Options.AlgorithmName;

    /// <summary>
    /// Trains until <see cref="Agent.StepsDone"/> reaches <paramref name="totalSteps"/> (whole rollouts, so it may overshoot by
    /// less than one rollout). Schedules (learning rate, clip range) anneal over [0, <paramref name="totalSteps"/>], so
    /// resuming a checkpoint with the same <paramref name="totalSteps"/> continues the interrupted run exactly; to
    /// train for M more steps call <c>Learn(agent.StepsDone + M)</c>.
    /// </summary>
    [BypassReadyToRun]
    public override void Learn(long totalSteps, IEnumerable<TrainingCallback>? callbacks = null)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "Learn: train for at least one step.");
        var hooks = callbacks?.ToArray() ?? [];
        StartEnvironments();
        foreach (var hook in hooks) hook.OnTrainingStart(this, totalSteps);
        var clock = Stopwatch.StartNew();
        long startSteps = StepsDone;
        try
        {
            while (StepsDone < totalSteps)
            {
                CollectRollout();
                MergeStatisticsAcrossRanks();
                double progress = Math.Min(1.0, (double)StepsDone / totalSteps);
                var metrics = new TrainingMetrics
                {
                    Steps = StepsDone,
                    Iteration = ++Iterations,
                    TotalSteps = totalSteps,
                    Elapsed = clock.Elapsed,
                    StepsPerSecond = (StepsDone - startSteps) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9),
                    EpisodeReturnMean = Episodes.MeanReturn,
                    EpisodeLengthMean = Episodes.MeanLength,
                    Episodes = Episodes.Total,
                };
                long updateStart = Stopwatch.GetTimestamp();
                Update(progress, metrics);
                _updateTicks += Stopwatch.GetTimestamp() - updateStart;
                var (meanReturn, meanLength) = EpisodeMeansAcrossRanks();
                metrics.Set("rollout/ep_rew_mean", meanReturn ?? double.NaN);
                metrics.Set("rollout/ep_len_mean", meanLength ?? double.NaN);
                metrics.Set("time/fps", (StepsDone - startSteps) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9));
                bool keepGoing = true;
                foreach (var hook in hooks) keepGoing &= hook.OnUpdate(this, metrics);
                if (!AgreeAfterUpdate(keepGoing)) break;
            }
        }
        finally
        {
            foreach (var hook in hooks) hook.OnTrainingEnd(this);
        }
    }

    /// <summary>Total time spent in updates (gradient steps, including any all-reduce) by <see cref="Learn"/> in this process so far; the rest of training time is rollouts and callbacks.</summary>
    public TimeSpan UpdateTime => Stopwatch.GetElapsedTime(0, _updateTicks);

    private long _updateTicks;

    /// <summary>Resets the training environments before the first rollout (a resumed agent's are already running).</summary>
    internal void StartEnvironments()
    {
        if (_envStarted) return;
        ResetEnvironments();
        Actions.Clear(EnvironmentSeed);
        _rolloutState = Policy.CreateState(Env.NumEnvs);
        _envStarted = true;
    }

    /// <summary>Runs one update on the rollout in <see cref="Buffer"/> (what <see cref="Learn"/> does after each rollout).</summary>
    internal void RunUpdate(double progress, TrainingMetrics metrics) => Update(progress, metrics);

    /// <summary>
    /// Runs the policy in the environments for <c>n_steps</c> steps each, filling <see cref="Buffer"/>: one batched
    /// forward pass per step over all environments, nothing allocated. Truncated episodes get V(final observation)
    /// for bootstrapping; terminated ones do not.
    /// </summary>
    [BypassReadyToRun]
    protected internal void CollectRollout()
    {
        int envs = Env.NumEnvs;
        var state = _rolloutState;
        OnRolloutStart(state);
        Buffer.Clear();
        var layout = Policy.ObservationLayout;
        using var frozen = Policy.FreezeForRollout();   // no optimizer step until the rollout ends
        var later = Policy.ValuesAfterRollout && !ValuesEachStep ? _rolloutValues ??= new RolloutValues(Policy, Buffer, RolloutValues.WorthASecondCore(Policy, Kernels.MaxThreads) ? SecondCore : null) : null;
        later?.Begin();
        var stepValues = later is null ? _values : Span<float>.Empty;
        for (int t = 0; t < Options.NumSteps; t++)
        {
            Policy.OnRolloutStep(t, envs, Rng);
            var observations = Env.Observations;
            var masks = MaskSize > 0 ? Env.ActionMasks : default;
            if (MaskSize > 0) Buffer.SetActionMasks(masks);
            Policy.Act(new ObservationBatch(observations, envs, layout), state, masks, Rng, deterministic: false,
                new ActionBatch(_discreteActions, _continuousActions, _logProbs, stepValues));
            Buffer.AddStep(observations, _discreteActions, _continuousActions, _logProbs, stepValues);
            later?.Stored();
            if (Policy.ContinuousActionSize > 0)
            {
                Policy.ToEnvironmentActions(_continuousActions, _envActions);
                Env.Step(_envActions);
                if (_recordActions) Actions.Add(_envActions);
            }
            else
            {
                Env.Step(_discreteActions);
                if (_recordActions) Actions.Add(_discreteActions);
            }
            var terminated = Env.Terminated;
            var truncated = Env.Truncated;
            Buffer.SetStepOutcome(Env.Rewards, terminated, truncated);
            for (int i = 0; i < envs; i++)
            {
                if (truncated[i] && !terminated[i])
                {
                    later?.Finish();   // the critic's buffers are free
                    // A recurrent policy bootstraps from copy i's memory as it is after this step (before the reset), as
                    // sb3-contrib's RecurrentPPO does: the final observation continues the episode the memory has seen.
                    var finalState = state;
                    if (state is RecurrentPolicyState memory)
                    {
                        _finalState ??= (RecurrentPolicyState)Policy.CreateState(1);
                        memory.CopyStream(i, _finalState, 0);
                        finalState = _finalState;
                    }
                    Policy.PredictValues(new ObservationBatch(Env.FinalObservation(i), 1, layout), finalState, _finalValue);
                    Buffer.SetTruncationValue(i, _finalValue[0]);
                }
            }
            ResetFinishedCopies(state, terminated, truncated);
            foreach (var episode in Env.CompletedEpisodes) Episodes.Add(episode.Return, episode.Length);
            StepsDone += envs;
        }
        later?.End();
        Policy.PredictValues(new ObservationBatch(Env.Observations, envs, layout), state, Buffer.LastValues);
    }

    private RolloutValues? _rolloutValues;
    private PairedWorker? _secondCore;

    /// <summary>
    /// A thread on the second core that the training thread hands short pieces to (created at first use): a rollout's
    /// values (<see cref="RolloutValues"/>) and PPO's critic beside its actor (<see cref="PpoPairedStep"/>) share it, so
    /// it is still spinning, not asleep, when the update that follows a rollout hands it its first piece.
    /// </summary>
    private protected PairedWorker SecondCore => _secondCore ??= new PairedWorker();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) _secondCore?.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>Set: every rollout step computes its values, even for a policy that allows them in one batch at the end
    /// (<see cref="TrainablePolicy.ValuesAfterRollout"/>); for the tests that compare the two.</summary>
    internal bool ValuesEachStep { get; set; }

    /// <summary>Called before a rollout's first step with the policy's memory as it is then (recurrent PPO keeps it as the sequences' initial state).</summary>
    protected virtual void OnRolloutStart(PolicyState state) { }

    /// <summary>The algorithm: turns the full <see cref="Buffer"/> into parameter updates and reports its figures in <paramref name="metrics"/>.</summary>
    /// <param name="progress">The fraction of training done, in [0, 1] (for schedules).</param>
    /// <param name="metrics">Where to <see cref="TrainingMetrics.Set"/> the update's figures.</param>
    protected abstract void Update(double progress, TrainingMetrics metrics);

    /// <summary>The learning-rate schedule over training progress (<c>learning_rate</c> with <c>learning_rate_schedule</c>); set it before each update with <c>LearningRate.Apply(Optimizer, progress)</c>.</summary>
    protected LearningRateSchedule LearningRate => _learningRate ??= Options.LearningRateSchedule.From(Options.LearningRate);

    private LearningRateSchedule? _learningRate;

    /// <summary>Fills <paramref name="indices"/> with a fresh random permutation of 0..n−1 (Fisher–Yates with the training generator): minibatch order.</summary>
    [BypassReadyToRun]
    protected void Permute(int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        for (int i = 0; i < indices.Length; i++) indices[i] = i;
        for (int i = indices.Length - 1; i > 0; i--)
        {
            int j = Rng.NextInt(i + 1);
            (indices[i], indices[j]) = (indices[j], indices[i]);
        }
    }

    /// <summary>
    /// One optimizer step on <paramref name="loss"/>: zero the gradients, backpropagate, average them over the ranks (in a
    /// data-parallel run), clip (max_grad_norm), step; returns the gradient norm before clipping. Every on-policy
    /// algorithm steps here. A null loss (a rank that holds none of a minibatch) contributes zero gradients.
    /// </summary>
    protected float GradientStep(Tensor? loss) => _gradientStep.Apply(loss);

    /// <summary>Zero, backpropagate, average over the ranks, clip, step: the shared <see cref="Optim.GradientStep"/> every trainer steps through.</summary>
    private readonly Optim.GradientStep _gradientStep;

    /// <summary>The step's settings (clipping), for an algorithm that splits the step over two cores (<see cref="PpoPairedStep"/>).</summary>
    private protected Optim.GradientStep GradientStepper => _gradientStep;

    /// <summary>1 − Var(returns − values) / Var(returns) over the rollout: how much of the return variance the critic explains.</summary>
    [BypassReadyToRun]
    protected static double ExplainedVariance(ReadOnlySpan<float> values, ReadOnlySpan<float> returns)
    {
        double mean = 0, meanDiff = 0;
        for (int i = 0; i < returns.Length; i++) { mean += returns[i]; meanDiff += returns[i] - values[i]; }
        mean /= returns.Length;
        meanDiff /= returns.Length;
        double varReturns = 0, varDiff = 0;
        for (int i = 0; i < returns.Length; i++)
        {
            varReturns += (returns[i] - mean) * (returns[i] - mean);
            double d = returns[i] - values[i] - meanDiff;
            varDiff += d * d;
        }
        return varReturns == 0 ? double.NaN : 1 - varDiff / varReturns;
    }

    /// <inheritdoc/>
    protected override void NormalizeObservations(ReadOnlySpan<float> raw, Span<float> normalized)
    {
        if (ObservationNormalizer is null) raw.CopyTo(normalized);
        else ObservationNormalizer.Normalize(raw, normalized);
    }

    /// <summary>
    /// Writes a checkpoint folder (weights, optimizer state, settings, step count, generator state, normalisation
    /// statistics, the environments' recorded actions); an existing checkpoint there is replaced atomically.
    /// </summary>
    public override void Save(string directory) => Checkpoint.Save(this, directory);

    /// <summary>
    /// Loads a checkpoint folder written by <see cref="Save"/>, continuing exactly where it stopped: pass an
    /// environment made as the training one was (or none, to remake the recorded environment id).
    /// </summary>
    public static new OnPolicyAgent Load(string directory, IVectorEnv? env = null) => Checkpoint.Load(directory, env);

    /// <summary>The sampling generator's state (saved in checkpoints).</summary>
    internal ulong[] RngState() => Rng.GetState();

    // ------------------------------------------------------------------ checkpoints (see OnPolicyAgent.Checkpoint.cs)

    /// <summary>Restores the parts of the state a checkpoint holds beyond the weights (used by <see cref="Load"/>).</summary>
    internal void RestoreTrainingState(long stepsDone, int iterations, ulong[] rngState, ActionLog actions)
    {
        StepsDone = stepsDone;
        Iterations = iterations;
        Rng.SetState(rngState);
        Actions = actions;
    }

    /// <summary>
    /// State the algorithm keeps between updates beyond the weights, optimizer and generator (an adaptive penalty
    /// weight, ...), written into the checkpoint's <c>agent.json</c> so a resumed run continues exactly; null when none.
    /// </summary>
    protected internal virtual System.Text.Json.Nodes.JsonObject? SaveAlgorithmState() => null;

    /// <summary>Restores what <see cref="SaveAlgorithmState"/> wrote (null when the checkpoint has none); throw <see cref="InvalidDataException"/> on a malformed state.</summary>
    protected internal virtual void RestoreAlgorithmState(System.Text.Json.Nodes.JsonObject? state) { }

    /// <summary>Resets the training environments with the recorded seed and replays every recorded action, restoring their exact state.</summary>
    internal void ReplayEnvironment()
    {
        Env.Reset(Actions.ResetSeed);
        Actions.Replay(a => Env.Step(a), a => Env.Step(a));
        _rolloutState = Policy.CreateState(Env.NumEnvs);
        _envStarted = true;
    }

    /// <summary>Restores the training environments from a snapshot written by <see cref="IVectorEnv.SaveState"/>.</summary>
    internal void LoadEnvironmentState(EnvironmentStateReader reader)
    {
        Env.LoadState(reader);
        reader.EnsureEnd(Env.ToString() ?? "the environments");
        _envStarted = true;
    }

    /// <summary>Starts the training environments on fresh episodes (resume of environments that can neither save their state nor be replayed).</summary>
    internal void ResetEnvironmentForResume(ulong seed)
    {
        Env.Reset(seed);
        Actions.Clear(seed);
        _envStarted = true;
    }

    /// <summary>Prefix of the rollout-memory tensors a checkpoint stores beside the weights.</summary>
    internal const string MemoryPrefix = "memory.";

    /// <summary>
    /// A recurrent policy's rollout memory (each state tensor [layers, envs, hidden]) and the algorithm's own recurrent
    /// bookkeeping, for checkpoints; empty for a policy without memory.
    /// </summary>
    internal IEnumerable<KeyValuePair<string, Tensor>> MemoryState()
    {
        if (_rolloutState is not RecurrentPolicyState state) yield break;
        foreach (var name in state.Names)
            yield return new(MemoryPrefix + name, Tensor.FromArray(state.Get(name), state.Layers, state.Copies, state.Hidden));
        foreach (var extra in RecurrentBookkeeping()) yield return new(MemoryPrefix + extra.Key, extra.Value);
    }

    /// <summary>Restores <see cref="MemoryState"/> after the environments were replayed; errors name <paramref name="file"/>.</summary>
    internal void RestoreMemoryState(IReadOnlyDictionary<string, Tensor> memory, string file)
    {
        if (_rolloutState is not RecurrentPolicyState state)
            throw new CheckpointFormatException(file, "it holds a rollout memory but the policy has none", "The checkpoint's weights and settings do not belong together; pick another checkpoint.");
        foreach (var name in state.Names)
        {
            if (!memory.TryGetValue(MemoryPrefix + name, out var t) || t.Size != state.Layers * state.Copies * state.Hidden)
                throw new CheckpointFormatException(file, $"the rollout memory '{MemoryPrefix}{name}' is missing or not [{state.Layers}, {state.Copies}, {state.Hidden}]",
                    "The checkpoint was edited or mixed with another run's files; pick another checkpoint.");
            state.Set(name, t.Data);
        }
        RestoreRecurrentBookkeeping(memory.Where(m => !state.Names.Contains(m.Key[MemoryPrefix.Length..])).ToDictionary(m => m.Key[MemoryPrefix.Length..], m => m.Value));
    }

    /// <summary>Extra tensors a recurrent algorithm needs to resume exactly (recurrent PPO: each copy's last done flag).</summary>
    private protected virtual IEnumerable<KeyValuePair<string, Tensor>> RecurrentBookkeeping() => [];

    /// <summary>Restores <see cref="RecurrentBookkeeping"/>.</summary>
    private protected virtual void RestoreRecurrentBookkeeping(IReadOnlyDictionary<string, Tensor> tensors) { }

    /// <summary>The environment the agent was given (below its own normalisation wrappers).</summary>
    internal IVectorEnv RawEnv => _rawEnv;
}
