using Reinforce.Autograd;
using Reinforce.Nn;
using Reinforce.Optim;
using Reinforce.Rlhf.Data;

namespace Reinforce.Rlhf.Training;

/// <summary>Settings of reward-model training.</summary>
public sealed record RewardModelOptions
{
    /// <summary>Passes over the training pairs.</summary>
    public int Epochs { get; init; } = 3;

    /// <summary>Pairs per step (each pair is two sequences).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Peak learning rate (cosine-decayed to a tenth over the run).</summary>
    public float LearningRate { get; init; } = 3e-4f;

    /// <summary>AdamW weight decay on the weight matrices.</summary>
    public float WeightDecay { get; init; } = 0.01f;

    /// <summary>Gradients are clipped to this global norm.</summary>
    public float MaxGradNorm { get; init; } = 1f;

    /// <summary>Train on ties too, with target ½ (the two rewards pulled together); otherwise they are left out.</summary>
    public bool UseTies { get; init; } = true;

    /// <summary>Evaluate on the held-out pairs every this many steps (and at the end); 0 only at the end.</summary>
    public int EvaluateEvery { get; init; } = 50;

    /// <summary>Seed of the shuffling.</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>
/// How well a reward model ranks pairs: <see cref="Accuracy"/> is the share of decisive pairs where the chosen completion
/// gets the higher reward, <see cref="MeanMargin"/> the mean of r_chosen − r_rejected over them, <see cref="Loss"/> the
/// mean Bradley–Terry loss (ties included, with target ½).
/// </summary>
public sealed record RewardModelEvaluation(int Pairs, double Accuracy, double MeanMargin, double Loss);

/// <summary>One reward-model training step's figures (with a held-out evaluation when one was made).</summary>
public sealed record RewardModelStep(int Step, int TotalSteps, int Epoch, double Loss, double Accuracy, double LearningRate, RewardModelEvaluation? Validation);

/// <summary>Training and evaluating a <see cref="RewardModel"/> on preference pairs with the Bradley–Terry loss.</summary>
public static class RewardModelTraining
{
    /// <summary>
    /// Splits pairs into training and held-out parts by prompt (all pairs of a prompt go to the same side, so the held-out
    /// accuracy measures prompts the model never saw), about <paramref name="validationFraction"/> of the pairs held out.
    /// </summary>
    public static (List<PreferencePair> Train, List<PreferencePair> Validation) Split(IReadOnlyList<PreferencePair> pairs, double validationFraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (validationFraction is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "Split: the held-out fraction must be in [0, 1).");
        var prompts = pairs.Select(p => p.Prompt).Distinct(StringComparer.Ordinal).ToList();
        var rng = new Rng(seed);
        for (int i = prompts.Count - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (prompts[i], prompts[j]) = (prompts[j], prompts[i]);
        }
        var byPrompt = pairs.GroupBy(p => p.Prompt, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var train = new List<PreferencePair>();
        var validation = new List<PreferencePair>();
        int target = (int)Math.Round(pairs.Count * validationFraction);
        foreach (var prompt in prompts)
            (validation.Count < target ? validation : train).AddRange(byPrompt[prompt]);
        return (train, validation);
    }

    /// <summary>Scores <paramref name="pairs"/> with <paramref name="model"/> (no gradients) and measures accuracy, margin and loss.</summary>
    public static RewardModelEvaluation Evaluate(RewardModel model, IReadOnlyList<PreferencePair> pairs, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count == 0) return new RewardModelEvaluation(0, double.NaN, double.NaN, double.NaN);
        var chosen = model.Score([.. pairs.Select(p => p.Prompt)], [.. pairs.Select(p => p.Chosen)]);
        var rejected = model.Score([.. pairs.Select(p => p.Prompt)], [.. pairs.Select(p => p.Rejected)]);
        int decisive = 0, right = 0;
        double margin = 0, loss = 0;
        for (int i = 0; i < pairs.Count; i++)
        {
            double d = chosen[i] - rejected[i];
            double target = pairs[i].IsTie ? 0.5 : 1.0;
            // −[t log σ(d) + (1 − t) log σ(−d)], computed stably.
            loss += target * Softplus(-d) + (1 - target) * Softplus(d);
            if (pairs[i].IsTie) continue;
            decisive++;
            margin += d;
            if (d > 0) right++;
        }
        return new RewardModelEvaluation(decisive, decisive == 0 ? double.NaN : (double)right / decisive,
            decisive == 0 ? double.NaN : margin / decisive, loss / pairs.Count);
    }

    /// <summary>
    /// Trains <paramref name="model"/> on <paramref name="train"/> for <see cref="RewardModelOptions.Epochs"/> passes in
    /// shuffled batches, minimising the Bradley–Terry loss −log σ(r_chosen − r_rejected), and evaluates on
    /// <paramref name="validation"/> as it goes. Returns every step's figures; the last one carries the final evaluation.
    /// </summary>
    public static List<RewardModelStep> Train(RewardModel model, IReadOnlyList<PreferencePair> train, IReadOnlyList<PreferencePair> validation,
        RewardModelOptions options, Action<RewardModelStep>? onStep = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(options);
        var usable = train.Where(p => options.UseTies || !p.IsTie).ToList();
        if (usable.Count == 0) throw new ArgumentException("RewardModelTraining.Train: no training pairs (ties are left out when UseTies is false). Label some pairs first.", nameof(train));
        if (options.BatchSize < 1 || options.Epochs < 1) throw new ArgumentOutOfRangeException(nameof(options), "RewardModelTraining.Train: batch size and epochs must be at least 1.");

        var encoded = usable.Select(p => (Chosen: model.Encode(p.Prompt, p.Chosen), Rejected: model.Encode(p.Prompt, p.Rejected), Target: p.IsTie ? 0.5f : 1f)).ToArray();
        var optimizer = AdamW.DecayingMatrices(model, options.LearningRate, options.WeightDecay);
        var schedule = new CosineSchedule(options.LearningRate, options.LearningRate / 10);
        var rng = new Rng(options.Seed);
        int stepsPerEpoch = (encoded.Length + options.BatchSize - 1) / options.BatchSize;
        int total = stepsPerEpoch * options.Epochs, step = 0;
        var history = new List<RewardModelStep>(total);
        var order = Enumerable.Range(0, encoded.Length).ToArray();
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = rng.NextInt(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            for (int start = 0; start < order.Length; start += options.BatchSize)
            {
                int count = Math.Min(options.BatchSize, order.Length - start);
                var sequences = new int[2 * count][];
                var targets = new float[count];
                for (int b = 0; b < count; b++)
                {
                    var e = encoded[order[start + b]];
                    sequences[b] = e.Chosen;
                    sequences[count + b] = e.Rejected;
                    targets[b] = e.Target;
                }
                float lr = schedule.At((double)step / total);
                optimizer.LearningRate = lr;
                optimizer.ZeroGrad();
                var rewards = model.Forward(sequences);
                var chosenIdx = Enumerable.Range(0, count).ToArray();
                var rejectedIdx = Enumerable.Range(count, count).ToArray();
                var margin = Ops.Sub(Ops.IndexRows(rewards, chosenIdx), Ops.IndexRows(rewards, rejectedIdx));
                // BCE-with-logits on the margin is exactly −[t log σ(d) + (1 − t) log σ(−d)]: Bradley–Terry for t = 1.
                var loss = Losses.BinaryCrossEntropyWithLogits(margin, targets);
                loss.Backward();
                GradientClipping.ClipGlobalNorm(optimizer, options.MaxGradNorm, errorIfNonFinite: true);
                optimizer.Step();
                step++;
                int right = 0, decisive = 0;
                for (int b = 0; b < count; b++)
                {
                    if (targets[b] != 1f) continue;
                    decisive++;
                    if (margin.Data[b] > 0) right++;
                }
                bool last = step == total;
                RewardModelEvaluation? eval = null;
                if (validation.Count > 0 && (last || (options.EvaluateEvery > 0 && step % options.EvaluateEvery == 0)))
                    eval = Evaluate(model, validation);
                var record = new RewardModelStep(step, total, epoch, loss.Item(), decisive == 0 ? double.NaN : (double)right / decisive, lr, eval);
                history.Add(record);
                onStep?.Invoke(record);
            }
        }
        return history;
    }

    private static double Softplus(double x) => x > 30 ? x : Math.Log(1 + Math.Exp(x));
}
