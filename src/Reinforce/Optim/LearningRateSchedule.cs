namespace Reinforce.Optim;

/// <summary>
/// A learning rate as a function of training progress, from 0 (the first update) to 1 (the end of training).
/// Set it before each update: <c>optimizer.LearningRate = schedule.At(stepsDone / (double)totalSteps)</c>
/// (or <see cref="Apply"/>). Progress outside [0, 1] is clamped; NaN is an error.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The learning rate at <paramref name="progress"/> (0 = start, 1 = end).</summary>
    public float At(double progress)
    {
        if (double.IsNaN(progress)) throw new ArgumentOutOfRangeException(nameof(progress), "LearningRateSchedule: progress is NaN.");
        return (float)Compute(Math.Clamp(progress, 0.0, 1.0));
    }

    /// <summary>Sets <paramref name="optimizer"/>'s learning rate to <see cref="At"/>(<paramref name="progress"/>) and returns it.</summary>
    public float Apply(Optimizer optimizer, double progress)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        float lr = At(progress);
        optimizer.LearningRate = lr;
        return lr;
    }

    /// <summary>The rate at a progress already clamped to [0, 1].</summary>
    protected abstract double Compute(double progress);

    /// <summary>Checks a rate given to a schedule.</summary>
    protected static float CheckRate(string schedule, string name, float value)
    {
        if (!float.IsFinite(value) || value < 0f)
            throw new ArgumentOutOfRangeException(name, value, $"{schedule}: {name} must be a finite, non-negative learning rate.");
        return value;
    }
}

/// <summary>The same rate throughout.</summary>
public sealed class ConstantSchedule(float rate) : LearningRateSchedule
{
    /// <summary>The rate.</summary>
    public float Rate { get; } = CheckRate(nameof(ConstantSchedule), nameof(rate), rate);

    /// <inheritdoc />
    protected override double Compute(double progress) => Rate;
}

/// <summary>Linear interpolation: start + (end − start)·progress (SB3's linear schedule, annealing to <c>end</c>).</summary>
public sealed class LinearSchedule(float start, float end = 0f) : LearningRateSchedule
{
    /// <summary>The rate at progress 0.</summary>
    public float Start { get; } = CheckRate(nameof(LinearSchedule), nameof(start), start);

    /// <summary>The rate at progress 1.</summary>
    public float End { get; } = CheckRate(nameof(LinearSchedule), nameof(end), end);

    /// <inheritdoc />
    protected override double Compute(double progress) => End + ((double)Start - End) * (1.0 - progress);   // exactly Start·(1 − progress) when End is 0
}

/// <summary>Cosine annealing: end + (start − end)·(1 + cos(π·progress))/2.</summary>
public sealed class CosineSchedule(float start, float end = 0f) : LearningRateSchedule
{
    /// <summary>The rate at progress 0.</summary>
    public float Start { get; } = CheckRate(nameof(CosineSchedule), nameof(start), start);

    /// <summary>The rate at progress 1.</summary>
    public float End { get; } = CheckRate(nameof(CosineSchedule), nameof(end), end);

    /// <inheritdoc />
    protected override double Compute(double progress) => End + ((double)Start - End) * 0.5 * (1.0 + Math.Cos(Math.PI * progress));
}

/// <summary>
/// Linear warm-up from <c>warmupStart</c> to the start of <c>then</c> over the first <c>warmupFraction</c> of training,
/// then <c>then</c> stretched over the rest (its progress 0..1 maps to warmupFraction..1).
/// </summary>
public sealed class WarmupSchedule : LearningRateSchedule
{
    /// <summary>Creates a warm-up in front of <paramref name="then"/>.</summary>
    public WarmupSchedule(double warmupFraction, LearningRateSchedule then, float warmupStart = 0f)
    {
        ArgumentNullException.ThrowIfNull(then);
        if (!(warmupFraction >= 0.0 && warmupFraction < 1.0))
            throw new ArgumentOutOfRangeException(nameof(warmupFraction), warmupFraction, "WarmupSchedule: warmupFraction must lie in [0, 1).");
        WarmupFraction = warmupFraction;
        Then = then;
        WarmupStart = CheckRate(nameof(WarmupSchedule), nameof(warmupStart), warmupStart);
    }

    /// <summary>The share of training spent warming up.</summary>
    public double WarmupFraction { get; }

    /// <summary>The schedule after warm-up.</summary>
    public LearningRateSchedule Then { get; }

    /// <summary>The rate at progress 0.</summary>
    public float WarmupStart { get; }

    /// <inheritdoc />
    protected override double Compute(double progress)
    {
        if (progress < WarmupFraction)
            return WarmupStart + ((double)Then.At(0.0) - WarmupStart) * (progress / WarmupFraction);
        return Then.At((progress - WarmupFraction) / (1.0 - WarmupFraction));
    }
}
