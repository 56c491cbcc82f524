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

    /// <summary>Loads the assembly (when given) and returns its full path; errors are <see cref="ArgumentException"/>s that name the fix.</summary>
    public static string? Apply(string? path)
    {
        if (path is null) return null;
        EnvironmentAssembly.Load(path);
        return Path.GetFullPath(path);
    }
}
