using System.Diagnostics;
using Reinforce.Envs;
using Reinforce.Optim;
using Reinforce.Spaces;
using Reinforce.Envs.Vector;
using Reinforce.Envs.Wrappers;

namespace Reinforce.Algorithms;

/// <summary>
/// What REINFORCE, A2C and PPO share, with Stable-Baselines3's surface: <see cref="Learn"/> alternates collecting a
/// rollout from the vector environment with the algorithm's <see cref="Update"/>; <see cref="Predict(ReadOnlySpan{float}, bool)"/>
/// acts; <see cref="Evaluate"/> measures; <see cref="Save"/> and <see cref="Load"/> checkpoint.
/// </summary>
/// <remarks>
/// <para>One seed fixes everything: the weights, the action sampling, the minibatch order and the environments'
/// resets. The same seed on the same build gives the same numbers bit for bit, and a run resumed from a
/// checkpoint continues exactly as the uninterrupted run would have.</para>
/// <para>Observation and reward normalisation (options <c>normalize_observations</c>, <c>normalize_rewards</c>)
/// wrap the environment inside the agent, so the statistics travel with the checkpoint and
/// <see cref="Predict(ReadOnlySpan{float}, bool)"/> takes raw observations.</para>
/// </remarks>
public abstract class OnPolicyAgent : IDisposable
{
    private readonly IVectorEnv _rawEnv;
    private readonly int[] _discreteActions;
    private readonly float[] _continuousActions;
    private readonly float[] _envActions;
    private readonly float[] _logProbs;
    private readonly float[] _values;
    private readonly float[] _finalValue = new float[1];
    private readonly float[] _predictBuffer;
    private readonly Rng _predictRng;
    private bool _envStarted;
    private bool _disposed;

    /// <summary>Builds the agent for <paramref name="env"/>; <paramref name="withCritic"/> adds a value head.</summary>
    protected OnPolicyAgent(IVectorEnv env, OnPolicyOptions options, bool withCritic)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(env.NumEnvs);
        if (env.SingleObservationSpace is not Box)
            throw new ArgumentException($"{options.AlgorithmName}: observations must be a Box (a float vector); {env.SingleObservationSpace} is not. Flatten or one-hot encode them in the environment.");
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

        Policy = new ActorCriticPolicy(env.ObservationSize, env.SingleActionSpace, options.Policy, withCritic, initRng);
        var named = Policy.NamedParameters().ToArray();
        Optimizer = options.Optimizer switch
        {
            OptimizerKind.Sgd => new Sgd(named.Select(p => p.Parameter.Value), options.LearningRate, names: named.Select(p => p.Name)),
            OptimizerKind.RmsProp => new RmsProp(named.Select(p => p.Parameter.Value), options.LearningRate,
                alpha: options is A2cOptions a2c ? a2c.RmsPropAlpha : 0.99f, eps: options.OptimizerEps, names: named.Select(p => p.Name)),
            _ => new Adam(named.Select(p => p.Parameter.Value), options.LearningRate, eps: options.OptimizerEps, names: named.Select(p => p.Name)),
        };

        int envs = env.NumEnvs;
        Buffer = new RolloutBuffer(options.NumSteps, envs, env.ObservationSize, Policy.DiscreteActionSize, Policy.ContinuousActionSize);
        _discreteActions = new int[envs * Policy.DiscreteActionSize];
        _continuousActions = new float[envs * Policy.ContinuousActionSize];
        _envActions = new float[envs * Policy.ContinuousActionSize];
        _logProbs = new float[envs];
        _values = new float[envs];
        _predictBuffer = new float[env.ObservationSize];
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

    /// <summary>The settings (validated).</summary>
    public OnPolicyOptions Options { get; }

    /// <summary>The environment as the algorithm sees it (normalisation wrappers included).</summary>
    public IVectorEnv Env { get; }

    /// <summary>The observation normaliser (null unless <c>normalize_observations</c>).</summary>
    public VectorNormalizeObservation? ObservationNormalizer { get; }

    /// <summary>The reward normaliser (null unless <c>normalize_rewards</c>).</summary>
    public VectorNormalizeReward? RewardNormalizer { get; }

    /// <summary>The actor-critic network.</summary>
    public ActorCriticPolicy Policy { get; }

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

    /// <summary>Environment steps taken so far, summed over environments.</summary>
    public long StepsDone { get; protected set; }

    /// <summary>Updates done so far.</summary>
    public int Iterations { get; protected set; }

    /// <summary>Finished training episodes (raw rewards, before any normalisation).</summary>
    public EpisodeStatistics Episodes { get; } = new();

    /// <summary>The algorithm's name ("ppo", "a2c", "vpg").</summary>
    public string AlgorithmName => Options.AlgorithmName;

    /// <summary>
    /// Trains until <see cref="StepsDone"/> reaches <paramref name="totalSteps"/> (whole rollouts, so it may overshoot by
    /// less than one rollout). Schedules (learning rate, clip range) anneal over [0, <paramref name="totalSteps"/>], so
    /// resuming a checkpoint with the same <paramref name="totalSteps"/> continues the interrupted run exactly; to
    /// train for M more steps call <c>Learn(agent.StepsDone + M)</c>.
    /// </summary>
    public void Learn(long totalSteps, IEnumerable<TrainingCallback>? callbacks = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "Learn: train for at least one step.");
        var hooks = callbacks?.ToArray() ?? [];
        if (!_envStarted)
        {
            Env.Reset(EnvironmentSeed);
            Actions.Clear(EnvironmentSeed);
            _envStarted = true;
        }
        foreach (var hook in hooks) hook.OnTrainingStart(this, totalSteps);
        var clock = Stopwatch.StartNew();
        long startSteps = StepsDone;
        try
        {
            while (StepsDone < totalSteps)
            {
                CollectRollout();
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
                Update(progress, metrics);
                metrics.Set("rollout/ep_rew_mean", Episodes.MeanReturn ?? double.NaN);
                metrics.Set("rollout/ep_len_mean", Episodes.MeanLength ?? double.NaN);
                metrics.Set("time/fps", (StepsDone - startSteps) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9));
                bool keepGoing = true;
                foreach (var hook in hooks) keepGoing &= hook.OnUpdate(this, metrics);
                if (!keepGoing) break;
            }
        }
        finally
        {
            foreach (var hook in hooks) hook.OnTrainingEnd(this);
        }
    }

    /// <summary>
    /// Runs the policy in the environments for <c>n_steps</c> steps each, filling <see cref="Buffer"/>: one batched
    /// forward pass per step over all environments, nothing allocated. Truncated episodes get V(final observation)
    /// for bootstrapping; terminated ones do not.
    /// </summary>
    protected internal void CollectRollout()
    {
        int envs = Env.NumEnvs;
        Buffer.Clear();
        int sdeFrequency = Options.Policy.SdeSampleFreq;
        for (int t = 0; t < Options.NumSteps; t++)
        {
            // gSDE keeps each environment's exploration matrix for sde_sample_freq steps (or the whole rollout).
            if (Policy.UsesSde && (t == 0 || (sdeFrequency > 0 && t % sdeFrequency == 0))) Policy.ResampleExploration(Rng, envs);
            var observations = Env.Observations;
            Policy.Act(observations, envs, Rng, deterministic: false, _discreteActions, _continuousActions, _logProbs, _values);
            Buffer.AddStep(observations, _discreteActions, _continuousActions, _logProbs, _values);
            if (Policy.ContinuousActionSize > 0)
            {
                Policy.ClipToBounds(_continuousActions, _envActions);
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
                    Policy.PredictValues(Env.FinalObservation(i), 1, _finalValue);
                    Buffer.SetTruncationValue(i, _finalValue[0]);
                }
            }
            foreach (var episode in Env.CompletedEpisodes) Episodes.Add(episode.Return, episode.Length);
            StepsDone += envs;
        }
        Policy.PredictValues(Env.Observations, envs, Buffer.LastValues);
    }

    /// <summary>The algorithm: turns the full <see cref="Buffer"/> into parameter updates and reports its figures in <paramref name="metrics"/>.</summary>
    /// <param name="progress">The fraction of training done, in [0, 1] (for schedules).</param>
    /// <param name="metrics">Where to <see cref="TrainingMetrics.Set"/> the update's figures.</param>
    protected abstract void Update(double progress, TrainingMetrics metrics);

    /// <summary>Sets the optimizer's learning rate from the schedule and returns it.</summary>
    protected float ApplyLearningRate(double progress)
    {
        float lr = Options.LearningRateSchedule.At(Options.LearningRate, progress);
        Optimizer.LearningRate = lr;
        return lr;
    }

    /// <summary>Clips the gradients' global norm when <c>max_grad_norm</c> is set; returns the norm before clipping.</summary>
    protected float ClipGradients() =>
        Options.MaxGradNorm is float max ? GradientClipping.ClipGlobalNorm(Optimizer, max) : GradientClipping.GlobalNorm(Optimizer.Parameters);

    /// <summary>1 − Var(returns − values) / Var(returns) over the rollout: how much of the return variance the critic explains.</summary>
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

    // ------------------------------------------------------------------ acting

    /// <summary>
    /// The action for one raw observation (normalised internally when the agent normalises observations), for a
    /// Discrete action space. <paramref name="deterministic"/> takes the most likely action instead of sampling.
    /// </summary>
    public int Predict(ReadOnlySpan<float> observation, bool deterministic = true)
    {
        if (Policy.DiscreteActionSize != 1)
            throw new InvalidOperationException($"Predict: the action space {Policy.ActionSpace} is not Discrete; use Predict(observation, actions, deterministic) to get the action values.");
        Span<int> action = stackalloc int[1];
        Predict(observation, action, deterministic);
        return action[0];
    }

    /// <summary>
    /// Actions for a batch of raw observations ([rows × ObservationSize]) of a Discrete or MultiDiscrete space:
    /// writes [rows × branches] ints.
    /// </summary>
    public void Predict(ReadOnlySpan<float> observations, Span<int> actions, bool deterministic = true)
    {
        int rows = RowsOf(observations);
        if (Policy.DiscreteActionSize == 0) throw new InvalidOperationException($"Predict: the action space {Policy.ActionSpace} is continuous; pass a Span<float> for the actions.");
        var normalized = Normalized(observations);
        Policy.Act(normalized, rows, _predictRng, deterministic, actions, [], new float[rows], []);
    }

    /// <summary>
    /// Actions for a batch of raw observations of a Box space, clipped to the bounds as the environment receives them:
    /// writes [rows × D] floats.
    /// </summary>
    public void Predict(ReadOnlySpan<float> observations, Span<float> actions, bool deterministic = true)
    {
        int rows = RowsOf(observations);
        if (Policy.ContinuousActionSize == 0) throw new InvalidOperationException($"Predict: the action space {Policy.ActionSpace} is discrete; pass a Span<int> for the actions.");
        var normalized = Normalized(observations);
        var raw = new float[rows * Policy.ContinuousActionSize];
        Policy.Act(normalized, rows, _predictRng, deterministic, [], raw, new float[rows], []);
        Policy.ClipToBounds(raw, actions);
    }

    private int RowsOf(ReadOnlySpan<float> observations)
    {
        int d = Policy.ObservationSize;
        if (observations.Length == 0 || observations.Length % d != 0)
            throw new ArgumentException($"Predict: {observations.Length} observation values; expected a multiple of the observation size {d}.", nameof(observations));
        return observations.Length / d;
    }

    private ReadOnlySpan<float> Normalized(ReadOnlySpan<float> observations)
    {
        if (ObservationNormalizer is null) return observations;
        var buffer = observations.Length == _predictBuffer.Length ? _predictBuffer : new float[observations.Length];
        ObservationNormalizer.Normalize(observations, buffer);
        return buffer;
    }

    /// <summary>
    /// Runs <paramref name="episodes"/> complete episodes in <paramref name="env"/> (a separate evaluation environment;
    /// raw observations and rewards) with the current policy and returns their returns. Episodes are spread over the
    /// environment's copies as Stable-Baselines3's <c>evaluate_policy</c> does, so short episodes are not over-counted.
    /// </summary>
    public EvaluationResult Evaluate(IVectorEnv env, int episodes, bool deterministic = true, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(env);
        if (episodes < 1) throw new ArgumentOutOfRangeException(nameof(episodes), episodes, "Evaluate: run at least one episode.");
        if (env.ObservationSize != Policy.ObservationSize || env.SingleActionSpace.ToString() != Policy.ActionSpace.ToString())
            throw new ArgumentException($"Evaluate: the environment ({env.SingleObservationSpace}, {env.SingleActionSpace}) does not match the policy's (observations of {Policy.ObservationSize}, actions {Policy.ActionSpace}).");
        int n = env.NumEnvs;
        var targets = new int[n];
        var counts = new int[n];
        for (int i = 0; i < n; i++) targets[i] = (episodes + i) / n;
        var returns = new List<double>(episodes);
        var lengths = new List<int>(episodes);
        var evalRng = new Rng(Rng.DeriveSeed(seed, 7));
        var observations = new float[n * Policy.ObservationSize];
        var discrete = new int[n * Policy.DiscreteActionSize];
        var continuous = new float[n * Policy.ContinuousActionSize];
        var clipped = new float[n * Policy.ContinuousActionSize];
        var logProbs = new float[n];
        env.Reset(seed);
        while (returns.Count < episodes)
        {
            var raw = env.Observations;
            if (ObservationNormalizer is null) raw.CopyTo(observations);
            else ObservationNormalizer.Normalize(raw, observations);
            Policy.Act(observations, n, evalRng, deterministic, discrete, continuous, logProbs, []);
            if (Policy.ContinuousActionSize > 0)
            {
                Policy.ClipToBounds(continuous, clipped);
                env.Step(clipped);
            }
            else env.Step(discrete);
            foreach (var e in env.CompletedEpisodes)
            {
                if (counts[e.EnvIndex] < targets[e.EnvIndex])
                {
                    counts[e.EnvIndex]++;
                    returns.Add(e.Return);
                    lengths.Add(e.Length);
                }
            }
        }
        return new EvaluationResult([.. returns], [.. lengths]);
    }

    /// <summary>
    /// The registered id of the training environment (recorded in checkpoints so <see cref="Load"/> can remake it):
    /// the environment's name when that is a registered id; set it when the environment was made with options.
    /// </summary>
    public string? EnvironmentId { get; set; }

    /// <summary>
    /// Writes a checkpoint folder (weights, optimizer state, settings, step count, generator state, normalisation
    /// statistics, the environments' recorded actions); an existing checkpoint there is replaced atomically.
    /// </summary>
    public void Save(string directory) => Checkpoint.Save(this, directory);

    /// <summary>
    /// Loads a checkpoint folder written by <see cref="Save"/>, continuing exactly where it stopped: pass an
    /// environment made as the training one was (or none, to remake the recorded environment id).
    /// </summary>
    public static OnPolicyAgent Load(string directory, IVectorEnv? env = null) => Checkpoint.Load(directory, env);

    /// <summary>The sampling generator's state (saved in checkpoints).</summary>
    internal ulong[] RngState() => Rng.GetState();

    /// <summary>Marks the agent as finished; the environment it was given is left to its owner to dispose.</summary>
    public void Dispose()
    {
        _disposed = true;
        GC.SuppressFinalize(this);
    }

    // ------------------------------------------------------------------ checkpoints (see OnPolicyAgent.Checkpoint.cs)

    /// <summary>Restores the parts of the state a checkpoint holds beyond the weights (used by <see cref="Load"/>).</summary>
    internal void RestoreTrainingState(long stepsDone, int iterations, ulong[] rngState, ActionLog actions)
    {
        StepsDone = stepsDone;
        Iterations = iterations;
        Rng.SetState(rngState);
        Actions = actions;
    }

    /// <summary>Resets the training environments with the recorded seed and replays every recorded action, restoring their exact state.</summary>
    internal void ReplayEnvironment()
    {
        Env.Reset(Actions.ResetSeed);
        Actions.Replay(a => Env.Step(a), a => Env.Step(a));
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

    /// <summary>The environment the agent was given (below its own normalisation wrappers).</summary>
    internal IVectorEnv RawEnv => _rawEnv;
}

/// <summary>The returns and lengths of evaluation episodes, with their mean and standard deviation.</summary>
public sealed record EvaluationResult(double[] Returns, int[] Lengths)
{
    /// <summary>Mean return.</summary>
    public double Mean => Returns.Average();

    /// <summary>Population standard deviation of the returns (as NumPy's std, which Stable-Baselines3 reports).</summary>
    public double Std
    {
        get
        {
            double m = Mean;
            return Math.Sqrt(Returns.Sum(r => (r - m) * (r - m)) / Returns.Length);
        }
    }

    /// <summary>Mean episode length.</summary>
    public double MeanLength => Lengths.Average();
}
