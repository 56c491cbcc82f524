namespace Reinforce.Nn.Transformers;

/// <summary>What <see cref="Gpt.Generate"/> produced for each prompt.</summary>
public sealed class Generation
{
    internal Generation(int[][] completions, float[][] logProbs, bool[] stopped)
    {
        Completions = completions;
        LogProbs = logProbs;
        Stopped = stopped;
    }

    /// <summary>The sampled tokens of each completion (the stop token included when it was drawn).</summary>
    public IReadOnlyList<int[]> Completions { get; }

    /// <summary>Each completion token's log-probability under the model's own distribution when it was drawn.</summary>
    public IReadOnlyList<float[]> LogProbs { get; }

    /// <summary>Whether each completion ended with the stop token (rather than running out of tokens or context).</summary>
    public IReadOnlyList<bool> Stopped { get; }

    internal static Generation Pack(List<int>[] completions, List<float>[] logProbs, bool[] stopped) =>
        new([.. completions.Select(c => c.ToArray())], [.. logProbs.Select(c => c.ToArray())], stopped);
}
