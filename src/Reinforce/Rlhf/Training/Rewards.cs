using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Text;

namespace Reinforce.Rlhf.Training;

/// <summary>
/// Anything that scores completions for RL fine-tuning: a trained reward model, or a reward function written
/// as code (<see cref="RewardFunction"/>, a <see cref="WordTask"/>). The trainer accepts either.
/// </summary>
public interface IRewardSource
{
    /// <summary>A short name for logs.</summary>
    string Name { get; }

    /// <summary>The reward of each completion given its prompt (the lists are parallel).</summary>
    float[] Score(IReadOnlyList<string> prompts, IReadOnlyList<string> completions);
}

/// <summary>A reward written as code: a function of the prompt and the completion (a verifiable task, a rater's score).</summary>
public sealed class RewardFunction : IRewardSource
{
    private readonly Func<string, string, double> _reward;

    /// <summary>Wraps <paramref name="reward"/>(prompt, completion).</summary>
    public RewardFunction(string name, Func<string, string, double> reward)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(reward);
        Name = name;
        _reward = reward;
    }

    /// <summary>Wraps a function of the completion text alone.</summary>
    public static RewardFunction OfCompletion(string name, Func<string, double> reward)
    {
        ArgumentNullException.ThrowIfNull(reward);
        return new RewardFunction(name, (_, completion) => reward(completion));
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public float[] Score(IReadOnlyList<string> prompts, IReadOnlyList<string> completions)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(completions);
        if (prompts.Count != completions.Count)
            throw new ArgumentException($"RewardFunction '{Name}': {prompts.Count} prompts but {completions.Count} completions; give one prompt per completion.");
        var r = new float[completions.Count];
        for (int i = 0; i < r.Length; i++)
        {
            double v = _reward(prompts[i], completions[i]);
            if (!double.IsFinite(v)) throw new InvalidOperationException($"RewardFunction '{Name}' returned {v} for completion {i} (\"{completions[i]}\"); rewards must be finite numbers.");
            r[i] = (float)v;
        }
        return r;
    }
}

/// <summary>
/// A character-level task with a checkable answer: the prompt is a random word followed by <see cref="Separator"/>, the
/// answer a rearrangement of its letters ended by <see cref="Terminator"/>. Its pretraining text pairs each word with a
/// random shuffle of its letters, so a pretrained model learns the format and which letters to write but not their
/// order; RL fine-tuning against <see cref="Score"/> has to find the order (reversed, or repeated as is).
/// </summary>
public abstract class WordTask : IRewardSource
{
    /// <summary>A task over words of <paramref name="minLength"/>–<paramref name="maxLength"/> letters of <paramref name="alphabet"/>.</summary>
    protected WordTask(string alphabet, int minLength, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(alphabet);
        if (alphabet.Length < 2) throw new ArgumentException("WordTask: the alphabet needs at least two letters.", nameof(alphabet));
        if (alphabet.Contains(Separator, StringComparison.Ordinal) || alphabet.Contains(Terminator, StringComparison.Ordinal))
            throw new ArgumentException($"WordTask: the alphabet cannot contain the separator '{Separator}' or the line break.", nameof(alphabet));
        if (minLength < 1 || maxLength < minLength) throw new ArgumentException($"WordTask: word lengths [{minLength}, {maxLength}] are not a valid range.");
        Alphabet = alphabet;
        MinLength = minLength;
        MaxLength = maxLength;
    }

    /// <summary>Ends the prompt word.</summary>
    public const char Separator = '=';

    /// <summary>Ends the answer.</summary>
    public const char Terminator = '\n';

    /// <summary>The letters words are made of.</summary>
    public string Alphabet { get; }

    /// <summary>Shortest word.</summary>
    public int MinLength { get; }

    /// <summary>Longest word.</summary>
    public int MaxLength { get; }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <summary>Every character the task uses (for building a tokenizer).</summary>
    public string Characters => Alphabet + Separator + Terminator;

    /// <summary>The correct answer for a word (without the terminator).</summary>
    public abstract string Answer(string word);

    /// <summary>A random word.</summary>
    public string SampleWord(Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        int length = MinLength + rng.NextInt(MaxLength - MinLength + 1);
        var chars = new char[length];
        for (int i = 0; i < length; i++) chars[i] = Alphabet[rng.NextInt(Alphabet.Length)];
        return new string(chars);
    }

    /// <summary>A random prompt: a word and the separator.</summary>
    public string SamplePrompt(Rng rng) => SampleWord(rng) + Separator;

    /// <summary>The word of a prompt (the text before the separator).</summary>
    public static string WordOf(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        int end = prompt.LastIndexOf(Separator);
        return end < 0 ? prompt : prompt[..end];
    }

    /// <summary>The part of a completion that counts as the answer: up to its first terminator.</summary>
    public static string AnswerOf(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        int end = completion.IndexOf(Terminator);
        return end < 0 ? completion : completion[..end];
    }

    /// <summary>Whether the completion is exactly the answer, properly terminated.</summary>
    public bool IsCorrect(string prompt, string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        return completion.Contains(Terminator, StringComparison.Ordinal) && AnswerOf(completion) == Answer(WordOf(prompt));
    }

    /// <summary>
    /// The reward: the number of positions where the answer has the right letter, divided by the longer of the answer
    /// and the target (so writing too much is penalised too); exactly 1 for a correct, terminated answer, and an
    /// unterminated one (the model ran out of room) loses a quarter. Partial credit keeps groups from having all-zero
    /// rewards early on, which would give RLOO and GRPO nothing to learn from.
    /// </summary>
    public double Reward(string prompt, string completion)
    {
        string target = Answer(WordOf(prompt));
        string answer = AnswerOf(completion);
        int matches = 0;
        for (int i = 0; i < Math.Min(target.Length, answer.Length); i++) if (target[i] == answer[i]) matches++;
        double r = (double)matches / Math.Max(target.Length, Math.Max(answer.Length, 1));
        return completion.Contains(Terminator, StringComparison.Ordinal) ? r : 0.75 * r;
    }

    /// <inheritdoc />
    public float[] Score(IReadOnlyList<string> prompts, IReadOnlyList<string> completions)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(completions);
        if (prompts.Count != completions.Count) throw new ArgumentException($"{Name}: {prompts.Count} prompts but {completions.Count} completions.");
        var r = new float[prompts.Count];
        for (int i = 0; i < r.Length; i++) r[i] = (float)Reward(prompts[i], completions[i]);
        return r;
    }

    /// <summary>
    /// Pretraining text: <paramref name="lines"/> lines "word=shuffle", each shuffle a uniformly random permutation of the
    /// word's letters. It teaches the format and the letters, not the order this task wants.
    /// </summary>
    public string PretrainingText(Rng rng, int lines)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var sb = new System.Text.StringBuilder(lines * (MaxLength * 2 + 2));
        for (int l = 0; l < lines; l++)
        {
            string word = SampleWord(rng);
            var letters = word.ToCharArray();
            for (int i = letters.Length - 1; i > 0; i--)
            {
                int j = rng.NextInt(i + 1);
                (letters[i], letters[j]) = (letters[j], letters[i]);
            }
            sb.Append(word).Append(Separator).Append(letters).Append(Terminator);
        }
        return sb.ToString();
    }

    /// <summary>
    /// Pretraining examples: <paramref name="count"/> pairs ("word=", "shuffle\n"), each shuffle a uniformly random
    /// permutation of the word's letters (see <see cref="PretrainingText"/>), to train on the completion only.
    /// </summary>
    public List<(string Prompt, string Completion)> PretrainingExamples(Rng rng, int count)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var examples = new List<(string, string)>(count);
        foreach (var line in PretrainingText(rng, count).Split(Terminator, StringSplitOptions.RemoveEmptyEntries))
        {
            int cut = line.IndexOf(Separator, StringComparison.Ordinal);
            examples.Add((line[..(cut + 1)], line[(cut + 1)..] + Terminator));
        }
        return examples;
    }

    /// <summary>The built-in task called <paramref name="name"/> ("reverse" or "repeat").</summary>
    public static WordTask Create(string name, string alphabet = "abcdefghijklmnopqrstuvwxyz", int minLength = 3, int maxLength = 5) => name switch
    {
        "reverse" => new ReverseWordTask(alphabet, minLength, maxLength),
        "repeat" => new RepeatWordTask(alphabet, minLength, maxLength),
        _ => throw new ArgumentException($"Unknown word task '{name}'; the built-in tasks are 'reverse' and 'repeat'.", nameof(name)),
    };
}

/// <summary>Write the prompt word backwards: "abc=" → "cba".</summary>
public sealed class ReverseWordTask(string alphabet = "abcdefghijklmnopqrstuvwxyz", int minLength = 3, int maxLength = 5)
    : WordTask(alphabet, minLength, maxLength)
{
    public override string Name => "reverse";

    public override string Answer(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        var chars = word.ToCharArray();
        Array.Reverse(chars);
        return new string(chars);
    }
}

/// <summary>Write the prompt word again: "abc=" → "abc".</summary>
public sealed class RepeatWordTask(string alphabet = "abcdefghijklmnopqrstuvwxyz", int minLength = 3, int maxLength = 5)
    : WordTask(alphabet, minLength, maxLength)
{
    public override string Name => "repeat";

    public override string Answer(string word) => word ?? throw new ArgumentNullException(nameof(word));
}

/// <summary>
/// A reward source with its scores shifted and scaled: (r − <see cref="Shift"/>) / <see cref="Scale"/>. A reward model's
/// scale is arbitrary (the Bradley–Terry loss fixes only differences, and training widens them), so before RL
/// fine-tuning it is calibrated to mean 0 and standard deviation 1 on samples of the starting policy (as Ziegler et al.
/// 2019 do); then a KL coefficient such as 0.05 means the same thing whatever the reward model.
/// </summary>
public sealed class ScaledReward(IRewardSource inner, float shift, float scale) : IRewardSource
{
    /// <summary>The reward source being rescaled.</summary>
    public IRewardSource Inner { get; } = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <summary>Subtracted from every score.</summary>
    public float Shift { get; } = shift;

    /// <summary>Every shifted score is divided by this.</summary>
    public float Scale { get; } = scale > 0 && float.IsFinite(scale) ? scale : throw new ArgumentOutOfRangeException(nameof(scale), scale, "ScaledReward: the scale must be a positive number.");

    /// <inheritdoc />
    public string Name => Inner.Name;

    /// <inheritdoc />
    public float[] Score(IReadOnlyList<string> prompts, IReadOnlyList<string> completions)
    {
        var r = Inner.Score(prompts, completions);
        for (int i = 0; i < r.Length; i++) r[i] = (r[i] - Shift) / Scale;
        return r;
    }

    /// <summary>
    /// Scores <paramref name="completions"/> (samples of the starting policy) and returns <paramref name="inner"/> rescaled so
    /// that they have mean 0 and standard deviation 1.
    /// </summary>
    public static ScaledReward Calibrate(IRewardSource inner, IReadOnlyList<string> prompts, IReadOnlyList<string> completions)
    {
        ArgumentNullException.ThrowIfNull(inner);
        var r = inner.Score(prompts, completions);
        if (r.Length < 2) throw new ArgumentException("ScaledReward.Calibrate: give at least two samples.", nameof(completions));
        var (mean, std) = Advantages.MeanStd(r);
        return new ScaledReward(inner, (float)mean, (float)Math.Max(std, 1e-6));
    }

    /// <summary>
    /// Calibrates <paramref name="inner"/> on the starting policy: <paramref name="samples"/> completions of up to
    /// <paramref name="maxNewTokens"/> tokens, pure sampling from <paramref name="policy"/>, of <paramref name="prompts"/>
    /// taken in turn, seeded by <paramref name="seed"/>; see <see cref="Calibrate(IRewardSource, IReadOnlyList{string}, IReadOnlyList{string})"/>.
    /// </summary>
    public static ScaledReward Calibrate(IRewardSource inner, Gpt policy, ITokenizer tokenizer, IReadOnlyList<string> prompts, int maxNewTokens, int seed, int samples = 256)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("ScaledReward.Calibrate: no prompts to sample from.", nameof(prompts));
        var calibration = Enumerable.Range(0, samples).Select(i => prompts[i % prompts.Count]).ToList();
        var generated = policy.Generate([.. calibration.Select(tokenizer.Encode)], maxNewTokens, SamplingOptions.Pure, new Rng(Rng.DeriveSeed((ulong)seed, 99)));
        return Calibrate(inner, calibration, [.. generated.Completions.Select(c => tokenizer.Decode(c))]);
    }
}
