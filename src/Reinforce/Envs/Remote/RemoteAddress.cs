using System.Globalization;

namespace Reinforce.Envs.Remote;

/// <summary>
/// Where the copies of a remote environment live: <c>remote://host:port</c>, or a comma list
/// <c>remote://host1:port1,host2:port2</c> (copies spread over the servers), optionally followed by the expected
/// environment id (<c>/CartPole-v1</c>, checked at the handshake) and a per-call deadline in seconds
/// (<c>?timeout=30</c>, default <see cref="DefaultTimeout"/>).
/// </summary>
public sealed record RemoteAddress(IReadOnlyList<(string Host, int Port)> Servers, string? EnvId, TimeSpan Timeout)
{
    /// <summary>The scheme prefix, <c>remote://</c>.</summary>
    public const string Scheme = "remote://";

    /// <summary>How long one call (handshake, reset, step) may take before the server counts as stuck: 60 s.</summary>
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(60);

    /// <summary>Whether <paramref name="id"/> names a remote environment (starts with <c>remote://</c>).</summary>
    public static bool IsRemote(string? id) => id is not null && id.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses <c>remote://host:port[,host:port…][/EnvId][?timeout=SECONDS]</c>; the error names the part that is wrong.</summary>
    public static RemoteAddress Parse(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        const string Example = " Write it as remote://HOST:PORT (or remote://HOST:PORT,HOST:PORT for several servers), for example remote://127.0.0.1:50051.";
        if (!IsRemote(address)) throw new ArgumentException($"'{address}' is not a remote environment address: it must start with {Scheme}.{Example}");
        string rest = address[Scheme.Length..];
        var timeout = DefaultTimeout;
        int query = rest.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            foreach (var part in rest[(query + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var kv = part.Split('=', 2);
                if (kv.Length == 2 && kv[0] == "timeout" && double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0 && double.IsFinite(seconds))
                    timeout = TimeSpan.FromSeconds(seconds);
                else
                    throw new ArgumentException($"'{address}': unknown or malformed option '{part}'; the only option is timeout=SECONDS (a positive number), e.g. {Scheme}127.0.0.1:50051?timeout=30.");
            }
            rest = rest[..query];
        }
        string? envId = null;
        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            envId = rest[(slash + 1)..];
            rest = rest[..slash];
            if (envId.Length == 0) envId = null;
        }
        var servers = new List<(string, int)>();
        foreach (var server in rest.Split(',', StringSplitOptions.TrimEntries))
        {
            int colon = server.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(server[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
                throw new ArgumentException($"'{address}': '{server}' is not HOST:PORT with a port from 1 to 65535.{Example}");
            servers.Add((server[..colon].Trim('[', ']'), port));
        }
        return new RemoteAddress(servers, envId, timeout);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        Scheme + string.Join(",", Servers.Select(s => $"{s.Host}:{s.Port}")) + (EnvId is null ? "" : "/" + EnvId)
        + (Timeout == DefaultTimeout ? "" : "?timeout=" + Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture));
}

/// <summary>
/// A remote environment failed: the server could not be reached, died, answered too late, refused a request or sent
/// data that does not fit its spaces (NaN, wrong shape). The message names the server and the step.
/// </summary>
public sealed class RemoteEnvironmentException : IOException
{
    /// <summary>Creates the exception with its message.</summary>
    public RemoteEnvironmentException(string message) : base(message) { }

    /// <summary>Creates the exception with its message and cause.</summary>
    public RemoteEnvironmentException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception without a message.</summary>
    public RemoteEnvironmentException() { }
}
