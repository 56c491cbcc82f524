using Reinforce.Algorithms;
using System.Diagnostics;
using Reinforce.Autograd;
using Reinforce.Distributed;
using Reinforce.Distributions;
using Reinforce.Nn.Transformers;
using Reinforce.Optim;
using Reinforce.Nn;
using Reinforce.Rlhf.Text;
using Reinforce.Training;

namespace Reinforce.Rlhf.Training;

/// <summary>The RL fine-tuning algorithm.</summary>
public enum RlAlgorithm
{
    /// <summary>
    /// REINFORCE Leave-One-Out (Ahmadian et al. 2024): k completions per prompt, each one's baseline the mean reward of the
    /// other k − 1; the sequence-level KL to the reference folded into the reward.
    /// </summary>
    Rloo,
    /// <summary>
    /// Group Relative Policy Optimization (Shao et al. 2024): group-normalised advantages, PPO's clipped ratio per token,
    /// and the k3 estimate of the KL to the reference added to the loss.
    /// </summary>
    Grpo,
    /// <summary>
    /// PPO with a value head (Ziegler et al. 2019, Ouyang et al. 2022): a per-token KL penalty in the reward, the score at
    /// the last token, GAE over the completion, clipped policy and value losses over several epochs.
    /// </summary>
    Ppo,
}

/// <summary>Settings of RL fine-tuning.</summary>
public sealed record RlhfOptions
{
    /// <summary>The algorithm (RLOO by default).</summary>
    public RlAlgorithm Algorithm { get; init; } = RlAlgorithm.Rloo;

    /// <summary>Distinct prompts per step.</summary>
    public int PromptsPerStep { get; init; } = 16;

    /// <summary>Completions sampled per prompt (k); RLOO and GRPO compare them with each other.</summary>
    public int GroupSize { get; init; } = 4;

    /// <summary>Longest completion, in tokens.</summary>
    public int MaxNewTokens { get; init; } = 48;

    /// <summary>The character that ends a completion (kept in it); null lets completions run to <see cref="MaxNewTokens"/>.</summary>
    public char? StopCharacter { get; init; }

    /// <summary>β: weight of the KL divergence to the reference model (in the reward for RLOO and PPO, in the loss for GRPO).</summary>
    public float KlCoefficient { get; init; } = 0.05f;

    /// <summary>Adam learning rate (constant).</summary>
    public float LearningRate { get; init; } = 1e-4f;

    /// <summary>AdamW weight decay on the weight matrices.</summary>
    public float WeightDecay { get; init; }

    /// <summary>Gradients are clipped to this global norm.</summary>
    public float MaxGradNorm { get; init; } = 1f;

    /// <summary>ε of the clipped probability ratio (and of the clipped value loss).</summary>
    public float ClipRange { get; init; } = 0.2f;

    /// <summary>Passes over each batch of samples (1 for RLOO and GRPO is on-policy: the ratio is exactly 1; PPO usually 4).</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Minibatches per pass.</summary>
    public int MiniBatches { get; init; } = 1;

    /// <summary>PPO: discount over completion tokens.</summary>
    public float Gamma { get; init; } = 1f;

    /// <summary>PPO: GAE's λ.</summary>
    public float Lambda { get; init; } = 0.95f;

    /// <summary>PPO: weight of the value loss.</summary>
    public float ValueCoefficient { get; init; } = 0.1f;

    /// <summary>GRPO: divide by the group's standard deviation (false: Dr. GRPO's mean-only centring).</summary>
    public bool ScaleByGroupStd { get; init; } = true;

    /// <summary>Sample completions kept in each step's metrics.</summary>
    public int LoggedSamples { get; init; } = 4;

    /// <summary>Seed of prompt choice and sampling.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>The usual settings for <paramref name="algorithm"/>: PPO gets 4 epochs of 4 minibatches.</summary>
    public static RlhfOptions For(RlAlgorithm algorithm) => algorithm == RlAlgorithm.Ppo
        ? new RlhfOptions { Algorithm = algorithm, Epochs = 4, MiniBatches = 4 }
        : new RlhfOptions { Algorithm = algorithm };

    /// <summary>Throws if a setting is out of range, naming it.</summary>
    public void Validate()
    {
        ConfigurationException.Require(PromptsPerStep >= 1, "prompts_per_step", $"is {PromptsPerStep}; use at least one prompt per step.");
        int minGroup = Algorithm == RlAlgorithm.Ppo ? 1 : 2;
        ConfigurationException.Require(GroupSize >= minGroup, "group_size", $"is {GroupSize}; {Algorithm} needs at least {minGroup} completions per prompt (RLOO and GRPO compare completions of the same prompt).");
        ConfigurationException.Require(MaxNewTokens >= 1, "max_new_tokens", $"is {MaxNewTokens}; completions need at least one token.");
        ConfigurationException.Require(float.IsFinite(KlCoefficient) && KlCoefficient >= 0, "kl_coefficient", $"is {KlCoefficient}; use 0 (no KL penalty) or a positive value such as 0.05.");
        ConfigurationException.Require(float.IsFinite(LearningRate) && LearningRate > 0, "learning_rate", $"is {LearningRate}; use a positive rate such as 1e-4.");
        ConfigurationException.Require(float.IsFinite(WeightDecay) && WeightDecay >= 0, "weight_decay", $"is {WeightDecay}; use 0 or a small positive value.");
        ConfigurationException.Require(float.IsFinite(MaxGradNorm) && MaxGradNorm > 0, "max_grad_norm", $"is {MaxGradNorm}; use a positive norm such as 1.");
        ConfigurationException.Require(float.IsFinite(ClipRange) && ClipRange > 0, "clip_range", $"is {ClipRange}; use a positive range such as 0.2.");
        ConfigurationException.Require(Epochs >= 1, "epochs", $"is {Epochs}; use 1 or more passes over each batch.");
        ConfigurationException.Require(MiniBatches >= 1, "mini_batches", $"is {MiniBatches}; use 1 or more minibatches per pass.");
        ConfigurationException.Require(MiniBatches <= PromptsPerStep * GroupSize, "mini_batches", $"is {MiniBatches}, but a step holds {PromptsPerStep * GroupSize} completions; use at most that many, or none would be left for some minibatches.");
    }
}

/// <summary>One sampled completion in a step's log.</summary>
public sealed record RlhfSample(string Prompt, string Completion, double Reward);

/// <summary>
/// What one RL fine-tuning step saw and did. Rewards are the reward source's scores before any KL penalty;
/// <see cref="Kl"/> is the mean over completions of Σ_t (log π − log π_ref) at the sampled tokens (the sequence-level
/// KL estimate); <see cref="Entropy"/> the policy's mean per-token entropy over completion tokens.
/// </summary>
public sealed record RlhfStepMetrics
{
    public int Step { get; init; }
    public double RewardMean { get; init; }
    public double RewardStd { get; init; }
    public double Kl { get; init; }
    public double Entropy { get; init; }
    public double CompletionLengthMean { get; init; }
    public double CompletionLengthMax { get; init; }
    public double StoppedFraction { get; init; }
    public double ZeroVarianceGroupFraction { get; init; }
    public double ClipFraction { get; init; }
    public double Loss { get; init; }
    public double GradNorm { get; init; }
    public double LearningRate { get; init; }
    public double? ValueLoss { get; init; }
    public double Seconds { get; init; }
    public double TokensPerSecond { get; init; }

    /// <summary>Every prompt of the step, one per completion.</summary>
    public IReadOnlyList<string> Prompts { get; init; } = [];

    /// <summary>Every completion of the step.</summary>
    public IReadOnlyList<string> Completions { get; init; } = [];

    /// <summary>Every completion's reward.</summary>
    public IReadOnlyList<float> Rewards { get; init; } = [];

    /// <summary>A few completions with their rewards, for the log.</summary>
    public IReadOnlyList<RlhfSample> Samples { get; init; } = [];

    /// <summary>The scalar figures by name, for CSV and TensorBoard.</summary>
    public Dictionary<string, double> ToDictionary()
    {
        var d = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["reward_mean"] = RewardMean, ["reward_std"] = RewardStd, ["kl"] = Kl, ["entropy"] = Entropy,
            ["completion_length_mean"] = CompletionLengthMean, ["completion_length_max"] = CompletionLengthMax,
            ["stopped_fraction"] = StoppedFraction, ["zero_variance_groups"] = ZeroVarianceGroupFraction,
            ["clip_fraction"] = ClipFraction, ["loss"] = Loss, ["grad_norm"] = GradNorm, ["learning_rate"] = LearningRate,
            ["seconds"] = Seconds, ["tokens_per_second"] = TokensPerSecond,
        };
        if (ValueLoss is double v) d["value_loss"] = v;
        return d;
    }
}

/// <summary>
/// RL fine-tuning of a language model against a reward (a reward model or a reward function): each step samples k
/// completions for each of a batch of prompts with pure sampling from the policy, scores them, measures the KL to a
/// frozen copy of the starting model (the reference), and takes policy-gradient steps (<see cref="RlAlgorithm"/>).
/// </summary>
/// <remarks>As an <see cref="IRunTrainer"/> a <see cref="RunFolder"/> drives it (<see cref="RlhfRun.Train"/>); its complete
/// state (policy, value head, AdamW moments, generator, step) saves to and loads from a checkpoint folder.</remarks>
public sealed class RlhfTrainer : IRunTrainer
{
    private readonly Module? _valueHeadModule;
    private readonly Gpt _policy;
    private readonly Gpt _reference;
    private readonly ITokenizer _tokenizer;
    private readonly IRewardSource _reward;
    private readonly Func<Rng, string> _prompts;
    private readonly RlhfOptions _options;
    private readonly Rng _rng;
    private readonly Linear? _valueHead;
    private readonly AdamW _optimizer;
    private readonly GradientStep _gradientStep;
    private readonly int _stopToken;

    /// <summary>
    /// Prepares to fine-tune <paramref name="policy"/> (updated in place). <paramref name="prompts"/> draws a prompt;
    /// <paramref name="reference"/> defaults to a frozen copy of the policy as it is now.
    /// </summary>
    public RlhfTrainer(Gpt policy, ITokenizer tokenizer, IRewardSource reward, Func<Rng, string> prompts, RlhfOptions options, Gpt? reference = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(reward);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (tokenizer.VocabSize != policy.Config.VocabSize)
            throw new ArgumentException($"RlhfTrainer: the tokenizer has {tokenizer.VocabSize} characters but the policy's vocabulary has {policy.Config.VocabSize}.", nameof(tokenizer));
        if (reference is not null && reference.Config != policy.Config)
            throw new ArgumentException("RlhfTrainer: the reference model must have the policy's shape.", nameof(reference));
        _policy = policy;
        // With LoRA the reference is the policy itself with its adapters switched off: no second copy in memory.
        _reference = reference ?? (policy.Lora is null ? policy.Clone() : policy);
        _tokenizer = tokenizer;
        _reward = reward;
        _prompts = prompts;
        _options = options;
        _rng = new Rng(options.Seed);
        if (options.StopCharacter is char stop)
        {
            _stopToken = tokenizer.StopToken(stop);
            if (_stopToken < 0) throw new ArgumentException($"RlhfTrainer: the stop character {CharTokenizer.Describe(stop)} is not one token of the tokenizer ({tokenizer.Description}).", nameof(options));
        }
        else _stopToken = -1;
        if (options.Algorithm == RlAlgorithm.Ppo)
        {
            var head = new ValueHeadModule(policy, new Rng(Rng.DeriveSeed((ulong)options.Seed, 7)));
            _valueHead = head.Head;
            _valueHeadModule = head.Head;
            _optimizer = AdamW.DecayingMatrices(head, options.LearningRate, options.WeightDecay);
        }
        else
        {
            _optimizer = AdamW.DecayingMatrices((Module?)policy.Lora ?? policy, options.LearningRate, options.WeightDecay);
        }
        _gradientStep = new GradientStep(_optimizer, options.MaxGradNorm);
    }

    /// <summary>The ranks this trainer runs on (a single process unless <see cref="Distribute"/> was called).</summary>
    public ICommunicator Communicator => _gradientStep.Communicator;

    /// <summary>
    /// Makes this trainer one rank of a data-parallel run (call on every rank, with trainers built from the same model
    /// and settings, at the same step): rank 0's weights (and reference) everywhere; rank r &gt; 0 draws its prompts and
    /// samples from a stream derived from (seed, rank, step), rank 0 from the single-process stream; the minibatches are
    /// drawn from one permutation of all ranks' completions (a stream of seed and step, shared by the ranks); gradients
    /// are averaged over the ranks at every optimizer step; the step's figures are averaged over the ranks.
    /// </summary>
    public void Distribute(ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        _gradientStep.Distribute(communicator);
        if (!ReferenceEquals(_reference, _policy)) new DataParallel(communicator, _reference.Parameters()).BroadcastParameters();
    }

    /// <summary>A checksum of the trained weights (equal on every rank of a data-parallel run).</summary>
    public ulong WeightsChecksum() => _gradientStep.WeightsChecksum();

    /// <summary>This step's generator: the trainer's own on rank 0 (as in one process), one derived from (seed, rank, step) elsewhere.</summary>
    private Rng StepRng() => Communicator.Rank == 0
        ? _rng
        : new Rng(Rng.DeriveSeed(Rng.DeriveSeed(Rng.DeriveSeed((ulong)_options.Seed, 1_000_000 + Communicator.Rank), 3), StepCount));

    /// <summary>The model being fine-tuned.</summary>
    public Gpt Policy => _policy;

    /// <summary>
    /// The frozen model the KL is measured against. With LoRA this is the policy object itself, whose adapters the
    /// trainer switches off while it computes reference values: call <see cref="ReferenceLogits"/> (or wrap a call in
    /// <c>Policy.Lora.Disabled()</c>) rather than running this model directly.
    /// </summary>
    public Gpt Reference => _reference;

    /// <summary>Switches the policy's LoRA adapters off while it stands in as the reference (null when the reference is a separate model).</summary>
    private IDisposable? ReferenceMode() => ReferenceEquals(_reference, _policy) ? _policy.Lora?.Disabled() : null;

    /// <summary>Steps taken so far.</summary>
    public int StepCount { get; private set; }

    /// <summary>The tokenizer of the policy.</summary>
    public ITokenizer Tokenizer => _tokenizer;

    /// <summary>The figures of the last step (null before the first).</summary>
    public RlhfStepMetrics? LastStep { get; private set; }

    long IRunTrainer.Step => StepCount;

    IReadOnlyDictionary<string, double> IRunTrainer.TrainStep()
    {
        LastStep = Step();
        return LastStep.ToDictionary();
    }

    /// <summary>Nothing to evaluate beyond each step's figures.</summary>
    public IReadOnlyDictionary<string, double>? Evaluate() => null;

    /// <summary>
    /// Writes the policy (<see cref="LmCheckpoint.ModelFile"/>, with its <c>rl_step</c>) and the training state to
    /// <paramref name="directory"/>. With LoRA the model file holds the merged weights (base + adapters: the fine-tuned
    /// model by itself) and the training state holds the adapters.
    /// </summary>
    public void Save(string directory) =>
        LmCheckpoint.SaveTrainingState(directory, _policy, _tokenizer, _optimizer, _rng, StepCount,
            new Dictionary<string, string>
            {
                ["rl_step"] = StepCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ranks"] = Communicator.Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, CheckpointExtra,
            _policy.Lora?.MergedState());

    /// <summary>Restores what <see cref="Save"/> wrote (with LoRA the adapters, onto the base model the trainer was built on).</summary>
    public void Load(string directory) =>
        StepCount = (int)LmCheckpoint.LoadTrainingState(directory, _policy, _tokenizer, _optimizer, _rng, CheckpointExtra, restoreWeights: _policy.Lora is null);

    /// <summary>What the training state holds beside the optimizer: the value head (PPO), and with LoRA the adapters too.</summary>
    private Module? CheckpointExtra => _policy.Lora is null ? _valueHeadModule : _loraExtra ??= new LoraCheckpointExtra(_policy.Lora, _valueHeadModule);

    private Module? _loraExtra;

    /// <summary>The adapters (<c>lora.*</c>) and any value head (<c>value_head.*</c>) as one module for the training state.</summary>
    private sealed class LoraCheckpointExtra : Module
    {
        public LoraCheckpointExtra(LoraAdapters lora, Module? valueHead)
        {
            RegisterModule("lora", lora);
            if (valueHead is not null) RegisterModule("value_head", valueHead);
        }
    }

    /// <summary>
    /// The reference model's next-token logits of <paramref name="batch"/> sequences of <paramref name="time"/> tokens
    /// ([batch, time, vocab], no gradient). With LoRA the reference is the policy with its adapters switched off, so
    /// these are the base model's logits exactly.
    /// </summary>
    public Tensor ReferenceLogits(ReadOnlySpan<int> tokens, int batch, int time)
    {
        using (Graph.NoGrad())
        using (ReferenceMode())
            return _reference.Logits(tokens, batch, time);
    }

    /// <summary>The policy with a value head, registered together so one optimizer trains both (PPO).</summary>
    private sealed class ValueHeadModule : Module
    {
        public ValueHeadModule(Gpt policy, Rng rng)
        {
            RegisterModule("policy", (Module?)policy.Lora ?? policy);   // with LoRA only the adapters train
            Head = RegisterModule("value_head", new Linear(policy.Config.Width, 1, rng));
            Init.Normal(Head.Weight.Value, 1.0 / Math.Sqrt(policy.Config.Width + 1), rng);
            Init.Zeros(Head.Bias!.Value);
        }

        public Linear Head { get; }
    }

    /// <summary>Sampled sequences laid out for a forward pass.</summary>
    private sealed class Rollout
    {
        public required int[][] Sequences;       // prompt + completion tokens, per row
        public required int[] PromptLengths;
        public required int[][] Completions;
        public required int[] TokenOffset;       // where each row's completion tokens start in the flat per-token arrays
        public int TokenCount;
    }

    /// <summary>One step's samples on this rank: prompts (k rows each), completions, rewards — what an update trains on.</summary>
    internal sealed record StepSamples(string[] PromptTexts, int[][] PromptTokens, int[][] Completions, bool[] Stopped, string[] CompletionTexts, float[] Rewards)
    {
        /// <summary>The samples of several ranks, in rank order: what one process trains on to match them.</summary>
        public static StepSamples Concat(IEnumerable<StepSamples> parts)
        {
            var all = parts.ToArray();
            return new StepSamples([.. all.SelectMany(p => p.PromptTexts)], [.. all.SelectMany(p => p.PromptTokens)], [.. all.SelectMany(p => p.Completions)],
                [.. all.SelectMany(p => p.Stopped)], [.. all.SelectMany(p => p.CompletionTexts)], [.. all.SelectMany(p => p.Rewards)]);
        }
    }

    /// <summary>The samples of the last step (this rank's).</summary>
    internal StepSamples? LastSamples { get; private set; }

    /// <summary>One fine-tuning step: sample, score, compute advantages, update.</summary>
    public RlhfStepMetrics Step()
    {
        var clock = Stopwatch.StartNew();
        return Update(Sample(StepRng()), clock);
    }

    /// <summary>
    /// One step on given samples instead of fresh ones (with one rank, the samples of several ranks concatenated in rank
    /// order train exactly as those ranks do together, to float rounding).
    /// </summary>
    internal RlhfStepMetrics StepOn(StepSamples samples) => Update(samples, Stopwatch.StartNew());

    /// <summary>Draws the step's prompts, samples k completions of each from the policy and scores them.</summary>
    private StepSamples Sample(Rng rng)
    {
        var o = _options;
        int k = o.GroupSize, n = o.PromptsPerStep * k;

        // 1. Prompts, k rows each, and pure samples from the policy.
        var promptTexts = new string[n];
        var promptTokens = new int[n][];
        for (int p = 0; p < o.PromptsPerStep; p++)
        {
            string text = _prompts(rng);
            var ids = _tokenizer.Encode(text);
            if (ids.Length == 0) throw new InvalidOperationException("RlhfTrainer: the prompt source returned an empty prompt.");
            if (ids.Length >= _policy.Config.ContextLength)
                throw new InvalidOperationException($"RlhfTrainer: the prompt \"{text}\" has {ids.Length} tokens, as many as the context ({_policy.Config.ContextLength}) holds; use shorter prompts.");
            for (int i = 0; i < k; i++) { promptTexts[p * k + i] = text; promptTokens[p * k + i] = ids; }
        }
        var generation = _policy.Generate(promptTokens, o.MaxNewTokens, SamplingOptions.Pure, rng, _stopToken);
        var completionTexts = generation.Completions.Select(c => _tokenizer.Decode(c)).ToArray();
        var rewards = _reward.Score(promptTexts, completionTexts);
        if (rewards.Length != n) throw new InvalidOperationException($"RlhfTrainer: the reward source '{_reward.Name}' returned {rewards.Length} rewards for {n} completions.");
        return new StepSamples(promptTexts, promptTokens, [.. generation.Completions], [.. generation.Stopped], completionTexts, rewards);
    }

    /// <summary>
    /// The update on this rank's samples. In a data-parallel run the minibatches are drawn from one permutation of all
    /// ranks' rows (the same on every rank); each rank evaluates the rows it holds, weighted by the minibatch's global row
    /// and token counts, so the gradients averaged over the ranks are those of one process holding every rank's samples.
    /// PPO standardises its advantages over all ranks' tokens.
    /// </summary>
    private RlhfStepMetrics Update(StepSamples samples, Stopwatch clock)
    {
        LastSamples = samples;
        var o = _options;
        int k = o.GroupSize, n = samples.PromptTexts.Length;
        if (n == 0 || n % k != 0) throw new ArgumentException($"RlhfTrainer: {n} samples are not whole groups of {k}.", nameof(samples));
        var (promptTexts, promptTokens, completionTexts, rewards) = (samples.PromptTexts, samples.PromptTokens, samples.CompletionTexts, samples.Rewards);
        int ranks = Communicator.Size, rank = Communicator.Rank;

        var rollout = new Rollout
        {
            Sequences = new int[n][], PromptLengths = new int[n], Completions = samples.Completions, TokenOffset = new int[n],
        };
        for (int i = 0; i < n; i++)
        {
            rollout.Sequences[i] = [.. promptTokens[i], .. samples.Completions[i]];
            rollout.PromptLengths[i] = promptTokens[i].Length;
            rollout.TokenOffset[i] = rollout.TokenCount;
            rollout.TokenCount += samples.Completions[i].Length;
        }
        int m = rollout.TokenCount;
        var allRows = Enumerable.Range(0, n).ToArray();

        // 2. Reference log-probabilities of the sampled tokens.
        float[] refLogProbs;
        using (Graph.NoGrad())
        using (ReferenceMode())
            refLogProbs = Evaluate(_reference, null, rollout, allRows).LogProbs.Data;

        // 3. The policy's log-probabilities (and values) before the update. With one on-policy pass, the same forward
        //    pass gives the loss, so the ratio is exactly 1.
        bool singlePass = o.Epochs == 1 && o.MiniBatches == 1;
        Evaluation? first = null;
        float[] oldLogProbs, oldValues = [], entropies;
        if (singlePass)
        {
            first = Evaluate(_policy, _valueHead, rollout, allRows);
            oldLogProbs = first.LogProbs.Data.ToArray();
            if (first.Values is not null) oldValues = first.Values.Data.ToArray();
            entropies = first.Entropies;
        }
        else
        {
            using (Graph.NoGrad())
            {
                var e = Evaluate(_policy, _valueHead, rollout, allRows);
                oldLogProbs = e.LogProbs.Data;
                if (e.Values is not null) oldValues = e.Values.Data;
                entropies = e.Entropies;
            }
        }

        // 4. KL to the reference and the advantages.
        var tokenKl = new float[m];
        for (int t = 0; t < m; t++) tokenKl[t] = oldLogProbs[t] - refLogProbs[t];
        var sequenceKl = new float[n];
        for (int i = 0; i < n; i++)
            for (int t = 0; t < rollout.Completions[i].Length; t++) sequenceKl[i] += tokenKl[rollout.TokenOffset[i] + t];

        var tokenAdvantages = new float[m];
        float[] returns = [];
        switch (o.Algorithm)
        {
            case RlAlgorithm.Rloo:
            {
                var shaped = new float[n];
                for (int i = 0; i < n; i++) shaped[i] = rewards[i] - o.KlCoefficient * sequenceKl[i];
                var a = Advantages.LeaveOneOut(shaped, k);
                for (int i = 0; i < n; i++) Fill(tokenAdvantages, rollout, i, a[i]);
                break;
            }
            case RlAlgorithm.Grpo:
            {
                var a = Advantages.GroupNormalized(rewards, k, o.ScaleByGroupStd);
                for (int i = 0; i < n; i++) Fill(tokenAdvantages, rollout, i, a[i]);
                break;
            }
            case RlAlgorithm.Ppo:
            {
                returns = new float[m];
                for (int i = 0; i < n; i++)
                {
                    int off = rollout.TokenOffset[i], len = rollout.Completions[i].Length;
                    var tokenRewards = new float[len];
                    for (int t = 0; t < len; t++) tokenRewards[t] = -o.KlCoefficient * tokenKl[off + t];
                    tokenRewards[len - 1] += rewards[i];
                    Advantages.Gae(tokenRewards, oldValues.AsSpan(off, len), o.Gamma, o.Lambda, tokenAdvantages.AsSpan(off, len), returns.AsSpan(off, len));
                }
                var (mean, std) = ranks == 1 ? Advantages.MeanStd(tokenAdvantages) : AllRanksMeanStd(tokenAdvantages);
                for (int t = 0; t < m; t++) tokenAdvantages[t] = (float)((tokenAdvantages[t] - mean) / (std + 1e-8));
                break;
            }
        }

        // 5. Updates. Global row g is row g mod n of rank g / n; every rank knows every row's token count.
        int total = ranks * n;
        var tokenCounts = new double[total];
        for (int i = 0; i < n; i++) tokenCounts[rank * n + i] = rollout.Completions[i].Length;
        if (ranks > 1) Communicator.AllReduceSum(tokenCounts);
        // The minibatch order is drawn from a stream of (seed, step) shared by every rank (and by a resumed run).
        var shuffle = new Rng(Rng.DeriveSeed(Rng.DeriveSeed((ulong)o.Seed, 11), StepCount));
        double lossSum = 0, clipSum = 0, normSum = 0, valueLossSum = 0;
        int updates = 0;
        var order = Enumerable.Range(0, total).ToArray();
        for (int epoch = 0; epoch < o.Epochs; epoch++)
        {
            if (!singlePass) Shuffle(order, shuffle);
            for (int mb = 0; mb < o.MiniBatches; mb++)
            {
                int from = mb * total / o.MiniBatches, to = (mb + 1) * total / o.MiniBatches;
                var rows = order[from..to].Where(g => g / n == rank).Select(g => g - rank * n).ToArray();
                double minibatchTokens = 0;
                for (int j = from; j < to; j++) minibatchTokens += tokenCounts[order[j]];
                Tensor? loss = null;
                if (rows.Length > 0)
                {
                    var eval = singlePass ? first! : Evaluate(_policy, _valueHead, rollout, rows);
                    (loss, double clipFraction, double valueLoss) = Loss(eval, rollout, rows, to - from, (int)minibatchTokens, oldLogProbs, refLogProbs, tokenAdvantages, oldValues, returns);
                    // Times R, as the average over the ranks divides by R: the ranks' losses then sum to the minibatch's.
                    if (ranks > 1) { loss = Ops.MulScalar(loss, ranks); valueLoss *= ranks; }
                    lossSum += loss.Item();
                    clipSum += clipFraction;
                    valueLossSum += valueLoss;
                }
                _optimizer.LearningRate = o.LearningRate;
                normSum += _gradientStep.Apply(loss);
                updates++;
            }
        }
        StepCount++;
        _gradientStep.EnsureSameWeights($"after step {StepCount}");

        double seconds = clock.Elapsed.TotalSeconds;
        var (rewardMean, rewardStd) = Advantages.MeanStd(rewards);
        var lengths = rollout.Completions.Select(c => (double)c.Length).ToArray();
        int logged = Math.Min(o.LoggedSamples, n);
        // The step's figures, averaged over the ranks in a data-parallel run (every rank holds as many completions).
        Span<double> f =
        [
            rewardMean, rewardStd, sequenceKl.Average(), entropies.Length == 0 ? 0 : entropies.Average(), lengths.Average(),
            samples.Stopped.Count(s => s) / (double)n, Advantages.ZeroVarianceGroupFraction(rewards, k), clipSum / updates,
            lossSum / updates, normSum / updates, valueLossSum / updates,
        ];
        double lengthMax = lengths.Max();
        if (Communicator.Size > 1)
        {
            Communicator.AllReduceSum(f);
            for (int i = 0; i < f.Length; i++) f[i] /= Communicator.Size;
            Span<double> max = [lengthMax];
            Communicator.AllReduceMax(max);
            lengthMax = max[0];
        }
        return new RlhfStepMetrics
        {
            Step = StepCount,
            RewardMean = f[0],
            RewardStd = f[1],
            Kl = f[2],
            Entropy = f[3],
            CompletionLengthMean = f[4],
            CompletionLengthMax = lengthMax,
            StoppedFraction = f[5],
            ZeroVarianceGroupFraction = f[6],
            ClipFraction = f[7],
            Loss = f[8],
            GradNorm = f[9],
            LearningRate = o.LearningRate,
            ValueLoss = o.Algorithm == RlAlgorithm.Ppo ? f[10] : null,
            Seconds = seconds,
            TokensPerSecond = rollout.Sequences.Sum(s => s.Length) / Math.Max(seconds, 1e-9),
            Prompts = promptTexts,
            Completions = completionTexts,
            Rewards = rewards,
            // One sample from each of the first prompts, so the log shows different prompts.
            Samples = [.. Enumerable.Range(0, logged).Select(j => Math.Min(j * k, n - 1)).Distinct()
                .Select(i => new RlhfSample(promptTexts[i], completionTexts[i], rewards[i]))],
        };
    }

    /// <summary><see cref="Advantages.MeanStd"/> over every rank's values (two all-reduced passes, the same on every rank).</summary>
    private (double Mean, double Std) AllRanksMeanStd(ReadOnlySpan<float> values)
    {
        Span<double> sums = [0, values.Length];
        foreach (var v in values) sums[0] += v;
        Communicator.AllReduceSum(sums);
        if (sums[1] == 0) return (0, 0);
        double mean = sums[0] / sums[1];
        if (sums[1] < 2) return (mean, 0);
        Span<double> ss = [0];
        foreach (var v in values) ss[0] += (v - mean) * (v - mean);
        Communicator.AllReduceSum(ss);
        return (mean, Math.Sqrt(ss[0] / (sums[1] - 1)));
    }

    private static void Fill(float[] perToken, Rollout rollout, int row, float value) =>
        perToken.AsSpan(rollout.TokenOffset[row], rollout.Completions[row].Length).Fill(value);

    private static void Shuffle(int[] order, Rng rng)
    {
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    /// <summary>A forward pass's outputs at the completion tokens of some rows, in row order then token order.</summary>
    private sealed record Evaluation(Tensor LogProbs, Tensor? Values, float[] Entropies);

    /// <summary>
    /// Runs <paramref name="model"/> over <paramref name="rows"/> of the rollout (right-padded to the longest) and returns
    /// each completion token's log-probability (and value, with a value head) from the position before it.
    /// </summary>
    private static Evaluation Evaluate(Gpt model, Linear? valueHead, Rollout rollout, int[] rows)
    {
        int n = rows.Length, time = rows.Max(r => rollout.Sequences[r].Length), width = model.Config.Width;
        var tokens = new int[n * time];
        int count = rows.Sum(r => rollout.Completions[r].Length);
        var positions = new int[count];
        var targets = new int[count];
        int at = 0;
        for (int b = 0; b < n; b++)
        {
            int r = rows[b];
            rollout.Sequences[r].CopyTo(tokens, b * time);
            int promptLength = rollout.PromptLengths[r];
            var completion = rollout.Completions[r];
            for (int t = 0; t < completion.Length; t++)
            {
                positions[at] = b * time + promptLength + t - 1;   // the logits that predicted this token
                targets[at] = completion[t];
                at++;
            }
        }
        var hidden = Ops.Reshape(model.Hidden(tokens, n, time), n * time, width);
        var picked = Ops.IndexRows(hidden, positions);                 // [count, width]
        var policy = new Categorical(model.Logits(picked));             // one distribution per completion token
        var logProbs = policy.LogProb(targets);                         // [count]
        var values = valueHead is null ? null : Ops.Reshape(valueHead.Forward(picked), count);
        float[] entropies;
        using (Graph.NoGrad()) entropies = policy.Entropy().Data;
        return new Evaluation(logProbs, values, entropies);
    }

    /// <summary>The loss of one minibatch, its clip fraction and (PPO) value loss.</summary>
    /// <remarks><paramref name="minibatchRows"/> and <paramref name="minibatchTokens"/> count the whole minibatch over all ranks (in one process: <paramref name="rows"/> and their tokens).</remarks>
    private (Tensor Loss, double ClipFraction, double ValueLoss) Loss(Evaluation eval, Rollout rollout, int[] rows, int minibatchRows, int minibatchTokens,
        float[] oldLogProbs, float[] refLogProbs, float[] advantages, float[] oldValues, float[] returns)
    {
        var o = _options;
        int count = eval.LogProbs.Size;
        var old = new float[count];
        var reference = new float[count];
        var adv = new float[count];
        var weights = new float[count];
        var oldV = o.Algorithm == RlAlgorithm.Ppo ? new float[count] : [];
        var ret = o.Algorithm == RlAlgorithm.Ppo ? new float[count] : [];
        int at = 0;
        foreach (int r in rows)
        {
            int off = rollout.TokenOffset[r], len = rollout.Completions[r].Length;
            for (int t = 0; t < len; t++, at++)
            {
                old[at] = oldLogProbs[off + t];
                reference[at] = refLogProbs[off + t];
                adv[at] = advantages[off + t];
                // RLOO: Σ over the sequence, mean over sequences (REINFORCE on whole completions).
                // GRPO: mean over each sequence's tokens, then over sequences. PPO: mean over all tokens.
                weights[at] = o.Algorithm switch
                {
                    RlAlgorithm.Rloo => 1f / minibatchRows,
                    RlAlgorithm.Grpo => 1f / (minibatchRows * len),
                    _ => 1f / minibatchTokens,
                };
                if (o.Algorithm == RlAlgorithm.Ppo) { oldV[at] = oldValues[off + t]; ret[at] = returns[off + t]; }
            }
        }
        var (loss, clipFraction) = RlLosses.ClippedSurrogate(eval.LogProbs, old, adv, weights, o.ClipRange);
        double valueLoss = 0;
        if (o.Algorithm == RlAlgorithm.Grpo && o.KlCoefficient > 0)
            loss = Ops.Add(loss, Ops.MulScalar(RlLosses.K3Penalty(eval.LogProbs, reference, weights), o.KlCoefficient));
        if (o.Algorithm == RlAlgorithm.Ppo)
        {
            var vLoss = RlLosses.ClippedValueLoss(eval.Values!, oldV, ret, weights, o.ClipRange);
            valueLoss = vLoss.Item();
            loss = Ops.Add(loss, Ops.MulScalar(vLoss, o.ValueCoefficient));
        }
        return (loss, clipFraction, valueLoss);
    }
}
