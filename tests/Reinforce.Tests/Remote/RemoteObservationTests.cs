using Grpc.Core;
using Reinforce.Envs;
using Reinforce.Envs.Remote;
using Reinforce.Spaces;
using P = Reinforce.Envs.Remote.Protocol;

namespace Reinforce.Tests.Remote;

/// <summary>Images (uint8, CHW) and Dict observations over the environment protocol, from the C# and the Python server.</summary>
[Collection("Unity")]
public sealed class RemoteObservationTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(120);

    private static RemoteEnvironmentException Fails(Action action)
    {
        var task = Task.Run(() => Record.Exception(action));
        Assert.True(task.Wait(HangGuard), "the client hung instead of failing");
        return Assert.IsType<RemoteEnvironmentException>(task.Result);
    }

    [Fact]
    public async Task Served_MinAtar_images_travel_as_uint8_and_step_exactly_as_the_local_vector_env()
    {
        var service = new VectorEnvService("MinAtar/Breakout-v1");
        var handshake = await service.Handshake(new P.HandshakeRequest { Protocol = ProtocolCodec.ProtocolVersion, NumEnvs = 1 }, null!);
        Assert.Equal(P.DType.Uint8, handshake.ObservationSpace.Box.Dtype);
        var reset = await service.Reset(new P.ResetRequest { Session = handshake.Session, Seeds = { 1UL } }, null!);
        Assert.Equal(P.DType.Uint8, reset.Observations.Leaves[0].Dtype);
        Assert.Equal(4 * 10 * 10, reset.Observations.Leaves[0].Data.Length);   // one byte per pixel, not four
        await using var server = InProcessServer.Start(service);
        const int N = 3;
        using var local = Environments.MakeVector("MinAtar/Breakout-v1", N, seed: 11);
        using var remote = Environments.MakeVector(server.Address, N, seed: 11);
        Assert.IsType<ByteBox>(remote.SingleObservationSpace);
        Assert.Equal(local.SingleObservationSpace.ToString(), remote.SingleObservationSpace.ToString());
        var rng = new Rng(5);
        var actions = new int[N];
        int finished = 0;
        for (int t = 0; t < 300; t++)
        {
            Assert.Equal(local.Observations.ToArray(), remote.Observations.ToArray());
            for (int i = 0; i < N; i++) actions[i] = rng.NextInt(3);
            local.Step(actions);
            remote.Step(actions);
            Assert.Equal(local.Rewards.ToArray(), remote.Rewards.ToArray());
            for (int i = 0; i < N; i++)
            {
                if (local.Terminated[i] || local.Truncated[i]) Assert.Equal(local.FinalObservation(i).ToArray(), remote.FinalObservation(i).ToArray());
            }
            finished += local.CompletedEpisodes.Length;
        }
        Assert.True(finished > 0, "no episode finished; the test must cover final observations");
    }

    [PythonFact]
    public void Python_dict_observation_with_a_uint8_image_and_a_discrete_fills_the_flattened_row()
    {
        using var server = PythonServer.Start("make_image");
        using var env = Environments.MakeVector(server.Address, 2, seed: 1);
        var dict = Assert.IsType<DictSpace>(env.SingleObservationSpace);
        Assert.Equal(["camera", "cell", "progress"], dict.Keys);
        Assert.IsType<ByteBox>(dict["camera"]);
        Assert.Equal(BlockKind.Image, ObservationLayout.Of(dict).Blocks.Single(b => b.Key == "camera").Kind);
        Assert.Equal(10 + 5 + 2, env.ObservationSize);
        float[] Row(int cell, int steps)
        {
            var row = new float[17];
            row[cell] = 255f;
            for (int c = 0; c < 5; c++) row[5 + c] = steps;
            row[10 + cell] = 1f;
            row[15] = cell / 4f;
            row[16] = steps / 20f;
            return row;
        }
        Assert.Equal([.. Row(0, 0), .. Row(0, 0)], env.Observations.ToArray());
        env.Step([1, 1]);
        Assert.Equal([.. Row(1, 1), .. Row(1, 1)], env.Observations.ToArray());
        env.Step([1, 0]);
        Assert.Equal([.. Row(2, 2), .. Row(0, 2)], env.Observations.ToArray());
    }

    /// <summary>A lying server: each named lie in a step answer is a <see cref="RemoteEnvironmentException"/> naming the server and the step.</summary>
    [Theory]
    [InlineData("final indices beyond the batch", "final observations for its")]
    [InlineData("a million final indices", "final observations for its")]
    [InlineData("block missing", "blocks where the observation space has")]
    [InlineData("extra block", "blocks where the observation space has")]
    [InlineData("int64 block for a Box", "element type")]
    [InlineData("infinite observation", "Infinity")]
    [InlineData("shape lies, data short", "float32 values")]
    [InlineData("rewards missing", "rewards")]
    [InlineData("infinite reward", "reward")]
    [InlineData("batch missing", "batch is missing")]
    public async Task A_lying_server_is_a_clear_error_naming_it_and_the_step(string lie, string expected)
    {
        await using var server = InProcessServer.Start(new LyingService(lie));
        using var env = Environments.MakeVector(server.Address, 2, seed: 3);
        var ex = Fails(() =>
        {
            for (int t = 0; t < 5; t++) env.Step([0, 1]);
        });
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains("step 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains(server.Endpoint, ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Lying handshakes: spaces no client could hold are refused before anything is allocated.</summary>
    [Theory]
    [InlineData("Box of 2^31 elements", "elements")]
    [InlineData("Box axis of 0", "at least 1")]
    [InlineData("Discrete of 0", "at least 1")]
    [InlineData("Dict nested 20 deep", "deeper")]
    [InlineData("Dict nested 40 deep", "not a valid reinforce.env.v1 message")]
    [InlineData("Dict repeats a key", "twice")]
    [InlineData("Box of int64", "not supported")]
    [InlineData("uint8 Box bounded at 300", "bytes lie in")]
    public async Task A_lying_handshake_is_refused_naming_the_space(string lie, string expected)
    {
        await using var server = InProcessServer.Start(new LyingService(lie));
        var ex = Fails(() => Environments.MakeVector(server.Address, 1, seed: 3).Dispose());
        Assert.True(ex.Message.Contains(expected, StringComparison.Ordinal), ex.Message);
        Assert.Contains(server.Endpoint, ex.Message, StringComparison.Ordinal);
    }
}

/// <summary>Serves CartPole-v1 but lies in its handshake or at its second step, as named.</summary>
internal sealed class LyingService(string lie) : VectorEnvService("CartPole-v1")
{
    private int _steps;

    public override async Task<P.HandshakeResponse> Handshake(P.HandshakeRequest request, ServerCallContext context)
    {
        var response = await base.Handshake(request, context);
        P.Space Box(params int[] shape) => new() { Box = new P.BoxSpace { Dtype = P.DType.Float32, Shape = { shape } } };
        switch (lie)
        {
            case "Box of 2^31 elements": response.ObservationSpace = Box(65536, 32768); break;
            case "Box axis of 0": response.ObservationSpace = Box(4, 0); break;
            case "Discrete of 0": response.ObservationSpace = new P.Space { Discrete = new P.DiscreteSpace { N = 0 } }; break;
            case "Dict nested 20 deep" or "Dict nested 40 deep":
            {
                var space = Box(4);
                for (int i = 0; i < (lie == "Dict nested 20 deep" ? 20 : 40); i++) space = new P.Space { Dict = new P.DictSpace { Entries = { new P.DictEntry { Key = "k", Space = space } } } };
                response.ObservationSpace = space;
                break;
            }
            case "Dict repeats a key":
                response.ObservationSpace = new P.Space { Dict = new P.DictSpace { Entries = { new P.DictEntry { Key = "a", Space = Box(2) }, new P.DictEntry { Key = "a", Space = Box(2) } } } };
                break;
            case "Box of int64": response.ObservationSpace = new P.Space { Box = new P.BoxSpace { Dtype = P.DType.Int64, Shape = { 4 } } }; break;
            case "uint8 Box bounded at 300": response.ObservationSpace = new P.Space { Box = new P.BoxSpace { Dtype = P.DType.Uint8, Shape = { 4 }, Low = { 0 }, High = { 300 } } }; break;
        }
        return response;
    }

    public override async Task<P.StepResponse> Step(P.StepRequest request, ServerCallContext context)
    {
        var response = await base.Step(request, context);
        if (Interlocked.Increment(ref _steps) != 2) return response;
        var leaf = response.Observations.Leaves[0];
        switch (lie)
        {
            case "final indices beyond the batch": response.FinalIndices.Add([0, 1, 5]); break;
            case "a million final indices": response.FinalIndices.Add(Enumerable.Range(0, 1_000_000)); break;
            case "block missing": response.Observations.Leaves.Clear(); break;
            case "extra block": response.Observations.Leaves.Add(leaf.Clone()); break;
            case "int64 block for a Box": leaf.Dtype = P.DType.Int64; break;
            case "infinite observation":
            {
                var data = leaf.Data.ToByteArray();
                BitConverter.GetBytes(float.PositiveInfinity).CopyTo(data, 4 * 5);
                leaf.Data = Google.Protobuf.ByteString.CopyFrom(data);
                break;
            }
            case "shape lies, data short":
                leaf.Shape[0] = 2;
                leaf.Data = Google.Protobuf.ByteString.CopyFrom(leaf.Data.Span[..12]);
                break;
            case "rewards missing": response.Rewards.Clear(); break;
            case "infinite reward": response.Rewards[1] = float.PositiveInfinity; break;
            case "batch missing": response.Observations = null; break;
        }
        return response;
    }
}
