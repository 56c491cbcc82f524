using System.Numerics.Tensors;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Autograd;

namespace Reinforce.Distributions;

/// <summary>
/// A batch of categorical distributions over C actions, one per row of logits [N, C] (unnormalised log-probabilities),
/// optionally restricted by an action mask. Log-probabilities and entropy are tensors built from <see cref="Ops"/>
/// (log-softmax, gather, ...), so a loss made from them backpropagates into the logits (and the network behind them).
/// </summary>
/// <remarks>
/// <para>A masked-out action (mask false) has probability exactly 0: it is never sampled, never the mode, contributes
/// nothing to the entropy and receives no gradient; asking for its log-probability is an error.</para>
/// <para>Logits of any finite size are handled exactly (the row maximum is subtracted), including ±1000.</para>
/// </remarks>
public sealed class Categorical
{
    private readonly bool[]? _allowed;
    private Tensor? _probs;

    /// <summary>Creates the distributions.</summary>
    /// <param name="logits">[N, C] logits (a vector [C] is one row). Must be finite: use the mask to exclude actions.</param>
    /// <param name="mask">
    /// Null for no mask, or which actions are allowed (true = allowed, as in SB3-contrib's action masks): N·C flags, row-major,
    /// or C flags shared by every row. Every row must allow at least one action.
    /// </param>
    public Categorical(Tensor logits, bool[]? mask = null)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Rank == 1) logits = Ops.Reshape(logits, 1, logits.Size);
        if (logits.Rank != 2)
            throw new ArgumentException($"Categorical: logits must have shape [N, C] (a batch of rows), got {Tensor.ShapeString(logits.Shape)}.", nameof(logits));
        BatchSize = logits.Shape[0];
        ActionCount = logits.Shape[1];
        if (ActionCount < 1) throw new ArgumentException($"Categorical: logits of shape {Tensor.ShapeString(logits.Shape)} have no actions.", nameof(logits));
        CheckFinite(logits.Data.AsSpan(0, logits.Size), ActionCount);

        if (mask is not null) _allowed = ExpandMask(mask, BatchSize, ActionCount);
        Logits = logits;
        LogProbs = Ops.LogSoftmax(_allowed is null ? logits : DistributionOps.MaskLogits(logits, _allowed));
    }

    /// <summary>Throws, naming the first one, if any of the logits (rows of <paramref name="actionCount"/>) is NaN or infinite.</summary>
    internal static void CheckFinite(ReadOnlySpan<float> logits, int actionCount)
    {
        if (TensorPrimitives.IsFiniteAll(logits)) return;   // one vector scan; element by element only to name the bad one
        for (int i = 0; i < logits.Length; i++)
        {
            if (!float.IsFinite(logits[i]))
                throw new ArgumentException(
                    $"Categorical: logit [{i / actionCount}, {i % actionCount}] is {logits[i].ToString(CultureInfo.InvariantCulture)}. Logits must be finite " +
                    "(a NaN usually means the policy network diverged: lower the learning rate or clip gradients; to forbid an action, pass a mask instead of -infinity).",
                    "logits");
        }
    }

    /// <summary>Throws if an action is outside [0, <paramref name="actionCount"/>) (no mask).</summary>
    [BypassReadyToRun]
    internal static void CheckActions(ReadOnlySpan<int> actions, int actionCount)
    {
        for (int r = 0; r < actions.Length; r++)
        {
            int a = actions[r];
            if ((uint)a >= (uint)actionCount)
                throw new ArgumentOutOfRangeException(nameof(actions), $"Categorical.LogProb: action {a} at row {r} is outside [0, {actionCount}).");
        }
    }

    /// <summary>The logits as given ([N, C]).</summary>
    public Tensor Logits { get; }

    /// <summary>
    /// Normalised log-probabilities [N, C] (log-softmax of the logits over the allowed actions). A masked-out entry holds a
    /// large negative finite number; its probability is exactly 0.
    /// </summary>
    public Tensor LogProbs { get; }

    /// <summary>Probabilities [N, C] (exp of <see cref="LogProbs"/>; 0 for masked-out actions), differentiable.</summary>
    public Tensor Probs => _probs ??= Ops.Exp(LogProbs);

    /// <summary>The number of distributions N (rows).</summary>
    public int BatchSize { get; }

    /// <summary>The number of actions C.</summary>
    public int ActionCount { get; }

    /// <summary>Whether <paramref name="action"/> is allowed in <paramref name="row"/> (always true without a mask).</summary>
    public bool IsAllowed(int row, int action)
    {
        if ((uint)row >= (uint)BatchSize || (uint)action >= (uint)ActionCount)
            throw new ArgumentOutOfRangeException(nameof(action), $"Categorical.IsAllowed: ({row}, {action}) is outside [{BatchSize}, {ActionCount}].");
        return _allowed is null || _allowed[row * ActionCount + action];
    }

    /// <summary>One action per row, drawn from <paramref name="rng"/> by inverse CDF on the probabilities (one uniform draw per row).</summary>
    public int[] Sample(Rng rng)
    {
        var actions = new int[BatchSize];
        Sample(rng, actions);
        return actions;
    }

    /// <summary>Draws one action per row into <paramref name="destination"/> (length N).</summary>
    public void Sample(Rng rng, Span<int> destination)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (destination.Length != BatchSize)
            throw new ArgumentException($"Categorical.Sample: destination holds {destination.Length} actions, the batch has {BatchSize} rows.", nameof(destination));
        var logp = LogProbs.Data;
        int c = ActionCount;
        for (int r = 0; r < BatchSize; r++)
            destination[r] = SampleIndex(logp.AsSpan(r * c, c), rng.NextDouble(), _allowed is null ? default : _allowed.AsSpan(r * c, c));
    }

    /// <summary>
    /// Span-level sampling of one row, allocation-free (the rollout's path): inverse CDF, the first allowed choice whose
    /// cumulative probability exp(log p) exceeds <paramref name="u"/> ~ U[0, 1); if rounding leaves u beyond the total,
    /// the last allowed choice with positive probability. <paramref name="allowed"/> empty = every choice allowed.
    /// </summary>
    [BypassReadyToRun]
    public static int SampleIndex(ReadOnlySpan<float> logProbs, double u, ReadOnlySpan<bool> allowed = default)
    {
        double cumulative = 0;
        int lastPositive = -1;
        for (int j = 0; j < logProbs.Length; j++)
        {
            if (!allowed.IsEmpty && !allowed[j]) continue;
            double p = Math.Exp(logProbs[j]);
            if (p <= 0) continue;
            lastPositive = j;
            cumulative += p;
            if (u < cumulative) return j;
        }
        return lastPositive;
    }

    /// <summary>Span-level mode of one row: the first allowed choice with the largest score (logits or log-probabilities).</summary>
    public static int ModeIndex(ReadOnlySpan<float> scores, ReadOnlySpan<bool> allowed = default)
    {
        int best = -1;
        for (int j = 0; j < scores.Length; j++)
            if ((allowed.IsEmpty || allowed[j]) && (best < 0 || scores[j] > scores[best])) best = j;
        return best;
    }

    /// <summary>log π(a) for one action per row → [N]; differentiable with respect to the logits.</summary>
    public Tensor LogProb(ReadOnlySpan<int> actions)
    {
        if (actions.Length != BatchSize)
            throw new ArgumentException($"Categorical.LogProb: {actions.Length} actions for a batch of {BatchSize} rows; give one action per row.", nameof(actions));
        for (int r = 0; r < actions.Length; r++)
        {
            int a = actions[r];
            if ((uint)a >= (uint)ActionCount)
                throw new ArgumentOutOfRangeException(nameof(actions), $"Categorical.LogProb: action {a} at row {r} is outside [0, {ActionCount}).");
            if (!Allowed(r * ActionCount + a))
                throw new ArgumentException($"Categorical.LogProb: action {a} at row {r} is masked out (probability 0, log-probability -infinity). Use the same mask that was used when the action was sampled.", nameof(actions));
        }
        return Ops.GatherLastDim(LogProbs, actions);
    }

    /// <summary>The entropy −Σ p·log p of each row over its allowed actions → [N]; differentiable.</summary>
    public Tensor Entropy() => DistributionOps.EntropyFromLogProbs(LogProbs);

    /// <summary>The most probable allowed action of each row (the first on ties, as argmax).</summary>
    public int[] Mode()
    {
        var modes = new int[BatchSize];
        int c = ActionCount;
        for (int r = 0; r < BatchSize; r++) modes[r] = ModeIndex(LogProbs.Data.AsSpan(r * c, c), _allowed is null ? default : _allowed.AsSpan(r * c, c));
        return modes;
    }

    private bool Allowed(int flatIndex) => _allowed is null || _allowed[flatIndex];

    private static bool[] ExpandMask(bool[] mask, int rows, int classes)
    {
        bool[] allowed;
        if (mask.Length == rows * classes) allowed = (bool[])mask.Clone();
        else if (mask.Length == classes)
        {
            allowed = new bool[rows * classes];
            for (int r = 0; r < rows; r++) mask.CopyTo(allowed, r * classes);
        }
        else
        {
            throw new ArgumentException(
                $"Categorical: the mask has {mask.Length} flags; logits [{rows}, {classes}] need {rows * classes} (one per row and action) or {classes} (shared by all rows).",
                nameof(mask));
        }
        for (int r = 0; r < rows; r++)
        {
            bool any = false;
            for (int j = 0; j < classes && !any; j++) any = allowed[r * classes + j];
            if (!any)
                throw new ArgumentException(
                    $"Categorical: the mask allows no action in row {r} (of {rows}); every state needs at least one legal action. Check the environment's action mask for that state.",
                    nameof(mask));
        }
        return allowed;
    }
}
