namespace Reinforce.Rlhf.Training;

/// <summary>
/// The advantage estimates of the RL fine-tuning algorithms, on plain arrays. Rewards come in groups of
/// <c>groupSize</c> consecutive completions of the same prompt (completion <c>g * groupSize + i</c> is the i-th of prompt g).
/// </summary>
public static class Advantages
{
    /// <summary>
    /// RLOO (Ahmadian et al. 2024, "Back to Basics"): each completion's reward minus the mean reward of the other
    /// k − 1 completions of its prompt, A_i = r_i − (Σ_{j≠i} r_j) / (k − 1). An unbiased baseline because it does not
    /// depend on the completion it is subtracted from.
    /// </summary>
    public static float[] LeaveOneOut(ReadOnlySpan<float> rewards, int groupSize)
    {
        CheckGroups(rewards.Length, groupSize, "LeaveOneOut", minGroup: 2);
        var adv = new float[rewards.Length];
        for (int g = 0; g < rewards.Length; g += groupSize)
        {
            double sum = 0;
            for (int i = 0; i < groupSize; i++) sum += rewards[g + i];
            for (int i = 0; i < groupSize; i++)
                adv[g + i] = (float)(rewards[g + i] - (sum - rewards[g + i]) / (groupSize - 1));
        }
        return adv;
    }

    /// <summary>
    /// GRPO (Shao et al. 2024, DeepSeekMath): each completion's reward minus its group's mean, divided by the group's
    /// standard deviation (Bessel-corrected, as TRL computes it) plus <paramref name="epsilon"/>. With
    /// <paramref name="scaleByStd"/> false only the mean is subtracted (Dr. GRPO's unbiased variant).
    /// </summary>
    public static float[] GroupNormalized(ReadOnlySpan<float> rewards, int groupSize, bool scaleByStd = true, float epsilon = 1e-4f)
    {
        CheckGroups(rewards.Length, groupSize, "GroupNormalized", minGroup: 2);
        var adv = new float[rewards.Length];
        for (int g = 0; g < rewards.Length; g += groupSize)
        {
            var (mean, std) = MeanStd(rewards.Slice(g, groupSize));
            double scale = scaleByStd ? 1.0 / (std + epsilon) : 1.0;
            for (int i = 0; i < groupSize; i++) adv[g + i] = (float)((rewards[g + i] - mean) * scale);
        }
        return adv;
    }

    /// <summary>
    /// The fraction of groups whose rewards are all equal. Such a group gives every completion a zero advantage under
    /// RLOO and GRPO, so it teaches nothing; a fraction near 1 means the task is too hard or already solved.
    /// </summary>
    public static double ZeroVarianceGroupFraction(ReadOnlySpan<float> rewards, int groupSize)
    {
        CheckGroups(rewards.Length, groupSize, "ZeroVarianceGroupFraction", minGroup: 1);
        int groups = rewards.Length / groupSize, flat = 0;
        for (int g = 0; g < rewards.Length; g += groupSize)
        {
            bool same = true;
            for (int i = 1; i < groupSize && same; i++) same = rewards[g + i] == rewards[g];
            if (same) flat++;
        }
        return groups == 0 ? 0 : (double)flat / groups;
    }

    /// <summary>
    /// Generalised advantage estimation (Schulman et al. 2016) over one sequence of T steps:
    /// δ_t = r_t + γ V_{t+1} − V_t, A_t = δ_t + γλ A_{t+1}, returns R_t = A_t + V_t. The value after the last step is
    /// <paramref name="bootstrapValue"/> (0 when the sequence ended, as a completion does). The same computation as the
    /// environment agents' (<see cref="Algorithms.Gae"/>), with the sequence as one environment's rollout.
    /// </summary>
    public static void Gae(ReadOnlySpan<float> rewards, ReadOnlySpan<float> values, float gamma, float lambda,
        Span<float> advantages, Span<float> returns, float bootstrapValue = 0f)
    {
        int t = rewards.Length;
        if (t == 0) return;
        if (values.Length != t || advantages.Length < t || returns.Length < t)
            throw new ArgumentException($"Gae: {t} rewards need {t} values and room for {t} advantages and returns (got {values.Length}, {advantages.Length}, {returns.Length}).");
        // A sequence that ends is terminated at its last step; one that is cut short bootstraps from the value after it.
        var terminated = new bool[t];
        terminated[t - 1] = bootstrapValue == 0f;
        Algorithms.Gae.Compute(t, 1, gamma, lambda, rewards, values, terminated, new bool[t], new float[t],
            [bootstrapValue], advantages[..t], returns[..t]);
    }

    /// <summary>Mean and Bessel-corrected standard deviation (0 for fewer than two values), in double.</summary>
    public static (double Mean, double Std) MeanStd(ReadOnlySpan<float> values)
    {
        if (values.Length == 0) return (0, 0);
        double mean = 0;
        foreach (var v in values) mean += v;
        mean /= values.Length;
        if (values.Length < 2) return (mean, 0);
        double ss = 0;
        foreach (var v in values) ss += (v - mean) * (v - mean);
        return (mean, Math.Sqrt(ss / (values.Length - 1)));
    }

    private static void CheckGroups(int count, int groupSize, string operation, int minGroup)
    {
        if (groupSize < minGroup)
            throw new ArgumentOutOfRangeException(nameof(groupSize), $"{operation}: the group size is {groupSize}; it needs at least {minGroup} completions per prompt.");
        if (count % groupSize != 0)
            throw new ArgumentException($"{operation}: {count} rewards do not split into groups of {groupSize}; give every prompt the same number of completions.");
    }
}

/// <summary>
/// Per-token estimators of KL(π‖π_ref) from a token sampled from π, with log-ratio d = log π_ref − log π
/// (Schulman, "Approximating KL divergence", 2020).
/// </summary>
public static class KlEstimators
{
    /// <summary>k1 = −d = log π − log π_ref: unbiased, high variance, can be negative.</summary>
    public static float K1(float logProb, float refLogProb) => logProb - refLogProb;

    /// <summary>k2 = d² / 2: biased, low variance, never negative.</summary>
    public static float K2(float logProb, float refLogProb)
    {
        float d = refLogProb - logProb;
        return 0.5f * d * d;
    }

    /// <summary>k3 = exp(d) − d − 1: unbiased, low variance, never negative; GRPO's estimator.</summary>
    public static float K3(float logProb, float refLogProb)
    {
        float d = refLogProb - logProb;
        return MathF.Exp(d) - d - 1f;
    }
}
