using Reinforce.Nn.Transformers;


namespace Reinforce.Tests.Rlhf;

public class TokenSamplingTests
{
    private static readonly float[] Logits = [1.0f, 2.0f, 0.5f, -1.0f, 2.0f];

    private static double[] Frequencies(SamplingOptions options, int draws = 40_000)
    {
        var rng = new Rng(11);
        var scratch = new float[Logits.Length];
        var counts = new double[Logits.Length];
        for (int i = 0; i < draws; i++) counts[TokenSampling.Sample(Logits, options, rng, scratch, out _)]++;
        return [.. counts.Select(c => c / draws)];
    }

    private static double[] Softmax(float[] x, double temperature)
    {
        var e = x.Select(v => Math.Exp(v / temperature)).ToArray();
        double z = e.Sum();
        return [.. e.Select(v => v / z)];
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    [InlineData(2.0)]
    public void Frequencies_follow_the_tempered_softmax(double temperature)
    {
        var f = Frequencies(new SamplingOptions { Temperature = (float)temperature });
        var p = Softmax(Logits, temperature);
        for (int i = 0; i < p.Length; i++) Assert.InRange(f[i], p[i] - 0.01, p[i] + 0.01);
    }

    [Fact]
    public void Top_k_keeps_the_k_most_likely_and_renormalises()
    {
        // k = 2 keeps the two tokens with logit 2 (equal), so each gets half.
        var f = Frequencies(new SamplingOptions { TopK = 2 });
        Assert.Equal(0, f[0] + f[2] + f[3]);
        Assert.InRange(f[1], 0.49, 0.51);
        // k = 3 keeps logits 2, 2 and 1.
        var f3 = Frequencies(new SamplingOptions { TopK = 3 });
        var p = Softmax([1.0f, 2.0f, 2.0f], 1.0);
        Assert.Equal(0, f3[2] + f3[3]);
        Assert.InRange(f3[0], p[0] - 0.01, p[0] + 0.01);
    }

    [Fact]
    public void Top_p_keeps_the_smallest_set_reaching_p()
    {
        var p = Softmax(Logits, 1.0); // 0.145, 0.395, 0.088, 0.020, 0.395 (rounded)
        // The two 0.395 tokens hold 0.79 < 0.8, so the third most likely (token 0) is needed too.
        var f = Frequencies(new SamplingOptions { TopP = 0.8f });
        Assert.Equal(0, f[2] + f[3]);
        double kept = p[0] + p[1] + p[4];
        Assert.InRange(f[0], p[0] / kept - 0.01, p[0] / kept + 0.01);
        var f2 = Frequencies(new SamplingOptions { TopP = 0.5f });
        Assert.Equal(1.0, f2[1] + f2[4], 10);
    }

    [Fact]
    public void Greedy_takes_the_first_most_likely_token_and_reports_the_model_log_prob()
    {
        var scratch = new float[5];
        int t = TokenSampling.Sample(Logits, SamplingOptions.Greedy, new Rng(1), scratch, out float lp);
        Assert.Equal(1, t);
        Assert.Equal(Math.Log(Softmax(Logits, 1.0)[1]), lp, 5);
        Assert.Equal(lp, TokenSampling.LogProb(Logits, 1), 6);
    }

    [Fact]
    public void Model_log_prob_ignores_temperature_and_truncation()
    {
        var scratch = new float[5];
        int t = TokenSampling.Sample(Logits, new SamplingOptions { Temperature = 0.3f, TopK = 2 }, new Rng(4), scratch, out float lp);
        Assert.Equal(TokenSampling.LogProb(Logits, t), lp, 6);
    }

    [Fact]
    public void Entropy_matches_the_definition()
    {
        var p = Softmax(Logits, 1.0);
        Assert.Equal(-p.Sum(v => v * Math.Log(v)), TokenSampling.Entropy(Logits), 5);
    }

    [Fact]
    public void Bad_settings_are_named()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SamplingOptions { Temperature = -1 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new SamplingOptions { TopP = 0 }.Validate());
        Assert.True(SamplingOptions.Pure.IsPure);
        Assert.False(new SamplingOptions { TopK = 5 }.IsPure);
    }
}
