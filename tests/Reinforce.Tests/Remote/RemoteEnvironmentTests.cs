using Grpc.Core;
using Grpc.Net.Client;
using Reinforce.Envs;
using Reinforce.Envs.Remote;
using Reinforce.Training;
using P = Reinforce.Envs.Remote.Protocol;

namespace Reinforce.Tests.Remote;

/// <summary>The Reinforce environment protocol end to end: servers in the test process (C#) or a child process (Python).</summary>
[Collection("Unity")]
public sealed class RemoteEnvironmentTests
{
    /// <summary>Hang guard only (not a timing assertion): a fault must surface as an error, never as a wait.</summary>
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(120);

    private static T Within<T>(Func<T> action)
    {
        var task = Task.Run(action);
        Assert.True(task.Wait(HangGuard), "the remote environment hung instead of failing");
        return task.Result;
    }

    private static RemoteEnvironmentException Fails(Action action)
    {
        var task = Task.Run(() => Record.Exception(action));
        Assert.True(task.Wait(HangGuard), "the remote environment hung instead of failing");
        return Assert.IsType<RemoteEnvironmentException>(task.Result);
    }

    [Fact]
    public async Task Remote_cartpole_over_two_servers_steps_exactly_as_the_local_vector_env()
    {
        await using var a = InProcessServer.Start(new VectorEnvService("CartPole-v1"));
        await using var b = InProcessServer.Start(new VectorEnvService("CartPole-v1"));
        const int N = 5;
        using var local = Environments.MakeVector("CartPole-v1", N, seed: 7);
        using var remote = Environments.MakeVector($"remote://{a.Endpoint},{b.Endpoint}/CartPole-v1", N, seed: 7);
        Assert.IsType<RemoteVectorEnv>(remote);
        Assert.Equal(local.SingleObservationSpace.ToString(), remote.SingleObservationSpace.ToString());
        Assert.Equal(local.SingleActionSpace.ToString(), remote.SingleActionSpace.ToString());
        Assert.Equal(500, remote.MaxEpisodeSteps);
        Assert.Equal(local.Observations.ToArray(), remote.Observations.ToArray());
        var rng = new Rng(3);
        var actions = new int[N];
        int finished = 0;
        for (int t = 0; t < 400; t++)
        {
            for (int i = 0; i < N; i++) actions[i] = rng.NextInt(2);
            local.Step(actions);
            remote.Step(actions);
            Assert.Equal(local.Observations.ToArray(), remote.Observations.ToArray());
            Assert.Equal(local.Rewards.ToArray(), remote.Rewards.ToArray());
            Assert.Equal(local.Terminated.ToArray(), remote.Terminated.ToArray());
            Assert.Equal(local.Truncated.ToArray(), remote.Truncated.ToArray());
            Assert.Equal(local.CompletedEpisodes.ToArray(), remote.CompletedEpisodes.ToArray());
            for (int i = 0; i < N; i++)
            {
                if (local.Terminated[i] || local.Truncated[i]) Assert.Equal(local.FinalObservation(i).ToArray(), remote.FinalObservation(i).ToArray());
            }
            finished += local.CompletedEpisodes.Length;
        }
        Assert.True(finished > 20, $"only {finished} episodes finished; the test must cover auto-reset");
        Assert.Equal(2, a.Service.OpenSessions + b.Service.OpenSessions);
        remote.Dispose();
        Assert.Equal(0, a.Service.OpenSessions + b.Service.OpenSessions);
    }

    [Fact]
    public async Task Training_on_a_served_cartpole_gives_the_same_bits_as_training_locally()
    {
        await using var server = InProcessServer.Start(new VectorEnvService("CartPole-v1"));
        TrainingResult Train(string env, string dir)
        {
            var cfg = TrainingConfig.Preset("CartPole-v1");
            cfg.Env = env;
            cfg.NumEnvs = 4;
            cfg.TotalSteps = 2048;
            cfg.Eval.EverySteps = 0;
            cfg.Eval.FinalEpisodes = 5;
            using var run = TrainingRun.Create(cfg, dir);
            return run.Run();
        }
        string root = Path.Combine(Path.GetTempPath(), "reinforce-remote-" + Guid.NewGuid().ToString("N"));
        try
        {
            var local = Train("CartPole-v1", Path.Combine(root, "local"));
            var remote = Within(() => Train(server.Address, Path.Combine(root, "remote")));
            Assert.Equal(local.Steps, remote.Steps);
            Assert.Equal(local.Final!.Returns, remote.Final!.Returns);
            Assert.Equal(475.0, remote.RewardThreshold);   // announced by the server at the handshake
            string Metrics(string dir) => string.Join("\n", File.ReadAllLines(Path.Combine(root, dir, "metrics.csv")).Select(l => string.Join(",", l.Split(',').Take(12))));
            Assert.Equal(Metrics("local"), Metrics("remote"));
            Assert.Equal(File.ReadAllBytes(Path.Combine(root, "local", "final", "model.safetensors")), File.ReadAllBytes(Path.Combine(root, "remote", "final", "model.safetensors")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [PythonFact]
    public void A_pure_python_environment_served_by_reinforce_env_trains_from_dotnet()
    {
        using var server = PythonServer.Start("make");
        var cfg = TrainingConfig.Preset("CartPole-v1");
        cfg.Env = server.Address;
        cfg.NumEnvs = 4;
        cfg.TotalSteps = 12_288;
        cfg.Eval.EverySteps = 0;
        cfg.Eval.FinalEpisodes = 10;
        string dir = Path.Combine(Path.GetTempPath(), "reinforce-python-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var run = TrainingRun.Create(cfg, dir);
            var result = Within(() => run.Run());
            // Random play is truncated near -2; the best return is 0.7 (four steps right).
            Assert.True(result.Final!.Mean >= 0.6, $"final mean return {result.Final.Mean}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [PythonFact]
    public void A_python_server_that_dies_mid_rollout_is_a_clear_error_and_the_run_keeps_its_checkpoint()
    {
        using var server = PythonServer.Start("make_dying");
        var cfg = TrainingConfig.Preset("CartPole-v1");
        cfg.Env = server.Address;
        cfg.NumEnvs = 1;
        cfg.TotalSteps = 10_000;
        cfg.CheckpointEverySteps = 1;          // a checkpoint after every update
        var ppo = cfg.Section<Reinforce.Algorithms.PpoOptions>()!;
        ppo.NumSteps = 16;
        ppo.BatchSize = 16;
        cfg.Eval.EverySteps = 0;
        cfg.Eval.FinalEpisodes = 0;
        string dir = Path.Combine(Path.GetTempPath(), "reinforce-dies-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var run = TrainingRun.Create(cfg, dir);
            var error = Fails(() => run.Run());
            Assert.Contains($"127.0.0.1:{server.Port}", error.Message, StringComparison.Ordinal);
            Assert.Contains("python reinforce_env", error.Message, StringComparison.Ordinal);
            Assert.Matches(@"step \d+", error.Message);
            Assert.Contains("died", error.Message, StringComparison.Ordinal);
            Assert.True(server.HasExited);
            Assert.NotNull(TrainingRun.LatestCheckpoint(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [PythonFact]
    public void A_python_server_sending_nan_names_the_server_the_step_and_the_copy()
    {
        using var server = PythonServer.Start("make_nan");
        using var env = RemoteVectorEnv.Connect(server.Address, 2, 1);
        var error = Fails(() => { for (int t = 0; t < 10; t++) env.Step([0, 0]); });   // moving left keeps both copies in the corridor past step 7
        Assert.Contains("step 7", error.Message, StringComparison.Ordinal);
        Assert.Contains("NaN at element 0", error.Message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{server.Port}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_dies_mid_rollout_is_a_clear_error_naming_it_and_the_step()
    {
        await using var server = InProcessServer.Start(new FaultyService(Fault.Die, atStep: 6));
        using var env = RemoteVectorEnv.Connect(server.Address, 3, 1);
        var error = Fails(() => { for (int t = 0; t < 10; t++) env.Step([0, 1, 0]); });
        Assert.Contains("step 6", error.Message, StringComparison.Ordinal);
        Assert.Contains(server.Endpoint, error.Message, StringComparison.Ordinal);
        Assert.Contains("reinforce serve-env CartPole-v1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_stalls_fails_at_the_deadline_naming_it_and_the_step()
    {
        await using var server = InProcessServer.Start(new FaultyService(Fault.Stall, atStep: 4));
        using var env = RemoteVectorEnv.Connect(server.Address + "?timeout=1", 2, 1);
        var error = Fails(() => { for (int t = 0; t < 10; t++) env.Step([0, 1]); });
        Assert.Contains("did not answer step 4 within 1 s", error.Message, StringComparison.Ordinal);
        Assert.Contains(server.Endpoint, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Fault.NaN, "row 0 has NaN at element 2")]
    [InlineData(Fault.WrongShape, "where 8 were expected (2 rows of 4)")]
    public async Task Bad_observations_are_refused_naming_the_server_the_step_and_the_problem(Fault fault, string problem)
    {
        await using var server = InProcessServer.Start(new FaultyService(fault, atStep: 3));
        using var env = RemoteVectorEnv.Connect(server.Address, 2, 1);
        var error = Fails(() => { for (int t = 0; t < 10; t++) env.Step([0, 1]); });
        Assert.Contains("step 3", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.Contains(server.Endpoint, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Protocol_and_environment_mismatches_are_refused_at_the_handshake()
    {
        await using var old = InProcessServer.Start(new FaultyService(Fault.OldProtocol, atStep: 0));
        var error = Fails(() => RemoteVectorEnv.Connect(old.Address, 1, 1));
        Assert.Contains("speaks protocol 'reinforce.env.v0'", error.Message, StringComparison.Ordinal);
        Assert.Contains(old.Endpoint, error.Message, StringComparison.Ordinal);

        await using var server = InProcessServer.Start(new VectorEnvService("CartPole-v1"));
        error = Fails(() => RemoteVectorEnv.Connect(server.Address + "/Acrobot-v1", 1, 1));
        Assert.Contains("serves 'CartPole-v1', not 'Acrobot-v1'", error.Message, StringComparison.Ordinal);

        // A client of another protocol version is refused by the server, which says why.
        using var channel = GrpcChannel.ForAddress($"http://{server.Endpoint}");
        var client = new P.EnvironmentService.EnvironmentServiceClient(channel);
        var refused = Assert.Throws<RpcException>(() => client.Handshake(new P.HandshakeRequest { Protocol = "reinforce.env.v2" }));
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("speaks protocol 'reinforce.env.v1'", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void No_server_at_the_address_is_a_clear_error()
    {
        var error = Fails(() => RemoteVectorEnv.Connect("remote://127.0.0.1:1", 1, 1));
        Assert.Contains("could not reach", error.Message, StringComparison.Ordinal);
        Assert.Contains("reinforce serve-env", error.Message, StringComparison.Ordinal);
        var bad = Assert.Throws<ArgumentException>(() => RemoteAddress.Parse("remote://nohost"));
        Assert.Contains("HOST:PORT", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_train_command_trains_on_a_served_environment()
    {
        await using var server = InProcessServer.Start(new VectorEnvService("CartPole-v1"));
        string dir = Path.Combine(Path.GetTempPath(), "reinforce-cli-remote-" + Guid.NewGuid().ToString("N"));
        var stdout = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(stdout);
        try
        {
            int code = Within(() => Cli.Program.Main(["train", "--env", server.Address, "--steps", "1024", "--envs", "2", "--quiet", "--out", dir]));
            Assert.True(code == 0, stdout.ToString());
            Assert.Contains("serves CartPole-v1", stdout.ToString(), StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(dir, "final", "model.safetensors")));
            Assert.Contains(server.Address, File.ReadAllText(Path.Combine(dir, "config.json")), StringComparison.Ordinal);
        }
        finally
        {
            Console.SetOut(previous);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
