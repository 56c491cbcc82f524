using System.Globalization;
using System.Text.Json.Nodes;
using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.IO;
using Reinforce.Envs.ClassicControl;
using Reinforce.Envs.Vector;

namespace Reinforce.Training;

/// <summary>The outcome of <see cref="TrainingRun.Run"/>. Times are summed over every segment of the run (a fresh start and each resume).</summary>
/// <param name="Steps">Environment steps trained.</param>
/// <param name="TrainingSeconds">Seconds spent training (rollouts and updates; evaluations and checkpoints excluded), summed over segments.</param>
/// <param name="EvaluationSeconds">Seconds spent in periodic and final evaluations, summed over segments.</param>
/// <param name="StepsPerSecond">Steps trained per training second, over all segments.</param>
/// <param name="Final">The final evaluation (null when disabled, or when the run had already finished).</param>
/// <param name="RewardThreshold">The reward that counts as solved (null when the environment has none).</param>
/// <param name="SolvedAtSteps">The step count of the first evaluation at or above the threshold (null if none).</param>
/// <param name="FinalCheckpoint">The folder of the final checkpoint.</param>
public sealed record TrainingResult(long Steps, double TrainingSeconds, double EvaluationSeconds, double StepsPerSecond,
    EvaluationResult? Final, double? RewardThreshold, long? SolvedAtSteps, string FinalCheckpoint)
{
    /// <summary>Whether the final evaluation reached the threshold.</summary>
    public bool Solved => Final is not null && RewardThreshold is double t && Final.Mean >= t;

    /// <summary>Wall seconds of the run, summed over segments: training, evaluations and checkpoint writing.</summary>
    public double WallSeconds { get; init; }

    /// <summary>Seconds spent writing checkpoints (periodic and final), summed over segments.</summary>
    public double CheckpointSeconds { get; init; }

    /// <summary>How many launches the run took (1, plus one per resume).</summary>
    public int Segments { get; init; } = 1;

    /// <summary>The run had finished before this call: nothing was trained and <c>result.json</c> was left as it was.</summary>
    public bool AlreadyFinished { get; init; }
}

/// <summary>
/// An RL training run in a <see cref="RunFolder"/>: the complete configuration (<c>config.json</c>, enough to reproduce
/// the run), metrics per update (<c>metrics.csv</c> and a TensorBoard event file), evaluations (<c>eval.csv</c>),
/// periodic checkpoints (<c>checkpoints/step-N/</c>, the newest <c>keep_checkpoints</c> kept), the final checkpoint
/// (<c>final/</c>), the time segments (<c>run.json</c>), the final evaluation and summed timing (<c>result.json</c>)
/// and a learning curve (<c>learning-curve.svg</c>). <see cref="Resume"/> continues an interrupted run from its
/// latest checkpoint that loads, giving the same result as an uninterrupted run.
/// </summary>
public sealed partial class TrainingRun : IDisposable
{
    /// <summary>The configuration file's name in a run folder.</summary>
    public const string ConfigFile = RunFolder.ConfigFile;

    /// <summary>The per-update metrics file's name in a run folder (what <c>reinforce dashboard</c> reads).</summary>
    public const string MetricsFile = RunFolder.MetricsFile;

    /// <summary>The evaluations file's name in a run folder.</summary>
    public const string EvalFile = "eval.csv";

    private readonly IVectorEnv _env;
    private readonly IVectorEnv _evalEnv;

    private TrainingRun(RunFolder folder, TrainingConfig config, OnPolicyAgent agent, IVectorEnv env)
    {
        Folder = folder;
        Folder.KeepCheckpoints = config.KeepCheckpoints;
        Config = config;
        Agent = agent;
        _env = env;
        RewardThreshold = config.RewardThreshold ?? (Environments.IsRegistered(config.Env) ? Environments.Spec(config.Env).RewardThreshold
            : env is Envs.Remote.RemoteVectorEnv remote ? remote.Info.RewardThreshold : null);
        _evalEnv = Environments.MakeVector(config.Env, Math.Min(config.Eval.Episodes, 10), Rng.DeriveSeed(unchecked((ulong)config.Seed), 3));
        Evaluation = new EvalCallback(_evalEnv, config.Eval.EverySteps > 0 ? config.Eval.EverySteps : long.MaxValue, config.Eval.Episodes,
            config.Eval.Deterministic, config.Eval.StopWhenSolved ? RewardThreshold : null, Rng.DeriveSeed(unchecked((ulong)config.Seed), 4));
    }

    /// <summary>The run folder's services (metrics, checkpoints, timing).</summary>
    public RunFolder Folder { get; }

    /// <summary>The run folder.</summary>
    public string Directory => Folder.Directory;

    /// <summary>The resolved configuration.</summary>
    public TrainingConfig Config { get; }

    /// <summary>The agent being trained.</summary>
    public OnPolicyAgent Agent { get; }

    /// <summary>The reward that counts as solved (the config's, else the environment's registered one).</summary>
    public double? RewardThreshold { get; }

    /// <summary>The periodic evaluation (its history feeds the learning curve).</summary>
    public EvalCallback Evaluation { get; }

    /// <summary>What resuming found and did (a damaged checkpoint skipped, a fresh start), for the user.</summary>
    public IReadOnlyList<string> Notes => Folder.Notes;

    /// <summary>The default folder for runs.</summary>
    public static string DefaultRunsRoot => "runs";

    /// <summary>
    /// Starts a new run of <paramref name="config"/> (resolved and validated) in <paramref name="directory"/>, or in a
    /// new folder <c>runs/{env}-{algo}-seed{seed}-{time}</c>. Writes <c>config.json</c> at once.
    /// </summary>
    public static TrainingRun Create(TrainingConfig config, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        Precompilation.StartInBackground();   // the training step's code, while the run sets up
        var resolved = config.Resolve();
        LoadEnvironmentAssembly(resolved);
        if (!Environments.IsRegistered(resolved.Env) && !Envs.Remote.RemoteAddress.IsRemote(resolved.Env))
            throw new ConfigurationException("env", $"\"{resolved.Env}\" is not a registered environment. Registered: {string.Join(", ", Environments.Specs.Select(s => s.Id))}.");
        directory ??= Path.Combine(DefaultRunsRoot, $"{FolderName(resolved.Env)}-{resolved.Algo}-seed{resolved.Seed}-{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}");
        var folder = RunFolder.Create(directory, resolved.ToJson());
        var env = Environments.MakeVector(resolved.Env, resolved.NumEnvs, unchecked((ulong)resolved.Seed));
        var agent = CreateAgent(resolved, env);
        return new TrainingRun(folder, resolved, agent, env);
    }

    /// <summary>An environment id as a folder name: a remote address (remote://host:port) becomes remote-host-port.</summary>
    private static string FolderName(string envId) =>
        Envs.Remote.RemoteAddress.IsRemote(envId)
            ? "remote-" + new string(envId[Envs.Remote.RemoteAddress.Scheme.Length..].Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-').ToArray())
            : envId;

    /// <summary>Makes the agent a config describes, for <paramref name="env"/>.</summary>
    public static OnPolicyAgent CreateAgent(TrainingConfig config, IVectorEnv env)
    {
        ArgumentNullException.ThrowIfNull(config);
        var agent = AlgorithmRegistry.Get(config.Algo).Create(env, config.AlgorithmOptions);
        agent.EnvironmentId = config.Env;
        return agent;
    }

    /// <summary>
    /// Continues the run in <paramref name="directory"/> from its newest checkpoint that loads (<c>final/</c>, else the
    /// newest <c>checkpoints/step-N</c>; a damaged one is skipped and named in <see cref="Notes"/>), discarding metrics
    /// logged after it, so the finished run equals an uninterrupted one. A run killed before its first checkpoint
    /// starts again from step 0 in the same folder.
    /// </summary>
    public static TrainingRun Resume(string directory)
    {
        Precompilation.StartInBackground();
        var folder = RunFolder.Open(directory);
        var config = TrainingConfig.Load(folder.ConfigPath).Resolve();
        LoadEnvironmentAssembly(config);
        IVectorEnv? env = null;
        var loaded = folder.Resume(path =>
        {
            env?.Dispose();
            env = Environments.MakeVector(config.Env, config.NumEnvs, unchecked((ulong)config.Seed));
            var agent = Checkpoint.Load(path, env);
            agent.EnvironmentId = config.Env;
            return agent;
        });
        OnPolicyAgent resumed;
        if (loaded is { } l)
        {
            resumed = l.Value;
            if (resumed.EnvironmentRestore == EnvironmentRestore.Reset)
                folder.Notes.Add($"{config.Env} can neither save its state nor be replayed: the weights, optimizer, statistics and generators are exact, and the environments start fresh episodes (the episodes in progress at the checkpoint are cut).");
        }
        else
        {
            env?.Dispose();
            env = Environments.MakeVector(config.Env, config.NumEnvs, unchecked((ulong)config.Seed));
            resumed = CreateAgent(config, env);
            folder.Notes.Add("The run has no checkpoint yet: starting it again from step 0 with its config.json.");
        }
        var run = new TrainingRun(folder, config, resumed, env!) { ResumedFrom = loaded?.Path };
        folder.TrimLogsAfter(resumed.StepsDone, EvalFile);
        run.RestoreEvaluationCount();
        return run;
    }

    /// <summary>The newest checkpoint folder of a run (null when there is none): <c>final/</c> when present, else the newest periodic one.</summary>
    public static string? LatestCheckpoint(string directory)
    {
        var candidates = new List<string>();
        string checkpoints = Path.Combine(directory, RunFolder.CheckpointsFolder);
        if (System.IO.Directory.Exists(checkpoints)) candidates.AddRange(System.IO.Directory.GetDirectories(checkpoints, "step-*").Where(Checkpoint.Exists));
        string final = Path.Combine(directory, RunFolder.FinalFolder);
        if (Checkpoint.Exists(final)) candidates.Add(final);
        return candidates.OrderBy(Checkpoint.StepsOf).ThenBy(c => c == final ? 1 : 0).LastOrDefault();
    }

    /// <summary>Loads the config's environment assembly (if any), so its environments are registered.</summary>
    private static void LoadEnvironmentAssembly(TrainingConfig config)
    {
        if (config.EnvAssembly is string path) EnvironmentAssembly.Load(path);
    }

    /// <summary>The checkpoint folder the run was resumed from (null for a new run, or one restarted from step 0).</summary>
    public string? ResumedFrom { get; private init; }

    /// <summary>
    /// Whether the run has already finished: resumed from its final checkpoint, its budget reached (or solved with
    /// stop_when_solved), and its result written. A run whose final/ was damaged resumes from a periodic checkpoint
    /// and finishes again.
    /// </summary>
    public bool IsFinished =>
        ResumedFrom is not null && string.Equals(Path.GetFullPath(ResumedFrom), Path.GetFullPath(Folder.FinalPath), StringComparison.Ordinal)
        && File.Exists(Path.Combine(Directory, RunFolder.ResultFile))
        && (Folder.IsFinished || Agent.StepsDone >= Config.TotalSteps);

    /// <summary>
    /// Trains to <c>total_steps</c> (or until solved, with <c>eval.stop_when_solved</c>), logging and checkpointing
    /// into the run folder, then saves <c>final/</c>, evaluates, and writes <c>result.json</c> (timing summed over
    /// every segment of the run) and the learning curve. On a run that has already finished it trains nothing,
    /// rewrites nothing, and returns the recorded result with <see cref="TrainingResult.AlreadyFinished"/>.
    /// </summary>
    public TrainingResult Run(IEnumerable<TrainingCallback>? extraCallbacks = null)
    {
        if (IsFinished) return RecordedResult();
        var tensorBoard = Folder.TensorBoard;
        var logger = Folder.Metrics;
        using var evalCsv = Folder.OpenCsv(EvalFile, ["step", "mean_reward", "std_reward", "min_reward", "max_reward", "mean_length", "episodes", "final"]);
        void OnEvaluated(long steps, EvaluationResult r)
        {
            evalCsv.Log(new Dictionary<string, double>
            {
                ["step"] = steps, ["mean_reward"] = r.Mean, ["std_reward"] = r.Std, ["min_reward"] = r.Returns.Min(),
                ["max_reward"] = r.Returns.Max(), ["mean_length"] = r.MeanLength, ["episodes"] = r.Returns.Length, ["final"] = Evaluation.IsFinal ? 1 : 0,
            });
            if (Evaluation.IsFinal)
            {
                tensorBoard.AddScalar("eval/final_mean_reward", r.Mean, steps);
                tensorBoard.AddScalar("eval/final_std_reward", r.Std, steps);
            }
        }
        Evaluation.Evaluated += OnEvaluated;
        // Evaluation first: it adds its results to the update's metrics, which the logger then writes as one row.
        var callbacks = new List<TrainingCallback> { Evaluation, new MetricsCallback(logger, Config.LogCadence()), new FolderCheckpoints(Folder, Config.CheckpointEverySteps) };
        if (extraCallbacks is not null) callbacks.AddRange(extraCallbacks);

        var evaluationBefore = Evaluation.EvaluationTime;
        Folder.ExternalEvaluationTime = () => Evaluation.EvaluationTime - evaluationBefore;
        Folder.BeginSegment(Agent.StepsDone);
        bool finished = false;
        try
        {
            Agent.Learn(Config.TotalSteps, callbacks);
            string finalDir = Folder.SaveFinal(Agent.StepsDone, Agent.Save);
            EvaluationResult? final = Config.Eval.FinalEpisodes > 0 ? Evaluation.Run(Agent, Config.Eval.FinalEpisodes, final: true) : null;
            finished = Agent.StepsDone >= Config.TotalSteps || (Config.Eval.StopWhenSolved && Evaluation.SolvedAtSteps is not null);
            Folder.EndSegment(Agent.StepsDone, finished);
            var timing = Folder.Timing;
            var result = new TrainingResult(Agent.StepsDone, timing.TrainingSeconds, timing.EvaluationSeconds,
                timing.StepsTrained / Math.Max(timing.TrainingSeconds, 1e-9), final, RewardThreshold, Evaluation.SolvedAtSteps, finalDir)
            {
                WallSeconds = timing.WallSeconds, CheckpointSeconds = timing.CheckpointSeconds, Segments = timing.Segments,
            };
            WriteResult(result);
            logger.Flush();
            WriteLearningCurve();
            return result;
        }
        finally
        {
            Evaluation.Evaluated -= OnEvaluated;
            Folder.ExternalEvaluationTime = null;
            if (Folder.SegmentRunning) Folder.EndSegment(Agent.StepsDone, finished: false);
        }
    }

    /// <summary>The result recorded in <c>result.json</c> by the run that finished.</summary>
    private TrainingResult RecordedResult()
    {
        var node = JsonNode.Parse(File.ReadAllText(Path.Combine(Directory, RunFolder.ResultFile)))!.AsObject();
        double Number(string key) => node[key] is JsonValue v && v.TryGetValue(out double d) ? d : 0;
        long? solvedAt = node["solved_at_steps"] is JsonValue sv && sv.TryGetValue(out long s) ? s : null;
        var timing = Folder.Timing;
        return new TrainingResult(Agent.StepsDone, Number("training_seconds"), Number("evaluation_seconds"), Number("steps_per_second"),
            null, RewardThreshold, solvedAt, Folder.FinalPath)
        {
            WallSeconds = node.ContainsKey("wall_seconds") ? Number("wall_seconds") : Number("training_seconds") + Number("evaluation_seconds"),
            CheckpointSeconds = Number("checkpoint_seconds"),
            Segments = Math.Max(1, timing.Segments),
            AlreadyFinished = true,
        };
    }

    /// <summary>Redraws <c>learning-curve.svg</c> from <c>metrics.csv</c> and <c>eval.csv</c>.</summary>
    public void WriteLearningCurve()
    {
        var series = new List<ChartSeries>();
        string progress = Path.Combine(Directory, MetricsFile);
        if (File.Exists(progress))
        {
            var table = CsvLogger.Read(progress);
            if (table.Columns.Contains("rollout/ep_rew_mean"))
                series.Add(new ChartSeries("training return (mean of last 100 episodes)", table.Column("step"), table.Column("rollout/ep_rew_mean")));
        }
        string eval = Path.Combine(Directory, "eval.csv");
        if (File.Exists(eval))
        {
            var table = CsvLogger.Read(eval);
            if (table.Rows.Count > 0)
                series.Add(new ChartSeries("evaluation return (± std)", table.Column("step"), table.Column("mean_reward")) { Spread = table.Column("std_reward") });
        }
        if (series.Count == 0) return;
        var lines = RewardThreshold is double t ? new[] { new ReferenceLine(t, $"solved ({t.ToString("G", CultureInfo.InvariantCulture)})") } : null;
        SvgChart.Save(Path.Combine(Directory, "learning-curve.svg"), $"{Config.Algo.ToUpperInvariant()} on {Config.Env} (seed {Config.Seed})",
            "environment steps", "episode return", series, lines);
    }

    private void WriteResult(TrainingResult result)
    {
        var node = new JsonObject
        {
            ["env"] = Config.Env,
            ["algo"] = Config.Algo,
            ["seed"] = Config.Seed,
            ["reward_threshold"] = result.RewardThreshold,
            ["solved"] = result.Solved,
            ["solved_at_steps"] = result.SolvedAtSteps,
            ["final_checkpoint"] = Path.GetRelativePath(Directory, result.FinalCheckpoint),
        };
        if (result.Final is not null)
        {
            node["final_evaluation"] = new JsonObject
            {
                ["episodes"] = result.Final.Returns.Length,
                ["deterministic"] = Config.Eval.Deterministic,
                ["mean_reward"] = result.Final.Mean,
                ["std_reward"] = result.Final.Std,
                ["mean_length"] = result.Final.MeanLength,
            };
        }
        Folder.WriteResult(node, result.Steps);
    }

    /// <summary>Continues the evaluation count of the interrupted run (later evaluations draw from the seed after the last one kept; "solved" is remembered).</summary>
    private void RestoreEvaluationCount()
    {
        string evalPath = Path.Combine(Directory, EvalFile);
        if (!File.Exists(evalPath)) return;
        var table = CsvLogger.Read(evalPath);
        var evalSteps = table.Rows.Count == 0 ? [] : table.Column("step");
        var means = table.Rows.Count == 0 ? [] : table.Column("mean_reward");
        long? solved = null;
        for (int i = 0; i < means.Length; i++)
            if (Evaluation.StopAtReward is double t && means[i] >= t) { solved = (long)evalSteps[i]; break; }
        Evaluation.Restore(table.Rows.Count, solved);
    }

    /// <summary>Disposes the environments the run made.</summary>
    public void Dispose()
    {
        Agent.Dispose();
        _env.Dispose();
        _evalEnv.Dispose();
        Folder.Dispose();
    }

    /// <summary>Saves a periodic checkpoint through the run folder (timed, pruned to keep_checkpoints) at its cadence.</summary>
    private sealed class FolderCheckpoints(RunFolder folder, long everySteps) : TrainingCallback
    {
        private long _next;

        public override void OnTrainingStart(Agent agent, long totalSteps) => _next = Cadence.Next(agent?.StepsDone ?? 0, everySteps);

        public override bool OnUpdate(Agent agent, TrainingMetrics metrics)
        {
            ArgumentNullException.ThrowIfNull(agent);
            if (agent.StepsDone < _next) return true;
            _next = Cadence.Next(agent.StepsDone, everySteps);
            folder.SaveCheckpoint(agent.StepsDone, agent.Save);
            return true;
        }
    }
}
