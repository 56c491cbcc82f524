using System.Diagnostics;
using System.Globalization;
using Reinforce.Tensors;

namespace Reinforce.Benchmarks.Engine;

/// <summary>
/// A quick matrix-multiply throughput table for iterating on the kernel (seconds, not BenchmarkDotNet's minutes):
/// for each shape and thread count, the median (or with --min the fastest) of several timed batches, in GFLOP/s (2·m·k·n per product).
/// </summary>
internal static class GflopsReport
{
    private static readonly (int M, int K, int N, bool TransposeA, bool TransposeB)[] DefaultShapes =
    [
        (512, 512, 512, false, false), (512, 512, 512, false, true), (512, 512, 512, true, false), (512, 512, 512, true, true),
        (256, 64, 64, false, false), (1024, 64, 64, false, false), (4096, 64, 64, false, false),
        (64, 64, 64, false, false), (256, 4, 64, false, false), (1, 4, 64, false, false), (256, 64, 64, false, true),
        (256, 64, 2, false, true), (64, 256, 4, true, false), (64, 256, 64, true, false),
        // Policy and value heads: a minibatch's logits and value (computed transposed), their weight gradients, a rollout step's;
        // a first layer's weight gradient over CartPole's 4 observations.
        (128, 32, 2, false, true), (128, 64, 1, false, true), (2, 128, 32, true, false), (1, 128, 64, true, false),
        (8, 32, 2, false, false), (4, 64, 2, false, false), (32, 128, 4, true, false),
    ];

    private static bool s_useMin;

    public static void Run(string[] args)
    {
        // The fastest batch is steadier than the median when other processes share the cores.
        s_useMin = args.Contains("--min");
        args = [.. args.Where(a => a != "--min")];
        if (args.Contains("--help"))
        {
            Console.WriteLine("gflops [--threads 1,2] [--path Vector512|Vector256|Vector128|Scalar] [--shape MxKxN[tA][tB]]... [--batches 7] [--min]");
            return;
        }
        int[] threadCounts = [1, 2];
        var path = Kernels.DefaultMatMulPath;
        int batches = 7;
        var shapes = new List<(int M, int K, int N, bool TransposeA, bool TransposeB)>();
        for (int i = 0; i < args.Length - 1; i += 2)
        {
            switch (args[i])
            {
                case "--threads": threadCounts = [.. args[i + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]; break;
                case "--path": path = Enum.Parse<Kernels.MatMulPath>(args[i + 1]); break;
                case "--batches": batches = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--shape": shapes.Add(ParseShape(args[i + 1])); break;
                default: throw new ArgumentException($"gflops: unknown option {args[i]}; see gflops --help.");
            }
        }
        if (shapes.Count == 0) shapes.AddRange(DefaultShapes);

        var cases = shapes.Select(shape =>
        {
            var (m, k, n, _, _) = shape;
            var rng = new Rng(1);
            return (Shape: shape, A: RandomArray(rng, m * k), B: RandomArray(rng, k * n), C: new float[m * n]);
        }).ToList();
        // This process compiles in tiers: a shape measured before the kernels' code reached its optimised tier times the
        // first-tier code (the first shape of a list ran 4-5x slow). Every shape and thread count runs first, twice, with a
        // pause for the background compiler, so the table compares the same code.
        for (int round = 0; round < 2; round++)
        {
            foreach (var (shape, a, b, c) in cases)
                foreach (int threads in threadCounts)
                    RunFor(() => Kernels.MatMul(a, b, c, shape.M, shape.K, shape.N, shape.TransposeA, shape.TransposeB, false, threads, path), 30);
            Thread.Sleep(200);
        }

        Console.WriteLine($"path {path}, {Environment.ProcessorCount} processors, {(s_useMin ? "fastest" : "median")} of {batches} batches, after a warm-up of every shape");
        Console.WriteLine($"{"shape",-22}{string.Join("", threadCounts.Select(t => $"{t + " thr µs",14}{t + " thr GFLOP/s",16}"))}");
        foreach (var ((m, k, n, ta, tb), a, b, c) in cases)
        {
            string name = $"{m}x{k}x{n}{(ta ? " tA" : "")}{(tb ? " tB" : "")}";
            Console.Write($"{name,-22}");
            foreach (int threads in threadCounts)
            {
                double seconds = MedianSeconds(() => Kernels.MatMul(a, b, c, m, k, n, ta, tb, false, threads, path), batches);
                double gflops = 2.0 * m * k * n / seconds / 1e9;
                Console.Write($"{(seconds * 1e6).ToString("F2", CultureInfo.InvariantCulture),14}{gflops.ToString("F1", CultureInfo.InvariantCulture),16}");
            }
            Console.WriteLine();
        }
    }

    private static (int, int, int, bool, bool) ParseShape(string s)
    {
        bool ta = s.Contains("tA", StringComparison.Ordinal), tb = s.Contains("tB", StringComparison.Ordinal);
        var dims = s.Replace("tA", "", StringComparison.Ordinal).Replace("tB", "", StringComparison.Ordinal).Split('x')
            .Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToArray();
        return (dims[0], dims[1], dims[2], ta, tb);
    }

    private static float[] RandomArray(Rng rng, int length)
    {
        var data = new float[length];
        for (int i = 0; i < length; i++) data[i] = (float)rng.NextGaussian();
        return data;
    }

    private static void RunFor(Action action, double milliseconds)
    {
        var sw = Stopwatch.StartNew();
        do
        {
            for (int i = 0; i < 16; i++) action();
        } while (sw.Elapsed.TotalMilliseconds < milliseconds);
    }

    /// <summary>Seconds per call: calibrates a batch to about 20 ms, then takes the median batch.</summary>
    private static double MedianSeconds(Action action, int batches)
    {
        for (int i = 0; i < 3; i++) action();
        int reps = 1;
        while (true)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++) action();
            if (sw.Elapsed.TotalMilliseconds >= 20 || reps >= 1 << 24) break;
            reps *= 2;
        }
        var times = new double[batches];
        for (int b = 0; b < batches; b++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++) action();
            times[b] = sw.Elapsed.TotalSeconds / reps;
        }
        Array.Sort(times);
        return s_useMin ? times[0] : times[batches / 2];
    }
}
