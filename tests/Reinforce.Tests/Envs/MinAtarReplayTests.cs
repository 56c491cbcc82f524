using System.IO.Compression;
using System.Text.Json;
using Reinforce.Envs.MinAtar;
using Reinforce.Envs.Vector;

namespace Reinforce.Tests.Envs;

/// <summary>
/// The original Python MinAtar's trajectories (Data/minatar-trajectories.jsonl.gz, written by
/// tools/minatar/record_minatar.py with numpy 1.24.2 and kenjyoung/MinAtar at 4241f24), replayed frame by frame:
/// every state, reward, terminal flag and difficulty level must be identical. The C# games draw from a bit-exact
/// copy of numpy's RandomState, so no draw needs to be injected.
/// </summary>
public class MinAtarReplayTests
{
    private sealed record Step(int Action, int Reward, bool Terminal, int Ramp, byte[] State);

    private sealed record Episode(byte[] Initial, Step[] Steps);

    private sealed record Run(string Game, JsonElement Seed, double Sticky, bool Ramping, Episode[] Episodes);

    private static readonly Lazy<(Run[] Runs, JsonElement Draws)> s_data = new(Load);

    private static (Run[], JsonElement) Load()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Data", "minatar-trajectories.jsonl.gz");
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
        var runs = new List<Run>();
        JsonElement draws = default;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            var root = JsonDocument.Parse(line).RootElement;
            if (root.TryGetProperty("draws", out var d))
            {
                draws = d;
                continue;
            }
            int channels = 0;
            var episodes = root.GetProperty("episodes").EnumerateArray().Select(e => new Episode(
                Unpack(e.GetProperty("initial").GetString()!),
                e.GetProperty("steps").EnumerateArray().Select(s => new Step(s[0].GetInt32(), s[1].GetInt32(), s[2].GetInt32() != 0, s[3].GetInt32(), Unpack(s[4].GetString()!))).ToArray())).ToArray();
            _ = channels;
            runs.Add(new Run(root.GetProperty("game").GetString()!, root.GetProperty("seed"), root.GetProperty("sticky").GetDouble(), root.GetProperty("ramping").GetBoolean(), episodes));
        }
        return (runs.ToArray(), draws);
    }

    /// <summary>np.unpackbits of the hex string: one byte (0/1) per cell, channels first.</summary>
    private static byte[] Unpack(string hex)
    {
        var packed = Convert.FromHexString(hex);
        var bits = new byte[packed.Length * 8];
        for (int i = 0; i < bits.Length; i++) bits[i] = (byte)((packed[i / 8] >> (7 - i % 8)) & 1);
        return bits;
    }

    public static TheoryData<string> Games => new(MinAtarEnvironment.Games);

    [Theory]
    [MemberData(nameof(Games))]
    public void Every_frame_matches_the_python_original(string game)
    {
        var runs = s_data.Value.Runs.Where(r => r.Game == game).ToArray();
        Assert.Equal(2, runs.Length);
        int frames = 0;
        foreach (var run in runs)
        {
            var env = new MinAtarEnvironment(game, minimalActionSet: false, run.Sticky, run.Ramping);
            var observation = new float[env.ObservationSize];
            for (int e = 0; e < run.Episodes.Length; e++)
            {
                var episode = run.Episodes[e];
                byte[] state;
                if (e > 0) state = env.Reset().Observation;
                else if (run.Seed.ValueKind == JsonValueKind.Number) state = env.Reset(run.Seed.GetInt32()).Observation;
                else
                {
                    // numpy's array seed [low, high] is this library's 64-bit seed high·2^32 + low.
                    ulong seed = ((ulong)run.Seed[1].GetUInt32() << 32) | run.Seed[0].GetUInt32();
                    env.ResetInto(seed, observation);
                    state = observation.Select(v => (byte)v).ToArray();
                }
                string where = $"{game} seed {run.Seed} episode {e}";
                Assert.True(episode.Initial.AsSpan(0, state.Length).SequenceEqual(state), $"{where}: the initial state differs");
                for (int t = 0; t < episode.Steps.Length; t++)
                {
                    var expected = episode.Steps[t];
                    var step = env.Step(expected.Action);
                    string at = $"{where} step {t + 1} (action {expected.Action})";
                    Assert.True(expected.Reward == (int)step.Reward, $"{at}: reward {step.Reward}, Python {expected.Reward}");
                    Assert.True(expected.Terminal == step.Terminated, $"{at}: terminal {step.Terminated}, Python {expected.Terminal}");
                    Assert.True(expected.Ramp == (env.DifficultyRamp ?? -1), $"{at}: difficulty {env.DifficultyRamp}, Python {expected.Ramp}");
                    Assert.True(expected.State.AsSpan(0, step.Observation.Length).SequenceEqual(step.Observation), $"{at}: the state differs in {Diff(expected.State, step.Observation, env)}");
                    frames++;
                }
            }
        }
        Assert.True(frames >= 1100, $"only {frames} frames replayed");
    }

    private static string Diff(byte[] expected, byte[] actual, MinAtarEnvironment env)
    {
        var cells = new List<string>();
        for (int i = 0; i < actual.Length && cells.Count < 6; i++)
        {
            if (expected[i] != actual[i]) cells.Add($"{env.ChannelNames[i / 100]}[y={i % 100 / 10}, x={i % 10}] = {actual[i]} (Python {expected[i]})");
        }
        return string.Join("; ", cells);
    }

    [Fact]
    public void The_recorded_runs_reach_rewards_episode_ends_and_difficulty_ramps()
    {
        var runs = s_data.Value.Runs;
        Assert.All(MinAtarEnvironment.Games, g => Assert.Contains(runs, r => r.Game == g && r.Episodes.SelectMany(e => e.Steps).Any(s => s.Reward > 0)));
        Assert.Contains(runs, r => r.Game == "asterix" && r.Episodes.SelectMany(e => e.Steps).Any(s => s.Ramp > 0));
        Assert.Contains(runs, r => r.Game == "seaquest" && r.Episodes.SelectMany(e => e.Steps).Any(s => s.Ramp > 0));
        Assert.All(runs.Where(r => r.Game != "freeway"), r => Assert.True(r.Episodes.Length > 1));
    }

    [Fact]
    public void NumpyRandomState_reproduces_numpys_draws()
    {
        var draws = s_data.Value.Draws;
        foreach (var entry in draws.EnumerateObject())
        {
            var seed = JsonDocument.Parse(entry.Name).RootElement;
            var rs = seed.ValueKind == JsonValueKind.Number ? new NumpyRandomState(seed.GetUInt32()) : new NumpyRandomState(seed.EnumerateArray().Select(x => x.GetUInt32()).ToArray());
            var v = entry.Value;
            foreach (var x in v.GetProperty("rand").EnumerateArray()) Assert.Equal(x.GetDouble(), rs.Rand());
            foreach (var x in v.GetProperty("randint7").EnumerateArray()) Assert.Equal(x.GetInt32(), rs.RandInt(7));
            foreach (var x in v.GetProperty("randint1_9").EnumerateArray()) Assert.Equal(x.GetInt32(), rs.RandInt(1, 9));
            foreach (var x in v.GetProperty("randint1_6x8").EnumerateArray()) Assert.Equal(x.GetInt32(), rs.RandInt(1, 6));
            Assert.Equal(v.GetProperty("randint1").GetInt32(), rs.RandInt(1));
            foreach (var x in v.GetProperty("rand8").EnumerateArray()) Assert.Equal(x.GetDouble(), rs.Rand());
        }
    }

    [Fact]
    public void MinAtar_vectorises_with_channels_first_byte_planes_and_the_minimal_action_sets()
    {
        var breakout = new MinAtarEnvironment("breakout");
        Assert.Equal("MinAtar/Breakout-v1", breakout.Name);
        Assert.Equal("ByteBox(0, 1, [4, 10, 10])", breakout.ObservationSpace.ToString());
        Assert.Equal([0, 1, 3], breakout.ActionSet);
        Assert.Equal([0, 2, 4], new MinAtarEnvironment("freeway").ActionSet);
        Assert.Equal([0, 1, 3, 5], new MinAtarEnvironment("SpaceInvaders").ActionSet);
        Assert.Equal(6, new MinAtarEnvironment("seaquest").ActionSet.Count);
        Assert.Equal(6, ((Reinforce.Spaces.Discrete)new MinAtarEnvironment("asterix", minimalActionSet: false).ActionSpace).N);
        Assert.Throws<ArgumentException>(() => new MinAtarEnvironment("pong"));

        using var vector = Reinforce.Envs.Environments.MakeVector("MinAtar/SpaceInvaders-v1", 3, seed: 9);
        Assert.Equal(600, vector.ObservationSize);
        var rows = vector.Observations;
        Assert.Equal(1f, rows[9 * 10 + 5]); // the cannon: channel 0, row 9, column 5
        Assert.Equal(24f, rows.Slice(100, 100).ToArray().Sum()); // 4 x 6 aliens
        var actions = new int[3];
        for (int t = 0; t < 200; t++) { actions[0] = t % 4; actions[1] = 3; actions[2] = 1; vector.Step(actions); }
        Assert.All(vector.Observations.ToArray(), v => Assert.True(v is 0f or 1f));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => breakout.Reset(0).Observation.Length.ToString(System.Globalization.CultureInfo.InvariantCulture).Length + breakout.Step(3).Reward);
        Assert.Contains("outside the action space Discrete(3)", e.Message);
        _ = typeof(IDiscreteActionEnv);
    }
}
