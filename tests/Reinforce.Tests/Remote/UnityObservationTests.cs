using Reinforce.Servers.Unity;
using Reinforce.Servers.Unity.Protocol;
using Reinforce.Spaces;

namespace Reinforce.Tests.Remote;

/// <summary>Unity observations beyond one vector: a visual observation and a vector become a Dict; PNG is refused with the fix; malformed agent infos are clear errors.</summary>
[Collection("Unity")]
public sealed class UnityObservationTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(120);

    private static bool Ended(Task task) => task.Wait(HangGuard);

    internal static (UnityVectorEnv Env, Task Client) Connect(UnityTestClient client)
    {
        var port = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clientTask = Task.Factory.StartNew(() => client.Run(port.Task.GetAwaiter().GetResult()), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var listen = Task.Factory.StartNew(() => UnityVectorEnv.Listen(0, 3, HangGuard, TimeSpan.FromSeconds(60), listening: p => port.SetResult(p)),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Task.WaitAny([listen, clientTask], HangGuard);
        if (clientTask.IsFaulted) throw new InvalidOperationException("the test client failed", clientTask.Exception);
        Assert.True(Task.WaitAny([listen], HangGuard) == 0, "the handshake hung");
        return (listen.GetAwaiter().GetResult(), clientTask);
    }

    [Fact]
    public void Camera_and_vector_sensors_become_a_Dict_with_an_image_block()
    {
        var client = new UnityTestClient(agents: 3, seed: 2) { Camera = true };
        var (env, clientTask) = Connect(client);
        using (env)
        {
            var dict = Assert.IsType<DictSpace>(env.SingleObservationSpace);
            Assert.Equal(["CameraSensor", "VectorSensor"], dict.Keys);
            Assert.Equal([1, 4, 6], dict["CameraSensor"].Shape);
            Assert.Equal([3], dict["VectorSensor"].Shape);
            Assert.Equal(27, env.ObservationSize);
            var layout = ObservationLayout.Of(env.SingleObservationSpace);
            Assert.Equal(BlockKind.Image, layout.Blocks.Single(b => b.Key == "CameraSensor").Kind);
            env.Reset(1);
            for (int step = 0; step < 5; step++)
            {
                var obs = env.Observations;
                for (int i = 0; i < env.NumEnvs; i++)
                {
                    var row = obs.Slice(i * 27, 27);
                    var camera = row[..24];
                    float x = row[24 + 1];   // VectorSensor: angle, x, v
                    int column = Math.Clamp((int)((x + 1f) * 3f), 0, 5);
                    Assert.Equal(1f, camera[2 * 6 + column]);   // the camera's bright pixel is where the vector says the ball is
                    Assert.Equal(1f, camera.ToArray().Sum());
                }
                env.Step(new float[env.NumEnvs]);
            }
        }
        Assert.True(Ended(clientTask), "the test client did not end");
    }

    [Fact]
    public void Png_compressed_camera_is_refused_naming_the_sensor_and_the_fix()
    {
        var client = new UnityTestClient(agents: 2, seed: 2) { PngCamera = true };
        var ex = Assert.Throws<IOException>(() => Connect(client));
        Assert.Contains("CameraSensor", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PNG", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Compression", ex.Message, StringComparison.Ordinal);
        Assert.Contains("None", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>A lying Unity: each named malformation of a step message after the handshake is an <see cref="IOException"/> naming the step and the fault, never a crash or a hang.</summary>
    [Theory]
    [InlineData("wrong value count", "values in observation 0")]
    [InlineData("NaN observation", "NaN")]
    [InlineData("observation missing", "sent 0 observations")]
    [InlineData("PNG mid-run", "Compression")]
    [InlineData("action mask wrong length", "action mask")]
    [InlineData("second behaviour", "second behaviour")]
    [InlineData("too many agents", "copies are held")]
    public void Malformed_agent_info_after_the_handshake_is_a_clear_error(string malformation, string expected)
    {
        var client = new UnityTestClient(agents: 2, seed: 4, discrete: malformation == "action mask wrong length")
        {
            Tamper = (step, output) =>
            {
                if (step != 2) return;
                var infos = output.AgentInfos[UnityTestClient.Behavior].Value;
                switch (malformation)
                {
                    case "wrong value count": infos[0].Observations[0].FloatData.Data.Add(1f); break;
                    case "NaN observation": infos[0].Observations[0].FloatData.Data[1] = float.NaN; break;
                    case "observation missing": infos[0].Observations.Clear(); break;
                    case "PNG mid-run":
                        infos[0].Observations[0].CompressionType = CompressionTypeProto.Png;
                        infos[0].Observations[0].CompressedData = Google.Protobuf.ByteString.CopyFrom(1, 2, 3);
                        break;
                    case "action mask wrong length": infos[0].ActionMask.Add(true); break;
                    case "second behaviour":
                    {
                        var other = new UnityRLOutputProto.Types.ListAgentInfoProto();
                        other.Value.Add(infos[0].Clone());
                        output.AgentInfos.Add("Other?team=0", other);
                        break;
                    }
                    case "too many agents":
                        for (int k = 0; k < 1000; k++)
                        {
                            var extra = infos[0].Clone();
                            extra.Id = 100_000 + k;
                            infos.Add(extra);
                        }
                        break;
                }
            },
        };
        var (env, clientTask) = Connect(client);
        using (env)
        {
            env.Reset(1);
            var failure = Record.Exception(() =>
            {
                for (int step = 0; step < 10; step++)
                {
                    if (client.Discrete) env.Step(new int[env.NumEnvs * 2]);
                    else env.Step(new float[env.NumEnvs]);
                }
            });
            var io = Assert.IsType<IOException>(failure);
            Assert.Contains(expected, io.Message, StringComparison.Ordinal);
            Assert.Contains("step", io.Message, StringComparison.Ordinal);
        }
        Assert.True(Ended(clientTask), "the test client did not end");
    }

    /// <summary>Malformed observation shapes in the first step (before any space exists) are refused at the handshake.</summary>
    [Theory]
    [InlineData(new[] { 0 }, "at least 1")]
    [InlineData(new[] { -3 }, "at least 1")]
    [InlineData(new[] { 1, 2, 3, 4 }, "one to three axes")]
    [InlineData(new[] { 65536, 65536, 16 }, "refuses observations that large")]
    [InlineData(new[] { 2, 2 }, "carries 3")]
    public void Malformed_observation_shape_in_the_first_step_is_refused(int[] shape, string expected)
    {
        var client = new UnityTestClient(agents: 2, seed: 4)
        {
            Tamper = (step, output) =>
            {
                foreach (var info in output.AgentInfos[UnityTestClient.Behavior].Value)
                {
                    info.Observations[0].Shape.Clear();
                    info.Observations[0].Shape.Add(shape);
                }
            },
        };
        var ex = Assert.Throws<IOException>(() => Connect(client));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
