using Grpc.Net.Client;
using Reinforce.Servers.Unity.Protocol;

namespace Reinforce.Tests.Remote;

/// <summary>
/// Plays Unity's side of ML-Agents' communicator as its C# RpcCommunicator does (same messages, same order): the
/// academy's initialization message, an empty message, then one message per step with the agents' infos (the
/// behaviour parameters riding along with the first), applying the actions that come back. Inside is a 3DBall-like
/// scene: each agent tilts a plate (continuous action in [-1, 1]) to keep a ball on it; +0.1 per step, the episode
/// ends (done) when the ball falls off and is cut short (max_step_reached) after <see cref="MaxStep"/> steps. With
/// <see cref="Discrete"/>, the plate is tilted by two discrete branches [3, 2] and action 2 of branch 0 is masked.
/// </summary>
internal sealed class UnityTestClient
{
    public const string Behavior = "3DBallLike?team=0";

    private readonly int _agents;
    private readonly Random _rng;
    private readonly float[] _angle, _x, _v;
    private readonly int[] _id, _steps;
    private int _nextId = 1;

    public UnityTestClient(int agents, int seed, bool discrete = false, string version = "1.5.0")
    {
        _agents = agents;
        _rng = new Random(seed);
        Discrete = discrete;
        Version = version;
        _angle = new float[agents];
        _x = new float[agents];
        _v = new float[agents];
        _id = new int[agents];
        _steps = new int[agents];
    }

    public bool Discrete { get; }

    public string Version { get; }

    public int MaxStep { get; init; } = 100;

    /// <summary>Disconnect (dispose the channel without a word) after this many step messages; 0: never.</summary>
    public int DisconnectAfter { get; init; }

    public int Steps { get; private set; }

    /// <summary>Each agent also sees an uncompressed camera [1, 4, 6] (CHW, as ML-Agents' ObservationSpec.Visual): a one-hot row 2 marking the ball's column.</summary>
    public bool Camera { get; init; }

    /// <summary>The camera arrives PNG-compressed (a camera sensor left at its default compression).</summary>
    public bool PngCamera { get; init; }

    /// <summary>Changes the agent infos of the step message with the given number (0: the first step after reset) before they are sent: a lying Unity.</summary>
    public Action<int, UnityRLOutputProto>? Tamper { get; init; }

    public int EpisodesDone { get; private set; }

    public int Truncations { get; private set; }

    public int SeedReceived { get; private set; } = -1;

    public string? EndedWith { get; private set; }

    public List<int> Requested { get; } = [];

    /// <summary>Runs until the trainer says stop (status 400 or QUIT) or the connection ends.</summary>
    public void Run(int port)
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new UnityToExternalProto.UnityToExternalProtoClient(channel);
        var academy = new UnityRLInitializationOutputProto
        {
            Name = "AcademySingleton", CommunicationVersion = Version, PackageVersion = "3.0.0",
            Capabilities = new UnityRLCapabilitiesProto { BaseRLCapabilities = true, ConcatenatedPngObservations = true, CompressedChannelMapping = true, HybridActions = true, TrainingAnalytics = true, VariableLengthObservation = true, MultiAgentGroups = true },
        };
        var init = client.Exchange(Wrap(new UnityOutputProto { RlInitializationOutput = academy }));
        if (init.Header.Status != 200) { EndedWith = $"refused: {init.Header.Message}"; return; }
        SeedReceived = init.UnityInput.RlInitializationInput.Seed;
        var input = client.Exchange(Wrap(null)).UnityInput;   // RpcCommunicator.Initialize's second exchange
        bool sentBrain = false;
        var requesting = new List<int>();
        while (true)
        {
            var command = input?.RlInput?.Command ?? CommandProto.Step;
            if (command == CommandProto.Quit) { EndedWith = "quit"; return; }
            if (command == CommandProto.Reset) ResetAll();
            else Apply(input!.RlInput, requesting);
            var output = new UnityOutputProto { RlOutput = Observe(requesting) };
            if (!sentBrain)
            {
                output.RlInitializationOutput = new UnityRLInitializationOutputProto { Name = "AcademySingleton", CommunicationVersion = Version };
                output.RlInitializationOutput.BrainParameters.Add(BrainParameters());
                sentBrain = true;
            }
            Tamper?.Invoke(Steps, output.RlOutput);
            if (DisconnectAfter > 0 && Steps >= DisconnectAfter) { EndedWith = "disconnected"; return; }
            UnityMessageProto reply;
            try
            {
                reply = client.Exchange(Wrap(output));
            }
            catch (Grpc.Core.RpcException ex)
            {
                EndedWith = $"connection ended: {ex.StatusCode}";
                return;
            }
            if (reply.Header.Status != 200) { EndedWith = $"status {reply.Header.Status}"; return; }
            input = reply.UnityInput;
            Steps++;
        }
    }

    private static UnityMessageProto Wrap(UnityOutputProto? output) =>
        new() { Header = new HeaderProto { Status = 200 }, UnityOutput = output };

    private BrainParametersProto BrainParameters()
    {
        var spec = new ActionSpecProto();
        if (Discrete) { spec.NumDiscreteActions = 2; spec.DiscreteBranchSizes.Add([3, 2]); }
        else spec.NumContinuousActions = 1;
        return new BrainParametersProto { BrainName = Behavior, IsTraining = true, ActionSpec = spec };
    }

    private void ResetAll()
    {
        for (int i = 0; i < _agents; i++) Begin(i);
    }

    private void Begin(int i)
    {
        _id[i] = _nextId++;
        _angle[i] = 0;
        _x[i] = (float)(_rng.NextDouble() - 0.5) * 0.4f;
        _v[i] = (float)(_rng.NextDouble() - 0.5) * 0.2f;
        _steps[i] = 0;
    }

    private void Apply(UnityRLInputProto rlInput, List<int> requesting)
    {
        var actions = rlInput.AgentActions.TryGetValue(Behavior, out var list) ? list.Value : null;
        int count = actions?.Count ?? 0;
        if (count != requesting.Count) throw new InvalidOperationException($"Unity would fail here: {requesting.Count} agents requested decisions, {count} actions came back.");
        for (int k = 0; k < count; k++)
        {
            int i = requesting[k];
            float push;
            if (Discrete)
            {
                var a = actions![k].DiscreteActions;
                push = (a[0] - 1) * (a[1] == 1 ? 1f : 0.5f);   // branch 0: left, none, right; branch 1: gentle or firm
            }
            else push = Math.Clamp(actions![k].ContinuousActions[0], -1f, 1f);
            _angle[i] = Math.Clamp(_angle[i] + 0.1f * push, -0.5f, 0.5f);
        }
    }

    /// <summary>Advances the scene one step and reports every agent: finished ones (done) first start a new episode next step.</summary>
    private UnityRLOutputProto Observe(List<int> requesting)
    {
        var list = new UnityRLOutputProto.Types.ListAgentInfoProto();
        var next = new List<int>();
        for (int i = 0; i < _agents; i++)
        {
            if (_steps[i] < 0) { Begin(i); }   // the agent finished last step: a new episode (new id) starts now
            _v[i] += 0.08f * MathF.Sin(_angle[i]) + 0.01f * _x[i];
            _x[i] += _v[i] * 0.5f;
            _steps[i]++;
            bool fell = MathF.Abs(_x[i]) > 1f;
            bool limit = !fell && _steps[i] >= MaxStep;
            var info = new AgentInfoProto { Id = _id[i], Reward = fell ? -1f : 0.1f, Done = fell || limit, MaxStepReached = limit };
            var obs = new ObservationProto { Name = "VectorSensor" };
            obs.Shape.Add(3);
            obs.FloatData = new ObservationProto.Types.FloatData();
            obs.FloatData.Data.Add([_angle[i], _x[i], _v[i]]);
            info.Observations.Add(obs);
            if (Camera || PngCamera)
            {
                var camera = new ObservationProto { Name = "CameraSensor", CompressionType = PngCamera ? CompressionTypeProto.Png : CompressionTypeProto.None };
                camera.Shape.Add([1, 4, 6]);
                camera.DimensionProperties.Add([1, 2, 2]);   // none, translational equivariance x2 (ML-Agents' Visual spec)
                if (PngCamera) camera.CompressedData = Google.Protobuf.ByteString.CopyFrom(0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A);
                else
                {
                    var pixels = new float[24];
                    pixels[2 * 6 + Math.Clamp((int)((_x[i] + 1f) * 3f), 0, 5)] = 1f;
                    camera.FloatData = new ObservationProto.Types.FloatData();
                    camera.FloatData.Data.Add(pixels);
                }
                info.Observations.Add(camera);
            }
            if (Discrete) info.ActionMask.Add([false, false, _id[i] % 2 == 0, false, false]);   // even ids may not push right
            list.Value.Add(info);
            if (info.Done)
            {
                EpisodesDone++;
                if (limit) Truncations++;
                _steps[i] = -1;
            }
            else next.Add(i);
        }
        requesting.Clear();
        requesting.AddRange(next);
        Requested.Add(next.Count);
        var output = new UnityRLOutputProto();
        output.AgentInfos.Add(Behavior, list);
        return output;
    }
}
