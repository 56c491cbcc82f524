using Reinforce.Envs;
using Reinforce.Envs.Vector;
using Reinforce.Spaces;

namespace Reinforce.Tests.Envs;

/// <summary>A camera image and a velocity vector, as a robot might observe: the Dict observation of the tests.</summary>
internal sealed class CameraRobot(bool breakKeys = false, bool wrongShape = false)
    : Environment<IReadOnlyDictionary<string, object>, int>(
        new DictSpace(("velocity", new Box(-1f, 1f, [2])), ("camera", ByteBox.Image(1, 2, 3))), new Discrete(2), "CameraRobot")
{
    private int _t;

    private IReadOnlyDictionary<string, object> Observe()
    {
        var camera = new byte[wrongShape ? 5 : 6];
        for (int i = 0; i < camera.Length; i++) camera[i] = (byte)(10 * _t + i);
        var obs = new Dictionary<string, object> { ["velocity"] = new[] { 0.5f, -0.25f * _t }, ["camera"] = camera };
        if (breakKeys && _t == 1) { obs.Remove("velocity"); obs["speed"] = 1f; }
        return obs;
    }

    protected override (IReadOnlyDictionary<string, object> Observation, StepInfo Info) OnReset()
    {
        _t = 0;
        return (Observe(), StepInfo.Empty);
    }

    protected override Step<IReadOnlyDictionary<string, object>> OnStep(int action)
    {
        _t++;
        return new(Observe(), action, _t == 3, false, StepInfo.Empty);
    }
}

public class ObservationSpacesTests
{
    private static readonly DictSpace RobotSpace = new(("velocity", new Box(-1f, 1f, [2])), ("camera", ByteBox.Image(1, 2, 3)));

    [Fact]
    public void ByteBox_is_a_CHW_image_space_flattened_to_exact_byte_values()
    {
        var space = new ByteBox(0, 1, [4, 10, 10]);
        Assert.True(space.IsImage);
        Assert.Equal((4, 10, 10), (space.Channels, space.Height, space.Width));
        Assert.Equal(400, space.FlatSize);
        var hwc = new ByteBox(0, 255, [84, 84, 3], ImageLayout.ChannelsLast);
        Assert.Equal((3, 84, 84), (hwc.Channels, hwc.Height, hwc.Width));
        Assert.Equal("ByteBox(0, 255, [84, 84, 3], HWC)", hwc.ToString());
        var value = new byte[400];
        value[7] = 1;
        Assert.True(space.Contains(value));
        value[8] = 2;
        Assert.False(space.Contains(value));
        Assert.Equal("element 8 = 2 is outside [0, 1]", space.DescribeMismatch(value));
        Assert.Contains("has 3 bytes but ByteBox(0, 1, [4, 10, 10]) has shape [4, 10, 10] (400 bytes, channels first: [C, H, W])", space.DescribeMismatch(new byte[3]));
        Assert.Contains("is float[] but ByteBox(0, 1, [4, 10, 10]) holds byte[] values", space.DescribeMismatch(new float[400]));
        var flat = new float[400];
        space.Flatten(new byte[400].Select((_, i) => (byte)(i % 2)).ToArray(), flat);
        Assert.Equal(200f, flat.Sum());
        var sample = space.Sample(new Rng(3));
        Assert.True(space.Contains(sample));
        Assert.Equal(sample, space.Sample(new Rng(3)));
        Assert.Contains((byte)1, sample);
        Assert.Contains((byte)0, sample);
    }

    [Fact]
    public void DictSpace_sorts_keys_flattens_in_key_order_and_names_missing_and_extra_keys()
    {
        Assert.Equal(["camera", "velocity"], RobotSpace.Keys);
        Assert.Equal(8, RobotSpace.FlatSize);
        var obs = new Dictionary<string, object> { ["velocity"] = new[] { 0.5f, -0.5f }, ["camera"] = new byte[] { 1, 2, 3, 4, 5, 6 } };
        Assert.True(RobotSpace.Contains(obs));
        var flat = new float[8];
        RobotSpace.Flatten(obs, flat);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f, 0.5f, -0.5f], flat);

        var missing = new Dictionary<string, object> { ["camera"] = new byte[6], ["speed"] = 1f };
        string why = RobotSpace.DescribeMismatch(missing)!;
        Assert.Contains("is missing key 'velocity'", why);
        Assert.Contains("has extra key 'speed' not in the space", why);
        var e = Assert.Throws<ArgumentException>(() => RobotSpace.Flatten(missing, flat));
        Assert.Contains("missing key 'velocity'", e.Message);

        var badShape = new Dictionary<string, object> { ["velocity"] = new[] { 0.5f }, ["camera"] = new byte[6] };
        Assert.Equal("key 'velocity' (space Box(-1, 1, [2])) has 1 values but Box(-1, 1, [2]) has shape [2] (2 values)", RobotSpace.DescribeMismatch(badShape));
        var badType = new Dictionary<string, object> { ["velocity"] = new[] { 0.5f, 0f }, ["camera"] = new float[6] };
        Assert.StartsWith("key 'camera' (space ByteBox(0, 255, [1, 2, 3])) is float[] but", RobotSpace.DescribeMismatch(badType));

        var sample = RobotSpace.Sample(new Rng(1));
        Assert.True(RobotSpace.Contains(sample));
        Assert.Throws<ArgumentException>(() => new DictSpace(("a", new Discrete(2)), ("a", new Discrete(3))));
    }

    [Fact]
    public void TupleSpace_flattens_elements_in_order_and_explains_a_wrong_element()
    {
        var space = new TupleSpace(new Discrete(3), new Box(0f, 1f, [2]));
        Assert.Equal(5, space.FlatSize);
        var flat = new float[5];
        space.Flatten([2, new[] { 0.25f, 0.75f }], flat);
        Assert.Equal([0f, 0f, 1f, 0.25f, 0.75f], flat);
        Assert.Equal("has 1 elements but Tuple(Discrete(3), Box(0, 1, [2])) has 2", space.DescribeMismatch(new object[] { 1 }));
        Assert.StartsWith("element 0 (space Discrete(3))", space.DescribeMismatch(new object[] { 5, new[] { 0f, 0f } }));
        Assert.True(space.Contains(space.Sample(new Rng(2))));
    }

    [Fact]
    public void ObservationLayout_names_a_block_per_key_with_its_shape_and_kind()
    {
        var layout = ObservationLayout.Of(RobotSpace);
        Assert.Equal(8, layout.Size);
        Assert.False(layout.IsSingle);
        var camera = layout["camera"];
        Assert.Equal((0, 6, BlockKind.Image, true, 255f), (camera.Offset, camera.Length, camera.Kind, camera.IsByte, camera.High));
        Assert.Equal([1, 2, 3], camera.Shape);
        var velocity = layout["velocity"];
        Assert.Equal((6, 2, BlockKind.Vector, false), (velocity.Offset, velocity.Length, velocity.Kind, velocity.IsByte));

        var nested = ObservationLayout.Of(new DictSpace(("a", new TupleSpace(new Discrete(2), new Box(0f, 1f, [3]))), ("b", new Discrete(4))));
        Assert.Equal(["a.0", "a.1", "b"], nested.Blocks.Select(b => b.Key));
        Assert.Equal([0, 2, 5], nested.Blocks.Select(b => b.Offset));
        Assert.True(ObservationLayout.Of(new Box(0f, 1f, [4])).IsSingle);

        var e = Assert.Throws<ArgumentException>(() => ObservationLayout.Of(new ByteBox(0, 255, [84, 84, 3], ImageLayout.ChannelsLast)));
        Assert.Contains("TransposeImage", e.Message);
    }

    [Fact]
    public void Dict_observations_travel_through_a_vector_environment_as_named_blocks()
    {
        using var vector = new SyncVectorEnv([Vectorizable.From(new CameraRobot()), Vectorizable.From(new CameraRobot())]);
        vector.Reset(0);
        Assert.Equal(8, vector.ObservationSize);
        Assert.Equal([0f, 1f, 2f, 3f, 4f, 5f, 0.5f, 0f], vector.Observations[..8].ToArray());
        vector.Step([1, 0]);
        Assert.Equal([10f, 11f, 12f, 13f, 14f, 15f, 0.5f, -0.25f], vector.Observations[8..].ToArray());
        vector.Step([1, 1]);
        vector.Step([1, 1]); // third step ends the episode: auto-reset, the final observation kept
        Assert.True(vector.Terminated[0]);
        Assert.Equal([30f, 31f, 32f, 33f, 34f, 35f, 0.5f, -0.75f], vector.FinalObservation(0).ToArray());
        Assert.Equal(0f, vector.Observations[0]);
    }

    [Fact]
    public void A_dict_observation_with_a_missing_key_or_wrong_shape_fails_naming_the_environment_key_and_fix()
    {
        using var vector = new SyncVectorEnv([Vectorizable.From(new CameraRobot(breakKeys: true))]);
        vector.Reset(0);
        var e = Assert.Throws<InvalidOperationException>(() => vector.Step([0]));
        Assert.StartsWith("CameraRobot: the observation returned by Step is missing key 'velocity' and has extra key 'speed' not in the space", e.Message);
        Assert.Contains("Return observations that match the observation space", e.Message);

        using var shaped = new SyncVectorEnv([Vectorizable.From(new CameraRobot(wrongShape: true))]);
        var s = Assert.Throws<InvalidOperationException>(() => shaped.Reset(0));
        Assert.Contains("key 'camera' (space ByteBox(0, 255, [1, 2, 3])) has 5 bytes but ByteBox(0, 255, [1, 2, 3]) has shape [1, 2, 3] (6 bytes, channels first: [C, H, W])", s.Message);
    }
}
