using System.Diagnostics;
using Reinforce.Envs;
using Reinforce.Envs.Vector;
using Reinforce.Spaces;

namespace Reinforce.Tests.Envs;

/// <summary>
/// A user's environment that returns NaN, infinities or absurd rewards is caught where it returns them: an error naming
/// the environment, the copy and the step (not a NaN logit one update later), and one warning for rewards beyond 1e6.
/// </summary>
[Collection("Console")]
public sealed class EnvironmentOutputTests
{
    /// <summary>Copy <paramref name="badCopy"/> returns <paramref name="reward"/> and <paramref name="observation"/> at step <paramref name="badStep"/> of each episode; otherwise 1 and finite observations.</summary>
    private sealed class Faulty(string name, int badCopy, int copy, int badStep, double reward, float observation, bool badReset = false)
        : Environment<float[], int>(new Box(-10f, 10f, [3]), new Discrete(2), name)
    {
        private int _t;

        protected override (float[] Observation, StepInfo Info) OnReset()
        {
            _t = 0;
            return (badReset && copy == badCopy ? [0f, float.NaN, 0f] : [0f, 0f, 0f], StepInfo.Empty);
        }

        protected override Step<float[]> OnStep(int action)
        {
            _t++;
            bool bad = copy == badCopy && _t == badStep;
            return new Step<float[]>([0.1f * _t, bad ? observation : 0f, 1f], bad ? reward : 1.0, _t >= 20, false, StepInfo.Empty);
        }
    }

    private static VectorEnv Make(string name, int badStep, double reward, float observation, bool threaded = false, bool badReset = false)
    {
        var envs = Enumerable.Range(0, 3).Select(i => Vectorizable.From(new Faulty(name, 1, i, badStep, reward, observation, badReset))).ToArray();
        return threaded ? new ThreadedVectorEnv(envs, null, 2) : new SyncVectorEnv(envs);
    }

    private static void StepUntilThrows(VectorEnv env, int steps)
    {
        env.Reset(1);
        for (int t = 0; t < steps; t++) env.Step([0, 1, 0]);
    }

    [Theory]
    [InlineData(double.NaN, "NaN", false)]
    [InlineData(double.PositiveInfinity, "Infinity", false)]
    [InlineData(double.NegativeInfinity, "-Infinity", true)]
    public void A_non_finite_reward_names_the_environment_the_copy_and_the_step(double reward, string shown, bool threaded)
    {
        using var env = Make("RewardFault", badStep: 4, reward, 0f, threaded);
        var e = Assert.Throws<EnvironmentOutputException>(() => StepUntilThrows(env, 10));
        Assert.Contains("copy 1 (RewardFault)", e.Message, StringComparison.Ordinal);
        Assert.Contains($"returned the reward {shown} at step 4 of its episode (vector step 4)", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, e.Copy);
        Assert.Equal(4, e.VectorStep);
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    public void A_non_finite_observation_names_the_element(float value, string shown)
    {
        using var env = Make("ObservationFault", badStep: 7, 1.0, value);
        var e = Assert.Throws<EnvironmentOutputException>(() => StepUntilThrows(env, 10));
        Assert.Contains($"copy 1 (ObservationFault) returned an observation with {shown} at element 1 at step 7 of its episode (vector step 7)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_finite_first_observation_is_caught_at_reset()
    {
        using var env = Make("ResetFault", badStep: 0, 1.0, 0f, badReset: true);
        var e = Assert.Throws<EnvironmentOutputException>(() => env.Reset(3));
        Assert.Contains("copy 1 (ResetFault) returned an observation with NaN at element 1 from Reset", e.Message, StringComparison.Ordinal);
    }

    private sealed class Captured : TraceListener
    {
        public readonly List<string> Warnings = [];

        public override void Write(string? message) { }

        public override void WriteLine(string? message) { }

        public override void TraceEvent(TraceEventCache? eventCache, string source, TraceEventType eventType, int id, string? message)
        {
            if (eventType == TraceEventType.Warning && message is not null) lock (Warnings) Warnings.Add(message);
        }

        public override void TraceEvent(TraceEventCache? eventCache, string source, TraceEventType eventType, int id, string? format, params object?[]? args) =>
            TraceEvent(eventCache, source, eventType, id, format);
    }

    [Fact]
    public void An_absurd_reward_is_warned_about_once_and_training_goes_on()
    {
        var listener = new Captured();
        Trace.Listeners.Add(listener);
        try
        {
            using var env = Make("HugeReward", badStep: 2, 1e30, 0f);
            env.Reset(1);
            for (int t = 0; t < 100; t++) env.Step([0, 1, 0]);   // five episodes, each with a reward of 1e30 at step 2
            var mine = listener.Warnings.Where(w => w.Contains("HugeReward", StringComparison.Ordinal)).ToList();
            var warning = Assert.Single(mine);
            Assert.Contains("copy 1 (HugeReward) returned the reward 1E+30 at step 2 of its episode", warning, StringComparison.Ordinal);
            Assert.Contains("scale the reward down", warning, StringComparison.Ordinal);
        }
        finally
        {
            Trace.Listeners.Remove(listener);
        }
    }

    [Fact]
    public void Train_reports_a_NaN_reward_as_one_error_line_and_an_absurd_one_as_one_warning()
    {
        Environments.Register("NaNReward-test", () => new Faulty("NaNReward-test", 1, 1, 3, double.NaN, 0f), maxEpisodeSteps: 50);
        Environments.Register("HugeReward-test", () => new Faulty("HugeReward-test", 0, 0, 3, -5e7, 0f), maxEpisodeSteps: 50);
        var root = Directory.CreateTempSubdirectory("reinforce-envout-");
        try
        {
            var (code, _, error) = CliRunner.Run(null, "train", "NaNReward-test", "--steps", "512", "--envs", "2", "--out", Path.Combine(root.FullName, "nan"));
            Assert.Equal(2, code);
            Assert.StartsWith("error: NaNReward-test x2: copy ", error, StringComparison.Ordinal);
            Assert.Contains("returned the reward NaN at step 3 of its episode", error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);

            (code, _, error) = CliRunner.Run(null, "train", "HugeReward-test", "--steps", "512", "--envs", "2", "--quiet", "--out", Path.Combine(root.FullName, "huge"));
            Assert.Equal(0, code);
            var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var warning = Assert.Single(lines, l => l.StartsWith("warning: HugeReward-test x2: copy ", StringComparison.Ordinal));
            Assert.Contains("returned the reward -5E+07 at step 3", warning, StringComparison.Ordinal);
        }
        finally
        {
            Environments.Unregister("NaNReward-test");
            Environments.Unregister("HugeReward-test");
            root.Delete(recursive: true);
        }
    }
}
