using Reinforce.Algorithms;
using Reinforce.IO;
using Reinforce.IO.Onnx;
using Reinforce.Envs;
using Reinforce.Envs.Wrappers;

namespace Reinforce.Export;

/// <summary>How <see cref="PolicyExporter"/> writes a policy as ONNX.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>The lowest opset the exporter writes (Softmax, ArgMax and Gemm as redefined in opset 13).</summary>
    public const int MinOpset = 13;

    /// <summary>The highest opset the exporter writes (what ONNX Runtime 1.20 runs).</summary>
    public const int MaxOpset = 21;

    /// <summary>The default opset: 17 (IR version 8), run by ONNX Runtime 1.12 and later.</summary>
    public const int DefaultOpset = 17;

    /// <summary>The default opset with <see cref="Unity"/>: 15, the newest Unity Sentis / Inference Engine documents support for (7 to 15).</summary>
    public const int DefaultUnityOpset = 15;

    /// <summary>The ONNX operator set version; null for <see cref="DefaultOpset"/> (<see cref="DefaultUnityOpset"/> with <see cref="Unity"/>).</summary>
    public int? Opset { get; init; }

    /// <summary>
    /// Names and shapes the model as Unity ML-Agents' exporter does (input <c>obs_0</c>, outputs <c>version_number</c>,
    /// <c>memory_size</c>, <c>continuous_actions</c> / <c>discrete_actions</c> and their deterministic and shape
    /// companions), so that a Unity Behavior Parameters component can run it.
    /// </summary>
    public bool Unity { get; init; }

    /// <summary>
    /// Seeds the Unity layout's sampling operators (Multinomial, RandomNormalLike) so a runtime that honours the
    /// seed draws the same actions every run; null (the default) leaves them unseeded, drawing fresh noise each call.
    /// </summary>
    public float? SamplingSeed { get; init; }

    /// <summary>
    /// Adds the input <c>action_mask</c> (bool [batch, Σ branch sizes], true = legal) to a discrete policy in the default
    /// layout: masked actions get probability 0 and are never the deterministic action. Set automatically when an agent
    /// trained with environment action masks is exported.
    /// </summary>
    public bool ActionMask { get; init; }

    /// <summary>The ONNX graph's name.</summary>
    public string GraphName { get; init; } = "reinforce_policy";

    /// <summary>The opset actually used.</summary>
    public int ResolvedOpset => Opset ?? (Unity ? DefaultUnityOpset : DefaultOpset);

    /// <summary>
    /// The IR version written for <paramref name="opset"/>: that of the ONNX release which introduced the opset
    /// (13–14: 7, 15–18: 8, 19–20: 9, 21: 10), the lowest a runtime must understand to load the model.
    /// </summary>
    public static int IrVersionFor(int opset) => opset switch
    {
        < MinOpset or > MaxOpset => throw new ArgumentOutOfRangeException(nameof(opset), opset, $"ONNX export supports opsets {MinOpset} to {MaxOpset}; use {DefaultOpset} (the default) or {DefaultUnityOpset} (the newest Unity Sentis supports)."),
        <= 14 => 7,
        <= 18 => 8,
        <= 20 => 9,
        _ => 10,
    };
}

/// <summary>
/// The observation normalisation a policy was trained behind, as <see cref="VectorNormalizeObservation"/> applies
/// it: <c>clip((x − mean) / sqrt(var + epsilon), −clip, clip)</c> per element. Exported models apply it first,
/// so they take raw observations as <see cref="Agent.Predict(ReadOnlySpan{float}, bool)"/> does.
/// </summary>
/// <param name="Mean">The running mean per observation element.</param>
/// <param name="Variance">The running (population) variance per element.</param>
/// <param name="Epsilon">Added to the variance before the square root.</param>
/// <param name="Clip">The bound on normalised values (null: none).</param>
public sealed record ObservationNormalization(double[] Mean, double[] Variance, double Epsilon, double? Clip)
{
    /// <summary>The statistics and settings of a normalisation wrapper.</summary>
    public static ObservationNormalization From(VectorNormalizeObservation normalizer)
    {
        ArgumentNullException.ThrowIfNull(normalizer);
        return new ObservationNormalization(normalizer.Statistics.Mean, normalizer.Statistics.Var, normalizer.Epsilon, normalizer.Clip);
    }

    /// <summary>The agent's observation normalisation (null when it trains on raw observations).</summary>
    public static ObservationNormalization? Of(OnPolicyAgent agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return agent.ObservationNormalizer is { } n ? From(n) : null;
    }

    internal void Validate(int observationSize)
    {
        if (Mean is null || Variance is null || Mean.Length != observationSize || Variance.Length != observationSize)
            throw new ArgumentException($"ONNX export: the observation normalisation has {Mean?.Length ?? 0} means and {Variance?.Length ?? 0} variances, but the policy takes {observationSize} observation values; pass the statistics of the run that trained this policy.");
        for (int j = 0; j < observationSize; j++)
        {
            if (!double.IsFinite(Mean[j]) || !(Variance[j] >= 0) || !double.IsFinite(Variance[j]))
                throw new ArgumentException($"ONNX export: observation normalisation element {j} has mean {Mean[j]} and variance {Variance[j]}; both must be finite and the variance >= 0.");
        }
        if (!(Epsilon >= 0) || !double.IsFinite(Epsilon)) throw new ArgumentException($"ONNX export: the normalisation epsilon is {Epsilon}; it must be a finite number >= 0.");
        if (Clip is double c && !(c > 0)) throw new ArgumentException($"ONNX export: the normalisation clip bound is {c}; it must be positive (or null for none).");
    }
}
