namespace Reinforce.Rlhf.Data;

/// <summary>The kind of answer a rater gives about one <see cref="LabelItem"/>.</summary>
public enum RaterAction
{
    /// <summary>One completion (<see cref="RaterDecision.Index"/>) is better than the others.</summary>
    Pick,
    /// <summary>The completions are equally good.</summary>
    Tie,
    /// <summary>No judgement on this item; it is recorded and not shown again.</summary>
    Skip,
    /// <summary>Stop labelling (nothing is recorded for the current item).</summary>
    Quit,
}

/// <summary>A rater's answer about one item.</summary>
public readonly record struct RaterDecision(RaterAction Action, int Index = -1)
{
    public static RaterDecision Pick(int index) => new(RaterAction.Pick, index);
    public static RaterDecision Tie => new(RaterAction.Tie);
    public static RaterDecision Skip => new(RaterAction.Skip);
    public static RaterDecision Quit => new(RaterAction.Quit);
}

/// <summary>Someone or something that compares the completions of a prompt: a person at the terminal, or code.</summary>
public interface IPreferenceRater
{
    /// <summary>Judges <paramref name="item"/>'s completions.</summary>
    RaterDecision Judge(LabelItem item);
}

/// <summary>
/// A rater given as code: a score of each completion decides. The best-scoring completion is picked; a tie is declared
/// when the best two scores are closer than <see cref="TieMargin"/>. With a positive <see cref="Temperature"/> the
/// choice is noisy like a person's: completion i is picked with probability softmax(score / temperature)_i (for two
/// completions this is the Bradley–Terry model the reward model assumes).
/// </summary>
public sealed class SimulatedRater : IPreferenceRater
{
    private readonly Func<string, string, double> _score;
    private readonly Rng? _rng;

    /// <summary>A rater that scores a completion given its prompt.</summary>
    public SimulatedRater(Func<string, string, double> score, double tieMargin = 0, double temperature = 0, Rng? rng = null)
    {
        ArgumentNullException.ThrowIfNull(score);
        if (tieMargin < 0) throw new ArgumentOutOfRangeException(nameof(tieMargin), tieMargin, "SimulatedRater: the tie margin cannot be negative.");
        if (temperature < 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "SimulatedRater: the temperature cannot be negative.");
        if (temperature > 0 && rng is null) throw new ArgumentException("SimulatedRater: a noisy rater (temperature > 0) needs an Rng to draw its choices from.", nameof(rng));
        _score = score;
        TieMargin = tieMargin;
        Temperature = temperature;
        _rng = rng;
    }

    /// <summary>A rater that scores the completion text alone.</summary>
    public SimulatedRater(Func<string, double> score, double tieMargin = 0, double temperature = 0, Rng? rng = null)
        : this(WrapCompletionScore(score), tieMargin, temperature, rng) { }

    private static Func<string, string, double> WrapCompletionScore(Func<string, double> score)
    {
        ArgumentNullException.ThrowIfNull(score);
        return (_, completion) => score(completion);
    }

    /// <summary>Best two scores closer than this are a tie.</summary>
    public double TieMargin { get; }

    /// <summary>0 for a deterministic rater; otherwise the softmax temperature of its choices.</summary>
    public double Temperature { get; }

    /// <summary>The rater's true score of a completion: what RL fine-tuning should raise.</summary>
    public double Score(string prompt, string completion) => _score(prompt, completion);

    /// <inheritdoc />
    public RaterDecision Judge(LabelItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        int n = item.Completions.Count;
        if (n < 2) throw new ArgumentException($"SimulatedRater: an item needs at least two completions to compare, got {n}.", nameof(item));
        var scores = new double[n];
        for (int i = 0; i < n; i++) scores[i] = _score(item.Prompt, item.Completions[i]);
        int best = 0;
        for (int i = 1; i < n; i++) if (scores[i] > scores[best]) best = i;
        double second = double.NegativeInfinity;
        for (int i = 0; i < n; i++) if (i != best) second = Math.Max(second, scores[i]);
        if (scores[best] - second < TieMargin || (TieMargin == 0 && scores[best] == second)) return RaterDecision.Tie;
        if (Temperature == 0) return RaterDecision.Pick(best);

        double max = scores[best], total = 0;
        var weights = new double[n];
        for (int i = 0; i < n; i++) total += weights[i] = Math.Exp((scores[i] - max) / Temperature);
        double u = _rng!.NextDouble() * total;
        for (int i = 0; i < n; i++)
        {
            u -= weights[i];
            if (u < 0) return RaterDecision.Pick(i);
        }
        return RaterDecision.Pick(n - 1);
    }
}

/// <summary>What a labelling session did.</summary>
public sealed record LabellingSummary(int Preferred, int Ties, int Skipped, int AlreadyLabelled, bool Quit)
{
    /// <summary>Items answered in this session (picks, ties and skips).</summary>
    public int Answered => Preferred + Ties + Skipped;
}

/// <summary>
/// The labelling loop shared by people and code: shows each not-yet-labelled item to a rater and appends its answer to the
/// preference file at once (flushed to disk before the next item), so killing the program loses nothing and a new
/// session resumes where the last one stopped.
/// </summary>
public static class PreferenceLabelling
{
    /// <summary>
    /// Labels <paramref name="items"/> with <paramref name="rater"/>, appending to <paramref name="preferencePath"/>.
    /// Items whose key is already in the file are passed over. Stops when the rater quits, the items run out, or
    /// <paramref name="maxItems"/> new answers were given.
    /// </summary>
    public static LabellingSummary Run(IEnumerable<LabelItem> items, IPreferenceRater rater, string preferencePath, int maxItems = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(rater);
        ArgumentNullException.ThrowIfNull(preferencePath);
        var done = File.Exists(preferencePath) ? new HashSet<string>(PreferenceFile.Load(preferencePath).LabelledItems, StringComparer.Ordinal) : [];
        int preferred = 0, ties = 0, skipped = 0, already = 0;
        foreach (var item in items)
        {
            if (preferred + ties + skipped >= maxItems) break;
            if (done.Contains(item.Key)) { already++; continue; }
            var decision = rater.Judge(item);
            if (decision.Action == RaterAction.Quit) return new LabellingSummary(preferred, ties, skipped, already, Quit: true);
            var records = ToRecords(item, decision);
            PreferenceFile.Append(preferencePath, records);
            done.Add(item.Key);
            switch (decision.Action)
            {
                case RaterAction.Pick: preferred++; break;
                case RaterAction.Tie: ties++; break;
                default: skipped++; break;
            }
        }
        return new LabellingSummary(preferred, ties, skipped, already, Quit: false);
    }

    /// <summary>
    /// The preference-file lines for one answer: a pick among k completions gives k − 1 pairs (the pick over each other;
    /// a tie where another completion is the same text),
    /// a tie gives k − 1 tie pairs (the first against each other), a skip one line listing the completions.
    /// </summary>
    public static IReadOnlyList<PreferenceRecord> ToRecords(LabelItem item, RaterDecision decision)
    {
        ArgumentNullException.ThrowIfNull(item);
        var c = item.Completions;
        var records = new List<PreferenceRecord>();
        switch (decision.Action)
        {
            case RaterAction.Pick:
                if ((uint)decision.Index >= (uint)c.Count)
                    throw new ArgumentOutOfRangeException(nameof(decision), $"The rater picked completion {decision.Index}, but the item has {c.Count}.");
                for (int i = 0; i < c.Count; i++)
                {
                    if (i == decision.Index) continue;
                    // Two identical completions cannot be one better than the other: record them as a tie.
                    records.Add(string.Equals(c[i], c[decision.Index], StringComparison.Ordinal)
                        ? PreferenceRecord.Tie(item.Prompt, c[decision.Index], c[i], item.Key)
                        : PreferenceRecord.Preferred(item.Prompt, c[decision.Index], c[i], item.Key));
                }
                break;
            case RaterAction.Tie:
                for (int i = 1; i < c.Count; i++) records.Add(PreferenceRecord.Tie(item.Prompt, c[0], c[i], item.Key));
                break;
            case RaterAction.Skip:
                records.Add(PreferenceRecord.Skipped(item.Prompt, c, item.Key));
                break;
            default:
                throw new ArgumentException("A quit decision has no record.", nameof(decision));
        }
        return records;
    }

    /// <summary>
    /// Collects pairs from a rater given as code without a file: every item judged, picks turned into pairs
    /// (ties kept as tie pairs, skips dropped).
    /// </summary>
    public static List<PreferencePair> Collect(IEnumerable<LabelItem> items, IPreferenceRater rater)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(rater);
        var pairs = new List<PreferencePair>();
        foreach (var item in items)
        {
            var decision = rater.Judge(item);
            if (decision.Action == RaterAction.Quit) break;
            if (decision.Action == RaterAction.Skip) continue;
            foreach (var r in ToRecords(item, decision))
                pairs.Add(new PreferencePair(r.Prompt, r.Chosen!, r.Rejected!, r.Outcome == PreferenceOutcome.Tie));
        }
        return pairs;
    }
}
