using System.Collections.Concurrent;
using System.Globalization;
using Grpc.Core;
using Reinforce.Envs.Vector;
using Reinforce.Spaces;
using P = Reinforce.Envs.Remote.Protocol;

namespace Reinforce.Envs.Remote;

/// <summary>
/// The server side of the Reinforce environment protocol for any registered environment: each handshake opens a
/// session of local copies (a <see cref="SyncVectorEnv"/> with the registered time limit), reset and step drive
/// it, close (or disposal of the service) frees it. It holds no network code: <c>reinforce serve-env</c>
/// (Reinforce.Servers) hosts it on Kestrel. Bad requests are answered with a gRPC status whose detail says what to fix.
/// </summary>
public class VectorEnvService : P.EnvironmentService.EnvironmentServiceBase, IDisposable
{
    private readonly Func<int, VectorEnv> _makeCopies;
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly P.Space _observationSpace;
    private readonly P.Space _actionSpace;
    private readonly EnvironmentSpec? _spec;
    private readonly IReadOnlyList<ObservationLeaf> _leaves;
    private int _nextSession;

    /// <summary>Serves the registered environment <paramref name="envId"/> (with <paramref name="options"/>).</summary>
    /// <param name="envId">A registered id, e.g. "CartPole-v1".</param>
    /// <param name="defaultCopies">Copies per session when the client leaves the number to the server.</param>
    /// <param name="maxCopies">The most copies one session may ask for.</param>
    /// <param name="options">The environment's options.</param>
    public VectorEnvService(string envId, int defaultCopies = 1, int maxCopies = 4096, EnvironmentOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(envId);
        if (defaultCopies < 1) throw new ArgumentOutOfRangeException(nameof(defaultCopies), defaultCopies, "Serve at least one copy.");
        if (maxCopies < defaultCopies) throw new ArgumentOutOfRangeException(nameof(maxCopies), maxCopies, "The maximum number of copies cannot be below the default.");
        _spec = Environments.Spec(envId);
        EnvId = envId;
        DefaultCopies = defaultCopies;
        MaxCopies = maxCopies;
        _makeCopies = count =>
        {
            var envs = new IVectorizableEnv[count];
            for (int i = 0; i < count; i++) envs[i] = Vectorizable.From(Environments.MakeUnwrapped(envId, options));
            return new SyncVectorEnv(envs, _spec.MaxEpisodeSteps);
        };
        using var probe = _makeCopies(1);
        _observationSpace = ProtocolCodec.ToProto(probe.SingleObservationSpace);
        _leaves = ObservationLeaves.Of(probe.SingleObservationSpace);
        _actionSpace = ProtocolCodec.ToProto(probe.SingleActionSpace);
        ServerName = $"reinforce serve-env {envId} (reinforce {typeof(VectorEnvService).Assembly.GetName().Version})";
    }

    /// <summary>The served environment id.</summary>
    public string EnvId { get; }

    /// <summary>Copies per session when the client asks for 0.</summary>
    public int DefaultCopies { get; }

    /// <summary>The most copies one session may open.</summary>
    public int MaxCopies { get; }

    /// <summary>How the server names itself at the handshake.</summary>
    public string ServerName { get; init; }

    /// <summary>Sessions currently open.</summary>
    public int OpenSessions => _sessions.Count;

    /// <summary>Written to for each session opened and closed (null: silent).</summary>
    public TextWriter? Log { get; init; }

    /// <inheritdoc/>
    public override Task<P.HandshakeResponse> Handshake(P.HandshakeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Protocol != ProtocolCodec.ProtocolVersion)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"this server ({ServerName}) speaks protocol '{ProtocolCodec.ProtocolVersion}', the client asked for '{request.Protocol}'. Use a client and a server of the same protocol version."));
        if (request.EnvId.Length > 0 && request.EnvId != EnvId)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"this server serves '{EnvId}', not '{request.EnvId}'."));
        int count = request.NumEnvs == 0 ? DefaultCopies : request.NumEnvs;
        if (count < 1 || count > MaxCopies)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{count} copies asked for; this server opens 1 to {MaxCopies} per session (--max-copies)."));
        string id = Interlocked.Increment(ref _nextSession).ToString(CultureInfo.InvariantCulture);
        _sessions[id] = new Session(_makeCopies(count));
        Log?.WriteLine($"session {id}: {count} copies of {EnvId} for {(request.Client.Length > 0 ? request.Client : "a client")} at {context?.Peer}");
        var response = new P.HandshakeResponse
        {
            Protocol = ProtocolCodec.ProtocolVersion, Server = ServerName, EnvId = EnvId, Session = id, NumEnvs = count,
            ObservationSpace = _observationSpace, ActionSpace = _actionSpace, MaxEpisodeSteps = _spec?.MaxEpisodeSteps ?? 0,
        };
        if (_spec?.RewardThreshold is double t)
        {
            response.HasRewardThreshold = true;
            response.RewardThreshold = t;
        }
        return Task.FromResult(response);
    }

    /// <inheritdoc/>
    public override Task<P.ResetResponse> Reset(P.ResetRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var session = Find(request.Session);
        lock (session)
        {
            var env = session.Env;
            if (request.Seeds.Count != env.NumEnvs)
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"reset sent {request.Seeds.Count} seeds for {env.NumEnvs} copies; send one seed per copy."));
            env.Reset(request.Seeds.ToArray());
            return Task.FromResult(new P.ResetResponse { Observations = ObservationLeaves.Encode(_leaves, env.Observations, env.NumEnvs, env.ObservationSize) });
        }
    }

    /// <inheritdoc/>
    public override Task<P.StepResponse> Step(P.StepRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var session = Find(request.Session);
        lock (session)
        {
            var env = session.Env;
            int values = env.NumEnvs * env.ActionSize;
            try
            {
                if (env.SingleActionSpace is Box)
                {
                    var actions = session.FloatActions ??= new float[values];
                    string? problem = ProtocolCodec.ReadFloats(request.Actions, actions, env.ActionSize);
                    if (problem is not null) throw new RpcException(new Status(StatusCode.InvalidArgument, $"the actions do not fit {env.NumEnvs} copies of {env.SingleActionSpace}: {problem}."));
                    env.Step(actions);
                }
                else
                {
                    var actions = session.IntActions ??= new int[values];
                    string? problem = ProtocolCodec.ReadInts(request.Actions, actions);
                    if (problem is not null) throw new RpcException(new Status(StatusCode.InvalidArgument, $"the actions do not fit {env.NumEnvs} copies of {env.SingleActionSpace}: {problem}."));
                    env.Step(actions);
                }
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
            }
            var response = new P.StepResponse { Observations = ObservationLeaves.Encode(_leaves, env.Observations, env.NumEnvs, env.ObservationSize) };
            response.Rewards.Add(env.Rewards.ToArray());
            response.Terminated.Add(env.Terminated.ToArray());
            response.Truncated.Add(env.Truncated.ToArray());
            var finished = new List<int>();
            for (int i = 0; i < env.NumEnvs; i++)
            {
                if (env.Terminated[i] || env.Truncated[i]) finished.Add(i);
            }
            if (finished.Count > 0)
            {
                int d = env.ObservationSize;
                var finals = new float[finished.Count * d];
                for (int k = 0; k < finished.Count; k++) env.FinalObservation(finished[k]).CopyTo(finals.AsSpan(k * d, d));
                response.FinalIndices.Add(finished);
                response.FinalObservations = ObservationLeaves.Encode(_leaves, finals, finished.Count, d);
            }
            return Task.FromResult(response);
        }
    }

    /// <inheritdoc/>
    public override Task<P.CloseResponse> Close(P.CloseRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_sessions.TryRemove(request.Session, out var session))
        {
            lock (session) session.Env.Dispose();
            Log?.WriteLine($"session {request.Session}: closed");
        }
        return Task.FromResult(new P.CloseResponse());
    }

    private Session Find(string id) =>
        _sessions.TryGetValue(id, out var s) ? s : throw new RpcException(new Status(StatusCode.NotFound, $"no session '{id}' is open on this server (it was closed, or the server restarted); shake hands again."));

    /// <summary>Closes every session.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Closes every session.</summary>
    protected virtual void Dispose(bool disposing)
    {
        foreach (var id in _sessions.Keys)
        {
            if (_sessions.TryRemove(id, out var s)) lock (s) s.Env.Dispose();
        }
    }

    private sealed class Session(VectorEnv env)
    {
        public VectorEnv Env { get; } = env;

        public float[]? FloatActions { get; set; }

        public int[]? IntActions { get; set; }
    }
}
