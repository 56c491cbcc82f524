using System.Text.Json;

namespace Reinforce.Tests.Envs;

/// <summary>The Gymnasium 1.4.0 reference trajectories of Data/gymnasium-classic-control.jsonl (see Data/REFERENCE.md).</summary>
internal static class GymnasiumReference
{
    public sealed record Step(double[] Action, double[] Observation, double Reward, bool Terminated, bool Truncated);

    public sealed record Trajectory(int Index, string Env, double[] InitialState, Step[] Steps);

    private static readonly Lazy<Trajectory[]> s_all = new(Load);

    public static IReadOnlyList<Trajectory> All => s_all.Value;

    private static Trajectory[] Load()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Data", "gymnasium-classic-control.jsonl");
        return Parse(File.ReadLines(path), path);
    }

    /// <summary>Parses trajectory lines; a trajectory with no steps is refused (replaying it would check nothing).</summary>
    internal static Trajectory[] Parse(IEnumerable<string> lines, string path)
    {
        var result = new List<Trajectory>();
        foreach (string line in lines)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var steps = new List<Step>();
            foreach (var s in root.GetProperty("steps").EnumerateArray())
            {
                var a = s.GetProperty("action");
                double[] action = a.ValueKind == JsonValueKind.Array ? a.EnumerateArray().Select(x => x.GetDouble()).ToArray() : [a.GetDouble()];
                steps.Add(new Step(action,
                    s.GetProperty("obs").EnumerateArray().Select(x => x.GetDouble()).ToArray(),
                    s.GetProperty("reward").GetDouble(),
                    s.GetProperty("terminated").GetBoolean(),
                    s.GetProperty("truncated").GetBoolean()));
            }
            if (steps.Count == 0)
                throw new InvalidDataException($"{path}: trajectory {result.Count} ({root.GetProperty("env").GetString()}) has no steps, so replaying it would check nothing; regenerate the reference data.");
            result.Add(new Trajectory(result.Count, root.GetProperty("env").GetString()!,
                root.GetProperty("initial_state").EnumerateArray().Select(x => x.GetDouble()).ToArray(), steps.ToArray()));
        }
        return result.ToArray();
    }

    /// <summary>xunit rows: (index, env id) so each trajectory is its own test case with a readable name.</summary>
    public static TheoryData<int, string> Cases(params string[] envs)
    {
        var data = new TheoryData<int, string>();
        foreach (var t in All)
        {
            if (envs.Length == 0 || envs.Contains(t.Env)) data.Add(t.Index, t.Env);
        }
        return data;
    }
}
