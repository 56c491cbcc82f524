using Reinforce.Envs;
using Reinforce.Envs.Wrappers;
using Reinforce.Envs.ClassicControl;

namespace Reinforce.Tests.Envs;

public class ClassicControlTests
{
    [Fact]
    public void CartPole_resets_every_state_variable_uniformly_in_plus_minus_0_05()
    {
        var env = new CartPole();
        var all = new List<double>();
        for (int seed = 0; seed < 300; seed++)
        {
            var (obs, _) = env.Reset(seed);
            Assert.True(env.ObservationSpace.Contains(obs));
            Assert.All(env.State, v => Assert.InRange(v, -0.05, 0.05));
            Assert.Equal(env.State.Select(v => (float)v), obs);
            all.AddRange(env.State);
        }
        Assert.InRange(all.Average(), -0.005, 0.005);
        Assert.InRange(all.Average(v => v * v), 0.0007, 0.00097); // variance of U(-0.05, 0.05) = 0.000833
    }

    [Fact]
    public void Acrobot_resets_to_float32_values_in_plus_minus_0_1()
    {
        var env = new Acrobot();
        for (int seed = 0; seed < 100; seed++)
        {
            var (obs, _) = env.Reset(seed);
            Assert.True(env.ObservationSpace.Contains(obs));
            Assert.All(env.State, v =>
            {
                Assert.InRange(v, -0.1, 0.1);
                Assert.Equal(v, (double)(float)v); // Gymnasium casts the start state to float32
            });
        }
    }

    [Fact]
    public void MountainCars_reset_position_in_minus_0_6_to_minus_0_4_at_rest()
    {
        foreach (var env in new VectorizableEnvironment<int>[] { new MountainCar() }.Cast<IEnvironment<float[], int>>())
        {
            for (int seed = 0; seed < 100; seed++)
            {
                var (obs, _) = env.Reset(seed);
                Assert.InRange(obs[0], -0.6f, -0.4f);
                Assert.Equal(0f, obs[1]);
            }
        }
        var continuous = new MountainCarContinuous();
        for (int seed = 0; seed < 100; seed++)
        {
            var (obs, _) = continuous.Reset(seed);
            Assert.InRange(obs[0], -0.6f, -0.4f);
            Assert.Equal(0f, obs[1]);
        }
    }

    [Fact]
    public void Pendulum_resets_angle_in_plus_minus_pi_and_speed_in_plus_minus_1()
    {
        var env = new Pendulum();
        var angles = new List<double>();
        for (int seed = 0; seed < 400; seed++)
        {
            var (obs, _) = env.Reset(seed);
            Assert.True(env.ObservationSpace.Contains(obs));
            Assert.InRange(env.State[0], -Math.PI, Math.PI);
            Assert.InRange(env.State[1], -1.0, 1.0);
            angles.Add(env.State[0]);
        }
        Assert.True(angles.Min() < -2.8 && angles.Max() > 2.8, "the start angle covers the whole circle");
    }

    [Fact]
    public void A_seed_makes_the_episode_reproducible_and_different_seeds_differ()
    {
        var a = new CartPole();
        var b = new CartPole();
        Assert.Equal(a.Reset(42).Observation, b.Reset(42).Observation);
        Assert.NotEqual(a.Reset(1).Observation, b.Reset(2).Observation);
        // An unseeded reset continues the generator's stream, as Gymnasium's np_random does.
        a.Reset(5);
        b.Reset(5);
        Assert.Equal(a.Reset().Observation, b.Reset().Observation);
    }

    [Fact]
    public void Step_before_reset_names_the_environment_and_the_fix()
    {
        var env = new CartPole();
        var e = Assert.Throws<InvalidOperationException>(() => env.Step(0));
        Assert.Equal("CartPole-v1: Step(0) was called before Reset. Call Reset() (optionally with a seed) to start an episode.", e.Message);
    }

    [Fact]
    public void Step_after_termination_without_reset_throws()
    {
        var env = new CartPole();
        env.Reset(0);
        Step<float[]> step;
        int t = 0;
        do { step = env.Step(1); t++; } while (!step.Terminated);
        Assert.InRange(t, 5, 40); // always pushing right tips the pole within a second or so
        var e = Assert.Throws<InvalidOperationException>(() => env.Step(1));
        Assert.Equal("CartPole-v1: Step(1) was called after the episode ended (terminated) without Reset. Call Reset() to start a new episode.", e.Message);
        env.Reset();
        env.Step(0); // fine again
    }

    [Fact]
    public void Step_after_truncation_by_the_registered_time_limit_throws()
    {
        var env = Environments.Make<float[], int>("MountainCar-v0");
        env.Reset(0);
        for (int t = 0; t < 199; t++) Assert.False(env.Step(1).Truncated);
        Assert.True(env.Step(1).Truncated);
        var e = Assert.Throws<InvalidOperationException>(() => env.Step(1));
        Assert.Contains("MountainCar-v0", e.Message);
        Assert.Equal("MountainCar-v0: Step(1) was called after the episode ended (truncated at the 200-step time limit) without Reset. Call Reset() to start a new episode.", e.Message);
    }

    [Fact]
    public void A_discrete_action_outside_the_space_names_environment_action_and_space()
    {
        var env = new Acrobot();
        env.Reset(0);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => env.Step(3));
        Assert.StartsWith("Acrobot-v1: action 3 is outside the action space Discrete(3); pass an integer from 0 to 2.", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => env.Step(-1));
    }

    [Fact]
    public void A_continuous_action_of_the_wrong_length_or_not_finite_is_refused()
    {
        var env = new Pendulum();
        env.Reset(0);
        var e = Assert.Throws<ArgumentException>(() => env.Step([1f, 2f]));
        Assert.StartsWith("Pendulum-v1: the action has 2 values but the action space Box(-2, 2, [1]) takes 1; pass an array of length 1.", e.Message);
        var nan = Assert.Throws<ArgumentException>(() => env.Step([float.NaN]));
        Assert.StartsWith("Pendulum-v1: action [NaN] is outside the action space Box(-2, 2, [1]): element 0 is NaN.", nan.Message);
    }

    [Fact]
    public void Pendulum_clips_the_torque_and_charges_for_the_clipped_torque()
    {
        var a = new Pendulum();
        var b = new Pendulum();
        a.SetState([1.0, 0.5]);
        b.SetState([1.0, 0.5]);
        var big = a.Step([5f]);
        var max = b.Step([2f]);
        Assert.Equal(max.Observation, big.Observation);
        Assert.Equal(max.Reward, big.Reward);
        // cost from the pre-step state: norm(1)^2 + 0.1 * 0.5^2 + 0.001 * 2^2
        Assert.Equal(-(1.0 + 0.1 * 0.25 + 0.001 * 4), max.Reward, 12);
    }

    [Fact]
    public void MountainCarContinuous_clips_the_force_but_charges_for_the_unclipped_action()
    {
        var a = new MountainCarContinuous();
        var b = new MountainCarContinuous();
        a.SetState([-0.5, 0.0]);
        b.SetState([-0.5, 0.0]);
        var big = a.Step([3f]);
        var one = b.Step([1f]);
        Assert.Equal(one.Observation, big.Observation);
        Assert.Equal(-0.1, one.Reward, 12);
        Assert.Equal(-0.9, big.Reward, 12);
    }

    [Fact]
    public void MountainCar_is_solved_by_pushing_with_the_velocity()
    {
        var env = Environments.Make<float[], int>("MountainCar-v0");
        var (obs, _) = env.Reset(3);
        int steps = 0;
        Step<float[]> step;
        do
        {
            step = env.Step(obs[1] >= 0 ? 2 : 0);
            obs = step.Observation;
            steps++;
        } while (!step.Done);
        Assert.True(step.Terminated, "the energy-pumping policy reaches the flag before the time limit");
        Assert.True(obs[0] >= 0.5f);
        Assert.InRange(steps, 80, 199);
    }

    [Fact]
    public void Acrobot_terminates_with_reward_zero_when_the_tip_clears_the_line()
    {
        var env = Environments.Make<float[], int>("Acrobot-v1");
        var (obs, _) = env.Reset(0);
        double total = 0;
        Step<float[]> step;
        do
        {
            // Torque in the direction the second joint is turning pumps energy in.
            step = env.Step(obs[5] > 0 ? 2 : 0);
            obs = step.Observation;
            total += step.Reward;
        } while (!step.Done);
        Assert.True(step.Terminated);
        Assert.Equal(0.0, step.Reward);
        var acrobot = (Acrobot)env.Unwrapped();
        double[] s = acrobot.State;
        Assert.True(-Math.Cos(s[0]) - Math.Cos(s[1] + s[0]) > 1.0);
        Assert.InRange(total, -100, -20); // better than the -100 threshold
    }

    [Fact]
    public void CartPole_balanced_by_a_controller_is_truncated_at_500_steps()
    {
        var env = Environments.Make<float[], int>("CartPole-v1");
        var (obs, _) = env.Reset(1);
        double total = 0;
        Step<float[]> step;
        do
        {
            step = env.Step(obs[2] + 0.5f * obs[3] + 0.01f * obs[0] + 0.1f * obs[1] > 0 ? 1 : 0);
            obs = step.Observation;
            total += step.Reward;
        } while (!step.Done);
        Assert.True(step.Truncated);
        Assert.False(step.Terminated);
        Assert.Equal(500.0, total);
        Assert.True(total >= Environments.Spec("CartPole-v1").RewardThreshold);
    }
}
