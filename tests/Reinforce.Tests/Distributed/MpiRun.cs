using System.Diagnostics;
using System.Text;

namespace Reinforce.Tests.Distributed;

/// <summary>Runs the reinforce command under mpirun (or alone) as a child process and collects its output.</summary>
internal static class MpiRun
{
    public sealed record Result(int ExitCode, string Output, string Error, TimeSpan Elapsed)
    {
        public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:F1} s\nstdout:\n{Output}\nstderr:\n{Error}";
    }

    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "Reinforce.Cli.dll");

    /// <summary><c>mpirun -np N dotnet Reinforce.Cli.dll args</c> on localhost, as root if need be.</summary>
    public static Result Ranks(int ranks, string workingDirectory, TimeSpan timeout, params string[] args)
    {
        string mpirun = MpiFactAttribute.MpirunPath ?? throw new InvalidOperationException("mpirun is not installed: apt-get install openmpi-bin");
        var all = new List<string> { "--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), "dotnet", CliDll };
        all.AddRange(args);
        return Start(mpirun, all, workingDirectory, timeout);
    }

    /// <summary>Two ranks started with different command lines (mpirun's <c>-np 1 A : -np 1 B</c>): rank 0 runs <paramref name="first"/>, rank 1 <paramref name="second"/>.</summary>
    public static Result Mpmd(string workingDirectory, TimeSpan timeout, string[] first, string[] second)
    {
        string mpirun = MpiFactAttribute.MpirunPath ?? throw new InvalidOperationException("mpirun is not installed: apt-get install openmpi-bin");
        return Start(mpirun, ["--allow-run-as-root", "--oversubscribe", "-np", "1", "dotnet", CliDll, .. first, ":", "-np", "1", "dotnet", CliDll, .. second], workingDirectory, timeout);
    }

    /// <summary><c>dotnet Reinforce.Cli.dll args</c> without a launcher.</summary>
    public static Result Alone(string workingDirectory, TimeSpan timeout, params string[] args) =>
        Start("dotnet", [CliDll, .. args], workingDirectory, timeout);

    private static Result Start(string file, IEnumerable<string> args, string workingDirectory, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["TERM"] = "dumb";
        // Open MPI warns about a missing high-speed network on some machines; keep the output to what the ranks print.
        psi.Environment["OMPI_MCA_btl_base_warn_component_unused"] = "0";
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(psi)!;
        var output = new StringBuilder();
        var error = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (error) error.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return new Result(-1, output.ToString(), error + $"\n(killed after {timeout.TotalSeconds} s: hung)", watch.Elapsed);
        }
        process.WaitForExit();
        return new Result(process.ExitCode, output.ToString(), error.ToString(), watch.Elapsed);
    }
}
