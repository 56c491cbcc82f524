using System.Text.Json;
using Reinforce.Rlhf.Training;

namespace Reinforce.Tests.Rlhf;

public class AdvantagesTests
{
    [Fact]
    public void Leave_one_out_subtracts_the_mean_of_the_others()
    {
        var a = Advantages.LeaveOneOut([1f, 2f, 3f, 5f, 5f, 5f], groupSize: 3);
        Assert.Equal([-1.5f, 0f, 1.5f, 0f, 0f, 0f], a);
    }

    [Fact]
    public void Leave_one_out_is_k_over_k_minus_one_times_the_centred_reward()
    {
        var rng = new Rng(5);
        var r = Enumerable.Range(0, 32).Select(_ => (float)rng.NextGaussian()).ToArray();
        var loo = Advantages.LeaveOneOut(r, 8);
        var centred = Advantages.GroupNormalized(r, 8, scaleByStd: false);
        for (int i = 0; i < r.Length; i++) Assert.Equal(8f / 7f * centred[i], loo[i], 5);
    }

    [Fact]
    public void Group_normalised_divides_by_the_bessel_corrected_std()
    {
        var a = Advantages.GroupNormalized([1f, 0f, 0f, 1f], 4);
        float expected = 0.5f / (MathF.Sqrt(1f / 3f) + 1e-4f);
        Assert.Equal([expected, -expected, -expected, expected], a);
        // A group with equal rewards has zero advantages (not NaN).
        Assert.Equal([0f, 0f], Advantages.GroupNormalized([2f, 2f], 2));
    }

    [Fact]
    public void Zero_variance_fraction_counts_groups_with_equal_rewards()
    {
        Assert.Equal(0.5, Advantages.ZeroVarianceGroupFraction([1f, 1f, 0f, 1f, 0f, 0f, 3f, 2f], 2));
    }

    [Fact]
    public void Bad_groups_are_rejected_with_the_reason()
    {
        var e = Assert.Throws<ArgumentException>(() => Advantages.LeaveOneOut([1f, 2f, 3f], 2));
        Assert.Contains("groups of 2", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Advantages.LeaveOneOut([1f], 1));
    }

    [Fact]
    public void Kl_estimators_match_their_definitions_and_k3_is_unbiased()
    {
        Assert.Equal(0.3f, KlEstimators.K1(-1.0f, -1.3f), 6);
        Assert.Equal(0.045f, KlEstimators.K2(-1.0f, -1.3f), 6);
        Assert.Equal(MathF.Exp(-0.3f) + 0.3f - 1f, KlEstimators.K3(-1.0f, -1.3f), 6);
        // E_p[k3] = KL(p||q) exactly, for discrete p and q.
        double[] p = [0.5, 0.3, 0.2], q = [0.2, 0.2, 0.6];
        double kl = 0, k3 = 0;
        for (int i = 0; i < 3; i++)
        {
            kl += p[i] * Math.Log(p[i] / q[i]);
            k3 += p[i] * KlEstimators.K3((float)Math.Log(p[i]), (float)Math.Log(q[i]));
        }
        Assert.Equal(kl, k3, 5);
    }

    /// <summary>
    /// Stable-Baselines3's GAE over [step][env] buffers, cut into episodes: each finished episode is a sequence ending with
    /// value 0, and the unfinished tail bootstraps from SB3's last value, exactly as a completion's GAE does.
    /// </summary>
    [Fact]
    public void Gae_matches_stable_baselines3_on_every_episode()
    {
        int checkedSegments = 0;
        foreach (var line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Data", "sb3-gae.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            float gamma = root.GetProperty("gamma").GetSingle(), lambda = root.GetProperty("gae_lambda").GetSingle();
            float[][] M(string name) => [.. root.GetProperty(name).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray())];
            var rewards = M("rewards"); var values = M("values"); var starts = M("episode_starts");
            var adv = M("advantages"); var ret = M("returns");
            var lastValues = root.GetProperty("last_values").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            var lastDones = root.GetProperty("last_dones").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            int steps = rewards.Length, envs = rewards[0].Length;
            for (int e = 0; e < envs; e++)
            {
                int s = 0;
                while (s < steps)
                {
                    int end = s + 1;
                    while (end < steps && starts[end][e] == 0f) end++;
                    float bootstrap = end < steps ? 0f : (1f - lastDones[e]) * lastValues[e];
                    int t = end - s;
                    var r = Enumerable.Range(s, t).Select(i => rewards[i][e]).ToArray();
                    var v = Enumerable.Range(s, t).Select(i => values[i][e]).ToArray();
                    var a = new float[t]; var g = new float[t];
                    Advantages.Gae(r, v, gamma, lambda, a, g, bootstrap);
                    for (int i = 0; i < t; i++)
                    {
                        Assert.Equal(adv[s + i][e], a[i], 4);
                        Assert.Equal(ret[s + i][e], g[i], 4);
                    }
                    checkedSegments++;
                    s = end;
                }
            }
        }
        Assert.True(checkedSegments >= 10, $"only {checkedSegments} episodes checked");
    }
}
