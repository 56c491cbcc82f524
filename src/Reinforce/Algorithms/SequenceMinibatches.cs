namespace Reinforce.Algorithms;

/// <summary>
/// Recurrent PPO's minibatches (sb3-contrib's RecurrentPPO, CleanRL's ppo_atari_lstm): whole sequences, one per
/// environment copy, each with the policy's memory as it was at the start of the rollout and the steps where an episode
/// began (where the memory is reset to zero, as it was during the rollout). A minibatch is
/// <c>batch_size / n_steps</c> environment copies, shuffled each epoch, its rows ordered step-major
/// ([steps × copies]), so the recurrent layer can run the steps in order.
/// </summary>
internal sealed class SequenceMinibatches
{
    private readonly int _steps, _envs, _envsPerBatch;
    private readonly int[] _envOrder;
    private readonly int[] _indices;
    private readonly float[] _episodeStarts;     // [steps × envs] of the stored rollout
    private readonly float[] _batchStarts;       // [steps × envsPerBatch] of one minibatch
    private readonly bool[] _lastDone;           // each copy's done flag at the last step of the previous rollout
    private RecurrentPolicyState? _initial;

    public SequenceMinibatches(int steps, int envs, int batchSize)
    {
        if (batchSize % steps != 0 || envs % (batchSize / steps) != 0)
            throw new ConfigurationException("batch_size",
                $"is {batchSize}, but a recurrent policy trains on whole sequences of n_steps = {steps}: batch_size must be n_steps times a number of " +
                $"environment copies that divides n_envs = {envs} (for example {steps * Math.Max(1, envs / 2)} for {Math.Max(1, envs / 2)} copies per minibatch).");
        _steps = steps;
        _envs = envs;
        _envsPerBatch = batchSize / steps;
        _envOrder = new int[envs];
        _indices = new int[batchSize];
        _episodeStarts = new float[steps * envs];
        _batchStarts = new float[batchSize];
        _lastDone = new bool[envs];
        Array.Fill(_lastDone, true);
    }

    /// <summary>Each copy's done flag at the last step of the previous rollout, as 0/1 (saved in checkpoints so a resumed run continues exactly).</summary>
    public float[] LastDone
    {
        get => [.. _lastDone.Select(d => d ? 1f : 0f)];
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Length != _envs) throw new ArgumentException($"SequenceMinibatches.LastDone: {value.Length} flags for {_envs} environment copies.", nameof(value));
            for (int e = 0; e < _envs; e++) _lastDone[e] = value[e] != 0;
        }
    }

    /// <summary>Minibatches per epoch.</summary>
    public int Count => _envs / _envsPerBatch;

    /// <summary>Copies of the environment per minibatch.</summary>
    public int EnvsPerBatch => _envsPerBatch;

    /// <summary>Remembers the policy's memory at the start of a rollout (call before the rollout's first step).</summary>
    public void OnRolloutStart(PolicyState state)
    {
        if (state is not RecurrentPolicyState recurrent)
            throw new InvalidOperationException("Recurrent PPO: the rollout's policy state is not a recurrent one; the policy must create a RecurrentPolicyState.");
        if (_initial is null || _initial.Copies != recurrent.Copies) _initial = recurrent.Clone();
        else _initial.CopyFrom(recurrent);
    }

    /// <summary>After a rollout: where episodes began ([steps × envs]) from the buffer's done flags, and each copy's last done for the next rollout.</summary>
    public void OnRolloutEnd(RolloutBuffer buffer)
    {
        for (int t = 0; t < _steps; t++)
            for (int e = 0; e < _envs; e++)
            {
                bool start = t == 0 ? _lastDone[e] : buffer.Terminated[(t - 1) * _envs + e] || buffer.Truncated[(t - 1) * _envs + e];
                _episodeStarts[t * _envs + e] = start ? 1f : 0f;
            }
        for (int e = 0; e < _envs; e++) _lastDone[e] = buffer.Terminated[(_steps - 1) * _envs + e] || buffer.Truncated[(_steps - 1) * _envs + e];
    }

    /// <summary>A new order of the environment copies for an epoch, drawn by <paramref name="permute"/> (the agent's minibatch permutation).</summary>
    public void Shuffle(Action<int[]> permute)
    {
        ArgumentNullException.ThrowIfNull(permute);
        permute(_envOrder);
    }

    /// <summary>The buffer rows of minibatch <paramref name="batch"/>, step-major: row (t, j) is step t of copy envOrder[batch·k + j].</summary>
    public ReadOnlySpan<int> Indices(int batch) => Indices(Copies(batch));

    /// <summary>The environment copies of minibatch <paramref name="batch"/> in this epoch's order.</summary>
    public ReadOnlySpan<int> Copies(int batch) => _envOrder.AsSpan(batch * _envsPerBatch, _envsPerBatch);

    /// <summary>
    /// The buffer rows of the sequences of <paramref name="copies"/> (at most <see cref="EnvsPerBatch"/> of them), step-major:
    /// row (t, j) is step t of copy <paramref name="copies"/>[j]. A data-parallel rank passes the copies it holds of a
    /// minibatch drawn over all ranks' copies.
    /// </summary>
    public ReadOnlySpan<int> Indices(ReadOnlySpan<int> copies)
    {
        int k = copies.Length;
        if (k > _envsPerBatch) throw new ArgumentException($"SequenceMinibatches: {k} sequences for minibatches of {_envsPerBatch}.", nameof(copies));
        for (int t = 0; t < _steps; t++)
            for (int j = 0; j < k; j++)
            {
                int e = copies[j];
                _indices[t * k + j] = t * _envs + e;
                _batchStarts[t * k + j] = _episodeStarts[t * _envs + e];
            }
        return _indices.AsSpan(0, _steps * k);
    }

    /// <summary>Evaluates minibatch <paramref name="batch"/> (after <see cref="Indices(int)"/> and <see cref="Minibatch.Fill"/>) through the policy's recurrent layer.</summary>
    public PolicyEvaluation Evaluate(EncoderPolicy policy, Minibatch minibatch, int batch) => Evaluate(policy, minibatch, Copies(batch));

    /// <summary>Evaluates the sequences of <paramref name="copies"/> (after <see cref="Indices(ReadOnlySpan{int})"/> with the same copies and <see cref="Minibatch.Fill"/>), each from its initial memory.</summary>
    public PolicyEvaluation Evaluate(EncoderPolicy policy, Minibatch minibatch, ReadOnlySpan<int> copies)
    {
        var memory = policy.Memory ?? throw new InvalidOperationException("Recurrent PPO: the policy has no recurrent layer.");
        var initial = _initial ?? throw new InvalidOperationException("Recurrent PPO: no rollout has started, so there is no initial memory.");
        int hidden = memory.HiddenSize, layers = memory.NumLayers, k = copies.Length;
        var state = new Tensor[memory.StateCount];
        for (int s = 0; s < state.Length; s++)
        {
            var t = Tensor.Zeros(layers, k, hidden);
            for (int l = 0; l < layers; l++)
                for (int j = 0; j < k; j++)
                    initial.Tensors[s].AsSpan((l * _envs + copies[j]) * hidden, hidden).CopyTo(t.Data.AsSpan((l * k + j) * hidden, hidden));
            state[s] = t;
        }
        return policy.EvaluateSequences(minibatch.Observations, _steps, k, state, _batchStarts.AsSpan(0, _steps * k),
            minibatch.DiscreteActions, minibatch.ContinuousActions, minibatch.ActionMask);
    }
}
