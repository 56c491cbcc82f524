using Reinforce.Servers.Unity;
using Reinforce.Spaces;
using Reinforce.Training;

namespace Reinforce.Tests.Remote;

/// <summary>Unity's protocol tests run alone: the trainer and the test client each need a thread at every exchange, and a
/// suite that fills the thread pool with blocking tests starves them past the per-call deadline.</summary>
[CollectionDefinition("Unity", DisableParallelization = true)]
public sealed class UnityCollection;

/// <summary>The trainer side of ML-Agents' communicator against a test client that plays Unity's side (<see cref="UnityTestClient"/>).</summary>
[Collection("Unity")]
public sealed class UnityTrainerTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(120);

    /// <summary>Hang guard only (not a timing assertion).</summary>
    private static bool Finished(Task task) => task.Wait(HangGuard);

    private static T ResultOf<T>(Task<T> task) => task.GetAwaiter().GetResult();

    /// <summary>Starts the trainer (listening on a free port) and the client on another thread.</summary>
    private static (UnityVectorEnv Env, Task Client) Connect(UnityTestClient client, int seed = 5, int timeoutSeconds = 60)
    {
        var port = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Dedicated threads (LongRunning), not pool threads: the exchange must not wait for a busy pool.
        var clientTask = Task.Factory.StartNew(() => client.Run(port.Task.GetAwaiter().GetResult()), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var listen = Task.Factory.StartNew(() => UnityVectorEnv.Listen(0, seed, HangGuard, TimeSpan.FromSeconds(timeoutSeconds), listening: p => port.SetResult(p)),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Task.WaitAny([listen, clientTask], HangGuard);
        if (clientTask.IsFaulted) throw new InvalidOperationException("the test client failed", clientTask.Exception);
        Assert.True(Finished(listen), "the handshake hung");
        return (ResultOf(listen), clientTask);
    }

    [Fact]
    public void Handshake_spec_and_steps_map_done_to_terminated_and_max_step_to_truncated()
    {
        var client = new UnityTestClient(agents: 4, seed: 1) { MaxStep = 30 };
        var (env, clientTask) = Connect(client, seed: 77);
        using (env)
        {
            Assert.Equal(77, client.SeedReceived);
            Assert.Equal(UnityTestClient.Behavior, env.BehaviorName);
            Assert.Equal(4, env.NumEnvs);
            Assert.Equal(3, env.ObservationSize);
            Assert.Equal("Box(-1, 1, [1])", env.SingleActionSpace.ToString());
            int terminated = 0, truncated = 0;
            var actions = new float[4];
            for (int t = 0; t < 200; t++)
            {
                for (int i = 0; i < 4; i++) actions[i] = t % 7 < 3 ? 1f : -1f;
                env.Step(actions);
                for (int i = 0; i < 4; i++)
                {
                    if (env.Terminated[i])
                    {
                        terminated++;
                        Assert.True(MathF.Abs(env.FinalObservation(i)[1]) > 1f, "a terminated episode's final observation has the ball off the plate");
                        Assert.True(env.Rewards[i] < 0f, $"reward {env.Rewards[i]}");   // -1 for the fall, plus 0.1 for each decision held within the same vector step
                    }
                    if (env.Truncated[i]) truncated++;
                    Assert.False(env.Terminated[i] && env.Truncated[i]);
                }
                foreach (var e in env.CompletedEpisodes) Assert.True(e.Length <= 30);
            }
            Assert.True(terminated > 0 && truncated > 0, $"terminated {terminated}, truncated {truncated}: both kinds of ending must occur");
            Assert.Equal(client.EpisodesDone, terminated + truncated);
            Assert.Equal(client.Truncations, truncated);
            Assert.Contains(client.Requested, n => n < 4);   // agents finished at different steps: some messages asked fewer decisions
        }
        Assert.True(Finished(clientTask));
        Assert.Equal("status 400", client.EndedWith);   // the trainer closed the session as mlagents-learn does
    }

    [Fact]
    public void Discrete_branches_and_their_masks_arrive_per_agent()
    {
        var client = new UnityTestClient(agents: 3, seed: 2, discrete: true);
        var (env, clientTask) = Connect(client);
        using (env)
        {
            Assert.Equal("MultiDiscrete([3, 2])", env.SingleActionSpace.ToString());
            var actions = new int[6];
            for (int t = 0; t < 60; t++)
            {
                for (int i = 0; i < 3; i++)
                {
                    bool rightAllowed = env.ActionMasks[i * 5 + 2];
                    Assert.True(env.AgentIds[i] % 2 != 0 == rightAllowed, $"t={t} copy {i} agent {env.AgentIds[i]} right allowed {rightAllowed}, masks {string.Join("", env.ActionMasks.ToArray().Select(b => b ? 1 : 0))}");   // the client masks "right" for even agent ids
                    Assert.True(env.ActionMasks[i * 5] && env.ActionMasks[i * 5 + 1] && env.ActionMasks[i * 5 + 3] && env.ActionMasks[i * 5 + 4]);
                    actions[2 * i] = rightAllowed ? 2 : 0;
                    actions[2 * i + 1] = t % 2;
                }
                env.Step(actions);
            }
            Assert.True(client.EpisodesDone > 0);
        }
        Assert.True(Finished(clientTask));
    }

    [Fact]
    public void A_unity_that_disconnects_is_a_clear_error_not_a_hang()
    {
        var client = new UnityTestClient(agents: 2, seed: 3) { DisconnectAfter = 10 };
        var (env, clientTask) = Connect(client, timeoutSeconds: 5);
        using (env)
        {
            var run = Task.Run(() => Record.Exception(() => { for (int t = 0; t < 1000; t++) env.Step([0f, 0f]); }));
            Assert.True(Finished(run), "the trainer hung after Unity disconnected");
            var error = Assert.IsType<IOException>(ResultOf(run));
            // A Unity that goes away between calls is noticed at the deadline; one that goes away during a call, at once.
            Assert.Matches("Unity disconnected|Unity did not send step 1[01] within 5 s", error.Message);
        }
        Assert.True(Finished(clientTask));
        Assert.Equal("disconnected", client.EndedWith);
    }

    [Fact]
    public void An_incompatible_communication_version_is_refused_at_the_handshake()
    {
        var client = new UnityTestClient(agents: 2, seed: 4, version: "0.15.0");
        var port = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clientTask = Task.Run(async () => client.Run(await port.Task));
        var listen = Task.Run(() => Record.Exception(() => UnityVectorEnv.Listen(0, 1, HangGuard, TimeSpan.FromSeconds(60), listening: p => port.SetResult(p))));
        Assert.True(Finished(listen));
        var error = Assert.IsType<IOException>(ResultOf(listen));
        Assert.Contains("communication API 0.15.0", error.Message, StringComparison.Ordinal);
        Assert.True(Finished(clientTask));
        Assert.StartsWith("refused", client.EndedWith, StringComparison.Ordinal);
    }

    [Fact]
    public void Ppo_learns_to_balance_the_ball_through_the_unity_protocol_and_exports_for_unity()
    {
        var client = new UnityTestClient(agents: 8, seed: 6) { MaxStep = 100 };
        var (env, clientTask) = Connect(client);
        using (env)
        {
            var cfg = new TrainingConfig { Env = "unity", Algo = "ppo", NumEnvs = env.NumEnvs, Seed = 1, TotalSteps = 40_000 }.Resolve();
            using var agent = TrainingRun.CreateAgent(cfg, env);
            agent.Learn(4_096);
            double early = agent.Episodes.MeanReturn ?? double.NaN;
            agent.Learn(cfg.TotalSteps);
            double late = agent.Episodes.MeanReturn ?? double.NaN;
            // Random tilting drops the ball within a few steps (mean return near 1); 40k steps of PPO at least double and reach 2.5 (measured 3.3).
            Assert.True(late > 2.5 && late > 2 * early, $"mean return {early:F2} early, {late:F2} after training");
            var export = Reinforce.Export.PolicyExporter.Export(agent, new Reinforce.Export.OnnxExportOptions { Unity = true });
            Assert.Contains(export.Inputs, i => i.Name == "obs_0");
            Assert.Contains(export.Outputs, o => o.Name == "continuous_actions");
        }
        Assert.True(Finished(clientTask));
    }
}
