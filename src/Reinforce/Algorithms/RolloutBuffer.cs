using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime;

namespace Reinforce.Algorithms;

/// <summary>
/// What an on-policy algorithm collects between two updates: for each of <see cref="Steps"/> steps and
/// <see cref="Envs"/> environments, the observation, the action taken, its log-probability, the critic's value,
/// the reward and how the step ended. Every array is flat and row-major [step, env, ...] and allocated once;
/// <see cref="AddStep"/> only copies into them, so collecting a rollout allocates nothing.
/// </summary>
public sealed class RolloutBuffer
{
    /// <summary>Creates a buffer for <paramref name="steps"/> × <paramref name="envs"/> transitions.</summary>
    /// <param name="steps">Steps per environment per rollout.</param>
    /// <param name="envs">Number of environments stepped together.</param>
    /// <param name="observationSize">Floats per observation.</param>
    /// <param name="discreteActionSize">Ints per action (1 for Discrete, the branch count for MultiDiscrete, 0 for continuous actions).</param>
    /// <param name="continuousActionSize">Floats per action (the Box dimension, 0 for discrete actions).</param>
    /// <param name="actionMaskSize">Flags per action mask (0: no masks are stored).</param>
    public RolloutBuffer(int steps, int envs, int observationSize, int discreteActionSize, int continuousActionSize, int actionMaskSize = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(actionMaskSize);
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "A rollout needs at least one step per environment.");
        if (envs < 1) throw new ArgumentOutOfRangeException(nameof(envs), envs, "A rollout needs at least one environment.");
        if (observationSize < 1) throw new ArgumentOutOfRangeException(nameof(observationSize), observationSize, "Observations need at least one float.");
        if (discreteActionSize < 0 || continuousActionSize < 0 || discreteActionSize + continuousActionSize == 0)
            throw new ArgumentException($"An action needs ints or floats: got {discreteActionSize} ints and {continuousActionSize} floats.");
        Steps = steps;
        Envs = envs;
        ObservationSize = observationSize;
        DiscreteActionSize = discreteActionSize;
        ContinuousActionSize = continuousActionSize;
        int n = steps * envs;
        Observations = new float[n * observationSize];
        DiscreteActions = new int[n * discreteActionSize];
        ContinuousActions = new float[n * continuousActionSize];
        LogProbs = new float[n];
        Values = new float[n];
        Rewards = new float[n];
        Terminated = new bool[n];
        Truncated = new bool[n];
        TruncationValues = new float[n];
        Weights = new float[n];
        LastValues = new float[envs];
        Advantages = new float[n];
        Returns = new float[n];
        ActionMaskSize = actionMaskSize;
        ActionMasks = new bool[n * actionMaskSize];
    }

    /// <summary>Flags per stored action mask (0 when the environment gives none).</summary>
    public int ActionMaskSize { get; }

    /// <summary>The action masks the actions were sampled under, [step, env, ActionMaskSize] (true = allowed); empty without masks.</summary>
    public bool[] ActionMasks { get; }

    /// <summary>Stores the action masks of the step about to be added (call before <see cref="AddStep"/>).</summary>
    public void SetActionMasks(ReadOnlySpan<bool> masks)
    {
        int size = Envs * ActionMaskSize;
        if (masks.Length != size)
            throw new ArgumentException($"RolloutBuffer.SetActionMasks: {masks.Length} flags, but {Envs} environments × {ActionMaskSize} = {size} are needed.", nameof(masks));
        if (Count >= Steps) throw new InvalidOperationException("RolloutBuffer.SetActionMasks: the buffer is full; call Clear() before the next rollout.");
        masks.CopyTo(ActionMasks.AsSpan(Count * size, size));
    }

    /// <summary>Copies the action masks of the transitions <paramref name="indices"/> into <paramref name="destination"/>.</summary>
    public void GatherActionMasks(ReadOnlySpan<int> indices, Span<bool> destination)
    {
        int m = ActionMaskSize;
        for (int i = 0; i < indices.Length; i++) ActionMasks.AsSpan(indices[i] * m, m).CopyTo(destination.Slice(i * m, m));
    }

    /// <summary>Steps per environment.</summary>
    public int Steps { get; }

    /// <summary>Number of environments.</summary>
    public int Envs { get; }

    /// <summary>Floats per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>Ints per action (0 for continuous actions).</summary>
    public int DiscreteActionSize { get; }

    /// <summary>Floats per action (0 for discrete actions).</summary>
    public int ContinuousActionSize { get; }

    /// <summary>Total transitions held when full: <see cref="Steps"/> × <see cref="Envs"/>.</summary>
    public int Capacity => Steps * Envs;

    /// <summary>Steps stored so far (0 ≤ Count ≤ <see cref="Steps"/>).</summary>
    public int Count { get; private set; }

    /// <summary>Whether every step has been stored.</summary>
    public bool IsFull => Count == Steps;

    /// <summary>Observations s_t, [steps, envs, observationSize].</summary>
    public float[] Observations { get; }

    /// <summary>Discrete actions a_t, [steps, envs, discreteActionSize].</summary>
    public int[] DiscreteActions { get; }

    /// <summary>Continuous actions a_t as sampled (before clipping to the action bounds), [steps, envs, continuousActionSize].</summary>
    public float[] ContinuousActions { get; }

    /// <summary>log π_old(a_t | s_t) when the action was taken, [steps, envs].</summary>
    public float[] LogProbs { get; }

    /// <summary>The critic's V(s_t) when the action was taken, [steps, envs].</summary>
    public float[] Values { get; }

    /// <summary>Rewards r_t, [steps, envs].</summary>
    public float[] Rewards { get; }

    /// <summary>Whether step t reached a terminal state, [steps, envs].</summary>
    public bool[] Terminated { get; }

    /// <summary>Whether step t was cut short (time limit), [steps, envs].</summary>
    public bool[] Truncated { get; }

    /// <summary>V(final observation) for truncated steps (0 elsewhere), [steps, envs].</summary>
    public float[] TruncationValues { get; }

    /// <summary>
    /// How much each transition counts in the loss (1 normally; REINFORCE sets 0 on the steps of episodes still
    /// running at the end of the rollout, whose Monte-Carlo return is not known yet), [steps, envs].
    /// </summary>
    public float[] Weights { get; }

    /// <summary>V of the observation after the last stored step, [envs].</summary>
    public float[] LastValues { get; }

    /// <summary>Advantage estimates, [steps, envs] (after <see cref="ComputeGae"/> or <see cref="ComputeRewardToGo"/>).</summary>
    public float[] Advantages { get; }

    /// <summary>Value targets / returns, [steps, envs].</summary>
    public float[] Returns { get; }

    /// <summary>Forgets the stored steps (the arrays are kept and overwritten).</summary>
    public void Clear() => Count = 0;

    /// <summary>
    /// Stores the first half of a step for all environments: the observations the actions were chosen from, the
    /// actions, their log-probabilities and values. <see cref="SetStepOutcome"/> completes it after the environments step.
    /// </summary>
    [BypassReadyToRun]
    public void AddStep(ReadOnlySpan<float> observations, ReadOnlySpan<int> discreteActions, ReadOnlySpan<float> continuousActions,
        ReadOnlySpan<float> logProbs, ReadOnlySpan<float> values)
    {
        if (Count >= Steps) throw new InvalidOperationException($"RolloutBuffer.AddStep: the buffer already holds its {Steps} steps; call Clear() before the next rollout.");
        int t = Count;
        observations[..(Envs * ObservationSize)].CopyTo(Observations.AsSpan(t * Envs * ObservationSize, Envs * ObservationSize));
        if (DiscreteActionSize > 0) discreteActions[..(Envs * DiscreteActionSize)].CopyTo(DiscreteActions.AsSpan(t * Envs * DiscreteActionSize, Envs * DiscreteActionSize));
        if (ContinuousActionSize > 0) continuousActions[..(Envs * ContinuousActionSize)].CopyTo(ContinuousActions.AsSpan(t * Envs * ContinuousActionSize, Envs * ContinuousActionSize));
        logProbs[..Envs].CopyTo(LogProbs.AsSpan(t * Envs, Envs));
        if (!values.IsEmpty) values[..Envs].CopyTo(Values.AsSpan(t * Envs, Envs));   // empty: filled after the rollout
        TruncationValues.AsSpan(t * Envs, Envs).Clear();
        Weights.AsSpan(t * Envs, Envs).Fill(1f);
        Count++;
    }

    /// <summary>Completes the latest step with the rewards and end flags the environments returned.</summary>
    [BypassReadyToRun]
    public void SetStepOutcome(ReadOnlySpan<float> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated)
    {
        if (Count == 0) throw new InvalidOperationException("RolloutBuffer.SetStepOutcome: call AddStep first.");
        int t = Count - 1;
        rewards[..Envs].CopyTo(Rewards.AsSpan(t * Envs, Envs));
        terminated[..Envs].CopyTo(Terminated.AsSpan(t * Envs, Envs));
        truncated[..Envs].CopyTo(Truncated.AsSpan(t * Envs, Envs));
    }

    /// <summary>Records V(final observation) for environment <paramref name="env"/> whose episode the latest step truncated.</summary>
    public void SetTruncationValue(int env, float value) => TruncationValues[(Count - 1) * Envs + env] = value;

    /// <summary>Fills <see cref="Advantages"/> and <see cref="Returns"/> with GAE(γ, λ) (see <see cref="Gae.Compute"/>).</summary>
    public void ComputeGae(float gamma, float lambda)
    {
        RequireFull();
        Gae.Compute(Steps, Envs, gamma, lambda, Rewards, Values, Terminated, Truncated, TruncationValues, LastValues, Advantages, Returns);
    }

    /// <summary>
    /// Fills <see cref="Returns"/> with the discounted Monte-Carlo reward-to-go and <see cref="Advantages"/> with
    /// G_t − V(s_t) (G_t itself when <see cref="Values"/> are zero). With <paramref name="completeEpisodesOnly"/>,
    /// the steps of each environment's unfinished last episode get weight 0 (their return is not known yet) instead
    /// of being bootstrapped from <see cref="LastValues"/>.
    /// </summary>
    public void ComputeRewardToGo(float gamma, bool completeEpisodesOnly)
    {
        RequireFull();
        Gae.RewardToGo(Steps, Envs, gamma, Rewards, Terminated, Truncated, TruncationValues, LastValues, Returns);
        for (int i = 0; i < Capacity; i++) Advantages[i] = Returns[i] - Values[i];
        if (!completeEpisodesOnly) return;
        for (int e = 0; e < Envs; e++)
        {
            for (int t = Steps - 1; t >= 0; t--)
            {
                int i = t * Envs + e;
                if (Terminated[i] || Truncated[i]) break;
                Weights[i] = 0f;
            }
        }
    }

    /// <summary>The number of transitions with a non-zero weight.</summary>
    public int CountWeighted()
    {
        int n = 0;
        foreach (var w in Weights.AsSpan(0, Count * Envs)) if (w != 0f) n++;
        return n;
    }

    /// <summary>Copies the observations of the transitions <paramref name="indices"/> (flat [step * envs + env] indices) into <paramref name="destination"/>.</summary>
    public void GatherObservations(ReadOnlySpan<int> indices, Span<float> destination) =>
        Gather(Observations, ObservationSize, indices, destination);

    /// <summary>Copies the discrete actions of the transitions <paramref name="indices"/> into <paramref name="destination"/>.</summary>
    [BypassReadyToRun]
    public void GatherDiscreteActions(ReadOnlySpan<int> indices, Span<int> destination)
    {
        int w = DiscreteActionSize;
        if (w == 1)
        {
            for (int j = 0; j < indices.Length; j++) destination[j] = DiscreteActions[indices[j]];
            return;
        }
        for (int j = 0; j < indices.Length; j++)
            DiscreteActions.AsSpan(indices[j] * w, w).CopyTo(destination.Slice(j * w, w));
    }

    /// <summary>Copies the continuous actions of the transitions <paramref name="indices"/> into <paramref name="destination"/>.</summary>
    public void GatherContinuousActions(ReadOnlySpan<int> indices, Span<float> destination) =>
        Gather(ContinuousActions, ContinuousActionSize, indices, destination);

    /// <summary>
    /// The per-transition figures a minibatch needs (log-probability, value, advantage, return, weight) of the
    /// transitions <paramref name="indices"/>, in one pass over the indices (each checked once for all five arrays).
    /// </summary>
    [BypassReadyToRun]
    internal void GatherFigures(ReadOnlySpan<int> indices, Span<float> logProbs, Span<float> values, Span<float> advantages, Span<float> returns, Span<float> weights)
    {
        int n = indices.Length;
        if (logProbs.Length < n || values.Length < n || advantages.Length < n || returns.Length < n || weights.Length < n)
            throw new ArgumentException($"RolloutBuffer.GatherFigures: {n} indices for destinations of {logProbs.Length}, {values.Length}, {advantages.Length}, {returns.Length} and {weights.Length}.");
        ref float lp = ref MemoryMarshal.GetArrayDataReference(LogProbs), v = ref MemoryMarshal.GetArrayDataReference(Values),
            a = ref MemoryMarshal.GetArrayDataReference(Advantages), r = ref MemoryMarshal.GetArrayDataReference(Returns),
            w = ref MemoryMarshal.GetArrayDataReference(Weights);
        ref float dlp = ref MemoryMarshal.GetReference(logProbs), dv = ref MemoryMarshal.GetReference(values),
            da = ref MemoryMarshal.GetReference(advantages), dr = ref MemoryMarshal.GetReference(returns), dw = ref MemoryMarshal.GetReference(weights);
        uint capacity = (uint)Capacity;   // every array holds Capacity figures
        for (int j = 0; j < n; j++)
        {
            int i = indices[j];
            if ((uint)i >= capacity) throw new ArgumentOutOfRangeException(nameof(indices), $"RolloutBuffer: transition {i} of {Capacity}.");
            Unsafe.Add(ref dlp, j) = Unsafe.Add(ref lp, i);
            Unsafe.Add(ref dv, j) = Unsafe.Add(ref v, i);
            Unsafe.Add(ref da, j) = Unsafe.Add(ref a, i);
            Unsafe.Add(ref dr, j) = Unsafe.Add(ref r, i);
            Unsafe.Add(ref dw, j) = Unsafe.Add(ref w, i);
        }
    }

    [BypassReadyToRun]
    private static void Gather(float[] source, int width, ReadOnlySpan<int> indices, Span<float> destination)
    {
        if (width <= 8)
        {
            // Short rows (a few sensors): copied element by element (four at once for four), cheaper than a memmove per row.
            if (destination.Length < indices.Length * width) throw new ArgumentException($"RolloutBuffer.Gather: {destination.Length} slots for {indices.Length} rows of {width}.");
            uint rows = (uint)(source.Length / width);
            ref float from = ref MemoryMarshal.GetArrayDataReference(source);
            ref float to = ref MemoryMarshal.GetReference(destination);
            for (int j = 0; j < indices.Length; j++)
            {
                int i = indices[j];
                if ((uint)i >= rows) throw new ArgumentOutOfRangeException(nameof(indices), $"RolloutBuffer: transition {i} of {rows}.");
                if (width == 4) Vector128.LoadUnsafe(ref from, (nuint)(i * 4)).StoreUnsafe(ref to, (nuint)(j * 4));
                else for (int k = 0; k < width; k++) Unsafe.Add(ref to, j * width + k) = Unsafe.Add(ref from, i * width + k);
            }
            return;
        }
        for (int j = 0; j < indices.Length; j++)
            source.AsSpan(indices[j] * width, width).CopyTo(destination.Slice(j * width, width));
    }

    private void RequireFull()
    {
        if (!IsFull) throw new InvalidOperationException($"RolloutBuffer: {Count} of {Steps} steps stored; advantages need a full rollout.");
    }
}
