using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Reinforce.Cli.Dashboard;

/// <summary>
/// The live training dashboard: a local web page (ASP.NET Core on 127.0.0.1 only) that polls the runs folder and
/// draws every run's learning curves, compares runs on one chart, and shows each run's configuration.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private DashboardServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>The page's address, e.g. http://127.0.0.1:5080/.</summary>
    public Uri Address { get; }

    /// <summary>Starts serving <paramref name="runsDirectory"/> on 127.0.0.1:<paramref name="port"/> (0 picks a free port).</summary>
    /// <exception cref="IOException">The port is taken (the message names it and the fix).</exception>
    public static async Task<DashboardServer> StartAsync(string runsDirectory, int port, CancellationToken cancellationToken = default)
    {
        if (port is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(port), port, "A port is between 0 and 65535 (0 picks a free one).");
        var runs = new RunFolders(runsDirectory);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();

        var page = ReadPage();
        app.MapGet("/", () => Results.Content(page, "text/html; charset=utf-8"));
        app.MapGet("/api/runs", () => Results.Json(runs.List().Select(r => new
        {
            name = r.Name,
            columns = r.Columns,
            rows = r.Rows,
            config = r.Config,
            updated = r.UpdatedUtc,
        })));
        app.MapGet("/api/metrics", (string run, int? from) =>
        {
            var table = runs.Metrics(run, from ?? 0);
            return table is null
                ? Results.NotFound(new { error = $"No run named '{run}' with a metrics.csv under {runs.Root}." })
                : Results.Json(new { columns = table.Columns, rows = table.Rows, next = table.NextRow });
        });

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"The dashboard could not listen on 127.0.0.1:{port} ({e.Message}). Choose another port with --port, or 0 for any free port.", e);
        }
        var bound = app.Urls.Select(u => new Uri(u)).First();
        return new DashboardServer(app, new Uri($"http://127.0.0.1:{bound.Port}/"));
    }

    private static string ReadPage()
    {
        using var stream = typeof(DashboardServer).Assembly.GetManifestResourceStream("Reinforce.Cli.Dashboard.index.html")
            ?? throw new InvalidOperationException("The dashboard page is missing from the assembly's resources.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
