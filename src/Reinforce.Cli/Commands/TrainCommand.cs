using System.CommandLine;
using Reinforce.Distributed;
using System.Diagnostics;
using System.Globalization;
using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.IO;
using Reinforce.Training;
using Spectre.Console;
using Reinforce.Envs.ClassicControl;

namespace Reinforce.Cli.Commands;

/// <summary>
/// `reinforce train &lt;env&gt;`: trains an agent with the environment's preset (or a config file), writing a run
/// folder (config, metrics CSV, TensorBoard events, checkpoints, learning curve).
/// </summary>
internal static partial class TrainCommand
{
    public static Command Create()
    {
        var env = new Argument<string?>("env") { Description = "Environment id (see `reinforce list`); its preset gives the settings.", Arity = ArgumentArity.ZeroOrOne };
        var algo = AlgoOption("the preset's");
        var steps = new Option<long?>("--steps") { Description = "Training budget in environment steps (default: the preset's total_steps)." };
        var seed = new Option<int?>("--seed") { Description = "Seed for weights, sampling and environments (default: the preset's)." };
        var envs = new Option<int?>("--envs") { Description = "Number of environments stepped together (default: the preset's n_envs)." };
        var config = new Option<string?>("--config") { Description = "A config file (copy one of presets/*.json or a run's config.json)." };
        var output = new Option<string?>("--out") { Description = "Run folder to create (default: runs/<env>-<algo>-seed<seed>-<time>)." };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder from its latest checkpoint." };
        var stopWhenSolved = new Option<bool>("--stop-when-solved") { Description = "Stop as soon as a periodic evaluation reaches the reward threshold." };
        var quiet = new Option<bool>("--quiet") { Description = "Print only the summary." };
        var threads = new Option<int?>("--threads") { Description = "Threads for the network passes (default: the core count; results do not depend on it)." };
        var dashboard = new Option<bool>("--dashboard") { Description = "Serve the live dashboard (127.0.0.1) for the runs folder while training." };
        var port = DashboardCommand.PortOption();
        var envAssembly = EnvironmentAssemblyOption.Create();
        var distributed = new Option<string?>("--distributed") { Description = "Train data-parallel over MPI: start N ranks with `mpirun -np N reinforce train ... --distributed mpi`. Each rank steps its own n_envs copies for total_steps (so the job takes N × total_steps), gradients are averaged at every step, rank 0 writes the run folder." };
        var unity = new Option<bool>("--unity") { Description = "Train the behaviour of a Unity ML-Agents scene: listen on port 5004 (--port, or 5005 + --worker-id for a built player) and press Play." };
        var workerId = new Option<int?>("--worker-id") { Description = "With --unity: the worker id of a built player (port 5005 + id)." };
        var remoteEnv = new Option<string?>("--env") { Description = "Train on copies served by other processes: remote://HOST:PORT, or remote://HOST:PORT,HOST:PORT to spread them (see `reinforce serve-env`). The env argument, if given, names the preset." };
        var command = new Command("train", "Train an agent on an environment and write a run folder.")
        {
            env, algo, steps, seed, envs, config, output, resume, stopWhenSolved, quiet, threads, dashboard, port, remoteEnv, envAssembly, distributed, unity, workerId,
        };
        // The action is split into local functions: the JIT's time grows faster than a method's size, and as one method
        // (2 KB of IL) it took 50-90 ms to compile on every start; as four, about 40 in all.
        command.SetAction(parse =>
        {
            ICommunicator? ranks = null;
            string? scratch = null;
            IAsyncDisposable? server = null;   // typed by its interface: naming the server's type here would load ASP.NET Core to compile this method
            bool follower = false;
            string? assembly = null;
            try
            {
                ranks = DistributedTraining.Start(parse.GetValue(distributed));
                ApplyThreads(parse.GetValue(threads));
                if (parse.GetValue(unity)) return TrainUnity();
                assembly = EnvironmentAssemblyOption.Apply(parse.GetValue(envAssembly));
                follower = ranks is { Rank: > 0 };
                if (follower) scratch = DistributedTraining.ScratchFolder(ranks!);
                // The dashboard first: a busy port is refused before a run folder is made (and left behind, half made).
                if (parse.GetValue(dashboard) && !follower) server = StartDashboard(DashboardRoot(parse.GetValue(resume) ?? parse.GetValue(output)), parse.GetValue(port));
                var (run, followerConfig) = OpenRun();
                return RunToEnd(run, followerConfig);
            }
            catch (Exception ex) when (ex is ConfigurationException or CheckpointFormatException or KeyNotFoundException or IOException or Envs.EnvironmentOutputException or ArgumentException)
            {
                // IOException covers RemoteEnvironmentException: a served environment that died, stalled or sent bad data.
                Console.Error.WriteLine($"error: {ex.Message}");
                if (ex is Envs.Remote.RemoteEnvironmentException) Console.Error.WriteLine("The run folder keeps its checkpoints; continue with `reinforce train --resume RUN_DIR` once the server is back.");
                return 2;
            }
            catch (Exception ex) when (ex is NotSupportedException)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return 2;
            }
            catch (DistributedException ex)
            {
                Console.Error.WriteLine($"error: {(ranks is null ? "" : $"rank {ranks.Rank}: ")}{ex.Message}");
                return 2;
            }
            finally
            {
                server?.DisposeAsync().AsTask().GetAwaiter().GetResult();
                ranks?.Dispose();
                DistributedTraining.Cleanup(scratch);
            }

            int TrainUnity()
            {
                if (ranks is not null) throw new ConfigurationException("--unity trains one scene in one process; leave out --distributed.");
                if (parse.GetValue(env) is not null || parse.GetValue(remoteEnv) is not null || parse.GetValue(resume) is not null || parse.GetValue(dashboard))
                    throw new ConfigurationException("--unity trains the scene that connects; do not combine it with an environment, --env, --resume or --dashboard.");
                return UnityTraining.Run(UnityTraining.Port(parse.GetValue(workerId), parse.GetResult(port) is null ? null : parse.GetValue(port)),
                    parse.GetValue(config), parse.GetValue(algo), parse.GetValue(steps), parse.GetValue(seed), parse.GetValue(output), parse.GetValue(quiet));
            }

            // The run to train: resumed, or new from the environment's preset or --config with the options applied; a rank
            // r > 0 also returns the configuration as given, for the ranks' comparison.
            (TrainingRun Run, string? FollowerConfig) OpenRun()
            {
                string? resumeDir = parse.GetValue(resume);
                if (resumeDir is not null)
                {
                    if (parse.GetValue(env) is not null || parse.GetValue(config) is not null || parse.GetValue(algo) is not null || parse.GetValue(steps) is not null
                        || parse.GetValue(seed) is not null || parse.GetValue(envs) is not null || parse.GetValue(output) is not null)
                        throw new ConfigurationException("--resume continues a run with the settings in its config.json; do not combine it with an environment, --config, --algo, --steps, --seed, --envs or --out.");
                    if (follower)
                    {
                        var original = TrainingConfig.Load(Path.Combine(resumeDir, TrainingRun.ConfigFile));
                        return (TrainingRun.Follower(original, scratch!, resumeFrom: resumeDir), original.Resolve().ToJson());
                    }
                    var resumed = TrainingRun.Resume(resumeDir);
                    foreach (var note in resumed.Notes) Console.WriteLine($"Note: {note}");
                    if (!resumed.IsFinished) Console.WriteLine($"Resuming {resumed.Directory} at step {resumed.Agent.StepsDone:N0} of {resumed.Config.TotalSteps:N0}.");
                    return (resumed, null);
                }
                string? remote = parse.GetValue(remoteEnv);
                var cfg = remote is null
                    ? BuildConfig(parse.GetValue(env), parse.GetValue(config), parse.GetValue(algo), parse.GetValue(steps), parse.GetValue(seed), parse.GetValue(envs))
                    : BuildRemoteConfig(remote, parse.GetValue(env), parse.GetValue(config), parse.GetValue(algo), parse.GetValue(steps), parse.GetValue(seed), parse.GetValue(envs));
                if (parse.GetValue(stopWhenSolved)) cfg.Eval.StopWhenSolved = true;
                if (assembly is not null) cfg.EnvAssembly = assembly;
                if (follower) return (TrainingRun.Follower(cfg, scratch!), cfg.Resolve().ToJson());
                var run = TrainingRun.Create(cfg, parse.GetValue(output));
                Console.WriteLine($"Training {run.Config.Algo.ToUpperInvariant()} on {run.Config.Env} for {run.Config.TotalSteps:N0} steps " +
                    $"({run.Config.NumEnvs} environments, seed {run.Config.Seed}{(ranks is null ? "" : $", on each of {ranks.Size} ranks: {ranks.Description}")}); run folder {run.Directory}");
                return (run, null);
            }

            int RunToEnd(TrainingRun run, string? followerConfig)
            {
                if (ranks is not null) run.JoinRanks(ranks, followerConfig ?? run.Config.ToJson());
                using (run)
                {
                    if (follower)
                    {
                        run.Agent.Learn(run.Config.TotalSteps);
                        return 0;
                    }
                    var result = run.IsFinished ? run.Run() : Train(run, parse.GetValue(quiet));
                    PrintSummary(run, result);
                    if (ranks is not null) Console.WriteLine(DistributedTraining.Summary(ranks, run));
                    if (server is Dashboard.DashboardServer dashboardServer && !Console.IsInputRedirected)
                    {
                        Console.WriteLine($"Training finished; the dashboard stays at {dashboardServer.Address} until you press Enter.");
                        Console.ReadLine();
                    }
                }
                return 0;
            }
        });
        return command;
    }

    /// <summary>The folder that holds the run (--resume's or --out's parent, else the default runs folder), so earlier runs show beside it.</summary>
    private static string DashboardRoot(string? runFolder) =>
        runFolder is null ? Path.GetFullPath(TrainingRun.DefaultRunsRoot) : Path.GetDirectoryName(Path.GetFullPath(runFolder)) ?? runFolder;

    /// <summary>Serves the dashboard for <paramref name="root"/>.</summary>
    private static Dashboard.DashboardServer StartDashboard(string root, int port)
    {
        var server = Dashboard.DashboardServer.StartAsync(root, port).GetAwaiter().GetResult();
        Console.WriteLine($"Dashboard: {server.Address} (runs in {root})");
        return server;
    }

    /// <summary>
    /// The --algo option: any registered algorithm (checked in <see cref="BuildConfig"/>, so an unknown name is a
    /// configuration error, exit code 2, that lists the registered ones).
    /// </summary>
    internal static Option<string?> AlgoOption(string fallback) =>
        new("--algo") { Description = $"Algorithm: {string.Join(", ", AlgorithmRegistry.Names)} (default: {fallback})." };

    /// <summary>Sets <see cref="Tensors.Kernels.MaxThreads"/> from --threads.</summary>
    internal static void ApplyThreads(int? threads)
    {
        if (threads is null) return;
        if (threads < 1) throw new ConfigurationException("--threads", $"is {threads}; use 1 or more.");
        Tensors.Kernels.MaxThreads = threads.Value;
    }

    /// <summary>The config from a file or the environment's preset, with command-line overrides applied.</summary>
    internal static TrainingConfig BuildConfig(string? envId, string? configFile, string? algo, long? steps, int? seed, int? envs)
    {
        TrainingConfig cfg;
        if (configFile is not null)
        {
            cfg = TrainingConfig.Load(configFile);
            if (envId is not null) cfg.Env = envId;
        }
        else if (envId is null)
        {
            throw new ConfigurationException("Name an environment (for example `reinforce train CartPole-v1`), or pass --config FILE or --resume RUN_DIR. `reinforce list` shows the environments.");
        }
        else if (TrainingConfig.HasPreset(envId))
        {
            cfg = TrainingConfig.Preset(envId);
        }
        else
        {
            if (!Environments.IsRegistered(envId))
                throw new ConfigurationException("env", $"\"{envId}\" is not a registered environment. `reinforce list` shows them.");
            Console.WriteLine($"Note: no preset for {envId}; using the algorithm's default settings (write your own with --config).");
            cfg = new TrainingConfig { Env = envId };
        }
        if (algo is not null) cfg.Algo = AlgorithmRegistry.Get(algo, "--algo").Name;
        if (steps is not null) cfg.TotalSteps = steps.Value;
        if (seed is not null) cfg.Seed = seed.Value;
        if (envs is not null && envs.Value != cfg.NumEnvs)
        {
            // e.g. PPO keeps its number of minibatches per epoch when the rollout grows or shrinks with the environment count.
            if (cfg.Section(cfg.Algo)?.AdaptToEnvironmentCount(cfg.NumEnvs, envs.Value) is string note) Console.WriteLine(note);
            cfg.NumEnvs = envs.Value;
        }
        return cfg;
    }

    /// <summary>Switches the CLI's multicore-JIT profile when training ends (<see cref="Program.SwitchJitProfile"/>).</summary>
    private sealed class EndOfTrainingJitProfile : TrainingCallback
    {
        public override void OnTrainingEnd(Agent agent) => Program.SwitchJitProfile("finish");
    }

    private static TrainingResult Train(TrainingRun run, bool quiet)
    {
        var profile = new EndOfTrainingJitProfile();
        if (quiet) return run.Run([profile]);
        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
            return run.Run([profile, new ProgressLines(Console.Out, every: Math.Max(1, (int)(run.Config.TotalSteps / run.Config.NumEnvs / run.Config.AlgorithmOptions.NumSteps / 20)))]);

        TrainingResult? result = null;
        var live = new LiveProgress(run);
        AnsiConsole.Live(live.Render()).AutoClear(false).Start(context =>
        {
            live.Context = context;
            result = run.Run([profile, live]);
            context.UpdateTarget(live.Render());
        });
        return result!;
    }

    private static void PrintSummary(TrainingRun run, TrainingResult result)
    {
        var c = CultureInfo.InvariantCulture;
        if (result.AlreadyFinished)
        {
            Console.WriteLine($"The run in {run.Directory} has already finished ({result.Steps:N0} of {run.Config.TotalSteps:N0} steps); nothing to train, and its result.json is left as it was.");
            Console.WriteLine($"It took {result.WallSeconds.ToString("F2", c)} s of wall time over {result.Segments} segment(s). Evaluate it with `reinforce eval {run.Directory}`; train longer with a new run (--config {Path.Combine(run.Directory, TrainingRun.ConfigFile)} --steps N --out NEW_FOLDER).");
            return;
        }
        string segments = result.Segments > 1 ? $", {result.Segments} segments" : "";
        Console.WriteLine($"Trained {result.Steps:N0} steps in {result.WallSeconds.ToString("F2", c)} s wall ({result.StepsPerSecond.ToString("N0", c)} steps/s over {result.TrainingSeconds.ToString("F2", c)} s of training; " +
            $"evaluation {result.EvaluationSeconds.ToString("F2", c)} s, checkpoints {result.CheckpointSeconds.ToString("F2", c)} s{segments}).");
        if (result.Final is { } final)
        {
            string verdict = result.RewardThreshold is double t ? (final.Mean >= t ? $" — solved (threshold {t.ToString("G", c)})" : $" — below the threshold {t.ToString("G", c)}") : "";
            Console.WriteLine($"Final evaluation over {final.Returns.Length} episodes ({(run.Config.Eval.Deterministic ? "deterministic" : "stochastic")}): " +
                $"{final.Mean.ToString("F1", c)} ± {final.Std.ToString("F1", c)}{verdict}.");
        }
        Console.WriteLine($"Run folder: {run.Directory} (config.json, metrics.csv, eval.csv, TensorBoard events, learning-curve.svg, checkpoints/, final/).");
    }

    /// <summary>The live progress table (terminal only), refreshed at most every 100 ms so it never slows training.</summary>
    private sealed class LiveProgress(TrainingRun run) : TrainingCallback
    {
        private readonly Stopwatch _sinceRefresh = Stopwatch.StartNew();
        private TrainingMetrics? _last;
        private string _evaluation = "-";

        public Spectre.Console.LiveDisplayContext? Context { get; set; }

        public override void OnTrainingStart(Agent agent, long totalSteps) =>
            run.Evaluation.Evaluated += (steps, r) => _evaluation = $"{r.Mean.ToString("F1", CultureInfo.InvariantCulture)} ± {r.Std.ToString("F1", CultureInfo.InvariantCulture)} at step {steps:N0}";

        public override bool OnUpdate(Agent agent, TrainingMetrics metrics)
        {
            _last = metrics;
            if (_sinceRefresh.ElapsedMilliseconds >= 100 && Context is not null)
            {
                Context.UpdateTarget(Render());
                _sinceRefresh.Restart();
            }
            return true;
        }

        public Table Render()
        {
            var c = CultureInfo.InvariantCulture;
            var table = new Table().Border(TableBorder.Rounded).HideHeaders().AddColumn("what").AddColumn("value");
            table.Title = new TableTitle($"{run.Config.Algo.ToUpperInvariant()} on {run.Config.Env}");
            var m = _last;
            double fraction = m is null ? 0 : Math.Min(1.0, (double)m.Steps / Math.Max(m.TotalSteps, 1));
            int filled = (int)(fraction * 30);
            table.AddRow("progress", $"[green]{new string('█', filled)}[/]{new string('░', 30 - filled)} {(fraction * 100).ToString("F0", c)}%");
            table.AddRow("steps", m is null ? "-" : $"{m.Steps:N0} / {m.TotalSteps:N0}");
            table.AddRow("steps/s", m is null ? "-" : m.StepsPerSecond.ToString("N0", c));
            table.AddRow("mean return (last 100)", m?.EpisodeReturnMean is double r ? r.ToString("F1", c) : "-");
            table.AddRow("evaluation", Markup.Escape(_evaluation));
            void Add(string label, string tag, string format) =>
                table.AddRow(label, m?[tag] is double v ? v.ToString(format, c) : "-");
            Add("policy loss", "train/policy_loss", "G4");
            Add("value loss", "train/value_loss", "G4");
            Add("entropy", "train/entropy", "F3");
            Add("approx KL", "train/approx_kl", "G3");
            Add("clip fraction", "train/clip_fraction", "F3");
            table.AddRow("time left", m is null ? "-" : ProgressLines.FormatTime(ProgressLines.TimeLeft(m)));
            return table;
        }
    }
}
