using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.Tensors;
using Reinforce.Training;
using Reinforce.Envs.ClassicControl;
using Reinforce.Envs.Textbook;
using Reinforce.Envs.Vector;

namespace Reinforce.Tests.Algorithms;

/// <summary>
/// Fixed seeds, small budgets, the learned outcome asserted. Each test runs in seconds to tens of seconds; they carry
/// the trait Category=Learning so they are easy to filter (<c>--filter Category!=Learning</c>), but CI runs them.
/// </summary>
[Trait("Category", "Learning")]
public class LearningTests
{
    private static EvaluationResult EvaluateFresh(OnPolicyAgent agent, string envId, int episodes, ulong seed, bool deterministic = true)
    {
        using var env = Environments.MakeVector(envId, 10, seed);
        return agent.Evaluate(env, episodes, deterministic, seed);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Ppo_solves_CartPole_within_a_small_budget(int seed)
    {
        var options = PpoOptions.For("CartPole-v1");
        options.Seed = seed;
        using var env = Environments.MakeVector("CartPole-v1", 8, 0);
        using var agent = new Ppo(env, options);
        using var evalEnv = Environments.MakeVector("CartPole-v1", 20, 99);
        var evaluation = new EvalCallback(evalEnv, everySteps: 2560, episodes: 100, deterministic: true, stopAtReward: 475, seed: 5);
        agent.Learn(30_000, [evaluation]);
        Assert.True(evaluation.SolvedAtSteps is not null, $"not solved in 30k steps; evaluations: {string.Join(", ", evaluation.History.Select(h => $"{h.Steps}: {h.Result.Mean:F0}"))}");
        // Solved means solved: 100 fresh episodes (other seeds) also average at least 475.
        var fresh = EvaluateFresh(agent, "CartPole-v1", 100, seed: 12345);
        Assert.True(fresh.Mean >= 475, $"fresh evaluation {fresh.Mean:F1} ± {fresh.Std:F1} after solving at {evaluation.SolvedAtSteps}");
    }

    [Fact]
    public void A2c_improves_clearly_on_CartPole()
    {
        var options = A2cOptions.For("CartPole-v1");
        options.Seed = 3;
        using var env = Environments.MakeVector("CartPole-v1", 8, 0);
        using var agent = new A2c(env, options);
        double before = EvaluateFresh(agent, "CartPole-v1", 20, 7, deterministic: false).Mean;
        agent.Learn(100_000);
        double after = EvaluateFresh(agent, "CartPole-v1", 20, 7, deterministic: false).Mean;
        Assert.True(before < 60, $"the untrained policy already scores {before:F1}");
        Assert.True(after >= 200, $"A2C went from {before:F1} to only {after:F1} in 100k steps");
    }

    [Fact]
    public void Vpg_improves_clearly_on_CartPole()
    {
        var options = VpgOptions.For("CartPole-v1");
        options.Seed = 3;
        using var env = Environments.MakeVector("CartPole-v1", 8, 0);
        using var agent = new Vpg(env, options);
        double before = EvaluateFresh(agent, "CartPole-v1", 20, 7, deterministic: false).Mean;
        agent.Learn(80_000);
        double after = EvaluateFresh(agent, "CartPole-v1", 20, 7, deterministic: false).Mean;
        Assert.True(before < 60, $"the untrained policy already scores {before:F1}");
        Assert.True(after >= 150, $"REINFORCE went from {before:F1} to only {after:F1} in 80k steps");
    }

    [Fact]
    public void Ppo_improves_substantially_on_Pendulum()
    {
        var options = PpoOptions.For("Pendulum-v1");
        options.Seed = 1;
        using var env = Environments.MakeVector("Pendulum-v1", 4, 0);
        using var agent = new Ppo(env, options);
        double before = EvaluateFresh(agent, "Pendulum-v1", 10, 11).Mean;
        agent.Learn(40_960);
        double after = EvaluateFresh(agent, "Pendulum-v1", 10, 11).Mean;
        Assert.True(before < -900, $"the untrained policy already scores {before:F1}");
        Assert.True(after > -400, $"PPO went from {before:F1} to only {after:F1} on Pendulum in 41k steps");
    }

    private static OnPolicyAgent FromPreset(string envId, int seed, IVectorEnv env)
    {
        var config = TrainingConfig.Preset(envId);
        config.Seed = seed;
        return TrainingRun.CreateAgent(config.Resolve(), env);
    }

    [Fact]
    public void Reinforce_learns_the_stochastic_optimum_of_the_short_corridor()
    {
        // Sutton & Barto Example 13.1: the best policy goes right with probability 2 − √2 ≈ 0.586.
        using var env = Environments.MakeVector("ShortCorridor", 8, 0);
        using var agent = FromPreset("ShortCorridor", 1, env);
        double Right()
        {
            var logits = agent.Policy.Forward(Tensor.Ones(1, 1));
            return 1 / (1 + Math.Exp(logits[0] - logits[1]));
        }
        Assert.InRange(Right(), 0.49, 0.51);
        agent.Learn(200_000);
        Assert.InRange(Right(), 0.55, 0.65);
    }

    [Fact]
    public void Reinforce_with_a_bernoulli_policy_learns_where_to_eat_at_the_fry_shack()
    {
        using var env = Environments.MakeVector("FryShack", 8, 0);
        using var agent = FromPreset("FryShack", 1, env);
        double before = EvaluateFresh(agent, "FryShack", 2000, 5).Mean;
        agent.Learn(20_000);
        double after = EvaluateFresh(agent, "FryShack", 2000, 5).Mean;
        Assert.InRange(before, -0.1, 0.1);   // one place whatever the hunger: 0 on average
        Assert.True(after >= 0.5, $"after training the policy earns {after:F3} per visit (the best earns 0.6)");
    }

    [Theory]
    [InlineData("Bandit-10arm", 2)]
    [InlineData("Bandit-10arm-mean4", 4)]
    public void The_gradient_bandit_preset_settles_on_the_best_arm(string envId, int seed)
    {
        using var env = Environments.MakeVector(envId, 1, 0);
        using var agent = FromPreset(envId, seed, env);
        agent.Learn(1000);
        var bandit = (KArmedBandit)agent.Env.Envs[0];
        Assert.Equal(bandit.OptimalAction, agent.Predict([1f]));
        Assert.True(agent.Episodes.MeanReturn >= bandit.TrueValues.Max() - 0.3, $"last 100 pulls earned {agent.Episodes.MeanReturn:F2}; the best arm is worth {bandit.TrueValues.Max():F2}");
    }

    [Theory]
    [InlineData("Pendulum-v1", -200.0)]
    [InlineData("MountainCarContinuous-v0", 90.0)]
    [InlineData("Acrobot-v1", -100.0)]
    public void Ppo_reaches_the_target_with_the_preset_and_its_full_budget(string envId, double target)
    {
        // The slowest learning tests (a few seconds each): the whole preset budget, seed 1, 100 evaluation episodes.
        var config = TrainingConfig.Preset(envId).Resolve();
        using var env = Environments.MakeVector(envId, config.NumEnvs, 0);
        using var agent = TrainingRun.CreateAgent(config, env);
        agent.Learn(config.TotalSteps);
        var result = EvaluateFresh(agent, envId, 100, seed: 2024);
        Assert.True(result.Mean >= target, $"PPO on {envId} reached {result.Mean:F1} ± {result.Std:F1} after {agent.StepsDone} steps; the target is {target}");
    }
}
