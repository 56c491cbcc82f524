using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Reinforce.Algorithms;
using Reinforce.IO;

namespace Reinforce.Training;

/// <summary>
/// A run folder: the one place every trainer (RL training, language-model pretraining, reward-model training,
/// RLHF) keeps what a run produces, laid out the same way for all of them:
/// <list type="bullet">
/// <item><c>config.json</c>: the resolved configuration, enough to reproduce the run (written once, by <see cref="Create"/>);</item>
/// <item><c>metrics.csv</c> and a TensorBoard event file: scalar metrics per step (<see cref="Log"/>);</item>
/// <item><c>checkpoints/step-N/</c>: periodic checkpoints, the newest <see cref="KeepCheckpoints"/> kept; <c>final/</c> and optionally <c>best/</c>;</item>
/// <item><c>run.json</c>: the time segments (one per launch: fresh start or resume) with wall, checkpoint and evaluation seconds;</item>
/// <item><c>result.json</c>: the outcome, with the segments' summed timing (<see cref="WriteResult"/>).</item>
/// </list>
/// The folder does not know what a checkpoint holds: the trainer saves and loads its own state into a folder the
/// run names (<see cref="SaveCheckpoint"/>, <see cref="Resume"/>). A generic trainer (<see cref="IRunTrainer"/>) can
/// be driven by <see cref="Train"/>, which applies the evaluation and checkpoint cadence, logs, times and reports
/// progress; RL training (<see cref="TrainingRun"/>) uses the same services from its callbacks.
/// </summary>
public sealed class RunFolder : IDisposable
{
    /// <summary>The configuration file's name.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>The per-step metrics file's name (what <c>reinforce dashboard</c> reads).</summary>
    public const string MetricsFile = MetricsLogger.MetricsFileName;

    /// <summary>The result file's name.</summary>
    public const string ResultFile = "result.json";

    /// <summary>The file holding the time segments.</summary>
    public const string StateFile = "run.json";

    /// <summary>The folder of periodic checkpoints.</summary>
    public const string CheckpointsFolder = "checkpoints";

    /// <summary>The folder of the final checkpoint.</summary>
    public const string FinalFolder = "final";

    /// <summary>The folder of the best checkpoint (by <see cref="RunSchedule.BestMetric"/>).</summary>
    public const string BestFolder = "best";

    private readonly List<RunSegment> _segments;
    private MetricsLogger? _metrics;
    private TensorBoardWriter? _tensorBoard;
    private Stopwatch? _segmentClock;
    private RunSegment? _current;
    private readonly Stopwatch _checkpointClock = new();
    private readonly Stopwatch _evaluationClock = new();

    private RunFolder(string directory, List<RunSegment> segments)
    {
        Directory = directory;
        _segments = segments;
    }

    /// <summary>The folder.</summary>
    public string Directory { get; }

    /// <summary>The path of <c>config.json</c>.</summary>
    public string ConfigPath => Path.Combine(Directory, ConfigFile);

    /// <summary>How many periodic checkpoints to keep (the newest; 0 keeps all). <c>final/</c> and <c>best/</c> are always kept.</summary>
    public int KeepCheckpoints { get; set; } = 5;

    /// <summary>Notes about what resuming found (a damaged checkpoint skipped, logs trimmed), for the user.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>
    /// Creates a new run folder at <paramref name="directory"/> and writes <paramref name="configJson"/> as its
    /// <c>config.json</c>. Refuses a folder that already has content (never overwrites a run), naming the fix.
    /// </summary>
    public static RunFolder Create(string directory, string configJson)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(configJson);
        if (System.IO.Directory.Exists(directory) && System.IO.Directory.EnumerateFileSystemEntries(directory).Any())
        {
            throw new IOException(IsRunFolder(directory)
                ? $"The run folder '{directory}' already exists. Continue that run with --resume {directory}, or pick another --out folder."
                : $"The folder '{directory}' already exists, is not empty and is not a run folder. Pick another --out folder (or empty this one).");
        }
        System.IO.Directory.CreateDirectory(directory);
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFile), configJson.TrimEnd() + "\n");
        return new RunFolder(directory, []);
    }

    /// <summary>Opens an existing run folder (to resume it, or to read it); throws a <see cref="ConfigurationException"/> naming the problem when it is not one.</summary>
    public static RunFolder Open(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!System.IO.Directory.Exists(directory))
            throw new ConfigurationException($"The run folder '{directory}' does not exist. Pass a folder that `reinforce train` created (see runs/).");
        if (!IsRunFolder(directory))
            throw new ConfigurationException($"'{directory}' is not a run folder (it has no {ConfigFile}). Pass the folder `reinforce train` created, e.g. runs/CartPole-v1-ppo-seed1-....");
        return new RunFolder(directory, ReadSegments(Path.Combine(directory, StateFile)));
    }

    /// <summary>Whether <paramref name="directory"/> is a run folder (it has a <c>config.json</c>).</summary>
    public static bool IsRunFolder(string directory) => File.Exists(Path.Combine(directory, ConfigFile));

    /// <summary>The text of <c>config.json</c>.</summary>
    public string ReadConfig() => File.ReadAllText(ConfigPath);

    // ------------------------------------------------------------------ metrics

    /// <summary>The metrics logger of the run (<c>metrics.csv</c> and a TensorBoard event file), opened on first use.</summary>
    public MetricsLogger Metrics
    {
        get
        {
            if (_metrics is null)
            {
                // Flushed twice a second, not per record (see MetricsLogger.FlushInterval); and when the run ends or saves a checkpoint.
                _tensorBoard = new TensorBoardWriter(Directory) { FlushEachRecord = false };
                var csv = CsvLogger.ForMetrics(Path.Combine(Directory, MetricsFile));
                csv.FlushEachRow = false;
                _metrics = new MetricsLogger(csv, _tensorBoard) { FlushInterval = TimeSpan.FromSeconds(0.5) };
            }
            return _metrics;
        }
    }

    /// <summary>The TensorBoard writer of the run (for scalars that are not per-step metrics, and for text).</summary>
    public TensorBoardWriter TensorBoard
    {
        get
        {
            _ = Metrics;
            return _tensorBoard!;
        }
    }

    /// <summary>Logs one row of scalar metrics at <paramref name="step"/> (CSV and TensorBoard).</summary>
    public void Log(long step, IReadOnlyDictionary<string, double> metrics) => Metrics.Log(step, metrics);

    /// <summary>Logs a text (a generated sample, a note) at <paramref name="step"/> to TensorBoard.</summary>
    public void LogText(string tag, string text, long step) => Metrics.LogText(tag, text, step);

    /// <summary>Opens (or continues) another CSV file in the folder, e.g. <c>eval.csv</c>.</summary>
    public CsvLogger OpenCsv(string fileName, IEnumerable<string> columns) => new(Path.Combine(Directory, fileName), columns);

    /// <summary>
    /// Drops rows of the folder's CSV files (<c>metrics.csv</c> and <paramref name="otherCsvFiles"/>) logged after
    /// <paramref name="step"/>, and rows marked <c>final = 1</c>: what the interrupted part of a run wrote after the
    /// checkpoint it resumes from, so the finished log equals an uninterrupted run's.
    /// </summary>
    public void TrimLogsAfter(long step, params IEnumerable<string> otherCsvFiles)
    {
        ArgumentNullException.ThrowIfNull(otherCsvFiles);
        foreach (var name in new[] { MetricsFile }.Concat(otherCsvFiles))
        {
            string path = Path.Combine(Directory, name);
            if (!File.Exists(path)) continue;
            var lines = File.ReadAllLines(path);
            if (lines.Length == 0) continue;
            var header = lines[0].Split(',').ToList();
            int stepColumn = header.IndexOf("step");
            int finalColumn = header.IndexOf("final");
            if (stepColumn < 0) continue;
            var kept = new StringBuilder().Append(lines[0]).Append('\n');
            int dropped = 0;
            foreach (var line in lines.Skip(1))
            {
                var cells = line.Split(',');
                bool after = cells.Length > stepColumn && double.TryParse(cells[stepColumn], NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s > step;
                bool final = finalColumn >= 0 && cells.Length > finalColumn && cells[finalColumn] == "1";
                if (after || final) { dropped++; continue; }
                kept.Append(line).Append('\n');
            }
            if (dropped > 0) AtomicFile.WriteAllText(path, kept.ToString());
        }
    }

    // ------------------------------------------------------------------ checkpoints

    /// <summary>The folder of the periodic checkpoint at <paramref name="step"/>: <c>checkpoints/step-0000012345</c> (sortable).</summary>
    public string CheckpointPath(long step) => Path.Combine(Directory, CheckpointsFolder, CheckpointFolderName(step));

    /// <summary>The folder name of the periodic checkpoint at <paramref name="step"/>.</summary>
    public static string CheckpointFolderName(long step) => "step-" + step.ToString("D10", CultureInfo.InvariantCulture);

    /// <summary>The final checkpoint's folder.</summary>
    public string FinalPath => Path.Combine(Directory, FinalFolder);

    /// <summary>The best checkpoint's folder.</summary>
    public string BestPath => Path.Combine(Directory, BestFolder);

    /// <summary>The periodic checkpoints present, oldest first (by the step in their folder name; leftovers of interrupted saves are ignored).</summary>
    public IReadOnlyList<(long Step, string Path)> PeriodicCheckpoints()
    {
        string root = Path.Combine(Directory, CheckpointsFolder);
        if (!System.IO.Directory.Exists(root)) return [];
        var list = new List<(long, string)>();
        foreach (var dir in System.IO.Directory.GetDirectories(root, "step-*"))
        {
            string name = Path.GetFileName(dir);
            if (long.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out long step)) list.Add((step, dir));
        }
        return [.. list.OrderBy(c => c.Item1)];
    }

    /// <summary>
    /// Saves a periodic checkpoint at <paramref name="step"/>: <paramref name="save"/> writes the trainer's state into
    /// the folder it is given. The time it takes counts as checkpoint time, and the oldest periodic checkpoints
    /// beyond <see cref="KeepCheckpoints"/> are deleted. The segment record is brought up to date.
    /// </summary>
    public string SaveCheckpoint(long step, Action<string> save)
    {
        ArgumentNullException.ThrowIfNull(save);
        string path = CheckpointPath(step);
        _checkpointClock.Start();
        try
        {
            _metrics?.Flush();   // the metrics up to the checkpoint are in the files when it is
            save(path);
            if (KeepCheckpoints > 0)
            {
                var all = PeriodicCheckpoints();
                for (int i = 0; i < all.Count - KeepCheckpoints; i++) System.IO.Directory.Delete(all[i].Path, recursive: true);
            }
        }
        finally
        {
            _checkpointClock.Stop();
        }
        Checkpointed(step);
        return path;
    }

    /// <summary>Saves the final checkpoint (timed as checkpoint time).</summary>
    public string SaveFinal(long step, Action<string> save) => SaveTimed(FinalPath, step, save);

    /// <summary>Saves the best checkpoint so far (timed as checkpoint time).</summary>
    public string SaveBest(long step, Action<string> save) => SaveTimed(BestPath, step, save);

    private string SaveTimed(string path, long step, Action<string> save)
    {
        ArgumentNullException.ThrowIfNull(save);
        _checkpointClock.Start();
        try { save(path); }
        finally { _checkpointClock.Stop(); }
        Checkpointed(step);
        return path;
    }

    /// <summary>
    /// The checkpoints to resume from, newest first: <c>final/</c> (when present, or the copy an interrupted save
    /// left as <c>final.old-*</c>), then the periodic ones by step, newest first.
    /// </summary>
    public IReadOnlyList<string> ResumeCandidates()
    {
        var list = new List<string>();
        if (System.IO.Directory.Exists(FinalPath) || System.IO.Directory.GetDirectories(Directory, FinalFolder + ".old-*").Length > 0) list.Add(FinalPath);
        list.AddRange(PeriodicCheckpoints().Reverse().Select(c => c.Path));
        return list;
    }

    /// <summary>
    /// Loads the newest checkpoint that loads: tries <see cref="ResumeCandidates"/> newest first with
    /// <paramref name="load"/>, skipping (and noting in <see cref="Notes"/>) a damaged one — a checkpoint whose files
    /// fail their checks — for the next older; returns the loaded value and its folder, or null when there is no
    /// checkpoint at all. Throws the newest failure when none loads.
    /// </summary>
    public (T Value, string Path)? Resume<T>(Func<string, T> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        Exception? first = null;
        foreach (var path in ResumeCandidates())
        {
            try
            {
                var value = load(path);
                if (first is not null)
                    Notes.Add($"Resuming from {Path.GetRelativePath(Directory, path)} instead (the newest checkpoint that loads).");
                return (value, path);
            }
            catch (Exception ex) when (IsDamage(ex))
            {
                first ??= ex;
                Notes.Add($"{Path.GetRelativePath(Directory, path)} is damaged and was skipped: {ex.Message}");
            }
        }
        if (first is not null) throw first;
        return null;
    }

    private static bool IsDamage(Exception ex) => ex is CheckpointFormatException or InvalidDataException or IOException or JsonException or ArgumentException or FormatException or KeyNotFoundException;

    // ------------------------------------------------------------------ time

    /// <summary>The time segments of the run so far (one per launch), the current one included.</summary>
    public IReadOnlyList<RunSegment> Segments => _current is null ? _segments : [.. _segments, Snapshot(_current, _current.EndStep)];

    /// <summary>Whether a segment is being timed (between <see cref="BeginSegment"/> and <see cref="EndSegment"/>).</summary>
    public bool SegmentRunning => _current is not null;

    /// <summary>Whether a segment recorded the run as finished (its final checkpoint and result written).</summary>
    public bool IsFinished => _segments.Count > 0 && _segments[^1].Finished;

    /// <summary>Starts timing a segment (a launch of the run) at <paramref name="step"/>.</summary>
    public void BeginSegment(long step)
    {
        if (_current is not null) throw new InvalidOperationException("RunFolder: a segment is already running; call EndSegment first.");
        _segmentClock = Stopwatch.StartNew();
        _checkpointClock.Reset();
        _evaluationClock.Reset();
        _current = new RunSegment(DateTimeOffset.UtcNow, step, step, 0, 0, 0, false);
    }

    /// <summary>Times <paramref name="evaluate"/> as evaluation time (excluded from training time).</summary>
    public T TimeEvaluation<T>(Func<T> evaluate)
    {
        ArgumentNullException.ThrowIfNull(evaluate);
        _evaluationClock.Start();
        try { return evaluate(); }
        finally { _evaluationClock.Stop(); }
    }

    /// <summary>Evaluation time measured elsewhere (for example by an evaluation callback) during the current segment, added to <see cref="TimeEvaluation"/>'s.</summary>
    public Func<TimeSpan>? ExternalEvaluationTime { get; set; }

    /// <summary>Records that the run reached <paramref name="step"/> and writes <c>run.json</c>, so a kill keeps the time spent up to here.</summary>
    public void Checkpointed(long step)
    {
        if (_current is null) return;
        _current = Snapshot(_current, step);
        WriteSegments([.. _segments, _current]);
    }

    /// <summary>Ends the current segment at <paramref name="step"/> (<paramref name="finished"/>: the run is complete) and writes <c>run.json</c>.</summary>
    public RunSegment EndSegment(long step, bool finished)
    {
        if (_current is null) throw new InvalidOperationException("RunFolder: no segment is running; call BeginSegment first.");
        var done = Snapshot(_current, step) with { Finished = finished };
        _segments.Add(done);
        _current = null;
        _segmentClock = null;
        WriteSegments(_segments);
        return done;
    }

    /// <summary>The summed timing of every segment (the current one included).</summary>
    public RunTiming Timing => RunTiming.Of(Segments);

    private RunSegment Snapshot(RunSegment segment, long step) => segment with
    {
        EndStep = step,
        WallSeconds = _segmentClock?.Elapsed.TotalSeconds ?? segment.WallSeconds,
        CheckpointSeconds = _checkpointClock.Elapsed.TotalSeconds,
        EvaluationSeconds = (_evaluationClock.Elapsed + (ExternalEvaluationTime?.Invoke() ?? TimeSpan.Zero)).TotalSeconds,
    };

    private void WriteSegments(IEnumerable<RunSegment> segments)
    {
        var array = new JsonArray();
        foreach (var s in segments) array.Add(s.ToJson());
        var node = new JsonObject { ["segments"] = array };
        AtomicFile.WriteAllText(Path.Combine(Directory, StateFile), node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    private static List<RunSegment> ReadSegments(string path)
    {
        if (!File.Exists(path)) return [];
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(path))?["segments"]?.AsArray();
            return node is null ? [] : [.. node.Select(n => RunSegment.FromJson(n!))];
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or NullReferenceException or KeyNotFoundException)
        {
            // The timing record is not worth failing a resume for: start it afresh and say so in the result.
            return [];
        }
    }

    // ------------------------------------------------------------------ result

    /// <summary>
    /// Writes <c>result.json</c>: <paramref name="fields"/> plus the run's timing (the sum over segments: wall,
    /// training, checkpoint and evaluation seconds, steps per second of wall and of training time, the segments).
    /// </summary>
    public void WriteResult(JsonObject fields, long steps)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var timing = Timing;
        fields["steps"] = steps;
        fields["wall_seconds"] = timing.WallSeconds;
        fields["training_seconds"] = timing.TrainingSeconds;
        fields["checkpoint_seconds"] = timing.CheckpointSeconds;
        fields["evaluation_seconds"] = timing.EvaluationSeconds;
        fields["steps_per_second"] = timing.TrainingSeconds > 0 ? timing.StepsTrained / timing.TrainingSeconds : 0;
        fields["wall_steps_per_second"] = timing.WallSeconds > 0 ? timing.StepsTrained / timing.WallSeconds : 0;
        var segments = new JsonArray();
        foreach (var s in Segments) segments.Add(s.ToJson());
        fields["segments"] = segments;
        AtomicFile.WriteAllText(Path.Combine(Directory, ResultFile), fields.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    // ------------------------------------------------------------------ the generic loop

    /// <summary>Whether to stop before the next step: asked here, or (in a data-parallel run) on any rank.</summary>
    private static bool StopRequested(RunSchedule schedule, CancellationToken cancellation)
    {
        bool asked = cancellation.IsCancellationRequested;
        if (schedule.Ranks is not { Size: > 1 } ranks) return asked;
        Span<double> any = [asked ? 1 : 0];
        ranks.AllReduceMax(any);
        return any[0] > 0;
    }

    /// <summary>
    /// Drives <paramref name="trainer"/> to <see cref="RunSchedule.TotalSteps"/>: one <see cref="IRunTrainer.TrainStep"/>
    /// at a time, its metrics logged; an evaluation (<see cref="IRunTrainer.Evaluate"/>, its metrics in the same row)
    /// and a checkpoint at their cadence; the best checkpoint by <see cref="RunSchedule.BestMetric"/>; the final
    /// checkpoint and <c>result.json</c> at the end. Resume first with <see cref="ResumeTrainer"/> to continue a run.
    /// A run already finished is left as it is (<see cref="RunSummary.AlreadyFinished"/>). Stopped by
    /// <paramref name="cancellation"/>, it saves a checkpoint where it stopped.
    /// </summary>
    public RunSummary Train(IRunTrainer trainer, RunSchedule schedule, IProgress<RunProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(schedule);
        schedule.Validate();
        KeepCheckpoints = schedule.KeepCheckpoints;
        if (IsFinished && trainer.Step >= schedule.TotalSteps)
            return new RunSummary(trainer.Step, Timing, null, AlreadyFinished: true, Stopped: false);

        long start = trainer.Step;
        BeginSegment(start);
        var clock = Stopwatch.StartNew();
        double? best = null;
        IReadOnlyDictionary<string, double>? lastEvaluation = null;
        bool stopped = false;
        try
        {
            while (trainer.Step < schedule.TotalSteps)
            {
                if (StopRequested(schedule, cancellation)) { stopped = true; break; }
                long before = trainer.Step;
                var metrics = trainer.TrainStep();
                long after = trainer.Step;
                if (after <= before) throw new InvalidOperationException($"{trainer.GetType().Name}.TrainStep did not advance Step (still {after}); each call must do at least one step.");
                var row = new Dictionary<string, double>(metrics, StringComparer.Ordinal);
                bool last = after >= schedule.TotalSteps;
                if (schedule.EvaluateEvery > 0 && (Cadence.Crossed(before, after, schedule.EvaluateEvery) || last))
                {
                    var evaluation = TimeEvaluation(trainer.Evaluate);
                    if (evaluation is not null)
                    {
                        lastEvaluation = evaluation;
                        foreach (var (k, v) in evaluation) row[k] = v;
                        if (schedule.BestMetric is string key && evaluation.TryGetValue(key, out double value) &&
                            (best is null || (schedule.HigherIsBetter ? value > best : value < best)))
                        {
                            best = value;
                            SaveBest(after, trainer.Save);
                        }
                    }
                }
                double elapsed = clock.Elapsed.TotalSeconds;
                row["time/elapsed_seconds"] = elapsed;
                Log(after, row);
                if (schedule.CheckpointEvery > 0 && Cadence.Crossed(before, after, schedule.CheckpointEvery) && !last) SaveCheckpoint(after, trainer.Save);
                progress?.Report(new RunProgress(after, schedule.TotalSteps, (after - start) / Math.Max(elapsed, 1e-9), clock.Elapsed, row));
            }
            if (stopped) SaveCheckpoint(trainer.Step, trainer.Save);
            else SaveFinal(trainer.Step, trainer.Save);
            Metrics.Flush();
        }
        finally
        {
            if (SegmentRunning) EndSegment(trainer.Step, finished: !stopped && trainer.Step >= schedule.TotalSteps);
        }
        var summary = new RunSummary(trainer.Step, Timing, lastEvaluation, AlreadyFinished: false, Stopped: stopped);
        if (!stopped)
        {
            var fields = new JsonObject();
            if (lastEvaluation is not null)
            {
                var evaluation = new JsonObject();
                foreach (var (k, v) in lastEvaluation) evaluation[k] = double.IsFinite(v) ? v : null;
                fields["final_evaluation"] = evaluation;
            }
            if (best is double b) fields["best"] = new JsonObject { ["metric"] = schedule.BestMetric, ["value"] = b };
            WriteResult(fields, trainer.Step);
        }
        return summary;
    }

    /// <summary>
    /// Continues a run: loads the newest checkpoint that loads into <paramref name="trainer"/> (see <see cref="Resume"/>),
    /// and drops log rows written after it. Returns the checkpoint folder, or null when the run has none yet (the
    /// trainer then starts from step 0 in the same folder).
    /// </summary>
    public string? ResumeTrainer(IRunTrainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        var loaded = Resume(path => { trainer.Load(path); return trainer.Step; });
        TrimLogsAfter(loaded?.Value ?? 0);
        return loaded?.Path;
    }

    /// <summary>Closes the metric files.</summary>
    public void Dispose()
    {
        _metrics?.Dispose();
        _metrics = null;
    }
}

/// <summary>
/// A trainer that a <see cref="RunFolder"/> can drive (language-model pretraining, reward-model training, RLHF,
/// anything that advances in steps and reports scalar metrics): it does one step at a time, evaluates when asked,
/// and saves and loads its own complete state (weights, optimizer, generator, step) to and from a folder.
/// </summary>
public interface IRunTrainer
{
    /// <summary>Steps done so far (the unit of <see cref="RunSchedule.TotalSteps"/>: optimizer steps, environment steps, ...).</summary>
    long Step { get; }

    /// <summary>Does one unit of work (advancing <see cref="Step"/> by at least one) and returns its scalar metrics (e.g. <c>loss</c>).</summary>
    IReadOnlyDictionary<string, double> TrainStep();

    /// <summary>Evaluates now (e.g. held-out loss) and returns the metrics, or null when there is nothing to evaluate.</summary>
    IReadOnlyDictionary<string, double>? Evaluate();

    /// <summary>Writes the complete training state to <paramref name="directory"/> (created if needed; write to a temporary name and rename).</summary>
    void Save(string directory);

    /// <summary>Restores the state saved by <see cref="Save"/>; throws <see cref="CheckpointFormatException"/> or <see cref="InvalidDataException"/> for a damaged folder (the run then tries an older checkpoint).</summary>
    void Load(string directory);
}

/// <summary>The cadence of a run driven by <see cref="RunFolder.Train"/>.</summary>
public sealed class RunSchedule
{
    /// <summary>Train until <see cref="IRunTrainer.Step"/> reaches this.</summary>
    public long TotalSteps { get; set; }

    /// <summary>Evaluate every this many steps, and at the end (0: never).</summary>
    public long EvaluateEvery { get; set; }

    /// <summary>Save a periodic checkpoint every this many steps (0: only the final one).</summary>
    public long CheckpointEvery { get; set; }

    /// <summary>Periodic checkpoints to keep (the newest; 0: all).</summary>
    public int KeepCheckpoints { get; set; } = 5;

    /// <summary>An evaluation metric whose best value is kept as <c>best/</c> (null: none).</summary>
    public string? BestMetric { get; set; }

    /// <summary>Whether a higher <see cref="BestMetric"/> is better (a reward) rather than lower (a loss).</summary>
    public bool HigherIsBetter { get; set; }

    /// <summary>
    /// The ranks of a data-parallel run (null: one process). Before every step they agree whether to stop, so a stop
    /// asked on any rank (Ctrl+C, which mpirun passes to every rank at slightly different moments) stops them all at the
    /// same step rather than leaving some waiting in a collective for the others.
    /// </summary>
    public Reinforce.Distributed.ICommunicator? Ranks { get; set; }

    /// <summary>Throws a <see cref="ConfigurationException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        ConfigurationException.Require(TotalSteps >= 1, "total_steps", $"is {TotalSteps}; train for at least 1 step.");
        ConfigurationException.Require(EvaluateEvery >= 0, "evaluate_every", $"is {EvaluateEvery}; use 0 (never) or a positive number of steps.");
        ConfigurationException.Require(CheckpointEvery >= 0, "checkpoint_every", $"is {CheckpointEvery}; use 0 (final checkpoint only) or a positive number of steps.");
        ConfigurationException.Require(KeepCheckpoints >= 0, "keep_checkpoints", $"is {KeepCheckpoints}; use 0 (keep all) or a positive number.");
    }
}

/// <summary>Progress of a run, reported after every step.</summary>
/// <param name="Step">Steps done.</param>
/// <param name="TotalSteps">The budget.</param>
/// <param name="StepsPerSecond">Steps per wall second in this segment.</param>
/// <param name="Elapsed">Wall time of this segment.</param>
/// <param name="Metrics">The step's metrics (and an evaluation's, when one ran).</param>
public sealed record RunProgress(long Step, long TotalSteps, double StepsPerSecond, TimeSpan Elapsed, IReadOnlyDictionary<string, double> Metrics)
{
    /// <summary>The time left at the current speed.</summary>
    public TimeSpan Left => TimeSpan.FromSeconds(Math.Min(Math.Max(0, TotalSteps - Step) / Math.Max(StepsPerSecond, 1e-9), TimeSpan.MaxValue.TotalSeconds / 2));
}

/// <summary>The outcome of <see cref="RunFolder.Train"/>.</summary>
/// <param name="Steps">Steps done.</param>
/// <param name="Timing">The run's timing summed over segments.</param>
/// <param name="LastEvaluation">The last evaluation's metrics (null when none ran).</param>
/// <param name="AlreadyFinished">The run had finished before this call; nothing was done or rewritten.</param>
/// <param name="Stopped">Cancelled before the budget (a checkpoint was saved where it stopped).</param>
public sealed record RunSummary(long Steps, RunTiming Timing, IReadOnlyDictionary<string, double>? LastEvaluation, bool AlreadyFinished, bool Stopped);

/// <summary>One launch of a run (a fresh start or a resume) and the time it took.</summary>
/// <param name="Started">When it started (UTC).</param>
/// <param name="StartStep">The step it started from.</param>
/// <param name="EndStep">The last step recorded (at a checkpoint, or the end).</param>
/// <param name="WallSeconds">Wall seconds from start to the last record, checkpoints and evaluations included.</param>
/// <param name="CheckpointSeconds">Seconds spent writing checkpoints.</param>
/// <param name="EvaluationSeconds">Seconds spent evaluating.</param>
/// <param name="Finished">Whether the run finished in this segment.</param>
public sealed record RunSegment(DateTimeOffset Started, long StartStep, long EndStep, double WallSeconds, double CheckpointSeconds, double EvaluationSeconds, bool Finished)
{
    /// <summary>Seconds spent training (wall time less checkpoints and evaluations).</summary>
    public double TrainingSeconds => Math.Max(0, WallSeconds - CheckpointSeconds - EvaluationSeconds);

    internal JsonObject ToJson() => new()
    {
        ["started"] = Started.ToString("O", CultureInfo.InvariantCulture),
        ["start_step"] = StartStep,
        ["end_step"] = EndStep,
        ["wall_seconds"] = WallSeconds,
        ["training_seconds"] = TrainingSeconds,
        ["checkpoint_seconds"] = CheckpointSeconds,
        ["evaluation_seconds"] = EvaluationSeconds,
        ["finished"] = Finished,
    };

    internal static RunSegment FromJson(JsonNode node) => new(
        DateTimeOffset.Parse(node["started"]!.GetValue<string>(), CultureInfo.InvariantCulture),
        node["start_step"]!.GetValue<long>(), node["end_step"]!.GetValue<long>(), node["wall_seconds"]!.GetValue<double>(),
        node["checkpoint_seconds"]!.GetValue<double>(), node["evaluation_seconds"]!.GetValue<double>(), node["finished"]!.GetValue<bool>());
}

/// <summary>A run's timing summed over its segments.</summary>
/// <param name="Segments">How many launches.</param>
/// <param name="StepsTrained">Steps trained over all segments (re-done steps after a resume count again).</param>
/// <param name="WallSeconds">Wall seconds, checkpoints and evaluations included.</param>
/// <param name="TrainingSeconds">Wall seconds less checkpoints and evaluations.</param>
/// <param name="CheckpointSeconds">Seconds writing checkpoints.</param>
/// <param name="EvaluationSeconds">Seconds evaluating.</param>
public sealed record RunTiming(int Segments, long StepsTrained, double WallSeconds, double TrainingSeconds, double CheckpointSeconds, double EvaluationSeconds)
{
    /// <summary>Sums <paramref name="segments"/>.</summary>
    public static RunTiming Of(IEnumerable<RunSegment> segments)
    {
        ArgumentNullException.ThrowIfNull(segments);
        var list = segments.ToList();
        return new RunTiming(list.Count, list.Sum(s => Math.Max(0, s.EndStep - s.StartStep)), list.Sum(s => s.WallSeconds), list.Sum(s => s.TrainingSeconds),
            list.Sum(s => s.CheckpointSeconds), list.Sum(s => s.EvaluationSeconds));
    }
}

/// <summary>"Every N steps" arithmetic shared by evaluation and checkpoint cadences.</summary>
public static class Cadence
{
    /// <summary>Whether going from <paramref name="before"/> to <paramref name="after"/> steps crossed a multiple of <paramref name="every"/>.</summary>
    public static bool Crossed(long before, long after, long every) => every > 0 && after / every > before / every;

    /// <summary>The first multiple of <paramref name="every"/> after <paramref name="steps"/> (long.MaxValue when <paramref name="every"/> is 0: never).</summary>
    public static long Next(long steps, long every) => every > 0 ? (steps / every + 1) * every : long.MaxValue;
}
