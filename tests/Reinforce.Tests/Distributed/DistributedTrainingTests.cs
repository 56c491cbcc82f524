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
    public void Recurrent_PPO_with_normalisation_trains_on_two_ranks_with_identical_weights_after_every_update()
    {
        string config = Path.Combine(_dir, "novel.json");
        File.WriteAllText(config, """
            { "env": "CartPoleNoVel-v1", "algo": "ppo", "seed": 2, "n_envs": 4, "total_steps": 2048,
              "eval": { "every_steps": 100000, "episodes": 2, "final_episodes": 2 },
              "ppo": { "n_steps": 32, "batch_size": 64, "n_epochs": 2, "normalize_observations": true, "normalize_rewards": true,
                       "policy": { "hidden_sizes": [16], "lstm_hidden_size": 8 } } }
            """);
        string run = Path.Combine(_dir, "run");
        var result = MpiRun.Ranks(2, _dir, TimeSpan.FromMinutes(5), "train", "--config", config, "--distributed", "mpi", "--out", run);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"the weights were identical on every rank after each of the 16 updates", result.Output);
        Assert.True(File.Exists(Path.Combine(run, "result.json")), result.ToString());
    }

    [MpiFact]
    public void The_PPO_benchmark_reports_throughput_and_the_all_reduce_share_on_two_ranks()
    {
        var result = MpiRun.Ranks(2, _dir, TimeSpan.FromMinutes(5), "mpi", "bench", "--ppo", "CartPole-v1", "--steps", "4096");
        Assert.True(result.ExitCode == 0, result.ToString());
        // 4,096 steps per rank are 16 rollouts of 8 copies × 32 steps on each of the 2 ranks.
        Assert.Matches(@"2 ranks: 8,192 steps in [0-9.]+ s, [0-9,]+ steps/s in all; updates [0-9]+ % of the time, the gradient all-reduce [0-9.]+ % of the updates", result.Output);
        Assert.DoesNotMatch(@"the gradient all-reduce 0\.0 %", result.Output);
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
        preset.TotalSteps = 5_000_000;     // far more than the test waits for: the job is killed, never finished
        preset.CheckpointEverySteps = 2048;
        File.WriteAllText(config, preset.ToJson());

        // Rank 1 is the same training command, run under a shell that kills it with SIGKILL (as an out-of-memory killer or
        // a lost node would) once rank 0 has finished writing its first checkpoint.
        string train = $"dotnet '{MpiRun.CliDll}' train --config '{config}' --distributed mpi --out '{run}'";
        // (A finished checkpoint: "step-N" itself, not the "step-N.saving-…" folder it is written into before the rename.)
        string killer = $"{train} & child=$!; until ls '{run}/checkpoints' 2>/dev/null | grep -qx 'step-[0-9]*'; do sleep 0.1; done; kill -9 $child; wait $child";
        var psi = new ProcessStartInfo(MpiFactAttribute.MpirunPath!) { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "-np", "1", "dotnet", MpiRun.CliDll, "train", "--config", config, "--distributed", "mpi", "--out", run,
                     ":", "-np", "1", "/bin/sh", "-c", killer })
            psi.ArgumentList.Add(a);
        using var job = Process.Start(psi)!;
        var stdout = job.StandardOutput.ReadToEndAsync();
        var stderr = job.StandardError.ReadToEndAsync();
        try
        {
            Assert.True(job.WaitForExit(TimeSpan.FromMinutes(5)), "the job went on after a rank died");
            string said = stdout.Result + stderr.Result;
            Assert.NotEqual(0, job.ExitCode);
            // Open MPI names the rank that died: "Process name: [[job,1],1]  Exit code: 137" (128 + SIGKILL).
            Assert.Matches(@"Process name: \[\[[0-9]+,[0-9]+\],1\]", said);
            Assert.Contains("137", said);
        }
        finally
        {
            if (!job.HasExited) job.Kill(entireProcessTree: true);
        }

        // The run folder kept its checkpoints: the job resumes from the newest one (every rank loads it; rank 1's copies
        // start afresh: "weights exact, environments reset") and goes on to write newer checkpoints.
        long newest = Newest(run);
        Assert.True(newest > 0);
        var again = new ProcessStartInfo(MpiFactAttribute.MpirunPath!) { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "-np", "2", "dotnet", MpiRun.CliDll, "train", "--resume", run, "--distributed", "mpi" })
            again.ArgumentList.Add(a);
        using var resumed = Process.Start(again)!;
        var resumedOut = resumed.StandardOutput.ReadToEndAsync();
        var resumedErr = resumed.StandardError.ReadToEndAsync();
        try
        {
            var deadline = DateTime.UtcNow.AddMinutes(5);
            while (Newest(run) <= newest + 2048)
            {
                Assert.True(DateTime.UtcNow < deadline, "the resumed job wrote no newer checkpoint");
                // The output is read only once the job has ended (reading it earlier would wait for the end of the job).
                if (resumed.HasExited) Assert.Fail($"the resumed job ended: {resumedOut.Result}{resumedErr.Result}");
                Thread.Sleep(50);
            }
        }
        finally
        {
            if (!resumed.HasExited) resumed.Kill(entireProcessTree: true);
            resumed.WaitForExit();
        }
        Assert.Matches($@"Resuming .* at step {newest:N0} of 5,000,000", resumedOut.Result);
    }

    private static long Newest(string run)
    {
        string checkpoints = Path.Combine(run, "checkpoints");
        if (!Directory.Exists(checkpoints)) return 0;
        return Directory.GetDirectories(checkpoints, "step-*")
            .Select(d => long.TryParse(Path.GetFileName(d)["step-".Length..], out long s) ? s : 0).DefaultIfEmpty(0).Max();
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
