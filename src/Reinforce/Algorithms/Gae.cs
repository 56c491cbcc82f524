using System.Runtime.CompilerServices;
using System.Runtime;

namespace Reinforce.Algorithms;

/// <summary>
/// Generalised advantage estimation (Schulman et al. 2016, "High-Dimensional Continuous Control Using
/// Generalized Advantage Estimation"), over a rollout stored [steps, envs] row-major:
/// <code>
///   δ_t = r_t + γ · V_next(t) − V(s_t)
///   A_t = δ_t + γλ · (1 − done_t) · A_{t+1}
///   R_t = A_t + V(s_t)        (the value target)
/// </code>
/// where V_next(t) is 0 when step t terminated the episode, V(final observation) when step t truncated it
/// (a time limit is not a terminal state, so its value is bootstrapped), V(s_{t+1}) otherwise, and the
/// value of the observation after the rollout for the last step. This equals Stable-Baselines3's
/// <c>RolloutBuffer.compute_returns_and_advantage</c> (which folds the truncation bootstrap into the
/// reward beforehand): the tests check it against SB3's own numbers.
/// </summary>
public static class Gae
{
    /// <summary>
    /// Fills <paramref name="advantages"/> and <paramref name="returns"/> ([steps * envs], row-major [step, env]).
    /// </summary>
    /// <param name="steps">Steps per environment in the rollout.</param>
    /// <param name="envs">Number of environments.</param>
    /// <param name="gamma">Discount γ in [0, 1].</param>
    /// <param name="lambda">GAE λ in [0, 1]: 0 gives one-step TD advantages, 1 gives Monte-Carlo returns minus the baseline.</param>
    /// <param name="rewards">r_t, [steps * envs].</param>
    /// <param name="values">V(s_t), [steps * envs].</param>
    /// <param name="terminated">Whether step t reached a terminal state (nothing is bootstrapped after it).</param>
    /// <param name="truncated">Whether step t was cut short (bootstrapped with <paramref name="truncationValues"/>).</param>
    /// <param name="truncationValues">V(final observation) for truncated steps (read only where <paramref name="truncated"/> is set and <paramref name="terminated"/> is not).</param>
    /// <param name="lastValues">V of the observation following the last stored step, [envs].</param>
    /// <param name="advantages">Output A_t, [steps * envs].</param>
    /// <param name="returns">Output R_t = A_t + V(s_t), [steps * envs].</param>
    [BypassReadyToRun]
    public static void Compute(int steps, int envs, float gamma, float lambda,
        ReadOnlySpan<float> rewards, ReadOnlySpan<float> values,
        ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated, ReadOnlySpan<float> truncationValues,
        ReadOnlySpan<float> lastValues, Span<float> advantages, Span<float> returns)
    {
        int n = steps * envs;
        if (steps < 1 || envs < 1) throw new ArgumentException($"Gae.Compute: steps ({steps}) and envs ({envs}) must be at least 1.");
        CheckLength("rewards", rewards.Length, n, steps, envs);
        CheckLength("values", values.Length, n, steps, envs);
        CheckLength("terminated", terminated.Length, n, steps, envs);
        CheckLength("truncated", truncated.Length, n, steps, envs);
        CheckLength("truncationValues", truncationValues.Length, n, steps, envs);
        CheckLength("advantages", advantages.Length, n, steps, envs);
        CheckLength("returns", returns.Length, n, steps, envs);
        if (lastValues.Length != envs) throw new ArgumentException($"Gae.Compute: lastValues has {lastValues.Length} elements, expected one per environment ({envs}).");
        if (!(gamma >= 0f && gamma <= 1f)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "Gae.Compute: gamma must lie in [0, 1].");
        if (!(lambda >= 0f && lambda <= 1f)) throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "Gae.Compute: lambda must lie in [0, 1].");

        for (int e = 0; e < envs; e++)
        {
            float nextAdvantage = 0f;
            for (int t = steps - 1; t >= 0; t--)
            {
                int i = t * envs + e;
                float nextValue;
                float continues;   // 1 while the episode goes on into step t+1, 0 when step t ended it
                if (terminated[i]) { nextValue = 0f; continues = 0f; }
                else if (truncated[i]) { nextValue = truncationValues[i]; continues = 0f; }
                else { nextValue = t == steps - 1 ? lastValues[e] : values[i + envs]; continues = 1f; }

                float delta = rewards[i] + gamma * nextValue - values[i];
                nextAdvantage = delta + gamma * lambda * continues * nextAdvantage;
                advantages[i] = nextAdvantage;
                returns[i] = nextAdvantage + values[i];
            }
        }
    }

    /// <summary>
    /// Discounted reward-to-go G_t = r_t + γ·r_{t+1} + … within each episode ([steps, envs] layout), with the
    /// same bootstrapping rules as <see cref="Compute"/> (λ = 1 and no baseline): what REINFORCE multiplies
    /// the log-probability by.
    /// </summary>
    public static void RewardToGo(int steps, int envs, float gamma,
        ReadOnlySpan<float> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated,
        ReadOnlySpan<float> truncationValues, ReadOnlySpan<float> lastValues, Span<float> returns)
    {
        int n = steps * envs;
        if (steps < 1 || envs < 1) throw new ArgumentException($"Gae.RewardToGo: steps ({steps}) and envs ({envs}) must be at least 1.");
        CheckLength("rewards", rewards.Length, n, steps, envs);
        CheckLength("terminated", terminated.Length, n, steps, envs);
        CheckLength("truncated", truncated.Length, n, steps, envs);
        CheckLength("truncationValues", truncationValues.Length, n, steps, envs);
        CheckLength("returns", returns.Length, n, steps, envs);
        if (lastValues.Length != envs) throw new ArgumentException($"Gae.RewardToGo: lastValues has {lastValues.Length} elements, expected one per environment ({envs}).");
        for (int e = 0; e < envs; e++)
        {
            float next = lastValues[e];
            for (int t = steps - 1; t >= 0; t--)
            {
                int i = t * envs + e;
                if (terminated[i]) next = 0f;
                else if (truncated[i]) next = truncationValues[i];
                next = rewards[i] + gamma * next;
                returns[i] = next;
            }
        }
    }

    private static void CheckLength(string name, int actual, int expected, int steps, int envs)
    {
        if (actual != expected)
            throw new ArgumentException($"Gae: {name} has {actual} elements, expected steps × envs = {steps} × {envs} = {expected}.");
    }
}
