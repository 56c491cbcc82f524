using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Reinforce.Servers;

/// <summary>
/// A gRPC server on Kestrel (HTTP/2 without TLS, as gRPC inside a lab network or on one machine is served) for one
/// service instance: the environment service of <c>reinforce serve-env</c> or the Unity communicator.
/// </summary>
public sealed class GrpcHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcHost(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    /// <summary>The port it listens on (the one asked for, or the one the system chose for port 0).</summary>
    public int Port { get; }

    /// <summary>
    /// Starts serving <paramref name="service"/> on <paramref name="port"/> (0: any free port) of
    /// <paramref name="bind"/> (default: all interfaces). Throws an <see cref="IOException"/> naming the port when it is taken.
    /// </summary>
    public static async Task<GrpcHost> StartAsync<TService>(TService service, int port, IPAddress? bind = null) where TService : class
    {
        ArgumentNullException.ThrowIfNull(service);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(bind ?? IPAddress.Any, port, o => o.Protocols = HttpProtocols.Http2);
            k.Limits.Http2.MaxStreamsPerConnection = 1024;
        });
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = null;
            o.MaxSendMessageSize = null;
            o.EnableDetailedErrors = true;
        });
        builder.Services.AddSingleton(service);
        var app = builder.Build();
        app.MapGrpcService<TService>();
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"Cannot listen on port {port}: {ex.Message} Pick another port with --port.", ex);
        }
        int actual = port;
        var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>();
        if (addresses is not null)
        {
            foreach (var a in addresses.Addresses)
            {
                if (Uri.TryCreate(a.Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri)) actual = uri.Port;
            }
        }
        return new GrpcHost(app, actual);
    }

    /// <summary>Stops accepting calls and ends the open ones (a client sees the connection close).</summary>
    public async Task StopAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        await _app.StopAsync(cts.Token).ConfigureAwait(false);
    }

    /// <summary>Waits until the host is stopped (Ctrl+C in a console).</summary>
    public Task WaitForShutdownAsync() => Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.WaitForShutdownAsync(_app);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
