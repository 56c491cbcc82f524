using Reinforce.Envs;
using Reinforce.Envs.ClassicControl;
using Reinforce.Envs.Textbook;
using Reinforce.Envs.Wrappers;

namespace Reinforce.Tests.Envs;

public class RegistryTests
{
    [Theory]
    [InlineData("CartPole-v1", 500, 475.0)]
    [InlineData("Acrobot-v1", 500, -100.0)]
    [InlineData("MountainCar-v0", 200, -110.0)]
    [InlineData("MountainCarContinuous-v0", 999, 90.0)]
    public void Classic_control_specs_are_gymnasiums(string id, int maxSteps, double threshold)
    {
        var spec = Environments.Spec(id);
        Assert.Equal(maxSteps, spec.MaxEpisodeSteps);
        Assert.Equal(threshold, spec.RewardThreshold);
        var env = Environments.Make(id);
        Assert.Equal(maxSteps, Assert.IsAssignableFrom<IWrapper>(env) switch
        {
            TimeLimit<float[], int> t => t.MaxEpisodeSteps,
            TimeLimit<float[], float[]> t => t.MaxEpisodeSteps,
            _ => -1,
        });
    }

    [Fact]
    public void Pendulum_has_a_time_limit_and_no_threshold_and_textbook_problems_are_registered()
    {
        Assert.Equal(200, Environments.Spec("Pendulum-v1").MaxEpisodeSteps);
        Assert.Null(Environments.Spec("Pendulum-v1").RewardThreshold);
        foreach (var id in new[] { "FryShack", "ShortCorridor", "Bandit-10arm", "Bandit-10arm-mean4" })
        {
            Assert.True(Environments.IsRegistered(id));
            Assert.IsAssignableFrom<IEnvironment<float[], int>>(Environments.Make(id));
        }
        Assert.Equal(typeof(float[]), Environments.Spec("FryShack").ObservationType);
    }

    [Fact]
    public void Options_configure_an_environment_and_unknown_ones_are_refused()
    {
        var bandit = (KArmedBandit)Environments.MakeUnwrapped("Bandit-10arm", EnvironmentOptions.Parse("mean=4, arms=5"));
        Assert.Equal(4.0, bandit.Mean);
        Assert.Equal(5, bandit.Arms);
        var e = Assert.Throws<ArgumentException>(() => Environments.Make("Bandit-10arm", EnvironmentOptions.Parse("mean=1,colour=red")));
        Assert.StartsWith("Bandit-10arm does not take the option colour; it takes: arms, mean.", e.Message);
        var none = Assert.Throws<ArgumentException>(() => Environments.Make("CartPole-v1", new EnvironmentOptions().Set("g", 9.8)));
        Assert.StartsWith("CartPole-v1 does not take the option g; it takes no options.", none.Message);
        var format = Assert.Throws<FormatException>(() => Environments.Make("Pendulum-v1", EnvironmentOptions.Parse("g=heavy")));
        Assert.Equal("Environment option g=heavy is not a finite number (use a dot for decimals, e.g. g=4.5).", format.Message);
    }

    [Fact]
    public void Unknown_ids_and_wrong_types_get_clear_errors()
    {
        var e = Assert.Throws<KeyNotFoundException>(() => Environments.Make("CartPole-v0"));
        Assert.StartsWith("No environment is registered as 'CartPole-v0'. Did you mean CartPole-v1?", e.Message);
        var cast = Assert.Throws<InvalidCastException>(() => Environments.Make<float[], float[]>("CartPole-v1"));
        Assert.Equal("CartPole-v1 observes float[] and acts with int; call Make<float[], int>(\"CartPole-v1\") instead of Make<float[], float[]>.", cast.Message);
    }

    [Fact]
    public void Users_register_their_own_environment_and_cannot_silently_replace_one()
    {
        Environments.Register("LineWalk-registry-test", () => new LineWalk(7), maxEpisodeSteps: 30, rewardThreshold: 0.5);
        try
        {
            var env = Environments.Make<float[], int>("LineWalk-registry-test");
            Assert.Equal(30, ((TimeLimit<float[], int>)env).MaxEpisodeSteps);
            Assert.Equal(0.5, Environments.Spec("LineWalk-registry-test").RewardThreshold);
            var e = Assert.Throws<InvalidOperationException>(() => Environments.Register("LineWalk-registry-test", () => new LineWalk()));
            Assert.Equal("An environment named 'LineWalk-registry-test' is already registered. Pick another id, or call Environments.Unregister(\"LineWalk-registry-test\") first to replace it.", e.Message);
        }
        finally
        {
            Assert.True(Environments.Unregister("LineWalk-registry-test"));
        }
        Assert.False(Environments.IsRegistered("LineWalk-registry-test"));
    }
}
