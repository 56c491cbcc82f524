using System.Globalization;
using System.Net.Http;
using Grpc.Core;
using Grpc.Net.Client;
using Reinforce.Envs.Vector;
using Reinforce.Spaces;
using P = Reinforce.Envs.Remote.Protocol;

namespace Reinforce.Envs.Remote;

/// <summary>
/// A vector environment whose copies live in other processes, reached over the Reinforce environment protocol
/// (gRPC, <c>protos/reinforce/env/v1/env.proto</c>): a <c>reinforce serve-env</c> process, a Python process serving a
/// Gymnasium environment (<c>python/reinforce_env</c>), or several of them (copies spread over the servers in
/// order). It behaves as a local <see cref="SyncVectorEnv"/> does (same-step auto-reset with final observations,
/// episode statistics, copy i seeded with <c>Rng.DeriveSeed(seed, i)</c> whichever server holds it), so training code
/// cannot tell them apart. Every failure (a server that dies, answers too late, or sends NaN or a wrong-shaped
/// observation) is a <see cref="RemoteEnvironmentException"/> naming the server and the step, within the deadline.
/// </summary>
public sealed class RemoteVectorEnv : IVectorEnv
{
    private readonly Server[] _servers;
    private readonly bool _integerActions;
    private readonly EpisodeBook _book;
    private readonly TimeSpan _timeout;
    private long _steps;
    private bool _hasReset;
    private bool _warnedLargeReward;
    private bool _disposed;

    private RemoteVectorEnv(RemoteAddress address, Server[] servers, HandshakeInfo info)
    {
        Address = address;
        _servers = servers;
        _timeout = address.Timeout;
        Info = info;
        SingleObservationSpace = info.ObservationSpace;
        SingleActionSpace = info.ActionSpace;
        ObservationSize = SingleObservationSpace.FlatSize;   // Dict, Tuple and image spaces flatten into one float row (ObservationLayout names the blocks)
        (_integerActions, ActionSize) = SingleActionSpace switch
        {
            Discrete => (true, 1),
            MultiDiscrete m => (true, m.Branches),
            Box b => (false, b.ElementCount),
            _ => throw new RemoteEnvironmentException($"{servers[0].Name}: the action space {SingleActionSpace} is not supported."),
        };
        NumEnvs = servers.Sum(s => s.Count);
        if ((long)NumEnvs * ObservationSize > ProtocolCodec.MaxSpaceElements * 4)
            throw new RemoteEnvironmentException($"{servers[0].Name}: {NumEnvs} copies of observations of {ObservationSize} floats need {(long)NumEnvs * ObservationSize * 4 / (1 << 20)} MiB per batch; use fewer copies.");
        _book = new EpisodeBook(NumEnvs, ObservationSize);
    }

    /// <summary>What the servers announced at the handshake.</summary>
    /// <param name="EnvId">The served environment id.</param>
    /// <param name="Server">The first server's description of itself.</param>
    /// <param name="ObservationSpace">One copy's observation space.</param>
    /// <param name="ActionSpace">One copy's action space.</param>
    /// <param name="MaxEpisodeSteps">The time limit the server applies (null: none).</param>
    /// <param name="RewardThreshold">The return that counts as solved (null: none).</param>
    public sealed record HandshakeInfo(string EnvId, string Server, Space ObservationSpace, Space ActionSpace, int? MaxEpisodeSteps, double? RewardThreshold);

    /// <summary>The address the environment was opened with.</summary>
    public RemoteAddress Address { get; }

    /// <summary>What the servers announced.</summary>
    public HandshakeInfo Info { get; }

    /// <summary>
    /// Connects to the servers of <paramref name="address"/>, checks the protocol version (and the environment id
    /// when the address names one), opens <paramref name="numEnvs"/> copies spread over the servers (the first ones
    /// get one more when it does not divide), and resets them with <paramref name="seed"/>.
    /// </summary>
    public static RemoteVectorEnv Connect(string address, int numEnvs, ulong seed) => Connect(RemoteAddress.Parse(address), numEnvs, seed);

    /// <inheritdoc cref="Connect(string, int, ulong)"/>
    public static RemoteVectorEnv Connect(RemoteAddress address, int numEnvs, ulong seed)
    {
        var env = Open(address, numEnvs);
        try
        {
            env.Reset(seed);
            return env;
        }
        catch
        {
            env.Dispose();
            throw;
        }
    }

    /// <summary>Connects and shakes hands with the first server only (no copies kept), to learn what it serves.</summary>
    public static HandshakeInfo Probe(string address)
    {
        using var env = Open(RemoteAddress.Parse(address), 1);
        return env.Info;
    }

    private static RemoteVectorEnv Open(RemoteAddress address, int numEnvs)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (numEnvs < 1) throw new ArgumentOutOfRangeException(nameof(numEnvs), numEnvs, "A remote vector environment needs at least one copy.");
        if (numEnvs < address.Servers.Count)
            throw new ArgumentException($"{address}: {numEnvs} copies cannot be spread over {address.Servers.Count} servers; use at least one copy per server.");
        var servers = new List<Server>();
        try
        {
            HandshakeInfo? first = null;
            int offset = 0;
            for (int s = 0; s < address.Servers.Count; s++)
            {
                int count = numEnvs / address.Servers.Count + (s < numEnvs % address.Servers.Count ? 1 : 0);
                var (host, port) = address.Servers[s];
                var server = new Server(host, port, offset, count, address.Timeout);
                servers.Add(server);
                var response = server.Handshake(address.EnvId);
                var info = new HandshakeInfo(response.EnvId, response.Server,
                    ProtocolCodec.FromProto(response.ObservationSpace, $"{server.Name}: the observation space"),
                    ProtocolCodec.FromProto(response.ActionSpace, $"{server.Name}: the action space"),
                    response.MaxEpisodeSteps > 0 ? response.MaxEpisodeSteps : null,
                    response.HasRewardThreshold ? response.RewardThreshold : null);
                server.Leaves = ObservationLeaves.Of(response.ObservationSpace, info.ObservationSpace);
                if (first is null)
                {
                    first = info;
                }
                else if (info.EnvId != first.EnvId || info.ObservationSpace.ToString() != first.ObservationSpace.ToString() || info.ActionSpace.ToString() != first.ActionSpace.ToString())
                {
                    throw new RemoteEnvironmentException($"{server.Name} serves {info.EnvId} ({info.ObservationSpace}, {info.ActionSpace}) but {servers[0].Name} serves {first.EnvId} ({first.ObservationSpace}, {first.ActionSpace}); every server of one address must serve the same environment.");
                }
                offset += count;
            }
            return new RemoteVectorEnv(address, servers.ToArray(), first!);
        }
        catch
        {
            foreach (var server in servers) server.Dispose();
            throw;
        }
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

    /// <inheritdoc/>
    public int? MaxEpisodeSteps => Info.MaxEpisodeSteps;

    /// <summary>Remote copies can neither save their state nor be replayed: checkpoints resume with exact weights and fresh episodes.</summary>
    public EnvironmentRestore Restore => EnvironmentRestore.Reset;

    /// <summary>Empty: the copies live in the servers' processes.</summary>
    public IReadOnlyList<IVectorizableEnv> Envs => [];

    /// <summary>The number of vector steps since the last reset (named in error messages).</summary>
    public long StepCount => _steps;

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

    /// <inheritdoc/>
    public ReadOnlySpan<float> FinalObservation(int envIndex) => _book.FinalObservation(envIndex, this);

    /// <inheritdoc/>
    public void Reset(ulong seed)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var calls = new AsyncUnaryCall<P.ResetResponse>[_servers.Length];
        for (int s = 0; s < _servers.Length; s++)
        {
            var server = _servers[s];
            var request = new P.ResetRequest { Session = server.Session };
            for (int i = 0; i < server.Count; i++) request.Seeds.Add(Rng.DeriveSeed(seed, server.Offset + i));
            calls[s] = server.Call(c => c.ResetAsync(request, deadline: DateTime.UtcNow + _timeout), "reset");
        }
        for (int s = 0; s < _servers.Length; s++)
        {
            var server = _servers[s];
            var response = server.Await(calls[s], "reset");
            ReadObservations(server, response.Observations, _book.Observations.AsSpan(server.Offset * ObservationSize, server.Count * ObservationSize), "reset", "observations");
        }
        _book.Reset();
        _steps = 0;
        _hasReset = true;
    }

    /// <inheritdoc/>
    public void Step(ReadOnlySpan<int> actions)
    {
        CheckStep(actions.Length, integer: true);
        var calls = new AsyncUnaryCall<P.StepResponse>[_servers.Length];
        int perCopy = ActionSize;
        for (int s = 0; s < _servers.Length; s++)
        {
            var server = _servers[s];
            var slice = actions.Slice(server.Offset * perCopy, server.Count * perCopy);
            var tensor = SingleActionSpace is Discrete ? ProtocolCodec.IntTensor(slice, server.Count) : ProtocolCodec.IntTensor(slice, server.Count, perCopy);
            calls[s] = Send(server, tensor);
        }
        Receive(calls);
    }

    /// <inheritdoc/>
    public void Step(ReadOnlySpan<float> actions)
    {
        CheckStep(actions.Length, integer: false);
        var calls = new AsyncUnaryCall<P.StepResponse>[_servers.Length];
        int perCopy = ActionSize;
        int[] shape = [0, .. SingleActionSpace.Shape];
        for (int s = 0; s < _servers.Length; s++)
        {
            var server = _servers[s];
            shape[0] = server.Count;
            calls[s] = Send(server, ProtocolCodec.FloatTensor(actions.Slice(server.Offset * perCopy, server.Count * perCopy), shape));
        }
        Receive(calls);
    }

    private AsyncUnaryCall<P.StepResponse> Send(Server server, P.Tensor actions)
    {
        var request = new P.StepRequest { Session = server.Session, Actions = actions };
        return server.Call(c => c.StepAsync(request, deadline: DateTime.UtcNow + _timeout), StepName);
    }

    private string StepName => $"step {(_steps + 1).ToString(CultureInfo.InvariantCulture)}";

    private void Receive(AsyncUnaryCall<P.StepResponse>[] calls)
    {
        string step = StepName;
        _book.BeginStep();
        for (int s = 0; s < _servers.Length; s++)
        {
            var server = _servers[s];
            var response = server.Await(calls[s], step);
            int n = server.Count, o = server.Offset;
            if (response.Rewards.Count != n || response.Terminated.Count != n || response.Truncated.Count != n)
                throw server.Fault(step, $"it sent {response.Rewards.Count} rewards, {response.Terminated.Count} terminated and {response.Truncated.Count} truncated flags for its {n} copies");
            ReadObservations(server, response.Observations, _book.Observations.AsSpan(o * ObservationSize, n * ObservationSize), step, "observations");
            if (response.FinalIndices.Count > n)
                throw server.Fault(step, $"it sent {response.FinalIndices.Count} final observations for its {n} copies");
            var finals = new float[response.FinalIndices.Count * ObservationSize];
            if (response.FinalIndices.Count > 0)
                ReadObservations(server, response.FinalObservations, finals, step, "final observations");
            int next = 0;
            for (int i = 0; i < n; i++)
            {
                float reward = response.Rewards[i];
                if (!float.IsFinite(reward)) throw server.Fault(step, $"copy {o + i} has reward {reward.ToString(CultureInfo.InvariantCulture)}; rewards must be finite numbers");
                if (Math.Abs(reward) > VectorEnv.RewardWarningMagnitude && !_warnedLargeReward)
                {
                    _warnedLargeReward = true;
                    VectorEnv.WarnLargeReward($"{server.Name}: copy {o + i}", reward, $"at step {step}");
                }
                int g = o + i;
                _book.AddReward(g, reward);
                bool terminated = response.Terminated[i], truncated = response.Truncated[i];
                if (terminated || truncated)
                {
                    if (next >= response.FinalIndices.Count || response.FinalIndices[next] != i)
                        throw server.Fault(step, $"copy {g} finished its episode but its final observation is missing (final_indices must list every finished copy, ascending)");
                    finals.AsSpan(next * ObservationSize, ObservationSize).CopyTo(_book.FinalObservationRow(g));
                    next++;
                    _book.Finish(g, terminated, truncated);
                }
            }
            if (next != response.FinalIndices.Count)
                throw server.Fault(step, $"it sent {response.FinalIndices.Count} final observations for {next} finished copies");
        }
        _book.EndStep();
        _steps++;
    }

    private void ReadObservations(Server server, P.Batch? batch, Span<float> target, string step, string what)
    {
        string? problem = ObservationLeaves.Decode(server.Leaves, batch, target, target.Length / ObservationSize, ObservationSize);
        if (problem is not null)
            throw server.Fault(step, $"its {what} do not fit the observation space {SingleObservationSpace}: {problem}");
    }

    private void CheckStep(int length, bool integer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_hasReset) throw new InvalidOperationException($"{this}: Step was called before Reset. Call Reset(seed) first.");
        if (integer != _integerActions)
        {
            throw new ArgumentException(_integerActions
                ? $"{this}: the action space {SingleActionSpace} takes integer actions; call Step(ReadOnlySpan<int>) with {NumEnvs * ActionSize} ints."
                : $"{this}: the action space {SingleActionSpace} takes float actions; call Step(ReadOnlySpan<float>) with {NumEnvs * ActionSize} floats ({ActionSize} per environment).", "actions");
        }
        if (length != NumEnvs * ActionSize)
            throw new ArgumentException($"{this}: got {length} action values but {NumEnvs} environments with action space {SingleActionSpace} need {NumEnvs * ActionSize} ({ActionSize} per environment, row-major).", "actions");
    }

    /// <summary>Closes the sessions (best effort, briefly) and the connections.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var server in _servers) server.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Info.EnvId} x{NumEnvs} at {Address}";

    /// <summary>One server: its channel, its session and the copies it holds.</summary>
    private sealed class Server : IDisposable
    {
        private readonly GrpcChannel _channel;
        private readonly P.EnvironmentService.EnvironmentServiceClient _client;
        private readonly TimeSpan _timeout;

        public Server(string host, int port, int offset, int count, TimeSpan timeout)
        {
            Host = host;
            Port = port;
            Offset = offset;
            Count = count;
            _timeout = timeout;
            Name = $"the environment server at {host}:{port}";
            var handler = new SocketsHttpHandler
            {
                ConnectTimeout = TimeSpan.FromSeconds(Math.Min(10, timeout.TotalSeconds)),
                KeepAlivePingDelay = TimeSpan.FromSeconds(20),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
                EnableMultipleHttp2Connections = true,
            };
            _channel = GrpcChannel.ForAddress($"http://{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{port}",
                new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = null, MaxSendMessageSize = null });
            _client = new P.EnvironmentService.EnvironmentServiceClient(_channel);
        }

        public string Host { get; }

        public int Port { get; }

        public int Offset { get; }

        public int Count { get; }

        public string Name { get; private set; }

        public string Session { get; private set; } = "";

        public IReadOnlyList<ObservationLeaf> Leaves { get; set; } = [];

        public P.HandshakeResponse Handshake(string? envId)
        {
            var request = new P.HandshakeRequest { Protocol = ProtocolCodec.ProtocolVersion, Client = $"reinforce {typeof(RemoteVectorEnv).Assembly.GetName().Version}", NumEnvs = Count, EnvId = envId ?? "" };
            var response = Await(Call(c => c.HandshakeAsync(request, deadline: DateTime.UtcNow + _timeout), "the handshake"), "the handshake");
            if (response.Protocol != ProtocolCodec.ProtocolVersion)
                throw new RemoteEnvironmentException($"{Name} ('{response.Server}') speaks protocol '{response.Protocol}', this client speaks '{ProtocolCodec.ProtocolVersion}'. Use a server and a client of the same protocol version (update the older side).");
            if (envId is not null && response.EnvId != envId)
                throw new RemoteEnvironmentException($"{Name} serves '{response.EnvId}', not '{envId}' as the address asks. Point the address at a server of {envId}, or drop '/{envId}' from it.");
            if (response.NumEnvs != Count)
                throw new RemoteEnvironmentException($"{Name} opened {response.NumEnvs} copies where {Count} were asked for.");
            Session = response.Session;
            Name = $"{Name} ('{response.Server}')";
            return response;
        }

        public AsyncUnaryCall<T> Call<T>(Func<P.EnvironmentService.EnvironmentServiceClient, AsyncUnaryCall<T>> call, string step)
        {
            try
            {
                return call(_client);
            }
            catch (RpcException ex)
            {
                throw Translate(ex, step);
            }
        }

        public T Await<T>(AsyncUnaryCall<T> call, string step)
        {
            try
            {
                return call.ResponseAsync.GetAwaiter().GetResult();
            }
            catch (RpcException ex)
            {
                throw Translate(ex, step);
            }
            catch (HttpRequestException ex)
            {
                throw new RemoteEnvironmentException($"{Name} failed at {step}: {ex.Message}", ex);
            }
        }

        public RemoteEnvironmentException Fault(string step, string problem) =>
            new($"{Name} sent bad data at {step}: {problem}. Fix the served environment (its observations must match its observation space).");

        private RemoteEnvironmentException Translate(RpcException ex, string step)
        {
            string detail = ex.Status.Detail;
            string message = ex.StatusCode switch
            {
                StatusCode.DeadlineExceeded => $"{Name} did not answer {step} within {_timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s. Is it stuck or overloaded? Raise the limit with ?timeout=SECONDS on the address if its environment is slow.",
                _ when ex.InnerException is Google.Protobuf.InvalidProtocolBufferException || detail.Contains("InvalidProtocolBufferException", StringComparison.Ordinal)
                    => $"{Name} answered {step} with bytes that are not a valid reinforce.env.v1 message ({detail}). Is it a reinforce environment server of the same protocol version?",
                StatusCode.Unavailable when step == "the handshake" => $"could not reach {Name} ({detail}). Is the server running? Start one with `reinforce serve-env ENV --port {Port}` or `python3 -m reinforce_env`.",
                StatusCode.Unavailable or StatusCode.Cancelled or StatusCode.Aborted or StatusCode.Unknown when IsConnectionLoss(ex)
                    => $"{Name} stopped answering at {step}: the connection was lost ({detail}). The server process probably died; check its output, restart it, and resume the run with `reinforce train --resume RUN_DIR`.",
                StatusCode.FailedPrecondition or StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.Unimplemented => $"{Name} refused {step}: {detail}",
                _ => $"{Name} failed at {step}: {ex.StatusCode}: {detail}",
            };
            return new RemoteEnvironmentException(message, ex);
        }

        private static bool IsConnectionLoss(RpcException ex) =>
            ex.StatusCode is StatusCode.Unavailable or StatusCode.Aborted || ex.InnerException is not null || ex.Status.Detail.Contains("connection", StringComparison.OrdinalIgnoreCase)
            || ex.Status.Detail.Contains("stream", StringComparison.OrdinalIgnoreCase) || ex.Status.Detail.Contains("reset", StringComparison.OrdinalIgnoreCase);

        public void Dispose()
        {
            if (Session.Length > 0)
            {
                try
                {
                    _client.Close(new P.CloseRequest { Session = Session }, deadline: DateTime.UtcNow + TimeSpan.FromSeconds(2));
                }
                catch (RpcException)
                {
                    // The server is gone or slow; closing is best effort.
                }
                catch (HttpRequestException)
                {
                }
                Session = "";
            }
            _channel.Dispose();
        }
    }
}
