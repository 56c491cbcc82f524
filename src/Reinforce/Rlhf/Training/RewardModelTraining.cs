using Reinforce.Autograd;
using Reinforce.Nn;
using Reinforce.Optim;
using Reinforce.Algorithms;
using Reinforce.Distributed;
using Reinforce.IO;
using Reinforce.Rlhf.Data;
using Reinforce.Training;

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

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the first invalid setting and its fix.</summary>
    public void Validate()
    {
        ConfigurationException.Require(Epochs >= 1, "epochs", $"is {Epochs}; train for 1 or more passes over the pairs.");
        ConfigurationException.Require(BatchSize >= 1, "batch_size", $"is {BatchSize}; use 1 or more pairs per step.");
        ConfigurationException.Require(float.IsFinite(LearningRate) && LearningRate > 0, "learning_rate", $"is {LearningRate}; use a positive rate such as 1e-3.");
        ConfigurationException.Require(float.IsFinite(WeightDecay) && WeightDecay >= 0, "weight_decay", $"is {WeightDecay}; use 0 or a small positive value such as 0.01.");
        ConfigurationException.Require(float.IsFinite(MaxGradNorm) && MaxGradNorm > 0, "max_grad_norm", $"is {MaxGradNorm}; use a positive norm such as 1.");
        ConfigurationException.Require(EvaluateEvery >= 0, "evaluate_every", $"is {EvaluateEvery}; use 0 (only at the end) or a positive number of steps.");
    }
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
    /// (A <see cref="RewardModelTrainer"/> driven step by step; <see cref="RewardModelRun"/> drives one in a run folder.)
    /// </summary>
    public static List<RewardModelStep> Train(RewardModel model, IReadOnlyList<PreferencePair> train, IReadOnlyList<PreferencePair> validation,
        RewardModelOptions options, Action<RewardModelStep>? onStep = null)
    {
        var trainer = new RewardModelTrainer(model, train, validation, options);
        var history = new List<RewardModelStep>(trainer.TotalSteps);
        while (trainer.StepCount < trainer.TotalSteps)
        {
            var record = trainer.Step();
            bool last = record.Step == record.TotalSteps;
            if (validation.Count > 0 && (last || (options.EvaluateEvery > 0 && record.Step % options.EvaluateEvery == 0)))
                record = record with { Validation = Evaluate(model, validation) };
            history.Add(record);
            onStep?.Invoke(record);
        }
        return history;
    }

    internal static double Softplus(double x) => x > 30 ? x : Math.Log(1 + Math.Exp(x));
}

/// <summary>
/// Reward-model training one step at a time (Bradley–Terry loss on shuffled batches of preference pairs, AdamW with a
/// cosine-decayed learning rate, clipped gradients): what <see cref="RewardModelTraining.Train"/> loops over and what a
/// <see cref="RunFolder"/> drives (<see cref="RewardModelRun"/>), with its complete state saved to and restored from a
/// checkpoint folder for an exact resume.
/// </summary>
/// <remarks>
/// <para>Epoch e's order is the e-th Fisher–Yates shuffle (with the generator seeded by <see cref="RewardModelOptions.Seed"/>)
/// of the previous epoch's order, so the state to resume is the step count alone: the order is replayed.</para>
/// <para>Data parallel (<see cref="Distribute"/>): every rank holds the same pairs and the same order; batch j of
/// rank r is the members r, r + R, r + 2R, … of the global batch j, its loss weighted so that the gradients averaged
/// over the ranks equal the gradient of the global batch's mean loss: R ranks train as one process would, to float rounding.</para>
/// </remarks>
public sealed class RewardModelTrainer : IRunTrainer
{
    private readonly RewardModel _model;
    private readonly IReadOnlyList<PreferencePair> _validation;
    private readonly RewardModelOptions _options;
    private readonly (int[] Chosen, int[] Rejected, float Target)[] _encoded;
    private readonly AdamW _optimizer;
    private readonly GradientStep _gradientStep;
    private readonly CosineSchedule _schedule;
    private readonly int[] _order;
    private Rng _shuffle;
    private int _orderEpoch;

    /// <summary>Prepares to train <paramref name="model"/> (in place) on <paramref name="train"/>, evaluating on <paramref name="validation"/>.</summary>
    public RewardModelTrainer(RewardModel model, IReadOnlyList<PreferencePair> train, IReadOnlyList<PreferencePair> validation, RewardModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var usable = train.Where(p => options.UseTies || !p.IsTie).ToList();
        if (usable.Count == 0) throw new ArgumentException("RewardModelTraining.Train: no training pairs (ties are left out when UseTies is false). Label some pairs first.", nameof(train));
        _model = model;
        _validation = validation;
        _options = options;
        _encoded = [.. usable.Select(p => (model.Encode(p.Prompt, p.Chosen), model.Encode(p.Prompt, p.Rejected), p.IsTie ? 0.5f : 1f))];
        _optimizer = AdamW.DecayingMatrices(model, options.LearningRate, options.WeightDecay);
        _gradientStep = new GradientStep(_optimizer, options.MaxGradNorm);
        _schedule = new CosineSchedule(options.LearningRate, options.LearningRate / 10);
        StepsPerEpoch = (_encoded.Length + options.BatchSize - 1) / options.BatchSize;
        TotalSteps = StepsPerEpoch * options.Epochs;
        _order = new int[_encoded.Length];
        _shuffle = new Rng(options.Seed);
        ResetOrder();
    }

    /// <summary>The model being trained.</summary>
    public RewardModel Model => _model;

    /// <summary>Pairs trained on (ties left out unless <see cref="RewardModelOptions.UseTies"/>).</summary>
    public int TrainPairs => _encoded.Length;

    /// <summary>Optimizer steps per pass over the pairs.</summary>
    public int StepsPerEpoch { get; }

    /// <summary>Steps of the whole run (<see cref="RewardModelOptions.Epochs"/> passes).</summary>
    public int TotalSteps { get; }

    /// <summary>Steps taken so far.</summary>
    public int StepCount { get; private set; }

    /// <summary>The last step's figures (null before the first).</summary>
    public RewardModelStep? LastStep { get; private set; }

    /// <summary>The ranks this trainer runs on (a single process unless <see cref="Distribute"/> was called).</summary>
    public ICommunicator Communicator => _gradientStep.Communicator;

    /// <summary>Makes this trainer one rank of a data-parallel run: rank 0's weights everywhere, gradients averaged at every step.</summary>
    public void Distribute(ICommunicator communicator) => _gradientStep.Distribute(communicator);

    /// <summary>A checksum of the weights (equal on every rank of a data-parallel run).</summary>
    public ulong WeightsChecksum() => _gradientStep.WeightsChecksum();

    long IRunTrainer.Step => StepCount;

    private void ResetOrder()
    {
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        _shuffle = new Rng(_options.Seed);
        _orderEpoch = 0;
    }

    /// <summary>Brings the order to epoch <paramref name="epoch"/> (1-based) by replaying the shuffles.</summary>
    private void OrderFor(int epoch)
    {
        if (epoch < _orderEpoch) ResetOrder();
        while (_orderEpoch < epoch)
        {
            for (int i = _order.Length - 1; i > 0; i--)
            {
                int j = _shuffle.NextInt(i + 1);
                (_order[i], _order[j]) = (_order[j], _order[i]);
            }
            _orderEpoch++;
        }
    }

    /// <summary>One optimizer step on the next batch; its figures (the held-out evaluation is <see cref="Evaluate"/>'s).</summary>
    public RewardModelStep Step()
    {
        if (StepCount >= TotalSteps) throw new InvalidOperationException($"RewardModelTrainer: all {TotalSteps} steps are done.");
        int epoch = StepCount / StepsPerEpoch + 1, start = StepCount % StepsPerEpoch * _options.BatchSize;
        OrderFor(epoch);
        int count = Math.Min(_options.BatchSize, _order.Length - start);
        int ranks = Communicator.Size, rank = Communicator.Rank;
        var members = new List<int>(count / ranks + 1);
        for (int b = rank; b < count; b += ranks) members.Add(_order[start + b]);
        int local = members.Count;

        float lr = _schedule.At((double)StepCount / TotalSteps);
        _optimizer.LearningRate = lr;
        // loss sum, decisive pairs, right, pairs: summed over the ranks for the step's figures.
        Span<double> figures = stackalloc double[4];
        figures.Clear();
        Tensor? loss = null;
        if (local > 0)
        {
            var sequences = new int[2 * local][];
            var targets = new float[local];
            for (int b = 0; b < local; b++)
            {
                var e = _encoded[members[b]];
                sequences[b] = e.Chosen;
                sequences[local + b] = e.Rejected;
                targets[b] = e.Target;
            }
            var rewards = _model.Forward(sequences);
            var margin = Ops.Sub(Ops.IndexRows(rewards, [.. Enumerable.Range(0, local)]), Ops.IndexRows(rewards, [.. Enumerable.Range(local, local)]));
            // BCE-with-logits on the margin is exactly −[t log σ(d) + (1 − t) log σ(−d)]: Bradley–Terry for t = 1.
            loss = Losses.BinaryCrossEntropyWithLogits(margin, targets);
            figures[0] = (double)loss.Item() * local;
            for (int b = 0; b < local; b++)
            {
                if (targets[b] != 1f) continue;
                figures[1]++;
                if (margin.Data[b] > 0) figures[2]++;
            }
            figures[3] = local;
            // Ranks hold unequal shares when the batch does not divide: weight each so the average is the batch mean.
            if (ranks > 1) loss = Ops.MulScalar(loss, (float)((double)local * ranks / count));
        }
        _gradientStep.Apply(loss);
        Communicator.AllReduceSum(figures);
        StepCount++;
        _gradientStep.EnsureSameWeights($"after step {StepCount}");
        double meanLoss = ranks == 1 ? (loss?.Item() ?? double.NaN) : figures[0] / Math.Max(1, figures[3]);
        LastStep = new RewardModelStep(StepCount, TotalSteps, epoch, meanLoss,
            figures[1] == 0 ? double.NaN : figures[2] / figures[1], lr, null);
        return LastStep;
    }

    IReadOnlyDictionary<string, double> IRunTrainer.TrainStep()
    {
        var s = Step();
        return new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["loss"] = s.Loss, ["accuracy"] = s.Accuracy, ["learning_rate"] = s.LearningRate, ["epoch"] = s.Epoch,
        };
    }

    /// <summary>The held-out figures (<c>val_accuracy</c>, <c>val_margin</c>, <c>val_loss</c>), or null without held-out pairs.</summary>
    public IReadOnlyDictionary<string, double>? Evaluate()
    {
        if (_validation.Count == 0) return null;
        var e = RewardModelTraining.Evaluate(_model, _validation);
        if (LastStep is not null) LastStep = LastStep with { Validation = e };
        return new Dictionary<string, double>(StringComparer.Ordinal) { ["val_accuracy"] = e.Accuracy, ["val_margin"] = e.MeanMargin, ["val_loss"] = e.Loss };
    }

    /// <summary>Writes the model (trunk as <see cref="LmCheckpoint.ModelFile"/>, head beside the optimizer state) and the step to <paramref name="directory"/>.</summary>
    public void Save(string directory) =>
        LmCheckpoint.SaveTrainingState(directory, _model.Trunk, _model.Tokenizer, _optimizer, new Rng(_options.Seed), StepCount,
            new Dictionary<string, string>
            {
                ["reward_step"] = StepCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ranks"] = Communicator.Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, _model.Head);

    /// <summary>Restores what <see cref="Save"/> wrote (the batch order is replayed from the step).</summary>
    public void Load(string directory)
    {
        long step = LmCheckpoint.LoadTrainingState(directory, _model.Trunk, _model.Tokenizer, _optimizer, new Rng(_options.Seed), _model.Head);
        if (step < 0 || step > TotalSteps)
            throw new CheckpointFormatException(Path.Combine(directory, LmCheckpoint.TrainingStateFile), $"it is at step {step}, outside this run's 0..{TotalSteps}", "Resume with the settings in the run's config.json.");
        StepCount = (int)step;
        LastStep = null;
    }
}
