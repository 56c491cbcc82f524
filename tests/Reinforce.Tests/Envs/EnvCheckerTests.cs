using Reinforce.Envs;
using Reinforce.Spaces;
using Reinforce.Envs.ClassicControl;
using Reinforce.Envs.Textbook;

namespace Reinforce.Tests.Envs;

public class EnvCheckerTests
{
    [Theory]
    [InlineData("CartPole-v1")]
    [InlineData("Acrobot-v1")]
    [InlineData("MountainCar-v0")]
    [InlineData("MountainCarContinuous-v0")]
    [InlineData("Pendulum-v1")]
    [InlineData("FryShack")]
    [InlineData("ShortCorridor")]
    [InlineData("Bandit-10arm")]
    public void Built_in_environments_have_no_problems(string id)
    {
        Assert.Empty(EnvChecker.Check(Environments.Make(id)));
    }

    [Fact]
    public void Users_environment_on_the_base_class_has_no_problems()
    {
        Assert.Empty(EnvChecker.Check(new LineWalk()));
        Assert.Empty(EnvChecker.Check(new DiscreteCells()));
        EnvChecker.CheckOrThrow(new TwoCounters());
    }

    /// <summary>A deliberately broken environment: each flag breaks one rule of the contract.</summary>
    private sealed class Broken : IEnvironment<float[], int>
    {
        private static readonly Rng s_unseeded = new(99);
        private Rng _rng = new(0);
        private int _t;

        public bool WrongLength, NanAtStep3, OutOfBounds, NanReward, IgnoresSeed, AcceptsInvalidAction, EndsAfter5;

        public string Name => "Broken";

        public Space ObservationSpace { get; } = new Box(-1f, 1f, [2]);

        public Space ActionSpace { get; } = new Discrete(2);

        public (float[] Observation, StepInfo Info) Reset(int? seed = null)
        {
            if (seed is int s) _rng = new Rng(s);
            _t = 0;
            float x = IgnoresSeed ? s_unseeded.NextFloat() : _rng.NextFloat();
            return (WrongLength ? [x, 0f, 0f] : [x, 0f], StepInfo.Empty);
        }

        public Step<float[]> Step(int action)
        {
            if (!AcceptsInvalidAction && (action < 0 || action > 1)) throw new ArgumentOutOfRangeException(nameof(action), "Broken: bad action.");
            _t++;
            float[] obs = [_rng.NextFloat(), 0f];
            if (NanAtStep3 && _t == 3) obs[1] = float.NaN;
            if (OutOfBounds && _t == 2) obs[0] = 1.5f;
            double reward = NanReward && _t == 4 ? double.NaN : 1.0;
            return new Step<float[]>(obs, reward, EndsAfter5 && _t >= 5, false, StepInfo.Empty);
        }
    }

    [Fact]
    public void Reports_an_observation_of_the_wrong_length()
    {
        Assert.Contains("The observation after Reset(seed: 0) has 3 values, but ObservationSpace Box(-1, 1, [2]) has shape [2] (2 values).",
            EnvChecker.Check(new Broken { WrongLength = true }));
    }

    [Fact]
    public void Reports_nan_and_out_of_bounds_observations_with_their_step()
    {
        var problems = EnvChecker.Check(new Broken { NanAtStep3 = true, OutOfBounds = true });
        Assert.Equal([
            "The observation after step 2 is outside ObservationSpace Box(-1, 1, [2]): element 0 = 1.5 is not in [-1, 1].",
            "The observation after step 3 contains NaN at element 1.",
        ], problems);
    }

    [Fact]
    public void Reports_a_reward_that_is_not_finite()
    {
        Assert.Equal(["The reward at step 4 is NaN; rewards must be finite numbers."], EnvChecker.Check(new Broken { NanReward = true }));
    }

    [Fact]
    public void Reports_a_seed_that_does_not_make_reset_reproducible()
    {
        var problems = EnvChecker.Check(new Broken { IgnoresSeed = true });
        var problem = Assert.Single(problems);
        Assert.StartsWith("Reset(seed: 0) twice gave different observations ([", problem);
        Assert.EndsWith("; seed the environment's random generator from the seed given to Reset.", problem);
    }

    [Fact]
    public void Reports_step_after_the_end_that_does_not_throw()
    {
        Assert.Equal(["Step after the episode ended (terminated at step 5) without Reset did not throw; throw InvalidOperationException so a missing Reset is caught (the Environment base classes do this)."],
            EnvChecker.Check(new Broken { EndsAfter5 = true }));
    }

    [Fact]
    public void Reports_an_invalid_action_that_is_accepted()
    {
        Assert.Equal(["Step with an action outside ActionSpace Discrete(2) (2) did not throw; reject invalid actions with an ArgumentException that names the action and the space."],
            EnvChecker.Check(new Broken { AcceptsInvalidAction = true }));
    }

    [Fact]
    public void CheckOrThrow_lists_every_problem()
    {
        var e = Assert.Throws<EnvCheckException>(() => EnvChecker.CheckOrThrow(new Broken { NanReward = true, EndsAfter5 = true }));
        Assert.Equal(2, e.Problems.Count);
        Assert.StartsWith("Broken has 2 problems:", e.Message);
        Assert.Contains("  - The reward at step 4 is NaN", e.Message);
    }
}
