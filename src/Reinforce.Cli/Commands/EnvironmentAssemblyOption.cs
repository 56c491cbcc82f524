using System.CommandLine;
using Reinforce.Envs;

namespace Reinforce.Cli.Commands;

/// <summary>The <c>--env-assembly</c> option shared by train, check-env, eval and export: loads a user's environments.</summary>
internal static class EnvironmentAssemblyOption
{
    /// <summary>A new <c>--env-assembly</c> option.</summary>
    public static Option<string?> Create() => new("--env-assembly")
    {
        Description = "A .dll of your own environments (classes marked [RegisterEnvironment(\"MyEnv-v0\")] or an IEnvironmentRegistration) to load and register first.",
    };

    /// <summary>
    /// Loads the assembly a run recorded (<c>env_assembly</c> in the <c>config.json</c> of <paramref name="target"/>, a
    /// run folder or a checkpoint inside one), so eval and export of a run on a user's environment need no option.
    /// </summary>
    public static void ApplyFromRun(string? target)
    {
        if (string.IsNullOrEmpty(target) || !Directory.Exists(target)) return;
        // The run folder itself, or final/ or checkpoints/step-N/ inside one.
        var dir = new DirectoryInfo(Path.GetFullPath(target));
        for (int level = 0; level < 3 && dir is not null; level++, dir = dir.Parent)
        {
            string config = Path.Combine(dir.FullName, Reinforce.Training.RunFolder.ConfigFile);
            if (!File.Exists(config)) continue;
            string? recorded;
            try { recorded = Reinforce.Training.TrainingConfig.Load(config).EnvAssembly; }
            catch (Reinforce.Algorithms.ConfigurationException) { return; }   // the checkpoint's own checks will speak
            if (recorded is not null) EnvironmentAssembly.Load(recorded);
            return;
        }
    }

    /// <summary>Loads the assembly (when given) and returns its full path; errors are <see cref="ArgumentException"/>s that name the fix.</summary>
    public static string? Apply(string? path)
    {
        if (path is null) return null;
        EnvironmentAssembly.Load(path);
        return Path.GetFullPath(path);
    }
}
