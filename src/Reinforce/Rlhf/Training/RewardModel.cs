using Reinforce.Autograd;
using Reinforce.Nn.Transformers;
using Reinforce.Nn;
using Reinforce.Rlhf.Text;

namespace Reinforce.Rlhf.Training;

/// <summary>
/// A reward model: a GPT trunk (usually a copy of the pretrained language model) with a scalar head <c>score</c> read
/// at the last token of prompt + completion. Trained on preference pairs with the Bradley–Terry loss
/// −log σ(r_chosen − r_rejected) (<see cref="RewardModelTraining"/>); used as an <see cref="IRewardSource"/> by RL
/// fine-tuning.
/// </summary>
public sealed class RewardModel : Module, IRewardSource
{
    /// <summary>Wraps <paramref name="trunk"/> (registered as <c>transformer</c>) with a new head drawn from <paramref name="rng"/>.</summary>
    public RewardModel(Gpt trunk, ITokenizer tokenizer, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(trunk);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(rng);
        if (tokenizer.VocabSize != trunk.Config.VocabSize)
            throw new ArgumentException($"RewardModel: the tokenizer has {tokenizer.VocabSize} characters but the trunk's vocabulary has {trunk.Config.VocabSize}; use the tokenizer the trunk was trained with.", nameof(tokenizer));
        Trunk = RegisterModule("transformer", trunk);
        Head = RegisterModule("score", new Linear(trunk.Config.Width, 1, rng));
        // A small head, so the initial rewards are near zero and the first updates shape the trunk's features gently.
        Init.Normal(Head.Weight.Value, 1.0 / Math.Sqrt(trunk.Config.Width + 1), rng);
        Init.Zeros(Head.Bias!.Value);
        Tokenizer = tokenizer;
    }

    /// <summary>The GPT trunk.</summary>
    public Gpt Trunk { get; }

    /// <summary>The scalar head [1, width].</summary>
    public Linear Head { get; }

    /// <summary>The tokenizer texts are encoded with.</summary>
    public ITokenizer Tokenizer { get; }

    /// <summary>The trunk's shape.</summary>
    public GptConfig Config => Trunk.Config;

    /// <inheritdoc />
    public string Name => "reward-model";

    /// <summary>How many sequences <see cref="Score"/> runs through the network at once.</summary>
    public int ScoringBatchSize { get; set; } = 64;

    /// <summary>The reward of each token sequence, read at its last token: [N].</summary>
    public Tensor Forward(IReadOnlyList<int[]> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        int n = sequences.Count;
        if (n == 0) throw new ArgumentException("RewardModel.Forward: no sequences.", nameof(sequences));
        int time = 0;
        foreach (var s in sequences)
        {
            if (s is null || s.Length == 0) throw new ArgumentException("RewardModel.Forward: a sequence is empty.", nameof(sequences));
            time = Math.Max(time, s.Length);
        }
        if (time > Config.ContextLength)
            throw new ArgumentException($"RewardModel.Forward: a sequence has {time} tokens, more than the context of {Config.ContextLength}; use Encode to cut it.", nameof(sequences));
        // Right padding: with causal attention, the padding after a sequence never affects its own positions.
        var tokens = new int[n * time];
        var last = new int[n];
        for (int i = 0; i < n; i++)
        {
            sequences[i].CopyTo(tokens, i * time);
            last[i] = i * time + sequences[i].Length - 1;
        }
        var hidden = Trunk.Hidden(tokens, n, time);
        var atLast = Ops.IndexRows(Ops.Reshape(hidden, n * time, Config.Width), last);
        return Ops.Reshape(Head.Forward(atLast), n);
    }

    /// <summary>
    /// The tokens of prompt + completion as the model reads them: if longer than the context, the start of the prompt is
    /// dropped (the end, where the completion is, decides the reward). Throws on characters outside the vocabulary.
    /// </summary>
    public int[] Encode(string prompt, string completion)
    {
        var ids = Tokenizer.Encode(prompt + completion);
        return ids.Length <= Config.ContextLength ? ids : ids[^Config.ContextLength..];
    }

    /// <inheritdoc />
    public float[] Score(IReadOnlyList<string> prompts, IReadOnlyList<string> completions)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(completions);
        if (prompts.Count != completions.Count)
            throw new ArgumentException($"RewardModel.Score: {prompts.Count} prompts but {completions.Count} completions; give one prompt per completion.");
        var rewards = new float[prompts.Count];
        using (Graph.NoGrad())
        {
            for (int start = 0; start < rewards.Length; start += ScoringBatchSize)
            {
                int count = Math.Min(ScoringBatchSize, rewards.Length - start);
                var batch = new int[count][];
                for (int i = 0; i < count; i++) batch[i] = Encode(prompts[start + i], completions[start + i]);
                Forward(batch).Data.CopyTo(rewards, start);
            }
        }
        return rewards;
    }
}
