using Reinforce.Autograd;
using Reinforce.Distributed;
using Reinforce.Nn;
using Reinforce.Nn.Transformers;
using Reinforce.Optim;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Text;

namespace Reinforce.Rlhf.Training;

/// <summary>Settings of <see cref="DpoTrainer"/>; the defaults are TRL's <c>DPOConfig</c> where it has one.</summary>
public sealed record DpoOptions
{
    /// <summary>β: how far the policy may move from the reference (TRL's default 0.1).</summary>
    public double Beta { get; init; } = 0.1;

    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 100;

    /// <summary>Preference pairs per step.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>AdamW's learning rate (constant).</summary>
    public float LearningRate { get; init; } = 1e-4f;

    /// <summary>AdamW's weight decay on matrices.</summary>
    public float WeightDecay { get; init; }

    /// <summary>Gradient clipping by global norm.</summary>
    public float MaxGradNorm { get; init; } = 1f;

    /// <summary>Seed of the batch order.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Throws on an impossible setting, naming it and the fix.</summary>
    public void Validate()
    {
        if (!(Beta > 0) || double.IsInfinity(Beta)) throw new ArgumentOutOfRangeException(nameof(Beta), Beta, "DpoOptions: beta must be positive (0.1 is usual).");
        if (Steps < 0) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "DpoOptions: steps must be 0 or more.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "DpoOptions: the batch needs at least one pair.");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "DpoOptions: the learning rate must be positive.");
        if (!(MaxGradNorm > 0)) throw new ArgumentOutOfRangeException(nameof(MaxGradNorm), MaxGradNorm, "DpoOptions: max grad norm must be positive.");
    }
}

/// <summary>What one DPO step measured (TRL's logged names in the comments).</summary>
public sealed record DpoStepMetrics(int Step, double Loss, double ChosenReward, double RejectedReward, double Accuracy, double Margin, double GradNorm);

/// <summary>
/// Direct Preference Optimization (Rafailov et al. 2023), TRL's <c>DPOTrainer</c> with the sigmoid loss:
/// L = −log σ(β·[(log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))]), averaged over pairs, where
/// each log-probability is the sum over the completion's tokens. The reference log-probabilities are computed once,
/// before the first step, so no reference model is kept (with LoRA they are the base model's, adapters switched off).
/// </summary>
/// <remarks>
/// Data parallel (<see cref="Distribute"/>): every rank holds the same pairs and draws the same batch from the same
/// generator; rank r trains on the batch's members r, r + R, r + 2R, …, its loss weighted by its share, so the gradients
/// averaged over the ranks equal the gradient of the whole batch's mean loss (R ranks train as one process would, to
/// float rounding), and the step's figures are the whole batch's.
/// </remarks>
public sealed class DpoTrainer
{
    private readonly Gpt _policy;
    private readonly DpoOptions _options;
    private readonly List<(int[] Prompt, int[] Chosen, int[] Rejected)> _pairs;
    private double[]? _refChosen, _refRejected;
    private readonly AdamW _optimizer;
    private readonly GradientStep _gradientStep;
    private readonly Rng _rng;

    /// <summary>
    /// Prepares to train <paramref name="policy"/> (updated in place; with <see cref="Gpt.Lora"/> only the adapters) on
    /// <paramref name="pairs"/>. Pairs whose prompt and longer completion do not fit the context are an error naming the pair.
    /// </summary>
    public DpoTrainer(Gpt policy, ITokenizer tokenizer, IReadOnlyList<PreferencePair> pairs, DpoOptions options)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        tokenizer.RequireVocabulary(policy.Config.VocabSize, "DpoTrainer");
        _policy = policy;
        _options = options;
        _pairs = [];
        for (int i = 0; i < pairs.Count; i++)
        {
            var p = pairs[i];
            if (p.IsTie) continue;
            var prompt = tokenizer.Encode(p.Prompt);
            var chosen = tokenizer.Encode(p.Chosen);
            var rejected = tokenizer.Encode(p.Rejected);
            if (prompt.Length == 0) throw new ArgumentException($"DpoTrainer: pair {i + 1} has an empty prompt; DPO scores completions given a prompt.");
            if (chosen.Length == 0 || rejected.Length == 0) throw new ArgumentException($"DpoTrainer: pair {i + 1} has an empty completion.");
            int longest = prompt.Length + Math.Max(chosen.Length, rejected.Length);
            if (longest > policy.Config.ContextLength)
                throw new ArgumentException($"DpoTrainer: pair {i + 1} is {longest} tokens (prompt and completion) but the model's context (n_positions) is {policy.Config.ContextLength}; shorten it or drop it from the file.");
            _pairs.Add((prompt, chosen, rejected));
        }
        if (_pairs.Count == 0) throw new ArgumentException("DpoTrainer: no decisive preference pairs (all were ties or the file was empty).");
        _optimizer = AdamW.DecayingMatrices((Module?)policy.Lora ?? policy, options.LearningRate, options.WeightDecay);
        _gradientStep = new GradientStep(_optimizer, options.MaxGradNorm);
        _rng = new Rng(options.Seed);
    }

    /// <summary>The ranks this trainer runs on (a single process unless <see cref="Distribute"/> was called).</summary>
    public ICommunicator Communicator => _gradientStep.Communicator;

    /// <summary>
    /// Makes this trainer one rank of a data-parallel run (call on every rank before the first step, with trainers built
    /// from the same model, pairs and settings): rank 0's trained weights everywhere (so the reference log-probabilities,
    /// computed at the first step, are the same on every rank), each batch split over the ranks, gradients averaged.
    /// </summary>
    /// <exception cref="ArgumentException">The batch holds fewer pairs than there are ranks.</exception>
    public void Distribute(ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        if (StepCount > 0 || _refChosen is not null) throw new InvalidOperationException("DpoTrainer.Distribute: call it before the first step or evaluation.");
        int batch = Math.Min(_options.BatchSize, _pairs.Count);
        if (batch < communicator.Size)
            throw new ArgumentException($"DpoTrainer: each step's batch holds {batch} pairs, fewer than the {communicator.Size} ranks that share it; use a batch of at least {communicator.Size} pairs (--batch), or fewer ranks.", nameof(communicator));
        _gradientStep.Distribute(communicator);
        // With LoRA only the adapters are trained (and broadcast); the frozen base they sit on must be rank 0's too.
        if (_policy.Lora is not null) new DataParallel(communicator, _policy.Parameters()).BroadcastParameters();
    }

    /// <summary>A checksum of the trained weights (equal on every rank of a data-parallel run).</summary>
    public ulong WeightsChecksum() => _gradientStep.WeightsChecksum();

    /// <summary>The reference log-probabilities of every pair, computed once from the starting weights (adapters off).</summary>
    private (double[] Chosen, double[] Rejected) References()
    {
        if (_refChosen is null || _refRejected is null)
        {
            using (_policy.Lora?.Disabled())
            {
                _refChosen = _policy.CompletionLogProbs([.. _pairs.Select(p => p.Prompt)], [.. _pairs.Select(p => p.Chosen)]);
                _refRejected = _policy.CompletionLogProbs([.. _pairs.Select(p => p.Prompt)], [.. _pairs.Select(p => p.Rejected)]);
            }
        }
        return (_refChosen, _refRejected);
    }

    /// <summary>Decisive pairs trained on.</summary>
    public int PairCount => _pairs.Count;

    /// <summary>Steps taken so far.</summary>
    public int StepCount { get; private set; }

    /// <summary>
    /// TRL's sigmoid DPO loss of one batch from summed log-probabilities: mean of −log σ(β·(Δ_chosen − Δ_rejected)) with
    /// Δ = log π − log π_ref. <paramref name="policyChosen"/> and <paramref name="policyRejected"/> carry gradients.
    /// </summary>
    public static Tensor Loss(Tensor policyChosen, Tensor policyRejected, ReadOnlySpan<double> refChosen, ReadOnlySpan<double> refRejected, double beta)
    {
        ArgumentNullException.ThrowIfNull(policyChosen);
        ArgumentNullException.ThrowIfNull(policyRejected);
        int n = policyChosen.Size;
        if (policyRejected.Size != n || refChosen.Length != n || refRejected.Length != n)
            throw new ArgumentException("DpoTrainer.Loss: the four log-probability vectors must have one entry per pair.");
        var refMargin = new float[n];
        for (int i = 0; i < n; i++) refMargin[i] = (float)(refChosen[i] - refRejected[i]);
        var logits = Ops.MulScalar(Ops.Sub(Ops.Sub(Ops.Reshape(policyChosen, n), Ops.Reshape(policyRejected, n)), Tensor.FromArray(refMargin, n)), (float)beta);
        return Ops.Mean(Ops.Softplus(Ops.Neg(logits)));   // −log σ(z) = softplus(−z)
    }

    /// <summary>One step on a batch drawn without replacement from the pairs (in a data-parallel run, this rank's share of it).</summary>
    public DpoStepMetrics Step()
    {
        var (refChosen, refRejected) = References();
        int b = Math.Min(_options.BatchSize, _pairs.Count);
        var batch = new int[b];
        var order = Enumerable.Range(0, _pairs.Count).ToArray();
        for (int i = 0; i < b; i++)
        {
            int j = i + (int)(_rng.NextDouble() * (order.Length - i));
            (order[i], order[j]) = (order[j], order[i]);
            batch[i] = order[i];
        }
        int ranks = Communicator.Size, rank = Communicator.Rank;
        var mine = ranks == 1 ? batch : [.. batch.Where((_, i) => i % ranks == rank)];
        int local = mine.Length;
        // Loss sum, chosen reward sum, rejected reward sum, right: this rank's, then the batch's (summed over the ranks).
        Span<double> f = stackalloc double[4];
        f.Clear();
        Tensor? loss = null;
        if (local > 0)
        {
            var prompts = mine.Select(i => _pairs[i].Prompt).ToList();
            var completions = mine.Select(i => _pairs[i].Chosen).Concat(mine.Select(i => _pairs[i].Rejected)).ToList();
            var logProbs = SequenceLogProbs(_policy, [.. prompts, .. prompts], completions);
            var chosen = Ops.Slice(logProbs, 0, local, axis: 0);
            var rejected = Ops.Slice(logProbs, local, local, axis: 0);
            var refC = mine.Select(i => refChosen[i]).ToArray();
            var refR = mine.Select(i => refRejected[i]).ToArray();
            loss = Loss(chosen, rejected, refC, refR, _options.Beta);
            f[0] = loss.Item() * local;
            for (int i = 0; i < local; i++)
            {
                double c = _options.Beta * (chosen.Data[i] - refC[i]), r = _options.Beta * (rejected.Data[i] - refR[i]);
                f[1] += c; f[2] += r; f[3] += c > r ? 1 : 0;
            }
            // Ranks hold unequal shares when the batch does not divide: weight each so the average is the batch mean.
            if (ranks > 1) loss = Ops.MulScalar(loss, (float)((double)local * ranks / b));
        }
        float norm = _gradientStep.Apply(loss);
        Communicator.AllReduceSum(f);
        StepCount++;
        _gradientStep.EnsureSameWeights($"after step {StepCount}");
        double meanLoss = ranks == 1 ? loss!.Item() : f[0] / b;
        return new DpoStepMetrics(StepCount, meanLoss, f[1] / b, f[2] / b, f[3] / b, (f[1] - f[2]) / b, norm);
    }

    /// <summary>The mean implicit-reward margin β·(Δ_chosen − Δ_rejected) over all pairs, and the share of pairs it orders right.</summary>
    public (double Margin, double Accuracy) Evaluate()
    {
        var (refChosen, refRejected) = References();
        var prompts = _pairs.Select(p => p.Prompt).ToList();
        var c = _policy.CompletionLogProbs(prompts, [.. _pairs.Select(p => p.Chosen)]);
        var r = _policy.CompletionLogProbs(prompts, [.. _pairs.Select(p => p.Rejected)]);
        double margin = 0, acc = 0;
        for (int i = 0; i < _pairs.Count; i++)
        {
            double m = _options.Beta * ((c[i] - refChosen[i]) - (r[i] - refRejected[i]));
            margin += m;
            acc += m > 0 ? 1 : 0;
        }
        return (margin / _pairs.Count, acc / _pairs.Count);
    }

    /// <summary>Σ_t log π(y_t | x, y_&lt;t) for each (prompt, completion), through autograd: [n].</summary>
    internal static Tensor SequenceLogProbs(Gpt model, IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> completions)
    {
        int n = prompts.Count, time = 0;
        for (int i = 0; i < n; i++) time = Math.Max(time, prompts[i].Length + completions[i].Length - 1);
        var tokens = new int[n * time];
        var positions = new List<int>();
        var targets = new List<int>();
        var owner = new List<int>();
        for (int i = 0; i < n; i++)
        {
            var seq = prompts[i].Concat(completions[i]).ToArray();
            seq.AsSpan(0, seq.Length - 1).CopyTo(tokens.AsSpan(i * time));
            for (int t = 0; t < completions[i].Length; t++)
            {
                positions.Add(i * time + prompts[i].Length - 1 + t);
                targets.Add(completions[i][t]);
                owner.Add(i);
            }
        }
        var hidden = Ops.Reshape(model.Hidden(tokens, n, time), n * time, model.Config.Width);
        var tokenLogProbs = Ops.GatherLastDim(Ops.LogSoftmax(model.Logits(Ops.IndexRows(hidden, positions.ToArray()))), targets.ToArray());
        var sum = new float[n * owner.Count];
        for (int j = 0; j < owner.Count; j++) sum[owner[j] * owner.Count + j] = 1f;
        return Ops.Reshape(Ops.MatMul(Tensor.FromArray(sum, n, owner.Count), Ops.Reshape(tokenLogProbs, owner.Count, 1)), n);
    }
}
