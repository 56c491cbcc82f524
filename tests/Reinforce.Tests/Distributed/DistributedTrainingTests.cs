using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Reinforce.Tests.Distributed;

/// <summary>`reinforce train --distributed mpi` under a real mpirun: learning, configuration checks, a killed rank, resume.</summary>
public sealed class DistributedTrainingTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "reinforce-mpi-" + Guid.NewGuid().ToString("N")[..8]);

    public DistributedTrainingTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [MpiFact]
    public void Two_ranks_solve_CartPole_and_keep_identical_weights_after_every_update()
    {
        string run = Path.Combine(_dir, "run");
        var result = MpiRun.Ranks(2, _dir, TimeSpan.FromMinutes(10),
            "train", "CartPole-v1", "--steps", "100000", "--seed", "1", "--distributed", "mpi", "--out", run);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("2 ranks", result.Output);
        Assert.Matches(@"the weights were identical on every rank after each of the [0-9,]+ updates", result.Output);
        var final = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "result.json")))!;
        double mean = final["final_evaluation"]!["mean_reward"]!.GetValue<double>();
        Assert.True(mean >= 475, $"final evaluation {mean} after 2 × 100,000 steps\n{result}");
        // Rank 0 alone writes: one run folder, and no rank scratch folder is left behind.
        Assert.Single(Directory.GetDirectories(_dir));
    }

    [MpiFact]
    public void Ranks_started_with_different_settings_stop_at_once_naming_the_rank()
    {
        string mpirun = MpiFactAttribute.MpirunPath!;
        var result = Start(mpirun, TimeSpan.FromMinutes(3), "--allow-run-as-root", "--oversubscribe",
            "-np", "1", "dotnet", MpiRun.CliDll, "train", "CartPole-v1", "--steps", "4096", "--seed", "1", "--distributed", "mpi", "--out", Path.Combine(_dir, "a"), ":",
            "-np", "1", "dotnet", MpiRun.CliDll, "train", "CartPole-v1", "--steps", "4096", "--seed", "2", "--distributed", "mpi", "--out", Path.Combine(_dir, "a"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("rank(s) 1 were started with a different configuration from rank 0", result.Error);
        Assert.DoesNotContain("   at Reinforce", result.Error);
    }

    [Fact]
    public void Distributed_training_without_a_launcher_is_a_clear_error()
    {
        var result = MpiRun.Alone(_dir, TimeSpan.FromMinutes(2), "train", "CartPole-v1", "--steps", "4096", "--distributed", "mpi", "--out", Path.Combine(_dir, "x"));
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("not started by an MPI launcher", result.Error);
        Assert.False(Directory.Exists(Path.Combine(_dir, "x")));
    }

    [Fact]
    public void An_unknown_backend_is_a_clear_error()
    {
        var result = MpiRun.Alone(_dir, TimeSpan.FromMinutes(2), "train", "CartPole-v1", "--steps", "4096", "--distributed", "nccl", "--out", Path.Combine(_dir, "x"));
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("the backend is mpi", result.Error);
    }

    [MpiFact]
    public void A_killed_rank_ends_the_job_within_seconds_and_the_run_resumes_from_its_last_checkpoint()
    {
        string run = Path.Combine(_dir, "run");
        string config = Path.Combine(_dir, "cartpole.json");
        var preset = Reinforce.Training.TrainingConfig.Preset("CartPole-v1");
        preset.TotalSteps = 30_000;
        preset.CheckpointEverySteps = 2048;
        File.WriteAllText(config, preset.ToJson());

        var psi = new ProcessStartInfo(MpiFactAttribute.MpirunPath!) { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "-np", "2", "dotnet", MpiRun.CliDll, "train", "--config", config, "--distributed", "mpi", "--out", run })
            psi.ArgumentList.Add(a);
        using var job = Process.Start(psi)!;
        var stdout = job.StandardOutput.ReadToEndAsync();
        var stderr = job.StandardError.ReadToEndAsync();
        try
        {
            // Wait for rank 0's first checkpoint, then kill rank 1 as an out-of-memory killer or a lost node would.
            var deadline = DateTime.UtcNow.AddMinutes(5);
            string checkpoints = Path.Combine(run, "checkpoints");
            while (!(Directory.Exists(checkpoints) && Directory.GetDirectories(checkpoints, "step-*").Length > 0))
            {
                Assert.True(DateTime.UtcNow < deadline, "no checkpoint appeared");
                Assert.False(job.HasExited, $"the job ended before its first checkpoint: {stderr.Result}");
                Thread.Sleep(50);
            }
            int rank1 = RankPid(job.Id, 1);
            Process.GetProcessById(rank1).Kill();      // SIGKILL
            var killed = Stopwatch.StartNew();
            Assert.True(job.WaitForExit(TimeSpan.FromSeconds(60)), "the job went on after a rank died");
            string said = stdout.Result + stderr.Result;
            Assert.NotEqual(0, job.ExitCode);
            Assert.Matches(@"rank 1 .*(signal 9|Killed)", said);
            Assert.True(killed.Elapsed < TimeSpan.FromSeconds(60));
        }
        finally
        {
            if (!job.HasExited) job.Kill(entireProcessTree: true);
        }

        // The run folder kept its checkpoints: the job resumes from the newest one (every rank loads it; rank 1's copies
        // start afresh: "weights exact, environments reset") and finishes.
        var resumed = MpiRun.Ranks(2, _dir, TimeSpan.FromMinutes(10), "train", "--resume", run, "--distributed", "mpi");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Matches(@"Resuming .* at step [1-9][0-9,]* of 30,000", resumed.Output);
        Assert.Contains("the weights were identical on every rank", resumed.Output);
        Assert.True(File.Exists(Path.Combine(run, "result.json")));
    }

    /// <summary>The process id of rank <paramref name="rank"/> under mpirun (the launcher puts OMPI_COMM_WORLD_RANK in each rank's environment).</summary>
    private static int RankPid(int mpirunPid, int rank)
    {
        var find = Start("/bin/sh", TimeSpan.FromSeconds(30), "-c",
            $"for p in $(pgrep -f Reinforce.Cli.dll); do if tr '\\0' '\\n' < /proc/$p/environ | grep -qx OMPI_COMM_WORLD_RANK={rank}; then echo $p; fi; done");
        var line = find.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        return line is not null && int.TryParse(line, out int pid) ? pid : throw new InvalidOperationException($"no process of rank {rank} under mpirun {mpirunPid}: {find}");
    }

    private static MpiRun.Result Start(string file, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var watch = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(entireProcessTree: true); p.WaitForExit(); }
        return new MpiRun.Result(p.HasExited ? p.ExitCode : -1, o.Result, e.Result, watch.Elapsed);
    }
}
