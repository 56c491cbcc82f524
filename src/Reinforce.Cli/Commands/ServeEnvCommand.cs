using System.CommandLine;
using System.Net;
using Reinforce.Envs;
using Reinforce.Envs.Remote;
using Reinforce.Servers;

namespace Reinforce.Cli.Commands;

/// <summary>
/// `reinforce serve-env &lt;env&gt; --port N [--copies K]`: serves a registered environment over the Reinforce
/// environment protocol, so a learner elsewhere trains on it with `reinforce train --env remote://host:N`.
/// </summary>
internal static class ServeEnvCommand
{
    public static Command Create()
    {
        var env = new Argument<string>("env") { Description = "Environment id to serve (see `reinforce list`)." };
        var port = new Option<int>("--port") { Description = "TCP port to listen on (0: any free port, printed).", DefaultValueFactory = _ => 50051 };
        var copies = new Option<int>("--copies") { Description = "Copies per session when the learner leaves the number to the server.", DefaultValueFactory = _ => 1 };
        var maxCopies = new Option<int>("--max-copies") { Description = "The most copies one learner may open.", DefaultValueFactory = _ => 4096 };
        var bind = new Option<string>("--bind") { Description = "Address to listen on: 0.0.0.0 (all interfaces, the default) or 127.0.0.1 (this machine only).", DefaultValueFactory = _ => "0.0.0.0" };
        var command = new Command("serve-env", "Serve an environment to learners in other processes or on other machines (gRPC, protocol reinforce.env.v1).")
        {
            env, port, copies, maxCopies, bind,
        };
        command.SetAction(parse =>
        {
            try
            {
                string id = parse.GetValue(env)!;
                if (!Environments.IsRegistered(id))
                    throw new ArgumentException($"\"{id}\" is not a registered environment. `reinforce list` shows them.");
                if (!IPAddress.TryParse(parse.GetValue(bind), out var address))
                    throw new ArgumentException($"--bind: '{parse.GetValue(bind)}' is not an IP address; use 0.0.0.0 or 127.0.0.1.");
                using var service = new VectorEnvService(id, parse.GetValue(copies), parse.GetValue(maxCopies)) { Log = Console.Out };
                var host = GrpcHost.StartAsync(service, parse.GetValue(port), address).GetAwaiter().GetResult();
                Console.WriteLine($"Serving {id} on port {host.Port} (protocol {ProtocolCodec.ProtocolVersion}; {service.DefaultCopies} copies per session unless the learner asks). " +
                    $"Train on it with: reinforce train {id} --env remote://{Dns.GetHostName()}:{host.Port}   (Ctrl+C stops)");
                Console.Out.Flush();
                host.WaitForShutdownAsync().GetAwaiter().GetResult();
                host.DisposeAsync().AsTask().GetAwaiter().GetResult();
                return 0;
            }
            catch (Exception ex) when (ex is ArgumentException or IOException)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return 2;
            }
        });
        return command;
    }
}
