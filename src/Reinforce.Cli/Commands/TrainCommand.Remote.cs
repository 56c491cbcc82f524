using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.Envs.Remote;
using Reinforce.Training;

namespace Reinforce.Cli.Commands;

internal static partial class TrainCommand
{
    /// <summary>
    /// The config for training on a remote environment: the preset of <paramref name="presetId"/>, else of the id the
    /// server announces (when there is one), else the algorithm's defaults; <c>env</c> becomes the remote address so
    /// that <c>--resume</c> reconnects.
    /// </summary>
    internal static TrainingConfig BuildRemoteConfig(string address, string? presetId, string? configFile, string? algo, long? steps, int? seed, int? envs)
    {
        RemoteAddress.Parse(address);
        string? id = presetId;
        if (id is null && configFile is null)
        {
            var info = RemoteVectorEnv.Probe(address);
            Console.WriteLine($"{address} serves {info.EnvId} ({info.ObservationSpace}, {info.ActionSpace}) from '{info.Server}'.");
            id = info.EnvId;
        }
        TrainingConfig cfg;
        if (configFile is not null || (id is not null && (TrainingConfig.HasPreset(id) || Environments.IsRegistered(id))))
        {
            cfg = BuildConfig(id, configFile, algo, steps, seed, envs);
        }
        else
        {
            Console.WriteLine($"Note: no preset for {id}; using the algorithm's default settings (write your own with --config).");
            cfg = new TrainingConfig { Env = address };
            if (algo is not null) cfg.Algo = algo;
            if (steps is not null) cfg.TotalSteps = steps.Value;
            if (seed is not null) cfg.Seed = seed.Value;
            if (envs is not null) cfg.NumEnvs = envs.Value;
        }
        cfg.Env = address;
        return cfg;
    }
}

/// <summary>`reinforce train --unity`: trains the behaviour of a Unity ML-Agents scene, Reinforce playing the trainer side of ML-Agents' communicator.</summary>
internal static class UnityTraining
{
    /// <summary>How long to wait for the editor's Play button (or the player) before giving up.</summary>
    public static TimeSpan WaitForUnity { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The port to listen on: --port (default <c>UnityVectorEnv.DefaultPort</c>), or a built player's by its --worker-id.</summary>
    public static int Port(int? workerId, int? port) => Servers.Unity.UnityVectorEnv.PortFor(workerId, port ?? Servers.Unity.UnityVectorEnv.DefaultPort);

    public static int Run(int port, string? configFile, string? algo, long? steps, int? seed, string? output, bool quiet, Action<int>? listening = null)
    {
        var cfg = configFile is not null ? TrainingConfig.Load(configFile) : new TrainingConfig { TotalSteps = 100_000 };
        cfg.Env = "unity";
        if (algo is not null) cfg.Algo = algo;
        if (steps is not null) cfg.TotalSteps = steps.Value;
        if (seed is not null) cfg.Seed = seed.Value;
        using var env = Servers.Unity.UnityVectorEnv.Listen(port, cfg.Seed, WaitForUnity, TimeSpan.FromSeconds(60), Console.WriteLine, listening);
        cfg.NumEnvs = env.NumEnvs;
        cfg.Env = "unity:" + env.BehaviorName;
        var resolved = cfg.Resolve();
        string name = new(env.BehaviorName.Split('?')[0].Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
        string dir = output ?? Path.Combine(TrainingRun.DefaultRunsRoot, $"unity-{name}-{resolved.Algo}-seed{resolved.Seed}-{DateTime.Now.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture)}");
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
            throw new IOException($"The run folder '{dir}' already exists and is not empty. Pick another --out folder.");
        Directory.CreateDirectory(dir);
        IO.AtomicFile.WriteAllText(Path.Combine(dir, TrainingRun.ConfigFile), resolved.ToJson() + "\n");
        using var agent = TrainingRun.CreateAgent(resolved, env);
        var callbacks = new List<TrainingCallback>
        {
            new CheckpointCallback(Path.Combine(dir, "checkpoints"), resolved.CheckpointEverySteps > 0 ? resolved.CheckpointEverySteps : long.MaxValue),
        };
        if (!quiet) callbacks.Add(new ProgressLines(Console.Out, every: 5));
        Console.WriteLine($"Training {resolved.Algo.ToUpperInvariant()} on Unity behaviour '{env.BehaviorName}' ({env.NumEnvs} agents) for {resolved.TotalSteps:N0} steps; run folder {dir}");
        agent.Learn(resolved.TotalSteps, callbacks);
        agent.Save(Path.Combine(dir, "final"));
        var export = Export.PolicyExporter.Export(agent, new Export.OnnxExportOptions { Unity = true });
        string onnx = Path.Combine(dir, name + ".onnx");
        IO.AtomicFile.WriteAllBytes(onnx, export.Model);
        Console.WriteLine($"Trained {agent.StepsDone:N0} agent steps. Policy for Unity: {onnx} (drop it into the agent's Behavior Parameters > Model).");
        return 0;
    }
}
