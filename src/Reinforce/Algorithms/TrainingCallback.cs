using System.Globalization;

namespace Reinforce.Algorithms;

/// <summary>
/// Hooks into <see cref="Agent.Learn"/> (Stable-Baselines3's <c>BaseCallback</c>): called once at the start,
/// after every update with that update's metrics, and once at the end. Ready-made callbacks (progress display,
/// CSV and TensorBoard logs, periodic evaluation, stopping at a reward threshold, periodic checkpoints) live in
/// <c>Reinforce.Training</c>.
/// </summary>
public abstract class TrainingCallback
{
    /// <summary>Called before the first rollout of a <see cref="Agent.Learn"/> call.</summary>
    public virtual void OnTrainingStart(Agent agent, long totalSteps) { }

    /// <summary>Called after each update; return false to stop training after this update.</summary>
    public virtual bool OnUpdate(Agent agent, TrainingMetrics metrics) => true;

    /// <summary>Called when <see cref="Agent.Learn"/> returns (also after a stop requested by a callback).</summary>
    public virtual void OnTrainingEnd(Agent agent) { }
}

/// <summary>
/// What one update reports: the step count, the recent episodes and the algorithm's own figures (losses,
/// entropy, approximate KL, clip fraction, ...), named as Stable-Baselines3 names them in TensorBoard
/// (<c>rollout/ep_rew_mean</c>, <c>train/policy_loss</c>, ...).
/// </summary>
public sealed class TrainingMetrics
{
    private readonly Dictionary<string, double> _scalars = new(StringComparer.Ordinal);

    /// <summary>Environment steps taken so far (summed over environments).</summary>
    public long Steps { get; init; }

    /// <summary>The number of updates so far (this one included).</summary>
    public int Iteration { get; init; }

    /// <summary>The step budget of the current <see cref="Agent.Learn"/> call.</summary>
    public long TotalSteps { get; init; }

    /// <summary>Wall-clock time spent in the current <see cref="Agent.Learn"/> call.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Environment steps per second over the current <see cref="Agent.Learn"/> call (rollouts and updates).</summary>
    public double StepsPerSecond { get; init; }

    /// <summary>Mean return of the last 100 finished training episodes (null before the first one finishes).</summary>
    public double? EpisodeReturnMean { get; init; }

    /// <summary>Mean length of the last 100 finished training episodes.</summary>
    public double? EpisodeLengthMean { get; init; }

    /// <summary>Training episodes finished so far.</summary>
    public long Episodes { get; init; }

    /// <summary>Every figure by its TensorBoard tag (finite values only).</summary>
    public IReadOnlyDictionary<string, double> Scalars => _scalars;

    /// <summary>A figure by tag, or null when this update did not report it.</summary>
    public double? this[string tag] => _scalars.TryGetValue(tag, out var v) ? v : null;

    /// <summary>Adds a figure (ignored when not finite, so logs never hold NaN).</summary>
    public void Set(string tag, double value)
    {
        if (double.IsFinite(value)) _scalars[tag] = value;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"steps {Steps}, iteration {Iteration}, " + string.Join(", ", _scalars.Select(kv => $"{kv.Key} {kv.Value.ToString("G4", CultureInfo.InvariantCulture)}"));
}
