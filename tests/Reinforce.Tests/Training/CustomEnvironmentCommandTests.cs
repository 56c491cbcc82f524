using System.Text.Json.Nodes;
using Reinforce.Cli;
using Reinforce.Envs;

namespace Reinforce.Tests.Training;

/// <summary>
/// A user's environment trained through the CLI: the CustomEnvironment sample (built with the tests, not referenced)
/// is loaded with --env-assembly, as DESIGN.md's first user would run it.
/// </summary>
[Collection("Console")]
public sealed class CustomEnvironmentCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "reinforce-userenv-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static (int Code, string Out, string Error) Run(params string[] args) => CliRunner.Run(null, args);

    /// <summary>The repository root (holding Reinforce.slnx), found from the test's output folder.</summary>
    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Reinforce.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException($"No Reinforce.slnx above {AppContext.BaseDirectory}.");
    }

    /// <summary>The sample's dll, built by the test project's build (same configuration).</summary>
    internal static string SampleAssembly()
    {
        // The tests run from .../bin/<Configuration>/net10.0[/<runtime>]/.
        var parts = AppContext.BaseDirectory.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        int bin = Array.LastIndexOf(parts, "bin");
        string configuration = bin >= 0 && bin + 1 < parts.Length ? parts[bin + 1] : "Release";
        string path = Path.Combine(RepositoryRoot(), "samples", "CustomEnvironment", "bin", configuration, "net10.0", "CustomEnvironment.dll");
        Assert.True(File.Exists(path), $"The sample should have been built with the tests: {path}");
        return path;
    }

    [Fact]
    public void The_sample_environment_trains_evaluates_and_checks_through_the_cli()
    {
        string dll = SampleAssembly();
        string config = Path.Combine(RepositoryRoot(), "samples", "CustomEnvironment", "thermostat.json");
        string dir = Path.Combine(_root, "thermostat");
        var (code, output, error) = Run("train", "Thermostat-v0", "--env-assembly", dll, "--config", config, "--out", dir, "--quiet");
        Assert.True(code == 0, error + output);
        Assert.Contains("Final evaluation over 32 episodes", output, StringComparison.Ordinal);
        Assert.Equal(Path.GetFullPath(dll), JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!["env_assembly"]!.GetValue<string>());

        // Learned: far better than a random heater (about -750 per day; the sample's rule-based thermostat gets about -170).
        double random = RandomHeaterReturn();
        double learned = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "result.json")))!["final_evaluation"]!["mean_reward"]!.GetValue<double>();
        Assert.True(random < -600, $"random heater {random}");
        Assert.True(learned > -400 && learned > random + 300, $"PPO {learned} vs random {random}");

        (code, output, error) = Run("eval", dir, "--episodes", "8", "--env-assembly", dll);
        Assert.True(code == 0, error);
        Assert.Contains("on Thermostat-v0", output, StringComparison.Ordinal);
        (code, output, error) = Run("eval", Path.Combine(dir, "final"), "--episodes", "8");   // the run's config.json names the assembly
        Assert.True(code == 0, error);
        Assert.Contains("on Thermostat-v0", output, StringComparison.Ordinal);

        (code, output, error) = Run("check-env", "Thermostat-v0", "--env-assembly", dll);
        Assert.True(code == 0, error + output);
        Assert.Contains("no problems found", output, StringComparison.Ordinal);

        // Resuming the finished run trains nothing and leaves result.json as it was (it records env_assembly itself).
        string result = File.ReadAllText(Path.Combine(dir, "result.json"));
        (code, output, error) = Run("train", "--resume", dir);
        Assert.True(code == 0, error);
        Assert.Contains("already finished", output, StringComparison.Ordinal);
        Assert.DoesNotContain("0 steps/s", output, StringComparison.Ordinal);
        Assert.Equal(result, File.ReadAllText(Path.Combine(dir, "result.json")));
    }

    private static double RandomHeaterReturn()
    {
        using var env = Environments.MakeVector("Thermostat-v0", 8, 42);
        var rng = new Rng(7);
        var actions = new int[8];
        var returns = new List<double>();
        while (returns.Count < 32)
        {
            for (int i = 0; i < 8; i++) actions[i] = rng.NextInt(3);
            env.Step(actions);
            foreach (var e in env.CompletedEpisodes) returns.Add(e.Return);
        }
        return returns.Average();
    }

    [Fact]
    public void A_missing_wrong_or_empty_environment_assembly_is_a_clear_error()
    {
        Directory.CreateDirectory(_root);
        var (code, _, error) = Run("train", "Thermostat-v0", "--env-assembly", Path.Combine(_root, "NoSuch.dll"), "--out", Path.Combine(_root, "a"));
        Assert.Equal(2, code);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);

        string text = Path.Combine(_root, "notes.dll");
        File.WriteAllText(text, "not an assembly");
        (code, _, error) = Run("check-env", "Thermostat-v0", "--env-assembly", text);
        Assert.Equal(2, code);
        Assert.Contains("not a .NET assembly", error, StringComparison.Ordinal);

        // The library itself is a .NET assembly that declares no environment to register.
        string library = typeof(Environments).Assembly.Location;
        (code, _, error) = Run("eval", Path.Combine(_root, "b"), "--env-assembly", library);
        Assert.Equal(2, code);
        Assert.Contains("registers no environment", error, StringComparison.Ordinal);
        Assert.Contains("[RegisterEnvironment", error, StringComparison.Ordinal);
    }
}
