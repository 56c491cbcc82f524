using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Reinforce.Envs;
using Reinforce.Spaces;

namespace Reinforce.Cli.Commands;

/// <summary>
/// `reinforce bench-env &lt;env&gt; --copies N --steps M`: vector steps per second with random actions, for a
/// registered id (in-process) or a remote address (through the environment protocol), so the two compare directly.
/// </summary>
internal static class BenchEnvCommand
{
    public static Command Create()
    {
        var env = new Argument<string>("env") { Description = "A registered id (stepped in this process) or remote://HOST:PORT (stepped through the protocol)." };
        var copies = new Option<int>("--copies") { Description = "Copies stepped together.", DefaultValueFactory = _ => 8 };
        var steps = new Option<int>("--steps") { Description = "Vector steps to time (after 200 warm-up steps).", DefaultValueFactory = _ => 2000 };
        var repeats = new Option<int>("--repeats") { Description = "Timed repetitions; the median is reported.", DefaultValueFactory = _ => 5 };
        var command = new Command("bench-env", "Measure environment steps per second, in-process or through a remote environment server.") { env, copies, steps, repeats };
        command.SetAction(parse =>
        {
            try
            {
                string id = parse.GetValue(env)!;
                int n = parse.GetValue(copies), m = parse.GetValue(steps), r = parse.GetValue(repeats);
                if (n < 1 || m < 1 || r < 1) throw new ArgumentException("--copies, --steps and --repeats must be at least 1.");
                using var vec = Environments.MakeVector(id, n, seed: 1);
                var rng = new Rng(1);
                bool discrete = vec.SingleActionSpace is Discrete or MultiDiscrete;
                var ints = new int[n * vec.ActionSize];
                var floats = new float[n * vec.ActionSize];
                void StepOnce()
                {
                    if (vec.SingleActionSpace is Discrete d) for (int i = 0; i < n; i++) ints[i] = d.Sample(rng);
                    else if (vec.SingleActionSpace is MultiDiscrete md) for (int i = 0; i < n; i++) md.Sample(rng).CopyTo(ints, i * vec.ActionSize);
                    else if (vec.SingleActionSpace is Box b) for (int i = 0; i < n; i++) b.SampleInto(rng, floats.AsSpan(i * vec.ActionSize, vec.ActionSize));
                    if (discrete) vec.Step(ints); else vec.Step(floats);
                }
                for (int t = 0; t < 200; t++) StepOnce();
                var seconds = new double[r];
                for (int k = 0; k < r; k++)
                {
                    var clock = Stopwatch.StartNew();
                    for (int t = 0; t < m; t++) StepOnce();
                    seconds[k] = clock.Elapsed.TotalSeconds;
                }
                Array.Sort(seconds);
                double median = seconds[r / 2];
                var c = CultureInfo.InvariantCulture;
                Console.WriteLine($"{id} x{n}: {(m / median).ToString("N0", c)} vector steps/s, {(m * (double)n / median).ToString("N0", c)} env steps/s, " +
                    $"{(median / m * 1e6).ToString("F1", c)} µs per vector step (median of {r} x {m} steps; min {(seconds[0] / m * 1e6).ToString("F1", c)}, max {(seconds[^1] / m * 1e6).ToString("F1", c)} µs)");
                return 0;
            }
            catch (Exception ex) when (ex is ArgumentException or IOException or Envs.EnvironmentOutputException or KeyNotFoundException)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return 2;
            }
        });
        return command;
    }
}
