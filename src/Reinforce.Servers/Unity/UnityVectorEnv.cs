using System.Globalization;
using System.Net;
using Reinforce.Envs.Vector;
using Reinforce.Servers.Unity.Protocol;
using Reinforce.Spaces;

namespace Reinforce.Servers.Unity;

/// <summary>
/// A Unity ML-Agents scene as a vector environment: Reinforce plays the trainer side of ML-Agents' communicator
/// (what <c>mlagents-learn</c> does in Python), listening on port 5004 (the editor's default; a built player with
/// worker id w uses 5005 + w). Each agent of the scene's behaviour is a copy; the number of copies is the number of
/// agents that request a decision in the first step.
/// </summary>
/// <remarks>
/// <para>Mapping ML-Agents to Gymnasium: an agent info with <c>done</c> ends the copy's episode, terminated unless
/// <c>max_step_reached</c> (then truncated); its observation is the final observation. The agent comes back under a
/// new id in a later message; it takes the first free copy slot. A vector step lasts until every copy has a decision
/// request; an agent that asks again meanwhile (decision periods out of step) gets its copy's last action repeated
/// and its rewards add up. One observation is a Box of its shape (an uncompressed visual observation keeps
/// ML-Agents' [channels, height, width] and is read as an image); several become a <see cref="DictSpace"/> keyed
/// by sensor name (PNG-compressed visual observations are refused with the fix: Compression None). Continuous actions are a Box(-1, 1); discrete branches a Discrete (one branch) or a
/// MultiDiscrete. Discrete action masks are read into <see cref="ActionMasks"/> (true = allowed).</para>
/// <para>One behaviour per run: a scene whose agents use several behaviour names is refused with a message naming
/// them (train them one at a time, setting the others' Behavior Type to Heuristic Only or Inference Only).</para>
/// </remarks>
public sealed class UnityVectorEnv : IVectorEnv
{
    /// <summary>The communication API version this trainer implements.</summary>
    public const string CommunicationVersion = "1.5.0";

    /// <summary>The editor's port; a built player with worker id w uses <c>DefaultPort + 1 + w</c>.</summary>
    public const int DefaultPort = 5004;

    private readonly GrpcHost _host;
    private readonly UnityCommunicator _communicator;
    private readonly TimeSpan _timeout;
    private readonly Dictionary<int, int> _slotOf = [];
    private readonly int[] _agentOf;
    private readonly bool[] _ready;
    private readonly EpisodeBook _book;
    private readonly bool[] _masks;
    private readonly float[] _lastContinuous;
    private readonly int[] _lastDiscrete;
    private List<int> _requesting = [];   // agent ids of the last message's decision requests, in Unity's order
    private readonly int _continuous;
    private readonly int[] _branches;
    private readonly int[] _partOffsets;   // where each of an agent's observations (in Unity's order) lies in the flattened row
    private readonly int[] _partSizes;
    private long _steps;
    private bool _stepsSinceReset;
    private bool _disposed;

    private UnityVectorEnv(GrpcHost host, UnityCommunicator communicator, TimeSpan timeout, string behaviour, string academy, int copies, ObservationParts parts, int continuous, int[] branches)
    {
        _host = host;
        _communicator = communicator;
        _timeout = timeout;
        BehaviorName = behaviour;
        AcademyName = academy;
        NumEnvs = copies;
        int observationSize = parts.Space.FlatSize;
        ObservationSize = observationSize;
        _continuous = continuous;
        _branches = branches;
        _partOffsets = parts.Offsets;
        _partSizes = parts.Sizes;
        SingleObservationSpace = parts.Space;
        SingleActionSpace = continuous > 0 ? new Box(-1f, 1f, [continuous]) : branches.Length == 1 ? new Discrete(branches[0]) : new MultiDiscrete(branches);
        ActionSize = continuous > 0 ? continuous : branches.Length;
        _agentOf = new int[copies];
        _ready = new bool[copies];
        _book = new EpisodeBook(copies, observationSize);
        _masks = new bool[copies * branches.Sum()];
        _lastContinuous = new float[copies * continuous];
        _lastDiscrete = new int[copies * branches.Length];
    }

    /// <summary>The behaviour being trained (e.g. "3DBall?team=0").</summary>
    public string BehaviorName { get; }

    /// <summary>The academy's name Unity sent at the handshake.</summary>
    public string AcademyName { get; }

    /// <summary>The port this trainer listens on.</summary>
    public int Port => _host.Port;

    /// <summary>The port a built player with <paramref name="workerId"/> connects to (5005 + id), or the editor's 5004 for null.</summary>
    public static int PortFor(int? workerId, int basePort = DefaultPort) => workerId is int w ? basePort + 1 + w : basePort;

    /// <summary>
    /// Listens on <paramref name="port"/> (0: any free port), waits up to <paramref name="waitForUnity"/> for Unity to
    /// connect, does the academy handshake (communication version, capabilities, <paramref name="seed"/>), resets the
    /// scene and reads the behaviour spec from the first step. <paramref name="timeout"/> bounds every later wait.
    /// </summary>
    public static UnityVectorEnv Listen(int port, int seed, TimeSpan waitForUnity, TimeSpan timeout, Action<string>? log = null, Action<int>? listening = null)
    {
        var communicator = new UnityCommunicator();
        var host = GrpcHost.StartAsync(communicator, port, IPAddress.Any).GetAwaiter().GetResult();
        try
        {
            listening?.Invoke(host.Port);
            log?.Invoke($"Listening for Unity ML-Agents on port {host.Port}: press Play in the editor (or start the player).");
            var first = communicator.Receive(waitForUnity, "the academy handshake");
            var academy = first.UnityOutput?.RlInitializationOutput;
            if (academy is null)
            {
                communicator.Quit("expected the academy's initialization message");
                throw new IOException("Unity's first message has no academy initialization; is it ML-Agents' RpcCommunicator?");
            }
            string version = academy.CommunicationVersion;
            if (!Compatible(version))
            {
                string message = $"Unity speaks ML-Agents communication API {version}; reinforce implements {CommunicationVersion} (compatible: 1.x). Use an ML-Agents package of release 17 or later (com.unity.ml-agents 2.x or 3.x).";
                communicator.Reply(new UnityMessageProto { Header = new HeaderProto { Status = 500, Message = message } });
                throw new IOException(message);
            }
            log?.Invoke($"Unity connected: academy '{academy.Name}', communication API {version}, package {academy.PackageVersion}.");
            communicator.Reply(new UnityMessageProto
            {
                Header = new HeaderProto { Status = 200 },
                UnityInput = new UnityInputProto
                {
                    RlInitializationInput = new UnityRLInitializationInputProto
                    {
                        Seed = seed,
                        CommunicationVersion = CommunicationVersion,
                        PackageVersion = $"reinforce {typeof(UnityVectorEnv).Assembly.GetName().Version}",
                        NumAreas = 1,
                        Capabilities = new UnityRLCapabilitiesProto { BaseRLCapabilities = true, HybridActions = true },
                    },
                },
            });
            // Unity's RpcCommunicator follows the handshake with an empty message; the answer is the first command: reset.
            communicator.Receive(timeout, "the message after the handshake");
            communicator.Reply(Command(CommandProto.Reset));
            var output = communicator.Receive(timeout, "the first step after reset");
            var env = FromFirstStep(host, communicator, timeout, academy.Name, output);
            log?.Invoke($"Training behaviour '{env.BehaviorName}': {env.NumEnvs} agents, observations of {env.ObservationSize} floats, actions {env.SingleActionSpace}.");
            return env;
        }
        catch
        {
            communicator.Quit("the trainer stopped");
            host.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    private static bool Compatible(string version)
    {
        var parts = version.Split('.');
        return parts.Length >= 2 && parts[0] == "1" && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _);
    }

    private static UnityMessageProto Command(CommandProto command) =>
        new() { Header = new HeaderProto { Status = 200 }, UnityInput = new UnityInputProto { RlInput = new UnityRLInputProto { Command = command } } };

    private static UnityVectorEnv FromFirstStep(GrpcHost host, UnityCommunicator communicator, TimeSpan timeout, string academy, UnityMessageProto message)
    {
        var output = message.UnityOutput ?? throw new IOException("Unity's first step has no output.");
        var brains = output.RlInitializationOutput?.BrainParameters.ToList() ?? [];
        var withAgents = output.RlOutput?.AgentInfos.Where(kv => kv.Value.Value.Count > 0).Select(kv => kv.Key).ToList() ?? [];
        var names = brains.Select(b => b.BrainName).Union(withAgents).Distinct().ToList();
        if (names.Count == 0) throw new IOException("Unity's first step names no behaviour with agents; does the scene have an Agent with Behavior Type Default?");
        if (names.Count > 1)
        {
            communicator.Quit("several behaviours");
            throw new IOException($"The scene has {names.Count} behaviours ({string.Join(", ", names)}); reinforce trains one behaviour per run. Set the Behavior Type of all but one to Heuristic Only or Inference Only, and train each in turn.");
        }
        string name = names[0];
        var brain = brains.FirstOrDefault(b => b.BrainName == name) ?? throw new IOException($"Unity sent agents of '{name}' without its behaviour parameters.");
        var spec = brain.ActionSpec ?? throw new IOException($"Behaviour '{name}' has no action spec (ML-Agents before release 17 is not supported).");
        int continuous = spec.NumContinuousActions;
        int[] branches = spec.DiscreteBranchSizes.ToArray();
        if (continuous > 0 && branches.Length > 0)
            throw new IOException($"Behaviour '{name}' has both continuous ({continuous}) and discrete ({branches.Length} branches) actions; reinforce's policies take one kind. Use continuous or discrete actions only.");
        if (continuous == 0 && branches.Length == 0) throw new IOException($"Behaviour '{name}' has no actions.");
        var infos = output.RlOutput!.AgentInfos[name].Value;
        var requesting = infos.Where(i => !i.Done).ToList();
        if (requesting.Count == 0) throw new IOException($"No agent of '{name}' requested a decision in the first step.");
        var parts = ObservationPartsOf(requesting[0], name);
        var env = new UnityVectorEnv(host, communicator, timeout, name, academy, requesting.Count, parts, continuous, branches);
        env.Absorb(output.RlOutput, "the first step");
        return env;
    }

    /// <summary>The most floats one agent's observations may hold (a malformed message cannot make the trainer allocate more).</summary>
    public const int MaxObservationElements = 1 << 24;

    /// <summary>The observation space of a behaviour and where each of its observations lies in the flattened row.</summary>
    private sealed record ObservationParts(Space Space, int[] Offsets, int[] Sizes);

    /// <summary>
    /// One observation: a Box of its shape (a vector [n], a stacked vector, or an uncompressed visual observation
    /// [channels, height, width], ML-Agents' CHW order, which the CNN encoders read as an image). Several: a
    /// <see cref="DictSpace"/> keyed by the sensors' names (observation i when a name is empty or repeated).
    /// </summary>
    private static ObservationParts ObservationPartsOf(AgentInfoProto info, string behaviour)
    {
        if (info.Observations.Count == 0) throw new IOException($"Behaviour '{behaviour}' sends no observations; add a sensor or override CollectObservations.");
        var keys = new List<string>();
        var spaces = new List<Space>();
        var sizes = new int[info.Observations.Count];
        long total = 0;
        for (int k = 0; k < info.Observations.Count; k++)
        {
            var o = info.Observations[k];
            string label = o.Name.Length > 0 ? $"'{o.Name}'" : $"{k}";
            if (o.ObservationDataCase != ObservationProto.ObservationDataOneofCase.FloatData)
                throw new IOException($"Behaviour '{behaviour}': observation {label} [{string.Join(", ", o.Shape)}] arrives {(o.CompressionType == CompressionTypeProto.Png ? "PNG-compressed" : "without data")}; reinforce reads uncompressed float observations. In the editor set the sensor's Compression (Camera Sensor / Render Texture Sensor component: Compression) to None.");
            if (o.Shape.Count is < 1 or > 3 || o.Shape.Any(d => d < 1))
                throw new IOException($"Behaviour '{behaviour}': observation {label} has the shape [{string.Join(", ", o.Shape)}]; reinforce reads observations of one to three axes, each at least 1.");
            long count = 1;
            foreach (int d in o.Shape) count *= d;
            total += count;
            if (total > MaxObservationElements) throw new IOException($"Behaviour '{behaviour}': the observations hold more than {MaxObservationElements} floats per agent; reinforce refuses observations that large.");
            if (count != o.FloatData.Data.Count)
                throw new IOException($"Behaviour '{behaviour}': observation {label} has the shape [{string.Join(", ", o.Shape)}] ({count} values) but carries {o.FloatData.Data.Count}.");
            sizes[k] = (int)count;
            string key = o.Name.Length > 0 && !keys.Contains(o.Name) ? o.Name : $"observation {k}";
            keys.Add(key);
            spaces.Add(new Box(float.NegativeInfinity, float.PositiveInfinity, o.Shape.ToArray()));
        }
        if (spaces.Count == 1) return new ObservationParts(spaces[0], [0], sizes);
        var dict = new DictSpace(keys.Zip(spaces).Select(p => (p.First, p.Second)).ToArray());
        var offsets = new int[keys.Count];
        for (int k = 0; k < keys.Count; k++)
        {
            int at = 0;
            for (int i = 0; i < dict.Keys.Count && dict.Keys[i] != keys[k]; i++) at += dict.Spaces[i].FlatSize;
            offsets[k] = at;
        }
        return new ObservationParts(dict, offsets, sizes);
    }

    /// <inheritdoc/>
    public int NumEnvs { get; }

    /// <inheritdoc/>
    public Space SingleObservationSpace { get; }

    /// <inheritdoc/>
    public Space SingleActionSpace { get; }

    /// <inheritdoc/>
    public int ObservationSize { get; }

    /// <inheritdoc/>
    public int ActionSize { get; }

    /// <summary>Null: Unity's agents have their own Max Step (reported as truncation).</summary>
    public int? MaxEpisodeSteps => null;

    /// <summary>Empty: the copies live in Unity.</summary>
    public IReadOnlyList<IVectorizableEnv> Envs => [];

    /// <inheritdoc/>
    public ReadOnlySpan<float> Observations => _book.Observations;

    /// <inheritdoc/>
    public ReadOnlySpan<float> Rewards => _book.Rewards;

    /// <inheritdoc/>
    public ReadOnlySpan<bool> Terminated => _book.Terminated;

    /// <inheritdoc/>
    public ReadOnlySpan<bool> Truncated => _book.Truncated;

    /// <inheritdoc/>
    public ReadOnlySpan<float> FinalObservations => _book.FinalObservations;

    /// <inheritdoc/>
    public ReadOnlySpan<EpisodeRecord> CompletedEpisodes => _book.Completed;

    /// <summary>Discrete action masks of the current decision, <c>[NumEnvs × sum(branch sizes)]</c>, true = allowed (ML-Agents sends true = masked; this is inverted, as SB3-contrib and <c>Categorical</c> expect).</summary>
    public ReadOnlySpan<bool> ActionMasks => _masks;

    /// <summary>The Unity agent id (episode id) each copy currently holds.</summary>
    public ReadOnlySpan<int> AgentIds => _agentOf;

    /// <inheritdoc/>
    public ReadOnlySpan<float> FinalObservation(int envIndex) => _book.FinalObservation(envIndex, this);

    /// <summary>Sends Unity a reset command (unless nothing was stepped since the last reset). Unity seeds itself from the handshake's seed.</summary>
    public void Reset(ulong seed)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_stepsSinceReset) return;
        _communicator.Reply(Command(CommandProto.Reset));
        _slotOf.Clear();
        _book.Reset();
        Array.Clear(_ready);
        var output = _communicator.Receive(_timeout, "the first step after reset");
        Absorb(output.UnityOutput?.RlOutput, "reset");
        while (_ready.Contains(false)) Exchange([], "reset");
        _stepsSinceReset = false;
        _steps = 0;
    }

    /// <inheritdoc/>
    public void Step(ReadOnlySpan<int> actions)
    {
        if (_branches.Length == 0) throw new ArgumentException($"Behaviour '{BehaviorName}' takes continuous actions; call Step(ReadOnlySpan<float>).", nameof(actions));
        if (actions.Length != NumEnvs * _branches.Length) throw new ArgumentException($"Got {actions.Length} action values for {NumEnvs} agents with {_branches.Length} branches.", nameof(actions));
        actions.CopyTo(_lastDiscrete);
        StepAll();
    }

    /// <inheritdoc/>
    public void Step(ReadOnlySpan<float> actions)
    {
        if (_continuous == 0) throw new ArgumentException($"Behaviour '{BehaviorName}' takes discrete actions; call Step(ReadOnlySpan<int>).", nameof(actions));
        if (actions.Length != NumEnvs * _continuous) throw new ArgumentException($"Got {actions.Length} action values for {NumEnvs} agents with {_continuous} continuous actions.", nameof(actions));
        for (int i = 0; i < actions.Length; i++) _lastContinuous[i] = Math.Clamp(actions[i], -1f, 1f);   // ML-Agents clips to [-1, 1] too
        StepAll();
    }

    private void StepAll()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        string step = $"step {(_steps + 1).ToString(CultureInfo.InvariantCulture)}";
        _book.BeginStep();
        Array.Clear(_ready);
        Exchange(_requesting, step);
        int rounds = 0;
        while (_ready.Contains(false))
        {
            // Some copies wait for their agent (a new episode not yet started, or decision periods out of step):
            // answer the agents that asked with their copy's last action and keep going.
            if (++rounds > 10_000)
                throw new IOException($"Unity: at {step} copies {string.Join(", ", Enumerable.Range(0, NumEnvs).Where(i => !_ready[i]))} have had no decision request for 10,000 exchanges; do all agents of '{BehaviorName}' keep requesting decisions?");
            Exchange(_requesting, step);
        }
        _book.EndStep();
        _steps++;
        _stepsSinceReset = true;
    }

    /// <summary>Answers Unity's last message with actions for <paramref name="agents"/> (their copies' last actions) and absorbs its next message.</summary>
    private void Exchange(List<int> agents, string step)
    {
        var list = new UnityRLInputProto.Types.ListAgentActionProto();
        foreach (int id in agents)
        {
            int slot = _slotOf[id];
            var action = new AgentActionProto();
            if (_continuous > 0) action.ContinuousActions.Add(_lastContinuous.AsSpan(slot * _continuous, _continuous).ToArray());
            else action.DiscreteActions.Add(_lastDiscrete.AsSpan(slot * _branches.Length, _branches.Length).ToArray());
            list.Value.Add(action);
        }
        var input = new UnityRLInputProto { Command = CommandProto.Step };
        input.AgentActions.Add(BehaviorName, list);
        _communicator.Reply(new UnityMessageProto { Header = new HeaderProto { Status = 200 }, UnityInput = new UnityInputProto { RlInput = input } });
        var message = _communicator.Receive(_timeout, step);
        if (message.Header is { Status: not 200 } header)
            throw new IOException($"Unity ended the session at {step} (status {header.Status}{(header.Message.Length > 0 ? ": " + header.Message : "")}).");
        Absorb(message.UnityOutput?.RlOutput, step);
    }

    /// <summary>Reads one message's agent infos: finished episodes first (freeing their copies), then decision requests.</summary>
    private void Absorb(UnityRLOutputProto? output, string step)
    {
        _requesting = [];
        if (output is null) return;
        foreach (var key in output.AgentInfos.Keys)
        {
            if (key != BehaviorName && output.AgentInfos[key].Value.Count > 0)
                throw new IOException($"Unity sent agents of a second behaviour '{key}' at {step}; reinforce trains one behaviour per run ('{BehaviorName}').");
        }
        if (!output.AgentInfos.TryGetValue(BehaviorName, out var list)) return;
        foreach (var info in list.Value.Where(i => i.Done))
        {
            if (!_slotOf.TryGetValue(info.Id, out int slot)) continue;   // finished before it ever asked for a decision
            _book.AddReward(slot, info.Reward, counts: false);   // the last reward, not a step of its own
            ReadObservation(info, _book.FinalObservationRow(slot), step);
            _book.Finish(slot, terminated: !info.MaxStepReached, truncated: info.MaxStepReached);
            _slotOf.Remove(info.Id);
            _agentOf[slot] = -1;
            _ready[slot] = false;   // the copy waits for its agent's next episode
        }
        foreach (var info in list.Value.Where(i => !i.Done))
        {
            if (!_slotOf.TryGetValue(info.Id, out int slot))
            {
                slot = FreeSlot();
                if (slot < 0)
                    throw new IOException($"Unity: at {step} agent {info.Id} of '{BehaviorName}' asks for a decision but all {NumEnvs} copies are held by running agents; reinforce trains a fixed number of agents (the number in the first step). Keep the agent count constant.");
                _slotOf[info.Id] = slot;
                _agentOf[slot] = info.Id;
            }
            _book.AddReward(slot, info.Reward);
            ReadObservation(info, _book.ObservationRow(slot), step);
            ReadMask(info, slot, step);
            _ready[slot] = true;
            _requesting.Add(info.Id);
        }
    }

    private int FreeSlot()
    {
        for (int i = 0; i < NumEnvs; i++)
        {
            if (!_slotOf.ContainsValue(i)) return i;
        }
        return -1;
    }

    private void ReadObservation(AgentInfoProto info, Span<float> row, string step)
    {
        if (info.Observations.Count != _partSizes.Length)
            throw new IOException($"Unity: at {step} agent {info.Id} of '{BehaviorName}' sent {info.Observations.Count} observations where the behaviour has {_partSizes.Length} ({SingleObservationSpace}).");
        for (int k = 0; k < _partSizes.Length; k++)
        {
            var o = info.Observations[k];
            if (o.ObservationDataCase != ObservationProto.ObservationDataOneofCase.FloatData)
                throw new IOException($"Unity: at {step} agent {info.Id} sent observation {k} ('{o.Name}') {(o.CompressionType == CompressionTypeProto.Png ? "PNG-compressed" : "without data")}; set the sensor's Compression to None.");
            var data = o.FloatData.Data;
            if (data.Count != _partSizes[k])
                throw new IOException($"Unity: at {step} agent {info.Id} of '{BehaviorName}' sent {data.Count} values in observation {k} ('{o.Name}') where the behaviour has {_partSizes[k]} ({SingleObservationSpace}).");
            var target = row.Slice(_partOffsets[k], _partSizes[k]);
            for (int i = 0; i < data.Count; i++)
            {
                float v = data[i];
                if (!float.IsFinite(v)) throw new IOException($"Unity: at {step} agent {info.Id} of '{BehaviorName}' sent {v.ToString(CultureInfo.InvariantCulture)} at element {i} of observation {k} ('{o.Name}'); check the agent's CollectObservations.");
                target[i] = v;
            }
        }
    }

    private void ReadMask(AgentInfoProto info, int slot, string step)
    {
        int width = _branches.Sum();
        if (width == 0) return;
        var row = _masks.AsSpan(slot * width, width);
        if (info.ActionMask.Count == 0)
        {
            row.Fill(true);
            return;
        }
        if (info.ActionMask.Count != width)
            throw new IOException($"Unity: at {step} agent {info.Id} sent an action mask of {info.ActionMask.Count} flags for branches of sizes [{string.Join(", ", _branches)}] ({width} flags).");
        for (int i = 0; i < width; i++) row[i] = !info.ActionMask[i];
    }

    /// <summary>Tells Unity the training is over (status 400, as mlagents-learn closes) and stops listening.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _communicator.Quit("training finished");
        _host.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <inheritdoc/>
    public override string ToString() => $"Unity behaviour '{BehaviorName}' x{NumEnvs} on port {Port}";
}
