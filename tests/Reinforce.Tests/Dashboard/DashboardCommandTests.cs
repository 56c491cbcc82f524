using System.Net;
using System.Net.Sockets;
using Reinforce.Cli;

namespace Reinforce.Tests.Dashboard;

[Collection("Console")]
public class DashboardCommandTests
{
    [Fact]
    public void A_busy_port_is_a_one_line_error_without_a_stack_trace()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var (oldOut, oldError) = (Console.Out, Console.Error);
        var output = new StringWriter();
        var error = new StringWriter();
        Console.SetOut(output);
        Console.SetError(error);
        int code;
        try
        {
            code = Program.BuildRoot().Parse(["dashboard", Path.GetTempPath(), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]).Invoke();
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
        }
        Assert.Equal(2, code);
        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.Contains($"127.0.0.1:{port}", line, StringComparison.Ordinal);
        Assert.Contains("--port", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Train_with_the_dashboard_on_a_busy_port_stops_before_making_a_run_folder()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        string port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string dir = Path.Combine(Path.GetTempPath(), "reinforce-dash-" + Guid.NewGuid().ToString("N"), "run");
        var (code, output, error) = CliRunner.Run(null, "train", "CartPole-v1", "--steps", "500", "--dashboard", "--port", port, "--out", dir);
        Assert.Equal(2, code);
        Assert.Contains($"127.0.0.1:{port}", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Training", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir));   // nothing half made to trip over with the same --out
    }
}
