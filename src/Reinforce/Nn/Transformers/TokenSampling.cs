using System.Runtime.CompilerServices;
using System.Runtime;

namespace Reinforce.Nn.Transformers;

/// <summary>
/// How the next token is drawn from the model's logits. RL fine-tuning must use <see cref="Pure"/> (temperature 1, no
/// top-k or top-p): only then are the sampled tokens drawn from the policy itself, so the log-probabilities the
/// policy gradient and the KL estimates use are the right ones.
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>Logits are divided by this before the softmax; 0 means greedy (always the most likely token).</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Keep only the k most likely tokens (ties with the k-th kept); 0 keeps all.</summary>
    public int TopK { get; init; }

    /// <summary>Keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Pure sampling from the model: temperature 1, no truncation.</summary>
    public static SamplingOptions Pure { get; } = new();

    /// <summary>Always the most likely token.</summary>
    public static SamplingOptions Greedy { get; } = new() { Temperature = 0f };

    /// <summary>Whether tokens are drawn from the model's own distribution.</summary>
    public bool IsPure => Temperature == 1f && TopK == 0 && TopP >= 1f;

    /// <summary>Throws if a setting is out of range, naming it.</summary>
    public void Validate()
    {
        if (!(Temperature >= 0f) || float.IsInfinity(Temperature)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "Sampling temperature must be a finite number ≥ 0 (0 means greedy).");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "Top-k must be ≥ 0 (0 keeps every token).");
        if (!(TopP > 0f && TopP <= 1f)) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "Top-p must be in (0, 1] (1 keeps every token).");
    }
}

/// <summary>Draws tokens from logits with temperature, top-k and top-p, and gives their log-probabilities.</summary>
public static class TokenSampling
{
    /// <summary>
    /// Draws one token from <paramref name="logits"/> under <paramref name="options"/>, using <paramref name="scratch"/>
    /// (at least as long as the logits) for the probabilities. Returns the token; <paramref name="modelLogProb"/> is its
    /// log-probability under the model's own distribution (softmax of the raw logits), the one RL needs.
    /// </summary>
    [BypassReadyToRun]
    public static int Sample(ReadOnlySpan<float> logits, SamplingOptions options, Rng rng, Span<float> scratch, out float modelLogProb)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rng);
        int n = logits.Length;
        if (n == 0) throw new ArgumentException("TokenSampling.Sample: no logits.", nameof(logits));
        if (scratch.Length < n) throw new ArgumentException($"TokenSampling.Sample: scratch holds {scratch.Length} values, needs {n}.", nameof(scratch));
        var p = scratch[..n];

        float max = float.NegativeInfinity;
        int argmax = 0;
        for (int i = 0; i < n; i++) if (logits[i] > max) { max = logits[i]; argmax = i; }
        double logZ = 0;
        for (int i = 0; i < n; i++) logZ += Math.Exp(logits[i] - max);
        logZ = Math.Log(logZ) + max;

        int token;
        if (options.Temperature == 0f)
        {
            token = argmax;
        }
        else
        {
            float inv = 1f / options.Temperature;
            double total = 0;
            for (int i = 0; i < n; i++) total += p[i] = MathF.Exp((logits[i] - max) * inv);
            if (options.TopK > 0 && options.TopK < n) total = KeepTopK(p, options.TopK);
            if (options.TopP < 1f) total = KeepTopP(p, total, options.TopP);
            double u = rng.NextDouble() * total;
            token = -1;
            for (int i = 0; i < n; i++)
            {
                if (p[i] == 0f) continue;
                token = i;
                u -= p[i];
                if (u < 0) break;
            }
        }
        modelLogProb = (float)(logits[token] - logZ);
        return token;
    }

    /// <summary>Zeroes all but the k largest weights (ties with the k-th kept); returns the sum left.</summary>
    private static double KeepTopK(Span<float> p, int k)
    {
        var sorted = p.ToArray();
        Array.Sort(sorted);
        float threshold = sorted[^k];
        double total = 0;
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] < threshold) p[i] = 0f;
            else total += p[i];
        }
        return total;
    }

    /// <summary>Zeroes the least likely weights beyond the smallest set whose share reaches <paramref name="topP"/>; returns the sum left.</summary>
    private static double KeepTopP(Span<float> p, double total, float topP)
    {
        var order = new int[p.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var weights = p.ToArray();
        // Descending by weight; ties by index so the result never depends on the sort's stability.
        Array.Sort(order, (a, b) => weights[b] != weights[a] ? weights[b].CompareTo(weights[a]) : a.CompareTo(b));
        double cumulative = 0, kept = 0;
        int i0 = 0;
        for (; i0 < order.Length; i0++)
        {
            cumulative += weights[order[i0]];
            kept = cumulative;
            if (cumulative >= topP * total) { i0++; break; }
        }
        for (int i = i0; i < order.Length; i++) p[order[i]] = 0f;
        return kept;
    }

    /// <summary>The log-softmax of one row of logits at <paramref name="token"/>.</summary>
    public static float LogProb(ReadOnlySpan<float> logits, int token)
    {
        float max = float.NegativeInfinity;
        foreach (var v in logits) max = MathF.Max(max, v);
        double z = 0;
        foreach (var v in logits) z += Math.Exp(v - max);
        return (float)(logits[token] - max - Math.Log(z));
    }

    /// <summary>The entropy (nats) of the softmax of one row of logits.</summary>
    public static float Entropy(ReadOnlySpan<float> logits)
    {
        float max = float.NegativeInfinity;
        foreach (var v in logits) max = MathF.Max(max, v);
        double z = 0, s = 0;
        foreach (var v in logits)
        {
            double e = Math.Exp(v - max);
            z += e;
            s += e * (v - max);
        }
        return (float)(Math.Log(z) - s / z);
    }
}
