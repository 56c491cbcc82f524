using System.Diagnostics;
using System.Globalization;
using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.IO;
using Reinforce.Envs.Vector;

namespace Reinforce.Training;

/// <summary>Sends the updates' metrics to metrics sinks (CSV, TensorBoard, console, memory): every update, or the first update at or past every <c>everySteps</c> steps, plus every update that carries an evaluation and the last one.</summary>
public sealed class MetricsCallback(MetricsLogger logger, long everySteps = 1) : TrainingCallback
{
    private readonly MetricsLogger _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    private readonly long _every = everySteps >= 1 ? everySteps : throw new ArgumentOutOfRangeException(nameof(everySteps), everySteps, "MetricsCallback: log every 1 step or more.");
    private long _next;
    private Dictionary<string, double>? _unwritten;
    private long _unwrittenStep;

    /// <inheritdoc/>
    public override void OnTrainingStart(Agent agent, long totalSteps) => _next = Cadence.Next(agent?.StepsDone ?? 0, _every);

    /// <inheritdoc/>
    public override bool OnUpdate(Agent agent, TrainingMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var row = new Dictionary<string, double>(metrics.Scalars, StringComparer.Ordinal)
        {
            ["time/iterations"] = metrics.Iteration,
            ["time/elapsed_seconds"] = metrics.Elapsed.TotalSeconds,
        };
        // Rows between cadence points are skipped (the log stays bounded on long runs); an evaluation is never skipped.
        if (metrics.Steps < _next && !row.Keys.Any(k => k.StartsWith("eval/", StringComparison.Ordinal)))
        {
            (_unwritten, _unwrittenStep) = (row, metrics.Steps);
            return true;
        }
        if (metrics.Steps >= _next) _next = Cadence.Next(metrics.Steps, _every);
        _unwritten = null;
        _logger.Log(metrics.Steps, row);
        return true;
    }

    /// <inheritdoc/>
    public override void OnTrainingEnd(Agent agent)
    {
        if (_unwritten is not null) _logger.Log(_unwrittenStep, _unwritten);   // the last update is always in the log
        _unwritten = null;
        _logger.Flush();
    }
}

/// <summary>
/// Evaluates the agent every <see cref="EverySteps"/> steps on a separate environment (raw rewards, the
/// agent's observation normalisation applied, statistics frozen) and keeps the history; optionally stops
/// training once the mean return reaches <see cref="StopAtReward"/> (Stable-Baselines3's EvalCallback with
/// StopTrainingOnRewardThreshold). The results go into the update's metrics (<c>eval/mean_reward</c>, ...), so put it
/// before the logging callbacks. Time spent evaluating is measured separately (<see cref="EvaluationTime"/>).
/// </summary>
public sealed class EvalCallback : TrainingCallback
{
    private readonly IVectorEnv _env;
    private readonly ulong _seed;
    private long _next;
    private readonly Stopwatch _clock = new();

    /// <summary>Evaluates <paramref name="episodes"/> episodes in <paramref name="env"/> every <paramref name="everySteps"/> steps.</summary>
    public EvalCallback(IVectorEnv env, long everySteps, int episodes, bool deterministic = true, double? stopAtReward = null, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(env);
        if (everySteps < 1) throw new ArgumentOutOfRangeException(nameof(everySteps), everySteps, "EvalCallback: evaluate every 1 step or more.");
        if (episodes < 1) throw new ArgumentOutOfRangeException(nameof(episodes), episodes, "EvalCallback: evaluate at least 1 episode.");
        _env = env;
        EverySteps = everySteps;
        Episodes = episodes;
        Deterministic = deterministic;
        StopAtReward = stopAtReward;
        _seed = seed;
    }

    /// <summary>Evaluation period in environment steps.</summary>
    public long EverySteps { get; }

    /// <summary>Episodes per evaluation.</summary>
    public int Episodes { get; }

    /// <summary>Whether actions are the distribution's mode.</summary>
    public bool Deterministic { get; }

    /// <summary>Stop training when an evaluation's mean return reaches this (null: never).</summary>
    public double? StopAtReward { get; }

    /// <summary>Every evaluation run by this callback: the step count and the result.</summary>
    public List<(long Steps, EvaluationResult Result)> History { get; } = [];

    /// <summary>Evaluations run so far, including those of the run before a resume (each draws its episodes from its own seed).</summary>
    public int Count { get; private set; }

    /// <summary>Continues the count of an interrupted run (see <see cref="TrainingRun.Resume"/>).</summary>
    internal void Restore(int count, long? solvedAtSteps)
    {
        Count = count;
        SolvedAtSteps = solvedAtSteps;
    }

    /// <summary>The step count of the first evaluation that reached <see cref="StopAtReward"/> (null if none did).</summary>
    public long? SolvedAtSteps { get; private set; }

    /// <summary>Wall-clock time spent evaluating.</summary>
    public TimeSpan EvaluationTime => _clock.Elapsed;

    /// <summary>Called after each evaluation (for logging).</summary>
    public event Action<long, EvaluationResult>? Evaluated;

    /// <summary>Whether the evaluation running now is the final one (see <see cref="Run"/>).</summary>
    public bool IsFinal { get; private set; }

    /// <inheritdoc/>
    public override void OnTrainingStart(Agent agent, long totalSteps)
    {
        ArgumentNullException.ThrowIfNull(agent);
        _next = (agent.StepsDone / EverySteps + 1) * EverySteps;
    }

    /// <inheritdoc/>
    public override bool OnUpdate(Agent agent, TrainingMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(agent);
        if (agent.StepsDone < _next) return true;
        _next = (agent.StepsDone / EverySteps + 1) * EverySteps;
        var result = Run(agent);
        // Into the update's own metrics, so logs keep one row per update.
        metrics.Set("eval/mean_reward", result.Mean);
        metrics.Set("eval/std_reward", result.Std);
        metrics.Set("eval/mean_ep_length", result.MeanLength);
        return !(StopAtReward is double threshold && result.Mean >= threshold);
    }

    /// <summary>Evaluates now (also used for the final evaluation, with <paramref name="final"/>) and records the result.</summary>
    public EvaluationResult Run(Agent agent, int? episodes = null, bool final = false)
    {
        ArgumentNullException.ThrowIfNull(agent);
        IsFinal = final;
        _clock.Start();
        EvaluationResult result;
        try
        {
            result = agent.Evaluate(_env, episodes ?? Episodes, Deterministic, Rng.DeriveSeed(_seed, Count));
        }
        finally
        {
            _clock.Stop();
        }
        History.Add((agent.StepsDone, result));
        Count++;
        if (StopAtReward is double threshold && result.Mean >= threshold && SolvedAtSteps is null) SolvedAtSteps = agent.StepsDone;
        Evaluated?.Invoke(agent.StepsDone, result);
        return result;
    }
}

/// <summary>Saves a checkpoint every <see cref="EverySteps"/> steps into <c>{Directory}/step-{steps}</c>.</summary>
public sealed class CheckpointCallback : TrainingCallback
{
    private long _next;

    /// <summary>Saves into sub-folders of <paramref name="directory"/>.</summary>
    public CheckpointCallback(string directory, long everySteps)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (everySteps < 1) throw new ArgumentOutOfRangeException(nameof(everySteps), everySteps, "CheckpointCallback: save every 1 step or more.");
        Directory = directory;
        EverySteps = everySteps;
    }

    /// <summary>Where checkpoints go.</summary>
    public string Directory { get; }

    /// <summary>Checkpoint period in environment steps.</summary>
    public long EverySteps { get; }

    /// <summary>The folders written so far.</summary>
    public List<string> Saved { get; } = [];

    /// <summary>The folder name of the checkpoint at <paramref name="steps"/> (sortable).</summary>
    public static string FolderName(long steps) => RunFolder.CheckpointFolderName(steps);

    /// <inheritdoc/>
    public override void OnTrainingStart(Agent agent, long totalSteps)
    {
        ArgumentNullException.ThrowIfNull(agent);
        _next = (agent.StepsDone / EverySteps + 1) * EverySteps;
    }

    /// <inheritdoc/>
    public override bool OnUpdate(Agent agent, TrainingMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(agent);
        if (agent.StepsDone < _next) return true;
        _next = (agent.StepsDone / EverySteps + 1) * EverySteps;
        string path = Path.Combine(Directory, FolderName(agent.StepsDone));
        agent.Save(path);
        Saved.Add(path);
        return true;
    }
}

/// <summary>Stops training once the mean return of the last 100 training episodes reaches a threshold.</summary>
public sealed class StopOnRewardThreshold(double threshold) : TrainingCallback
{
    /// <summary>The mean training return that stops training.</summary>
    public double Threshold { get; } = threshold;

    /// <inheritdoc/>
    public override bool OnUpdate(Agent agent, TrainingMetrics metrics) =>
        !(metrics?.EpisodeReturnMean is double mean && mean >= Threshold);
}

/// <summary>Stops training once the step count reaches a limit (for example to interrupt a run at a checkpoint).</summary>
public sealed class StopAtSteps(long steps) : TrainingCallback
{
    /// <summary>The step count at which training stops.</summary>
    public long Steps { get; } = steps;

    /// <inheritdoc/>
    public override bool OnUpdate(Agent agent, TrainingMetrics metrics) => agent is null || agent.StepsDone < Steps;
}

/// <summary>
/// Reports progress as plain text lines (for logs and for output that is not a terminal): every
/// <paramref name="every"/> updates, whenever <see cref="PrintCadence.Every"/> has passed without a line (however
/// slow an update is), and at the end, one line with the steps, steps/s, mean return, losses, approximate KL and the
/// estimated time left.
/// </summary>
public sealed class ProgressLines(TextWriter writer, int every = 10) : TrainingCallback
{
    private readonly TextWriter _writer = writer ?? throw new ArgumentNullException(nameof(writer));
    private readonly PrintCadence _cadence = new();
    private TrainingMetrics? _last;
    private bool _lastPrinted;

    /// <inheritdoc/>
    public override bool OnUpdate(Agent agent, TrainingMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _last = metrics;
        _lastPrinted = _cadence.Due(metrics.Iteration % Math.Max(every, 1) == 0);
        if (_lastPrinted) _writer.WriteLine(Format(metrics));
        return true;
    }

    /// <inheritdoc/>
    public override void OnTrainingEnd(Agent agent)
    {
        if (_last is not null && !_lastPrinted) _writer.WriteLine(Format(_last));
        _writer.Flush();
    }

    /// <summary>One progress line.</summary>
    public static string Format(TrainingMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var parts = new List<string>
        {
            $"steps {metrics.Steps.ToString("N0", CultureInfo.InvariantCulture)}/{metrics.TotalSteps.ToString("N0", CultureInfo.InvariantCulture)}",
            $"{metrics.StepsPerSecond.ToString("N0", CultureInfo.InvariantCulture)} steps/s",
            "return " + (metrics.EpisodeReturnMean is double r ? r.ToString("F1", CultureInfo.InvariantCulture) : "-"),
        };
        void Add(string label, string tag, string format)
        {
            if (metrics[tag] is double v) parts.Add($"{label} {v.ToString(format, CultureInfo.InvariantCulture)}");
        }
        Add("policy loss", "train/policy_loss", "G4");
        Add("value loss", "train/value_loss", "G4");
        Add("entropy", "train/entropy", "F3");
        Add("KL", "train/approx_kl", "G3");
        parts.Add("left " + FormatTime(TimeLeft(metrics)));
        return string.Join(" | ", parts);
    }

    /// <summary>The time left at the current speed.</summary>
    public static TimeSpan TimeLeft(TrainingMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        double left = Math.Max(0, metrics.TotalSteps - metrics.Steps) / Math.Max(metrics.StepsPerSecond, 1e-9);
        return TimeSpan.FromSeconds(Math.Min(left, TimeSpan.MaxValue.TotalSeconds / 2));
    }

    /// <summary>"1:02:03", "2:03" or "5s".</summary>
    public static string FormatTime(TimeSpan t) =>
        t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture)
        : t.TotalMinutes >= 1 ? t.ToString(@"m\:ss", CultureInfo.InvariantCulture)
        : $"{t.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture)}s";
}
