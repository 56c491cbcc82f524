using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.IO;
using Reinforce.Envs.ClassicControl;
using Reinforce.Envs.Vector;

namespace Reinforce.Training;

/// <summary>The outcome of <see cref="TrainingRun.Run"/>.</summary>
/// <param name="Steps">Environment steps trained.</param>
/// <param name="TrainingSeconds">Wall-clock seconds spent training (rollouts and updates; evaluations and checkpoints excluded).</param>
/// <param name="EvaluationSeconds">Wall-clock seconds spent in periodic and final evaluations.</param>
/// <param name="StepsPerSecond">Steps trained in this call per training second.</param>
/// <param name="Final">The final evaluation (null when disabled).</param>
/// <param name="RewardThreshold">The reward that counts as solved (null when the environment has none).</param>
/// <param name="SolvedAtSteps">The step count of the first evaluation at or above the threshold (null if none).</param>
/// <param name="FinalCheckpoint">The folder of the final checkpoint.</param>
public sealed record TrainingResult(long Steps, double TrainingSeconds, double EvaluationSeconds, double StepsPerSecond,
    EvaluationResult? Final, double? RewardThreshold, long? SolvedAtSteps, string FinalCheckpoint)
{
    /// <summary>Whether the final evaluation reached the threshold.</summary>
    public bool Solved => Final is not null && RewardThreshold is double t && Final.Mean >= t;
}

/// <summary>
/// A training run and its folder: the complete configuration (<c>config.json</c>, enough to reproduce the run),
/// metrics per update (<c>metrics.csv</c> and a TensorBoard event file), evaluations (<c>eval.csv</c>),
/// periodic checkpoints (<c>checkpoints/step-N/</c>), the final checkpoint (<c>final/</c>), the final evaluation
/// (<c>result.json</c>) and a learning curve (<c>learning-curve.svg</c>). <see cref="Resume"/> continues an
/// interrupted run from its latest checkpoint, giving the same result as an uninterrupted run.
/// </summary>
public sealed class TrainingRun : IDisposable
{
    /// <summary>The configuration file's name in a run folder.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>The per-update metrics file's name in a run folder (what <c>reinforce dashboard</c> reads).</summary>
    public const string MetricsFile = "metrics.csv";

    private readonly IVectorEnv _env;
    private readonly IVectorEnv _evalEnv;

    private TrainingRun(string directory, TrainingConfig config, OnPolicyAgent agent, IVectorEnv env)
    {
        Directory = directory;
        Config = config;
        Agent = agent;
        _env = env;
        RewardThreshold = config.RewardThreshold ?? (Environments.IsRegistered(config.Env) ? Environments.Spec(config.Env).RewardThreshold : null);
        _evalEnv = Environments.MakeVector(config.Env, Math.Min(config.Eval.Episodes, 10), Rng.DeriveSeed(unchecked((ulong)config.Seed), 3));
        Evaluation = new EvalCallback(_evalEnv, config.Eval.EverySteps > 0 ? config.Eval.EverySteps : long.MaxValue, config.Eval.Episodes,
            config.Eval.Deterministic, config.Eval.StopWhenSolved ? RewardThreshold : null, Rng.DeriveSeed(unchecked((ulong)config.Seed), 4));
    }

    /// <summary>The run folder.</summary>
    public string Directory { get; }

    /// <summary>The resolved configuration.</summary>
    public TrainingConfig Config { get; }

    /// <summary>The agent being trained.</summary>
    public OnPolicyAgent Agent { get; }

    /// <summary>The reward that counts as solved (the config's, else the environment's registered one).</summary>
    public double? RewardThreshold { get; }

    /// <summary>The periodic evaluation (its history feeds the learning curve).</summary>
    public EvalCallback Evaluation { get; }

    /// <summary>The default folder for runs.</summary>
    public static string DefaultRunsRoot => "runs";

    /// <summary>
    /// Starts a new run of <paramref name="config"/> (resolved and validated) in <paramref name="directory"/>, or in a
    /// new folder <c>runs/{env}-{algo}-seed{seed}-{time}</c>. Writes <c>config.json</c> at once.
    /// </summary>
    public static TrainingRun Create(TrainingConfig config, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var resolved = config.Resolve();
        if (!Environments.IsRegistered(resolved.Env))
            throw new ConfigurationException("env", $"\"{resolved.Env}\" is not a registered environment. Registered: {string.Join(", ", Environments.Specs.Select(s => s.Id))}.");
        directory ??= Path.Combine(DefaultRunsRoot, $"{resolved.Env}-{resolved.Algo}-seed{resolved.Seed}-{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}");
        if (System.IO.Directory.Exists(directory) && System.IO.Directory.EnumerateFileSystemEntries(directory).Any())
            throw new IOException($"The run folder '{directory}' already exists and is not empty. Pick another --out folder, or continue that run with --resume {directory}.");
        System.IO.Directory.CreateDirectory(directory);
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFile), resolved.ToJson() + "\n");
        var env = Environments.MakeVector(resolved.Env, resolved.NumEnvs, unchecked((ulong)resolved.Seed));
        var agent = CreateAgent(resolved, env);
        return new TrainingRun(directory, resolved, agent, env);
    }

    /// <summary>Makes the agent a config describes, for <paramref name="env"/>.</summary>
    public static OnPolicyAgent CreateAgent(TrainingConfig config, IVectorEnv env)
    {
        ArgumentNullException.ThrowIfNull(config);
        OnPolicyAgent agent = config.AlgorithmOptions switch
        {
            PpoOptions p => new Ppo(env, p),
            A2cOptions a => new A2c(env, a),
            VpgOptions v => new Vpg(env, v),
            _ => throw new ConfigurationException("algo", $"is \"{config.Algo}\"; use ppo, a2c or vpg."),
        };
        agent.EnvironmentId = config.Env;
        return agent;
    }

    /// <summary>
    /// Continues the run in <paramref name="directory"/> from its latest checkpoint (the newest of
    /// <c>checkpoints/step-N</c>), discarding metrics logged after it, so the finished run equals an uninterrupted one.
    /// </summary>
    public static TrainingRun Resume(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string configPath = Path.Combine(directory, ConfigFile);
        if (!File.Exists(configPath))
            throw new ConfigurationException($"'{directory}' is not a run folder (it has no {ConfigFile}). Pass the folder `reinforce train` created, e.g. runs/CartPole-v1-ppo-seed1-....");
        var config = TrainingConfig.Load(configPath).Resolve();
        string? latest = LatestCheckpoint(directory)
            ?? throw new ConfigurationException($"The run '{directory}' has no checkpoint to resume from (checkpoints/step-N/ or final/). Start it again with --config {configPath}.");
        var env = Environments.MakeVector(config.Env, config.NumEnvs, unchecked((ulong)config.Seed));
        var agent = Checkpoint.Load(latest, env);
        agent.EnvironmentId = config.Env;
        var run = new TrainingRun(directory, config, agent, env);
        run.TrimLogsAfter(agent.StepsDone);
        return run;
    }

    /// <summary>The newest checkpoint folder of a run (null when there is none).</summary>
    public static string? LatestCheckpoint(string directory)
    {
        var candidates = new List<string>();
        string checkpoints = Path.Combine(directory, "checkpoints");
        if (System.IO.Directory.Exists(checkpoints)) candidates.AddRange(System.IO.Directory.GetDirectories(checkpoints, "step-*").Where(Checkpoint.Exists));
        string final = Path.Combine(directory, "final");
        if (Checkpoint.Exists(final)) candidates.Add(final);
        return candidates.OrderBy(Checkpoint.StepsOf).ThenBy(c => c == final ? 1 : 0).LastOrDefault();
    }

    /// <summary>
    /// Trains to <c>total_steps</c> (or until solved, with <c>eval.stop_when_solved</c>), logging and checkpointing
    /// into the run folder, then saves <c>final/</c>, evaluates, and writes <c>result.json</c> and the learning curve.
    /// </summary>
    public TrainingResult Run(IEnumerable<TrainingCallback>? extraCallbacks = null)
    {
        var tensorBoard = new TensorBoardWriter(Directory);
        using var logger = new MetricsLogger(CsvLogger.ForMetrics(Path.Combine(Directory, MetricsFile)), tensorBoard);
        var csvPath = Path.Combine(Directory, "eval.csv");
        using var evalCsv = new CsvLogger(csvPath, ["step", "mean_reward", "std_reward", "min_reward", "max_reward", "mean_length", "episodes", "final"]);
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
        var checkpoints = new CheckpointCallback(Path.Combine(Directory, "checkpoints"), Config.CheckpointEverySteps > 0 ? Config.CheckpointEverySteps : long.MaxValue);
        var checkpointClock = new Stopwatch();
        // Evaluation first: it adds its results to the update's metrics, which the logger then writes as one row.
        var callbacks = new List<TrainingCallback> { Evaluation, new MetricsCallback(logger), new TimedCallback(checkpoints, checkpointClock) };
        if (extraCallbacks is not null) callbacks.AddRange(extraCallbacks);

        long startSteps = Agent.StepsDone;
        var evaluationBefore = Evaluation.EvaluationTime;
        var clock = Stopwatch.StartNew();
        try
        {
            Agent.Learn(Config.TotalSteps, callbacks);
            clock.Stop();
            double trainingSeconds = (clock.Elapsed - (Evaluation.EvaluationTime - evaluationBefore) - checkpointClock.Elapsed).TotalSeconds;

            string finalDir = Path.Combine(Directory, "final");
            Agent.Save(finalDir);
            EvaluationResult? final = Config.Eval.FinalEpisodes > 0 ? Evaluation.Run(Agent, Config.Eval.FinalEpisodes, final: true) : null;
            var result = new TrainingResult(Agent.StepsDone, trainingSeconds, Evaluation.EvaluationTime.TotalSeconds,
                (Agent.StepsDone - startSteps) / Math.Max(trainingSeconds, 1e-9), final, RewardThreshold, Evaluation.SolvedAtSteps, finalDir);
            WriteResult(result);
            logger.Flush();
            WriteLearningCurve();
            return result;
        }
        finally
        {
            Evaluation.Evaluated -= OnEvaluated;
        }
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
            ["steps"] = result.Steps,
            ["training_seconds"] = result.TrainingSeconds,
            ["evaluation_seconds"] = result.EvaluationSeconds,
            ["steps_per_second"] = result.StepsPerSecond,
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
        AtomicFile.WriteAllText(Path.Combine(Directory, "result.json"), node.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Drops log rows written after <paramref name="steps"/> (by the interrupted part of a resumed run).</summary>
    private void TrimLogsAfter(long steps)
    {
        foreach (var name in new[] { MetricsFile, "eval.csv" })
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
            foreach (var line in lines.Skip(1))
            {
                var cells = line.Split(',');
                if (cells.Length > stepColumn && double.TryParse(cells[stepColumn], NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s > steps) continue;
                if (finalColumn >= 0 && cells.Length > finalColumn && cells[finalColumn] == "1") continue;   // the interrupted run's final evaluation
                kept.Append(line).Append('\n');
            }
            AtomicFile.WriteAllText(path, kept.ToString());
        }
        string evalPath = Path.Combine(Directory, "eval.csv");
        if (File.Exists(evalPath))
        {
            // Later evaluations draw from the seed after the last one kept; "solved" is remembered.
            var table = CsvLogger.Read(evalPath);
            var evalSteps = table.Rows.Count == 0 ? [] : table.Column("step");
            var means = table.Rows.Count == 0 ? [] : table.Column("mean_reward");
            long? solved = null;
            for (int i = 0; i < means.Length; i++)
                if (Evaluation.StopAtReward is double t && means[i] >= t) { solved = (long)evalSteps[i]; break; }
            Evaluation.Restore(table.Rows.Count, solved);
        }
    }

    /// <summary>Disposes the environments the run made.</summary>
    public void Dispose()
    {
        Agent.Dispose();
        _env.Dispose();
        _evalEnv.Dispose();
    }

    /// <summary>Times another callback's work (checkpoint saving is not training time).</summary>
    private sealed class TimedCallback(TrainingCallback inner, Stopwatch clock) : TrainingCallback
    {
        public override void OnTrainingStart(Agent agent, long totalSteps) => inner.OnTrainingStart(agent, totalSteps);

        public override bool OnUpdate(Agent agent, TrainingMetrics metrics)
        {
            clock.Start();
            try { return inner.OnUpdate(agent, metrics); }
            finally { clock.Stop(); }
        }

        public override void OnTrainingEnd(Agent agent) => inner.OnTrainingEnd(agent);
    }
}
