using Reinforce.Envs;
using Reinforce.Envs.ClassicControl;
using Reinforce.Envs.Games;
using Reinforce.Envs.MinAtar;
using Reinforce.Envs.Vector;
using Reinforce.Envs.Wrappers;
using Reinforce.Spaces;

namespace Reinforce.Tests.Envs;

/// <summary>A 2×2 RGB image, channels last, whose pixel p at step t has colour (10p + t, 20p + t, 30p + t).</summary>
internal sealed class RgbPixels(bool wrongSize = false) : Environment<byte[], int>(new ByteBox(0, 255, [2, 2, 3], ImageLayout.ChannelsLast), new Discrete(2), "RgbPixels")
{
    private int _t;

    private byte[] Image()
    {
        var image = new byte[wrongSize ? 11 : 12];
        for (int p = 0; p < 4 && 3 * p + 2 < image.Length; p++)
        {
            image[3 * p] = (byte)(10 * p + _t);
            image[3 * p + 1] = (byte)(20 * p + _t);
            image[3 * p + 2] = (byte)(30 * p + _t);
        }
        return image;
    }

    protected override (byte[] Observation, StepInfo Info) OnReset()
    {
        _t = 0;
        return (Image(), StepInfo.Empty);
    }

    protected override Step<byte[]> OnStep(int action)
    {
        _t++;
        return new(Image(), 1, _t == 5, false, StepInfo.Empty);
    }
}

public class GamesAndImageWrappersTests
{
    [Fact]
    public void CartPoleNoVel_observes_cartpoles_positions_only_with_the_same_dynamics()
    {
        var full = new CartPole();
        var noVel = (IEnvironment<float[], int>)Environments.MakeUnwrapped("CartPoleNoVel-v1");
        Assert.Equal("Box([-4.8, -0.41887903], [4.8, 0.41887903], [2])", noVel.ObservationSpace.ToString());
        Assert.Equal(500, Environments.Spec("CartPoleNoVel-v1").MaxEpisodeSteps);
        var a = full.Reset(3).Observation;
        var b = noVel.Reset(3).Observation;
        Assert.Equal([a[0], a[2]], b);
        for (int t = 0; t < 200; t++)
        {
            var sa = full.Step(t % 3 == 0 ? 1 : 0);
            var sb = noVel.Step(t % 3 == 0 ? 1 : 0);
            Assert.Equal([sa.Observation[0], sa.Observation[2]], sb.Observation);
            Assert.Equal(sa.Terminated, sb.Terminated);
            if (sa.Terminated) break;
        }
        Assert.Empty(EnvChecker.Check(Environments.Make("CartPoleNoVel-v1")));
    }

    private static (int Wins, int Losses, int Illegal) PlayRandom(ConnectFourOpponent opponent, bool masked, int games)
    {
        var env = new ConnectFour(opponent);
        var rng = new Rng(11);
        int wins = 0, losses = 0;
        env.Reset(5);
        for (int g = 0; g < games; g++)
        {
            if (g > 0) env.Reset();
            while (true)
            {
                int action;
                if (masked)
                {
                    var legal = env.ActionMask().Select((ok, c) => (ok, c)).Where(x => x.ok).Select(x => x.c).ToArray();
                    action = legal[rng.NextInt(legal.Length)];
                }
                else action = rng.NextInt(7);
                var step = env.Step(action);
                if (step.Terminated)
                {
                    if (step.Reward > 0) wins++;
                    else if (step.Reward < 0) losses++;
                    break;
                }
            }
        }
        return (wins, losses, env.IllegalMoves);
    }

    [Fact]
    public void ConnectFour_masks_full_columns_and_an_illegal_move_loses()
    {
        var env = new ConnectFour(ConnectFourOpponent.Random);
        env.Reset(1);
        Step<float[]> step = default;
        int moves = 0;
        while (env.ActionMask()[0])
        {
            step = env.Step(0);
            moves++;
            if (step.Terminated) return; // the game ended before the column filled (a four in column 0): nothing to test here
        }
        Assert.Equal([false, true, true, true, true, true, true], env.ActionMask());
        Assert.Equal(6, Enumerable.Range(0, 6).Count(r => env[r, 0] != 0));
        step = env.Step(0);
        Assert.True(step.Terminated);
        Assert.Equal(-1, step.Reward);
        Assert.Equal(1, env.IllegalMoves);
        Assert.InRange(moves, 3, 6);
    }

    [Fact]
    public void ConnectFour_lookahead_opponent_beats_a_random_player_more_often_and_masked_play_is_never_illegal()
    {
        var lookahead = PlayRandom(ConnectFourOpponent.Lookahead, masked: true, games: 300);
        var random = PlayRandom(ConnectFourOpponent.Random, masked: true, games: 300);
        Assert.Equal(0, lookahead.Illegal);
        Assert.Equal(0, random.Illegal);
        Assert.True(lookahead.Losses > random.Losses + 60, $"lookahead beat the random player {lookahead.Losses} times, the random opponent {random.Losses}");
        var unmasked = PlayRandom(ConnectFourOpponent.Lookahead, masked: false, games: 300);
        Assert.True(unmasked.Illegal > 0);
        Assert.Empty(EnvChecker.Check(Environments.Make("ConnectFour-v0")));

        using var vector = Environments.MakeVector("ConnectFour-v0", 4, seed: 3);
        Assert.Equal(7, vector.ActionMaskSize);
        Assert.All(vector.ActionMasks.ToArray(), Assert.True);
    }

    [Fact]
    public void TransposeImage_turns_HWC_into_CHW_and_grayscale_weights_the_channels()
    {
        var chw = new TransposeImage<int>(new RgbPixels());
        Assert.Equal("ByteBox(0, 255, [3, 2, 2])", chw.ObservationSpace.ToString());
        Assert.Equal([0, 10, 20, 30, 0, 20, 40, 60, 0, 30, 60, 90], chw.Reset(0).Observation.Select(b => (int)b));

        var gray = new GrayscaleObservation<int>(new RgbPixels());
        Assert.Equal("ByteBox(0, 255, [1, 2, 2])", gray.ObservationSpace.ToString());
        var g = gray.Reset(0).Observation;
        Assert.Equal((byte)(0.2125 * 10 + 0.7154 * 20 + 0.0721 * 30), g[1]);
        var fromChw = new GrayscaleObservation<int>(new TransposeImage<int>(new RgbPixels()));
        Assert.Equal(g, fromChw.Reset(0).Observation);

        var e = Assert.Throws<InvalidOperationException>(() => new TransposeImage<int>(new RgbPixels(wrongSize: true)).Reset(0));
        Assert.Contains("has 11 values but the observation space ByteBox(0, 255, [2, 2, 3], HWC) has 12", e.Message);
        var notImage = Assert.Throws<ArgumentException>(() => new GrayscaleObservation<int>(new TransposeImage<int>(new GrayscaleObservation<int>(new RgbPixels()).AsChannelsLastForTest())));
        Assert.Contains("needs RGB images (3 channels)", notImage.Message);
    }

    [Fact]
    public void ResizeObservation_averages_areas_and_NormalizeImage_scales_to_unit_floats()
    {
        var resized = new ResizeObservation<int>(new TransposeImage<int>(new RgbPixels()), 1, 1);
        Assert.Equal("ByteBox(0, 255, [3, 1, 1])", resized.ObservationSpace.ToString());
        Assert.Equal([15, 30, 45], resized.Reset(0).Observation.Select(b => (int)b)); // the mean of each channel's 4 pixels
        var up = new ResizeObservation<int>(new TransposeImage<int>(new RgbPixels()), 4, 4);
        var big = up.Reset(0).Observation;
        Assert.Equal(48, big.Length);
        Assert.Equal(10, big[2]); // each input pixel covers a 2x2 block

        var normalized = new NormalizeImage<int>(new TransposeImage<int>(new RgbPixels()));
        Assert.Equal("Box(0, 1, [3, 2, 2])", normalized.ObservationSpace.ToString());
        Assert.Equal(30 / 255f, normalized.Reset(0).Observation[3]);
        Assert.Empty(EnvChecker.Check(normalized));
    }

    [Fact]
    public void Frame_stacking_puts_frames_along_channels_oldest_first_and_the_vector_version_matches_it()
    {
        var stacked = new FrameStackObservation<byte, int>(new MinAtarEnvironment("breakout"), 4);
        Assert.Equal("ByteBox(0, 1, [16, 10, 10])", stacked.ObservationSpace.ToString());
        var first = stacked.Reset(2).Observation;
        Assert.True(first.AsSpan(0, 400).SequenceEqual(first.AsSpan(1200, 400)));

        // The vector version against a hand-made stack of an identical unstacked vector environment.
        using var plain = new SyncVectorEnv([new MinAtarEnvironment("breakout"), new MinAtarEnvironment("breakout")]);
        using var vector = new VectorFrameStack(new SyncVectorEnv([new MinAtarEnvironment("breakout"), new MinAtarEnvironment("breakout")]), 3);
        plain.Reset(8);
        vector.Reset(8);
        Assert.Equal(1200, vector.ObservationSize);
        Assert.Equal("ByteBox(0, 1, [12, 10, 10])", vector.SingleObservationSpace.ToString());
        var stacks = Enumerable.Range(0, 2).Select(i => Enumerable.Repeat(plain.Observations.Slice(i * 400, 400).ToArray(), 3).ToList()).ToArray();
        var rng = new Rng(4);
        int finished = 0;
        for (int t = 0; t < 300; t++)
        {
            int[] actions = [rng.NextInt(3), rng.NextInt(3)];
            plain.Step(actions);
            vector.Step(actions);
            for (int i = 0; i < 2; i++)
            {
                var frame = plain.Observations.Slice(i * 400, 400).ToArray();
                if (plain.Terminated[i])
                {
                    var final = stacks[i].Skip(1).Append(plain.FinalObservation(i).ToArray()).SelectMany(f => f);
                    Assert.Equal(final, vector.FinalObservation(i).ToArray());
                    stacks[i] = Enumerable.Repeat(frame, 3).ToList();
                    finished++;
                }
                else
                {
                    stacks[i].RemoveAt(0);
                    stacks[i].Add(frame);
                }
                Assert.Equal(stacks[i].SelectMany(f => f), vector.Observations.Slice(i * 1200, 1200).ToArray());
            }
        }
        Assert.True(finished >= 2);
    }

    [Fact]
    public void EnvChecker_checks_byte_images_and_dict_observations()
    {
        Assert.All(MinAtarEnvironment.Games, g => Assert.Empty(EnvChecker.Check(new MinAtarEnvironment(g), maxSteps: 300)));
        Assert.Empty(EnvChecker.Check(new CameraRobot()));
        var problems = EnvChecker.Check(new CameraRobot(breakKeys: true));
        Assert.Contains(problems, p => p.StartsWith("The observation after step 1 is missing key 'velocity' and has extra key 'speed'", StringComparison.Ordinal));
        var shapes = EnvChecker.Check(new CameraRobot(wrongShape: true));
        Assert.Contains(shapes, p => p.Contains("key 'camera' (space ByteBox(0, 255, [1, 2, 3])) has 5 bytes", StringComparison.Ordinal));
    }
}

internal static class TestImageExtensions
{
    /// <summary>Declares a [1, H, W] image as channels last so that TransposeImage accepts it (a 1-channel image for the error test).</summary>
    public static IEnvironment<byte[], int> AsChannelsLastForTest(this IEnvironment<byte[], int> env) => new Relabel(env);

    private sealed class Relabel(IEnvironment<byte[], int> inner) : Wrapper<byte[], int>(inner)
    {
        public override Space ObservationSpace { get; } = new ByteBox(0, 255, [2, 2, 1], ImageLayout.ChannelsLast);
    }
}
