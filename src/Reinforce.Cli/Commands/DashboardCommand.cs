using System.CommandLine;
using Reinforce.Cli.Dashboard;

namespace Reinforce.Cli.Commands;

/// <summary>`reinforce dashboard &lt;runs-dir&gt;`: serve live learning curves of every run in a folder.</summary>
internal static class DashboardCommand
{
    public static Option<int> PortOption() => new("--port") { Description = "Port on 127.0.0.1 (0 picks a free one).", DefaultValueFactory = _ => 5080 };

    public static Command Create()
    {
        var runs = new Argument<string>("runs-dir") { Description = "Folder holding run folders (each with metrics.csv and config.json).", DefaultValueFactory = _ => "runs" };
        var port = PortOption();
        var command = new Command("dashboard", "Serve a local page with live learning curves of every run in a folder.") { runs, port };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var dir = parse.GetValue(runs)!;
            if (!Directory.Exists(dir)) Console.Error.WriteLine($"Note: {Path.GetFullPath(dir)} does not exist yet; runs appear when it does.");
            DashboardServer server;
            try
            {
                server = await DashboardServer.StartAsync(dir, parse.GetValue(port), cancellationToken);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"error: {e.Message}"); // one line: a busy port is the user's to fix, not a crash
                return 2;   // as `train --dashboard` on a busy port, and every other error the user fixes with an option
            }
            await using var _ = server;
            Console.WriteLine($"Dashboard for {Path.GetFullPath(dir)} at {server.Address} (Ctrl+C to stop)");
            try { await Task.Delay(Timeout.Infinite, cancellationToken); }
            catch (OperationCanceledException) { }
            return 0;
        });
        return command;
    }
}
