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
