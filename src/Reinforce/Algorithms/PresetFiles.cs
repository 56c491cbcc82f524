using System.Reflection;
using System.Text.Json;

namespace Reinforce.Algorithms;

/// <summary>
/// The tuned settings shipped with the library, one JSON file per environment (the repository's <c>presets/</c>
/// folder, embedded in the assembly): readable files a user can copy and edit, as rl-baselines3-zoo's
/// hyperparameter files. Each holds run settings (n_envs, total_steps, evaluation) and one section per algorithm.
/// </summary>
public static class PresetFiles
{
    private const string Prefix = "Reinforce.Presets.";

    /// <summary>The environment ids that have a preset, sorted. (A '/' in an id, as in MinAtar/Breakout-v1, is '_' in the preset file's name.)</summary>
    public static IReadOnlyList<string> Names { get; } = typeof(PresetFiles).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal))
        .Select(n => n[Prefix.Length..^".json".Length].Replace('_', '/'))
        .Order(StringComparer.OrdinalIgnoreCase)
        .ToArray();

    /// <summary>Whether <paramref name="envId"/> has a preset (ids match case-insensitively).</summary>
    public static bool Exists(string envId) => Resolve(envId) is not null;

    /// <summary>The preset file's text for <paramref name="envId"/>; throws a <see cref="ConfigurationException"/> listing the presets when there is none.</summary>
    public static string Read(string envId)
    {
        ArgumentNullException.ThrowIfNull(envId);
        var name = Resolve(envId) ?? throw new ConfigurationException(
            $"There is no preset for '{envId}'. Presets exist for: {string.Join(", ", Names)}. Pass your own settings with --config FILE (copy one of presets/*.json to start).");
        using var stream = typeof(PresetFiles).Assembly.GetManifestResourceStream(Prefix + name.Replace('/', '_') + ".json")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The section of the preset for <paramref name="envId"/> for the algorithm whose settings are <typeparamref name="T"/>.</summary>
    public static T Section<T>(string envId) where T : OnPolicyOptions
    {
        string section = AlgorithmRegistry.ForOptions(typeof(T)).Name;
        string text = Read(envId);
        using var document = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (!document.RootElement.TryGetProperty(section, out var element))
            throw new ConfigurationException($"The preset for '{envId}' has no '{section}' section; it has settings for: {string.Join(", ", document.RootElement.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Object).Select(p => p.Name))}.");
        return ConfigJson.Parse<T>(element, section, $"preset {Resolve(envId)}");
    }

    private static string? Resolve(string envId) => Names.FirstOrDefault(n => string.Equals(n, envId, StringComparison.OrdinalIgnoreCase));
}

public sealed partial class PpoOptions
{
    /// <summary>The tuned PPO settings of the preset for <paramref name="envId"/> (for example "CartPole-v1").</summary>
    public static PpoOptions For(string envId) => PresetFiles.Section<PpoOptions>(envId);
}

public sealed partial class A2cOptions
{
    /// <summary>The tuned A2C settings of the preset for <paramref name="envId"/>.</summary>
    public static A2cOptions For(string envId) => PresetFiles.Section<A2cOptions>(envId);
}

public sealed partial class VpgOptions
{
    /// <summary>The tuned REINFORCE settings of the preset for <paramref name="envId"/>.</summary>
    public static VpgOptions For(string envId) => PresetFiles.Section<VpgOptions>(envId);
}
