using System.Diagnostics;
using Reinforce.Algorithms;

namespace Reinforce.Training;

/// <summary>One reading of a long run's footprint.</summary>
/// <param name="Steps">Environment steps trained so far.</param>
/// <param name="Elapsed">Wall time since the run started.</param>
/// <param name="ResidentBytes">The process's resident set (working set), as the operating system reports it.</param>
/// <param name="ManagedBytes">Live managed heap after a full collection (what the run keeps reachable).</param>
/// <param name="FolderBytes">The run folder's size on disk (sum of its files).</param>
/// <param name="Checkpoints">Periodic checkpoints present in the folder.</param>
public sealed record SoakSample(long Steps, TimeSpan Elapsed, long ResidentBytes, long ManagedBytes, long FolderBytes, int Checkpoints);

/// <summary>
/// A soak test of a long training run (<c>reinforce bench soak</c>): trains a config in a run folder and reads the
/// process's resident memory, the live managed heap and the folder's size at intervals, so growth over millions of
/// steps shows up as a slope (<see cref="GrowthPerMillionSteps"/>) rather than a crash hours later.
/// </summary>
public static class SoakBenchmark
{
    /// <summary>
    /// Trains <paramref name="config"/> in <paramref name="directory"/>, taking a <see cref="SoakSample"/> at the
    /// start, every <paramref name="sampleEvery"/> steps and at the end; each goes to <paramref name="report"/> as it is taken.
    /// </summary>
    public static IReadOnlyList<SoakSample> Run(TrainingConfig config, string directory, long sampleEvery, Action<SoakSample>? report = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (sampleEvery < 1) throw new ConfigurationException("--every", $"is {sampleEvery}; sample every 1 step or more (for example 1000000).");
        var samples = new List<SoakSample>();
        var clock = Stopwatch.StartNew();
        using var run = TrainingRun.Create(config, directory);
        void Take(long steps)
        {
            var sample = Sample(steps, clock.Elapsed, run.Directory);
            samples.Add(sample);
            report?.Invoke(sample);
        }
        Take(0);
        run.Run([new Sampler(sampleEvery, Take)]);
        Take(run.Agent.StepsDone);
        return samples;
    }

    /// <summary>Reads the footprint now.</summary>
    public static SoakSample Sample(long steps, TimeSpan elapsed, string directory)
    {
        long managed = GC.GetTotalMemory(forceFullCollection: true);
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        string checkpoints = Path.Combine(directory, RunFolder.CheckpointsFolder);
        int count = System.IO.Directory.Exists(checkpoints) ? System.IO.Directory.GetDirectories(checkpoints, "step-*").Length : 0;
        return new SoakSample(steps, elapsed, process.WorkingSet64, managed, FolderSize(directory), count);
    }

    /// <summary>The total size of the files under <paramref name="directory"/>.</summary>
    public static long FolderSize(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!System.IO.Directory.Exists(directory)) return 0;
        long total = 0;
        foreach (var file in System.IO.Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            try { total += new FileInfo(file).Length; }
            catch (FileNotFoundException) { }   // a checkpoint swapped out while we counted
        }
        return total;
    }

    /// <summary>
    /// The least-squares slope of <paramref name="value"/> against steps, in bytes per million steps, over the samples
    /// after the first <paramref name="warmup"/> (start-up allocations are not growth).
    /// </summary>
    public static double GrowthPerMillionSteps(IReadOnlyList<SoakSample> samples, Func<SoakSample, long> value, int warmup = 1)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(value);
        var points = samples.Skip(warmup).Select(s => (X: s.Steps / 1e6, Y: (double)value(s))).ToArray();
        if (points.Length < 2) return 0;
        double mx = points.Average(p => p.X), my = points.Average(p => p.Y);
        double sxx = points.Sum(p => (p.X - mx) * (p.X - mx));
        return sxx == 0 ? 0 : points.Sum(p => (p.X - mx) * (p.Y - my)) / sxx;
    }

    private sealed class Sampler(long every, Action<long> take) : TrainingCallback
    {
        private long _next;

        public override void OnTrainingStart(Agent agent, long totalSteps) => _next = Cadence.Next(agent?.StepsDone ?? 0, every);

        public override bool OnUpdate(Agent agent, TrainingMetrics metrics)
        {
            ArgumentNullException.ThrowIfNull(agent);
            if (agent.StepsDone < _next) return true;
            _next = Cadence.Next(agent.StepsDone, every);
            take(agent.StepsDone);
            return true;
        }
    }
}
