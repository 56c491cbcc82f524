using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace Reinforce.Algorithms;

/// <summary>
/// Stable-Baselines3's surface for every learner: <see cref="Learn"/> trains, <see cref="Predict(ReadOnlySpan{float}, bool)"/>
/// acts on raw observations, <see cref="Evaluate"/> measures whole episodes, <see cref="Save"/> and <see cref="Load"/>
/// checkpoint. Acting goes through the <see cref="IPolicy"/> seam, so recurrent, convolutional or masked policies act
/// here without changes; on-policy learners derive from <see cref="OnPolicyAgent"/>, other families (off-policy,
/// distributed) derive from this class directly and register in the algorithm registry.
/// </summary>
public abstract class Agent : IDisposable
{
    private float[] _predictBuffer = [];
    private bool _disposed;

    /// <summary>The algorithm's registered name ("ppo", "a2c", ...).</summary>
    public abstract string AlgorithmName { get; }

    /// <summary>The policy that acts.</summary>
    public abstract IPolicy ActingPolicy { get; }

    /// <summary>
    /// The space of the raw observations the agent acts on (the training environment's); <see cref="Predict(ReadOnlySpan{float}, bool)"/>
    /// takes them flattened (<see cref="FlattenObservation"/>). Null when the agent does not know it.
    /// </summary>
    public virtual Space? ObservationSpace => null;

    /// <summary>Environment steps taken so far, summed over environments.</summary>
    public long StepsDone { get; protected set; }

    /// <summary>Updates done so far.</summary>
    public int Iterations { get; protected set; }

    /// <summary>Finished training episodes (raw rewards, before any normalisation).</summary>
    public EpisodeStatistics Episodes { get; } = new();

    /// <summary>
    /// The registered id of the training environment (recorded in checkpoints so <see cref="Load"/> can remake it):
    /// the environment's name when that is a registered id; set it when the environment was made with options.
    /// </summary>
    public string? EnvironmentId { get; set; }

    /// <summary>Whether the agent was disposed.</summary>
    protected bool IsDisposed => _disposed;

    /// <summary>The generator <see cref="Predict(ReadOnlySpan{float}, bool)"/> samples from when not deterministic (never the training stream).</summary>
    protected abstract Rng PredictRng { get; }

    /// <summary>
    /// Trains until <see cref="StepsDone"/> reaches <paramref name="totalSteps"/>; schedules anneal over
    /// [0, <paramref name="totalSteps"/>], so resuming a checkpoint with the same budget continues the run exactly.
    /// </summary>
    public abstract void Learn(long totalSteps, IEnumerable<TrainingCallback>? callbacks = null);

    /// <summary>Writes a checkpoint folder; an existing checkpoint there is replaced atomically.</summary>
    public abstract void Save(string directory);

    /// <summary>Loads any registered algorithm's checkpoint (see <see cref="Checkpoint.Load"/>).</summary>
    public static Agent Load(string directory, IVectorEnv? env = null) => Checkpoint.Load(directory, env);

    /// <summary>Normalises raw observations as training saw them (identity unless the agent normalises observations).</summary>
    protected virtual void NormalizeObservations(ReadOnlySpan<float> raw, Span<float> normalized) => raw.CopyTo(normalized);

    // ------------------------------------------------------------------ acting

    /// <summary>
    /// The action for one raw observation, for a Discrete action space (a stateless policy; recurrent ones act
    /// through <see cref="Evaluate"/> or their own state). <paramref name="deterministic"/> takes the most likely action.
    /// </summary>
    public int Predict(ReadOnlySpan<float> observation, bool deterministic = true)
    {
        if (ActingPolicy.DiscreteActionSize != 1)
            throw new InvalidOperationException($"Predict: the action space {ActingPolicy.ActionSpace} is not Discrete; use Predict(observation, actions, deterministic) to get the action values.");
        Span<int> action = stackalloc int[1];
        Predict(observation, action, deterministic);
        return action[0];
    }

    /// <summary>Whether acting honours environments' action masks (the training setting <c>policy.use_action_masks</c>).</summary>
    protected virtual bool UsesActionMasks => true;

    /// <summary>
    /// A fresh memory for acting on <paramref name="copies"/> streams of observations with
    /// <see cref="Predict(ReadOnlySpan{float}, Span{int}, PolicyState, ReadOnlySpan{bool}, bool)"/>: keep one per agent
    /// (or environment) and call <see cref="PolicyState.Reset"/> on a copy when its episode ends.
    /// <see cref="PolicyState.None"/> for a policy without memory.
    /// </summary>
    public PolicyState CreateState(int copies = 1) => ActingPolicy.CreateState(copies);

    /// <summary>
    /// Actions for a batch of raw observations of a Discrete or MultiDiscrete space, from a recurrent policy's memory
    /// <paramref name="state"/> (made by <see cref="CreateState"/>, advanced by this call) and an optional action mask
    /// ([rows × ActionMaskSize], true = legal; masked actions are never chosen).
    /// </summary>
    public void Predict(ReadOnlySpan<float> observations, Span<int> actions, PolicyState state, ReadOnlySpan<bool> actionMask = default, bool deterministic = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var policy = ActingPolicy;
        if (policy.DiscreteActionSize == 0) throw new InvalidOperationException($"Predict: the action space {policy.ActionSpace} is continuous; pass a Span<float> for the actions.");
        int rows = RowsOf(observations);
        if (policy.IsRecurrent && state.Copies != rows)
            throw new ArgumentException($"Predict: the memory covers {state.Copies} streams but {rows} observations were given; make it with CreateState({rows}).", nameof(state));
        var batch = new ObservationBatch(Normalized(observations), rows, policy.ObservationLayout);
        policy.Act(batch, state, actionMask, PredictRng, deterministic, new ActionBatch(actions, [], new float[rows], []));
    }

    /// <summary>Actions for a batch of raw observations ([rows × ObservationSize]) of a Discrete or MultiDiscrete space: writes [rows × branches] ints.</summary>
    public void Predict(ReadOnlySpan<float> observations, Span<int> actions, bool deterministic = true)
    {
        var policy = ActingPolicy;
        if (policy.DiscreteActionSize == 0) throw new InvalidOperationException($"Predict: the action space {policy.ActionSpace} is continuous; pass a Span<float> for the actions.");
        RequireStateless(policy);
        int rows = RowsOf(observations);
        var batch = new ObservationBatch(Normalized(observations), rows, policy.ObservationLayout);
        policy.Act(batch, policy.CreateState(rows), [], PredictRng, deterministic, new ActionBatch(actions, [], new float[rows], []));
    }

    /// <summary>Actions for a batch of raw observations of a Box space, as the environment receives them (clipped to the bounds): writes [rows × D] floats.</summary>
    public void Predict(ReadOnlySpan<float> observations, Span<float> actions, bool deterministic = true)
    {
        var policy = ActingPolicy;
        if (policy.ContinuousActionSize == 0) throw new InvalidOperationException($"Predict: the action space {policy.ActionSpace} is discrete; pass a Span<int> for the actions.");
        RequireStateless(policy);
        int rows = RowsOf(observations);
        var batch = new ObservationBatch(Normalized(observations), rows, policy.ObservationLayout);
        var raw = new float[rows * policy.ContinuousActionSize];
        policy.Act(batch, policy.CreateState(rows), [], PredictRng, deterministic, new ActionBatch([], raw, new float[rows], []));
        policy.ToEnvironmentActions(raw, actions);
    }

    private static void RequireStateless(IPolicy policy)
    {
        if (policy.IsRecurrent)
            throw new InvalidOperationException(
                "Predict: this policy is recurrent, so each action depends on the observations before it. Keep its memory: " +
                "var state = agent.CreateState(); then agent.Predict(observation, actions, state) every step (state.Reset(0) when an episode ends).");
    }

    private int RowsOf(ReadOnlySpan<float> observations)
    {
        int d = ActingPolicy.ObservationSize;
        if (observations.Length == 0 || observations.Length % d != 0)
            throw new ArgumentException(ObservationErrors.WrongSize("Predict", observations.Length, ActingPolicy.ObservationLayout, ObservationSpace), nameof(observations));
        return observations.Length / d;
    }

    /// <summary>
    /// The flattened row <see cref="Predict(ReadOnlySpan{float}, bool)"/> takes for one observation of
    /// <see cref="ObservationSpace"/> as an environment returns it: a float[] for a Box, a byte[] image (CHW) for a
    /// ByteBox, an int for a Discrete, a dictionary by key for a Dict, an object[] for a Tuple. A value that is not in
    /// the space (a missing or extra key, a wrong shape, a value out of range) is an error naming the key and the space.
    /// </summary>
    public float[] FlattenObservation(object observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        var space = ObservationSpace ?? throw new InvalidOperationException(
            $"FlattenObservation: this agent does not know its observation space; pass flattened rows of {ActingPolicy.ObservationSize} floats ({ObservationErrors.Blocks(ActingPolicy.ObservationLayout)}) to Predict.");
        string? mismatch = space.DescribeMismatch(observation);
        if (mismatch is not null)
            throw new ArgumentException($"FlattenObservation: the observation {mismatch}{(mismatch.Contains(space.ToString() ?? "", StringComparison.Ordinal) ? "" : $" (the agent's observation space is {space})")}.", nameof(observation));
        var row = new float[space.FlatSize];
        space.FlattenObject(observation, row);
        return row;
    }

    private ReadOnlySpan<float> Normalized(ReadOnlySpan<float> observations)
    {
        if (_predictBuffer.Length < observations.Length) _predictBuffer = new float[observations.Length];
        var buffer = _predictBuffer.AsSpan(0, observations.Length);
        NormalizeObservations(observations, buffer);
        return buffer;
    }

    /// <summary>
    /// Runs <paramref name="episodes"/> complete episodes in <paramref name="env"/> (a separate evaluation environment;
    /// raw observations and rewards) with the current policy and returns their returns. Episodes are spread over the
    /// environment's copies as Stable-Baselines3's <c>evaluate_policy</c> does, so short episodes are not over-counted;
    /// a recurrent policy's memory is reset for each copy whose episode ends.
    /// </summary>
    public EvaluationResult Evaluate(IVectorEnv env, int episodes, bool deterministic = true, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(env);
        if (episodes < 1) throw new ArgumentOutOfRangeException(nameof(episodes), episodes, "Evaluate: run at least one episode.");
        var policy = ActingPolicy;
        if (env.ObservationSize != policy.ObservationSize || env.SingleActionSpace.ToString() != policy.ActionSpace.ToString()
            || ObservationSpace is { } space && space.ToString() != env.SingleObservationSpace.ToString())
            throw new ArgumentException(
                $"Evaluate: the environment's observations {env.SingleObservationSpace} and actions {env.SingleActionSpace} do not match the agent's: observations " +
                $"{(ObservationSpace is { } s ? s.ToString() : $"of {policy.ObservationSize} floats")} ({ObservationErrors.Blocks(policy.ObservationLayout)}), actions {policy.ActionSpace}. " +
                "Evaluate in the environment the agent was trained in (same id and options; images channels first, as in training).", nameof(env));
        int n = env.NumEnvs;
        var targets = new int[n];
        var counts = new int[n];
        for (int i = 0; i < n; i++) targets[i] = (episodes + i) / n;
        var returns = new List<double>(episodes);
        var lengths = new List<int>(episodes);
        var evalRng = new Rng(Rng.DeriveSeed(seed, 7));
        var observations = new float[n * policy.ObservationSize];
        var discrete = new int[n * policy.DiscreteActionSize];
        var continuous = new float[n * policy.ContinuousActionSize];
        var clipped = new float[n * policy.ContinuousActionSize];
        var logProbs = new float[n];
        var state = policy.CreateState(n);
        bool masked = policy.ActionMaskSize > 0 && env.ActionMaskSize == policy.ActionMaskSize && UsesActionMasks;
        env.Reset(seed);
        while (returns.Count < episodes)
        {
            NormalizeObservations(env.Observations, observations);
            policy.Act(new ObservationBatch(observations, n, policy.ObservationLayout), state, masked ? env.ActionMasks : default, evalRng, deterministic,
                new ActionBatch(discrete, continuous, logProbs, []));
            if (policy.ContinuousActionSize > 0)
            {
                policy.ToEnvironmentActions(continuous, clipped);
                env.Step(clipped);
            }
            else env.Step(discrete);
            ResetFinishedCopies(state, env.Terminated, env.Truncated);
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

    /// <summary>Resets the memory of every copy whose episode ended in the last step (its next observation starts a new episode).</summary>
    protected static void ResetFinishedCopies(PolicyState state, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Copies == 0) return;
        for (int i = 0; i < terminated.Length; i++)
            if (terminated[i] || truncated[i]) state.Reset(i);
    }

    /// <summary>Marks the agent as finished; the environment it was given is left to its owner to dispose.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the agent owns.</summary>
    protected virtual void Dispose(bool disposing) => _disposed = true;
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
