using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime;
using Reinforce.Autograd;
using Reinforce.Tensors;
using Reinforce.Envs;
using Reinforce.Envs.Vector;

namespace Reinforce.Algorithms;

/// <summary>
/// Proximal Policy Optimization (Schulman, Wolski, Dhariwal, Radford, Klimov 2017, "Proximal Policy Optimization
/// Algorithms"), the clipped-surrogate variant, as Stable-Baselines3 and CleanRL implement it:
/// <code>
///   r_t(θ)   = π_θ(a_t|s_t) / π_θold(a_t|s_t)
///   L^CLIP   = Ê_t[ min( r_t(θ)·Â_t, clip(r_t(θ), 1 − ε, 1 + ε)·Â_t ) ]
///   L^VF     = Ê_t[ (V_θ(s_t) − V_t^targ)² ]
///   maximise   L^CLIP − c₁·L^VF + c₂·S[π_θ](s_t)
/// </code>
/// with Â_t from GAE(γ, λ), several epochs of minibatch Adam steps per rollout, per-minibatch advantage
/// standardisation, optional value clipping, global-norm gradient clipping, linear annealing of the learning
/// rate and ε, and an optional early stop when the approximate KL from the rollout policy exceeds 1.5 × target.
/// </summary>
public sealed class Ppo : OnPolicyAgent
{
    private readonly int[] _indices;
    private readonly Minibatch _batch;
    private readonly Dictionary<int, Minibatch> _localBatches = [];
    private readonly SequenceMinibatches? _sequences;
    private readonly int[] _localCopies;
    private int _localCopyCount;
    private float[] _ratio = [], _logRatio = [];
    private readonly PpoObjective.Workspace _categorical = new();
    private readonly TensorArena _stepArena = new();   // the minibatch step's short-lived buffers (see Update)
    private int[] _actionIndices = [];
    private readonly PpoPairedStep? _paired;   // actor and critic on two cores, when the policy and settings allow

    /// <summary>The two-core minibatch step (null when the policy has no separate actor and critic), for tests.</summary>
    internal PpoPairedStep? PairedStep => _paired;

    /// <inheritdoc/>
    protected override void OnRolloutStart(PolicyState state) => _sequences?.OnRolloutStart(state);

    private protected override IEnumerable<KeyValuePair<string, Tensor>> RecurrentBookkeeping() =>
        _sequences is null ? [] : [new("last_done", Tensor.FromArray(_sequences.LastDone))];

    private protected override void RestoreRecurrentBookkeeping(IReadOnlyDictionary<string, Tensor> tensors)
    {
        if (_sequences is not null && tensors.TryGetValue("last_done", out var lastDone)) _sequences.LastDone = lastDone.Data;
    }

    /// <summary>Creates PPO for <paramref name="env"/> (for tuned settings use <c>PpoOptions.For("CartPole-v1")</c>).</summary>
    public Ppo(IVectorEnv env, PpoOptions options, PolicyFactory? policy = null) : base(env, options?.Clone() ?? throw new ArgumentNullException(nameof(options)), withCritic: true, policy)
    {
        _indices = new int[Buffer.Capacity];
        _batch = new Minibatch(Options.BatchSize, env.ObservationSize, Policy.DiscreteActionSize, Policy.ContinuousActionSize, Buffer.ActionMaskSize);
        // A recurrent policy (policy.lstm_hidden_size > 0) makes this Recurrent PPO: minibatches of whole sequences.
        // (Other recurrent policies evaluate shuffled transitions through their own EvaluateActions.)
        if (Policy is EncoderPolicy { IsRecurrent: true }) _sequences = new SequenceMinibatches(Options.NumSteps, env.NumEnvs, Options.BatchSize);
        _localCopies = new int[_sequences?.EnvsPerBatch ?? 0];
        _paired = PpoPairedStep.TryCreate(Policy, Optimizer, GradientStepper.MaxGradNorm, GradientStepper.ErrorIfNonFinite, () => SecondCore);
    }


    /// <summary>The settings.</summary>
    public new PpoOptions Options => (PpoOptions)base.Options;

    /// <summary>Loads a Ppo checkpoint (see <see cref="OnPolicyAgent.Load"/>).</summary>
    public static new Ppo Load(string directory, IVectorEnv? env = null) =>
        Checkpoint.Load(directory, env) as Ppo ?? throw new InvalidOperationException($"The checkpoint in '{directory}' is not a Ppo checkpoint.");

    /// <inheritdoc/>
    [BypassReadyToRun]
    protected override void Update(double progress, TrainingMetrics metrics)
    {
        var o = Options;
        Buffer.ComputeGae(o.Gamma, o.GaeLambda);
        float learningRate = LearningRate.Apply(Optimizer, progress);
        float epsilon = ClipRange.At(progress);

        double policyLossSum = 0, valueLossSum = 0, entropySum = 0, klSum = 0, clipFractionSum = 0, gradNormSum = 0;
        int minibatches = 0, epochsDone = 0;
        double approxKl = 0;
        bool stop = false;
        _sequences?.OnRolloutEnd(Buffer);
        // Data-parallel runs draw every minibatch from one permutation of all ranks' samples (see OnPolicyAgent.DataParallel).
        bool parallel = IsDataParallel;
        int samples = parallel ? Communicator.Size * Buffer.Capacity : _indices.Length;
        var pairing = parallel || _sequences is not null ? null : _paired;   // shuffled transitions in one process
        bool pairThisUpdate = pairing?.PairNextUpdate(o.BatchSize) ?? false;
        for (int epoch = 0; epoch < o.NumEpochs && !stop; epoch++)
        {
            if (parallel && _sequences is null) ShuffleGlobal();
            else if (parallel) ShuffleGlobalCopies();
            else if (_sequences is null) Permute(_indices);
            else _sequences.Shuffle(Permute);
            for (int start = 0, index = 0; start < samples; start += o.BatchSize, index++)
            {
                var batch = _batch;
                float share = 1f;       // this rank's weight in the all-ranks minibatch mean (1 in one process)
                if (parallel)
                {
                    // Transitions, or (recurrent) the whole sequences of the copies this rank holds of the minibatch.
                    ReadOnlySpan<int> rows = _sequences is null
                        ? _indices.AsSpan(0, LocalMinibatch(start, o.BatchSize, _indices))
                        : _sequences.Indices(_localCopies.AsSpan(0, _localCopyCount = LocalCopies(index, _sequences.EnvsPerBatch, _localCopies)));
                    int count = rows.Length;
                    batch = LocalBatch(count);
                    batch.Fill(Buffer, rows, normalizeAdvantages: false);
                    if (o.NormalizeAdvantage) StandardizeAcrossRanks(batch.Advantages.Data);
                    share = (float)Communicator.Size * count / o.BatchSize;
                }
                else
                {
                    // Shuffled transitions; or, with a recurrent policy, whole sequences run from their initial memory.
                    batch.Fill(Buffer, _sequences is null ? _indices.AsSpan(start, o.BatchSize) : _sequences.Indices(index), o.NormalizeAdvantage);
                }

                if (batch.Size == 0)
                {
                    // This rank holds none of the minibatch: it still takes part in the collective figures and the step.
                    approxKl = AllRanksKl(0, 0, 0, out double emptyClipFraction);
                    klSum += approxKl;
                    clipFractionSum += emptyClipFraction;
                    if (o.TargetKl is float emptyTarget && approxKl > 1.5 * emptyTarget) { stop = true; break; }
                    gradNormSum += GradientStep(null);
                    minibatches++;
                    continue;
                }

                // The clipped surrogate objective L^CLIP, the value loss L^VF and the entropy bonus S[π_θ], negated and
                // summed (we minimise), as one recorded operation (PpoObjective: the same bits as the element-wise chain).
                // The value loss is the larger of the plain and the clipped error with clip_range_vf (the new prediction
                // kept within ±ε_vf of the rollout's), as OpenAI Baselines and CleanRL do.
                // r_t(θ) = π_θ(a_t|s_t) / π_θold(a_t|s_t) comes back per sample, for the KL and the clip fraction.
                // One process, shuffled transitions: the step's tensors (activations, their gradients, the loss) take their
                // buffers from an arena and give them back after the optimizer step, so every minibatch reuses the same memory.
                using TensorArena.Scope? arenaScope = parallel || _sequences is not null ? null : _stepArena.Activate();
                if (_ratio.Length < batch.Size) (_ratio, _logRatio) = (new float[batch.Size], new float[batch.Size]);
                var ratio = _ratio.AsSpan(0, batch.Size);
                var logRatio = _logRatio.AsSpan(0, batch.Size);
                Tensor? loss = null;
                PpoObjective.Parts parts = default;
                bool paired = false;
                if (_sequences is null && batch.ActionMask.IsEmpty && Policy.CategoricalHead(batch.Observations) is var (head, features))
                {
                    // One softmax over the actions, no mask: the loss straight from the logits (the same bits as the
                    // distribution's separate operations, fewer passes and nodes); with separate actor and critic networks
                    // and two cores, each network's side of the step on its own core (the same bits again).
                    var actions = head.ActionIndices(batch.DiscreteActions, ref _actionIndices);
                    if (pairThisUpdate)
                    {
                        pairing!.Forward(batch, actions, epsilon, o.ClipRangeVf, o.EntropyCoef, o.ValueCoef, ratio, logRatio);
                        paired = true;
                    }
                    else
                    {
                        var output = head.ActorCritic(features);
                        loss = PpoObjective.CategoricalLoss(output.ActorOutput, actions, output.Values!, batch, epsilon, o.ClipRangeVf,
                            o.EntropyCoef, o.ValueCoef, parallel ? share : 1f, _categorical, ratio, logRatio, out parts);
                    }
                }
                else
                {
                    // r_t(θ) = π_θ(a_t|s_t) / π_θold(a_t|s_t), from log-probabilities.
                    var (logProb, entropy, values) = _sequences is null
                        ? Policy.EvaluateActions(batch.Observations, batch.DiscreteActions, batch.ContinuousActions, batch.ActionMask)
                        : parallel ? _sequences.Evaluate((EncoderPolicy)Policy, batch, _localCopies.AsSpan(0, _localCopyCount))
                        : _sequences.Evaluate((EncoderPolicy)Policy, batch, index);
                    loss = PpoObjective.Loss(logProb, entropy, values!, batch, epsilon, o.ClipRangeVf, o.EntropyCoef, o.ValueCoef,
                        parallel ? share : 1f, ratio, logRatio, out parts);
                }

                // Approximate KL(π_old ‖ π_θ) = E[(r − 1) − log r] (Schulman's low-variance estimator), and how often r was clipped.
                if (parallel)
                {
                    approxKl = AllRanksKl(ApproximateKl(ratio, logRatio) * batch.Size, ClipFraction(ratio, epsilon) * batch.Size, batch.Size, out double clipFraction);
                    clipFractionSum += clipFraction;
                }
                else
                {
                    approxKl = ApproximateKl(ratio, logRatio);
                    clipFractionSum += ClipFraction(ratio, epsilon);
                }
                klSum += approxKl;
                if (o.TargetKl is float targetKl && approxKl > 1.5 * targetKl)
                {
                    stop = true;
                    if (paired) pairing!.Abandon();
                    _stepArena.Recycle();
                    break;
                }

                gradNormSum += paired ? pairing!.Step(out parts) : GradientStep(loss);
                _stepArena.Recycle();

                policyLossSum += parts.PolicyLoss;
                valueLossSum += parts.ValueLoss;
                entropySum += parts.Entropy;
                minibatches++;
            }
            epochsDone++;
        }
        pairing?.UpdateEnded(minibatches);
        if (parallel)
        {
            Span<double> figures = [policyLossSum, valueLossSum, entropySum];
            AverageAcrossRanks(figures);
            (policyLossSum, valueLossSum, entropySum) = (figures[0], figures[1], figures[2]);
        }

        int n = Math.Max(minibatches, 1);
        metrics.Set("train/policy_loss", policyLossSum / n);
        metrics.Set("train/value_loss", valueLossSum / n);
        metrics.Set("train/entropy", entropySum / n);
        metrics.Set("train/approx_kl", klSum / Math.Max(minibatches + (stop ? 1 : 0), 1));
        metrics.Set("train/clip_fraction", clipFractionSum / Math.Max(minibatches + (stop ? 1 : 0), 1));
        metrics.Set("train/grad_norm", gradNormSum / n);
        metrics.Set("train/explained_variance", ExplainedVariance(Buffer.Values, Buffer.Returns));
        metrics.Set("train/learning_rate", learningRate);
        metrics.Set("train/clip_range", epsilon);
        metrics.Set("train/epochs", epochsDone);
        if (Policy.LogStd is not null) metrics.Set("train/std", Math.Exp(Policy.LogStd.Value.Data.Average()));
    }

    /// <summary>ε over training progress (<c>clip_range</c> with <c>clip_range_schedule</c>), made once as <see cref="OnPolicyAgent.LearningRate"/> is.</summary>
    private Optim.LearningRateSchedule ClipRange => _clipRange ??= Options.ClipRangeSchedule.From(Options.ClipRange);

    private Optim.LearningRateSchedule? _clipRange;

    /// <summary>The minibatch of <paramref name="count"/> samples this rank holds (one per size seen, reused).</summary>
    private Minibatch LocalBatch(int count)
    {
        if (!_localBatches.TryGetValue(count, out var batch))
            _localBatches[count] = batch = new Minibatch(count, Env.ObservationSize, Policy.DiscreteActionSize, Policy.ContinuousActionSize, Buffer.ActionMaskSize);
        return batch;
    }

    /// <summary>The approximate KL and clip fraction of the whole minibatch, from each rank's sums over its members.</summary>
    private double AllRanksKl(double klSum, double clippedSum, int count, out double clipFraction)
    {
        Span<double> sums = [klSum, clippedSum, count];
        AllReduceSum(sums);
        clipFraction = sums[1] / Math.Max(sums[2], 1);
        return sums[0] / Math.Max(sums[2], 1);
    }

    /// <summary>E[(r − 1) − log r] over the minibatch.</summary>
    [BypassReadyToRun]
    internal static double ApproximateKl(ReadOnlySpan<float> ratio, ReadOnlySpan<float> logRatio)
    {
        if (logRatio.Length < ratio.Length) throw new ArgumentException($"ApproximateKl: {logRatio.Length} log-ratios for {ratio.Length} ratios.");
        // Each term in double, eight at a time (the same operations per element), then added in order: the sum's chain
        // of additions is what it costs, not the terms.
        double sum = 0;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            ref float rr = ref MemoryMarshal.GetReference(ratio);
            ref float rl = ref MemoryMarshal.GetReference(logRatio);
            for (; i <= ratio.Length - 8; i += 8)
            {
                var r = Vector512.WidenLower(Vector256.LoadUnsafe(ref rr, (nuint)i).ToVector512Unsafe());
                var l = Vector512.WidenLower(Vector256.LoadUnsafe(ref rl, (nuint)i).ToVector512Unsafe());
                sum = Kernels.AddInOrder(sum, (r - Vector512<double>.One) - l);
            }
        }
        for (; i < ratio.Length; i++) sum += (ratio[i] - 1.0) - logRatio[i];
        return sum / ratio.Length;
    }

    /// <summary>The fraction of the minibatch with |r − 1| &gt; ε.</summary>
    internal static double ClipFraction(ReadOnlySpan<float> ratio, float epsilon)
    {
        int clipped = 0, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            ref float rr = ref MemoryMarshal.GetReference(ratio);
            var eps = Vector512.Create(epsilon);
            for (; i <= ratio.Length - 16; i += 16)
                clipped += BitOperations.PopCount(Vector512.GreaterThan(Vector512.Abs(Vector512.LoadUnsafe(ref rr, (nuint)i) - Vector512<float>.One), eps).ExtractMostSignificantBits());
        }
        for (; i < ratio.Length; i++) if (Math.Abs(ratio[i] - 1f) > epsilon) clipped++;
        return (double)clipped / ratio.Length;
    }
}
