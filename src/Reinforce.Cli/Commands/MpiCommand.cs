using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Reinforce.Distributed;
using Reinforce.Mpi;

namespace Reinforce.Cli.Commands;

/// <summary>
/// `reinforce mpi check|bench`, run under a launcher (<c>mpirun -np 2 reinforce mpi check</c>): checks that the
/// ranks see each other and that the collective operations give the right answers, and times the all-reduce.
/// </summary>
internal static class MpiCommand
{
    public static Command Create()
    {
        var command = new Command("mpi", "Check and measure the MPI backend; run under mpirun (mpirun -np 2 reinforce mpi check).");
        var check = new Command("check", "Every rank checks all-reduce, broadcast and all-gather results; rank 0 prints a summary.");
        check.SetAction(_ => Run("check", Check));
        command.Subcommands.Add(check);

        var sizes = new Option<string>("--sizes") { Description = "Comma-separated float counts to all-reduce.", DefaultValueFactory = _ => "10000,100000,1000000" };
        var repeats = new Option<int>("--repeats") { Description = "Timed all-reduces per size (the median is printed).", DefaultValueFactory = _ => 50 };
        var ppo = new Option<string?>("--ppo") { Description = "Instead: train PPO with this environment's preset on every rank and print steps/s and the all-reduce's share of the updates (e.g. --ppo CartPole-v1)." };
        var steps = new Option<long>("--steps") { Description = "With --ppo: environment steps per rank.", DefaultValueFactory = _ => 100_000 };
        var bench = new Command("bench", "Median time of an in-place float all-reduce for each size, and the bandwidth it reaches; or, with --ppo, data-parallel PPO's throughput.") { sizes, repeats, ppo, steps };
        bench.SetAction(result => Run("bench", comm => result.GetValue(ppo) is { } env
            ? BenchPpo(comm, env, result.GetValue(steps))
            : Bench(comm, ParseSizes(result.GetValue(sizes)!), result.GetValue(repeats))));
        command.Subcommands.Add(bench);
        return command;
    }

    private static int Run(string name, Func<MpiCommunicator, int> body)
    {
        MpiCommunicator comm;
        try { comm = MpiCommunicator.Start(command: $"reinforce mpi {name}"); }
        catch (DistributedException e) { Console.Error.WriteLine($"error: {e.Message}"); return 2; }
        try { return body(comm); }
        catch (DistributedException e)
        {
            Console.Error.WriteLine($"error: rank {comm.Rank}: {e.Message}");
            comm.Abort(1);
            return 1;
        }
        finally { comm.Dispose(); }
    }

    private static int Check(MpiCommunicator comm)
    {
        int n = comm.Size, r = comm.Rank;
        var failures = new List<string>();

        // Sum of (rank + 1) * (i + 1) over ranks is (i + 1) * n(n+1)/2: exact in float for these sizes.
        var values = new float[1000];
        for (int i = 0; i < values.Length; i++) values[i] = (r + 1) * (i + 1);
        comm.AllReduceSum(values);
        for (int i = 0; i < values.Length; i++)
            if (values[i] != (i + 1) * n * (n + 1) / 2f) { failures.Add($"float all-reduce element {i}: {values[i]}"); break; }

        var doubles = new double[] { r, -r, 0.5 * r };
        comm.AllReduceSum(doubles);
        double rankSum = n * (n - 1) / 2.0;
        if (doubles[0] != rankSum || doubles[1] != -rankSum || doubles[2] != 0.5 * rankSum) failures.Add($"double all-reduce: {string.Join(", ", doubles)}");

        var max = new double[] { r };
        comm.AllReduceMax(max);
        if (max[0] != n - 1) failures.Add($"max all-reduce: {max[0]}");

        var broadcast = new float[257];
        if (r == 0) for (int i = 0; i < broadcast.Length; i++) broadcast[i] = i * 0.25f;
        comm.Broadcast(broadcast);
        for (int i = 0; i < broadcast.Length; i++)
            if (broadcast[i] != i * 0.25f) { failures.Add($"broadcast element {i}: {broadcast[i]}"); break; }

        var gathered = new long[n];
        comm.AllGather(1000L * r + 7, gathered);
        for (int i = 0; i < n; i++)
            if (gathered[i] != 1000L * i + 7) { failures.Add($"all-gather slot {i}: {gathered[i]}"); break; }

        comm.Barrier();
        var bad = new double[] { failures.Count };
        comm.AllReduceSum(bad);
        foreach (var f in failures) Console.Error.WriteLine($"rank {r}: FAILED {f}");
        if (r == 0)
            Console.WriteLine(bad[0] == 0
                ? $"mpi check: {comm.Description}: all-reduce, broadcast and all-gather correct on every rank"
                : $"mpi check: {comm.Description}: {bad[0]} failure(s)");
        return bad[0] == 0 ? 0 : 1;
    }

    private static int Bench(MpiCommunicator comm, int[] sizes, int repeats)
    {
        if (comm.Rank == 0)
            Console.WriteLine($"all-reduce (sum, in place, float32) over {comm.Description}; median of {repeats}");
        foreach (int size in sizes)
        {
            var buffer = GC.AllocateArray<float>(size, pinned: true);
            for (int i = 0; i < 3; i++) comm.AllReduceSum(buffer);     // warm-up (connections, buffers)
            var times = new double[repeats];
            for (int i = 0; i < repeats; i++)
            {
                comm.Barrier();
                long start = Stopwatch.GetTimestamp();
                comm.AllReduceSum(buffer);
                times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
            Array.Sort(times);
            double median = times[repeats / 2];
            if (comm.Rank == 0)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{size,10:N0} floats  {median,10:F1} µs  {size * 4.0 / median / 1e3,8:F2} GB/s (payload per rank)"));
        }
        return 0;
    }

    /// <summary>
    /// Data-parallel PPO with the environment's preset: every rank trains <paramref name="steps"/> steps; rank 0 prints the
    /// steps per second of all ranks together, and the updates' and the gradient all-reduce's shares of the time.
    /// </summary>
    private static int BenchPpo(MpiCommunicator comm, string envId, long steps)
    {
        DistributedTraining.ShareCores();
        var config = Reinforce.Training.TrainingConfig.Preset(envId);
        config.Algo = "ppo";
        using var env = Reinforce.Envs.Environments.MakeVector(config.Env, config.NumEnvs, unchecked((ulong)config.Seed));
        using var agent = Reinforce.Training.TrainingRun.CreateAgent(config, env);
        agent.Distribute(comm);
        comm.Barrier();
        long start = Stopwatch.GetTimestamp();
        agent.Learn(steps);
        comm.Barrier();
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        Span<double> figures = [agent.UpdateTime.TotalSeconds, agent.CommunicationTime.TotalSeconds, agent.StepsDone];
        comm.AllReduceSum(figures);
        if (comm.Rank == 0)
        {
            double update = figures[0] / comm.Size, allReduce = figures[1] / comm.Size;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"PPO on {config.Env} ({config.NumEnvs} copies per rank, preset settings, {Reinforce.Tensors.Kernels.MaxThreads} thread(s) per rank) over {comm.Description}: {figures[2]:N0} steps in {seconds:F2} s, " +
                $"{figures[2] / seconds:N0} steps/s in all; updates {update / seconds:P0} of the time, the gradient all-reduce {allReduce / Math.Max(update, 1e-12):P1} of the updates ({allReduce:F3} s per rank)"));
        }
        return 0;
    }

    private static int[] ParseSizes(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.Parse(s, NumberStyles.AllowThousands, CultureInfo.InvariantCulture)).ToArray();
}
