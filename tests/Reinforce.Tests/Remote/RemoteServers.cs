using System.Diagnostics;
using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Reinforce.Envs.Remote;
using Reinforce.Servers;
using P = Reinforce.Envs.Remote.Protocol;

namespace Reinforce.Tests.Remote;

/// <summary>An environment server hosted in the test process on a free loopback port.</summary>
internal sealed class InProcessServer : IAsyncDisposable
{
    private InProcessServer(GrpcHost host, VectorEnvService service)
    {
        Host = host;
        Service = service;
    }

    public GrpcHost Host { get; }

    public VectorEnvService Service { get; }

    public string Endpoint => $"127.0.0.1:{Host.Port}";

    public string Address => RemoteAddress.Scheme + Endpoint;

    public static InProcessServer Start(VectorEnvService service)
    {
        var host = GrpcHost.StartAsync(service, 0, IPAddress.Loopback).GetAwaiter().GetResult();
        return new InProcessServer(host, service);
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        Service.Dispose();
    }
}

/// <summary>What a <see cref="FaultyService"/> does wrong, and at which of its step calls (1-based).</summary>
public enum Fault { None, Die, Stall, NaN, WrongShape, OldProtocol }

/// <summary>Serves CartPole-v1 correctly until its <c>AtStep</c>-th step call, then misbehaves.</summary>
internal sealed class FaultyService(Fault fault, int atStep) : VectorEnvService("CartPole-v1")
{
    private int _steps;

    public override async Task<P.HandshakeResponse> Handshake(P.HandshakeRequest request, ServerCallContext context)
    {
        var response = await base.Handshake(request, context);
        if (fault == Fault.OldProtocol) response.Protocol = "reinforce.env.v0";
        return response;
    }

    public override async Task<P.StepResponse> Step(P.StepRequest request, ServerCallContext context)
    {
        var response = await base.Step(request, context);
        if (Interlocked.Increment(ref _steps) != atStep) return response;
        switch (fault)
        {
            case Fault.Die:
                // As a killed process: the connection drops with the call unanswered.
                context.GetHttpContext().Abort();
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
                break;
            case Fault.Stall:
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
                break;
            case Fault.NaN:
            {
                var data = response.Observations.Leaves[0].Data.ToByteArray();
                BitConverter.GetBytes(float.NaN).CopyTo(data, 4 * 2);   // copy 0, element 2
                response.Observations.Leaves[0].Data = Google.Protobuf.ByteString.CopyFrom(data);
                break;
            }
            case Fault.WrongShape:
            {
                var data = response.Observations.Leaves[0].Data.ToByteArray();
                response.Observations.Leaves[0].Data = Google.Protobuf.ByteString.CopyFrom(data, 0, data.Length - 4);
                break;
            }
        }
        return response;
    }
}

/// <summary>A Python environment server (python/reinforce_env) in a child process, on Debian's python3.</summary>
internal sealed class PythonServer : IDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _output = new();

    private PythonServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Address => $"{RemoteAddress.Scheme}127.0.0.1:{Port}";

    public bool HasExited => _process.HasExited;

    /// <summary>Debian's python3 with grpcio, protobuf, numpy and grpc_tools, or null (the reason in <see cref="Unavailable"/>).</summary>
    public static string? Python => s_python.Value;

    public static string? Unavailable { get; private set; }

    private static readonly Lazy<string?> s_python = new(() =>
    {
        foreach (var candidate in new[] { "/usr/bin/python3", "python3" })
        {
            try
            {
                var psi = new ProcessStartInfo(candidate, ["-c", "import grpc, google.protobuf, numpy, grpc_tools"]) { RedirectStandardError = true, RedirectStandardOutput = true };
                using var p = Process.Start(psi)!;
                p.WaitForExit(30_000);
                if (p.ExitCode == 0) return candidate;
                Unavailable = $"{candidate} lacks grpcio/protobuf/numpy/grpc_tools: {p.StandardError.ReadToEnd().Trim()}";
            }
            catch (System.ComponentModel.Win32Exception ex)
            {
                Unavailable = $"{candidate}: {ex.Message}";
            }
        }
        return null;
    });

    /// <summary>Starts <c>python3 -m reinforce_env corridor:FACTORY --port 0</c> in the test's Python folder and reads the port it prints.</summary>
    public static PythonServer Start(string factory)
    {
        string root = RepositoryRoot();
        var psi = new ProcessStartInfo(Python ?? throw new InvalidOperationException(Unavailable), ["-u", "-m", "reinforce_env", $"corridor:{factory}", "--port", "0", "--bind", "127.0.0.1"])
        {
            WorkingDirectory = Path.Combine(root, "tests", "Reinforce.Tests", "Remote", "Python"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["PYTHONPATH"] = Path.Combine(root, "python");
        var process = Process.Start(psi)!;
        var output = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        var line = process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(60)) || line.Result is null)
        {
            process.Kill();
            throw new InvalidOperationException($"The Python server did not start: {output}");
        }
        var match = System.Text.RegularExpressions.Regex.Match(line.Result, @"on port (\d+)");
        if (!match.Success) throw new InvalidOperationException($"Unexpected first line from the Python server: {line.Result}\n{output}");
        var server = new PythonServer(process, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        _ = Task.Run(() =>
        {
            string? more;
            while ((more = process.StandardOutput.ReadLine()) is not null) lock (server._output) server._output.AppendLine(more);
        });
        return server;
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Reinforce.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Reinforce.slnx not found above the test output folder.");
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
    }
}

/// <summary>A test that needs Debian's python3 with grpcio, protobuf, numpy and grpc_tools; required when REINFORCE_REQUIRE_PYTHON=1 (.ci/run sets it).</summary>
public sealed class PythonFactAttribute : FactAttribute
{
    public PythonFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("REINFORCE_REQUIRE_PYTHON") == "1") return;
        if (PythonServer.Python is null) Skip = "Python with grpcio unavailable: " + PythonServer.Unavailable;
    }
}
