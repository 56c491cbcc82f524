namespace Reinforce.Nn.Transformers;

/// <summary>
/// The shape of a GPT-style decoder: token and position embeddings of width <see cref="Width"/>, <see cref="Layers"/>
/// pre-LayerNorm blocks (causal self-attention with <see cref="Heads"/> heads, then a GELU MLP <see cref="MlpRatio"/>
/// times wider), a final LayerNorm and a head tied to the token embedding. The defaults are the demo model: 4 layers,
/// 128 wide, 4 heads, a context of 64 characters (about 0.8M parameters with a 65-character vocabulary).
/// </summary>
public sealed record GptConfig
{
    /// <summary>Number of tokens (characters).</summary>
    public int VocabSize { get; init; }

    /// <summary>The longest sequence the model reads (positions 0 … ContextLength − 1).</summary>
    public int ContextLength { get; init; } = 64;

    /// <summary>Number of transformer blocks.</summary>
    public int Layers { get; init; } = 4;

    /// <summary>Embedding width.</summary>
    public int Width { get; init; } = 128;

    /// <summary>Attention heads per block (must divide <see cref="Width"/>).</summary>
    public int Heads { get; init; } = 4;

    /// <summary>The MLP's hidden width as a multiple of <see cref="Width"/>.</summary>
    public int MlpRatio { get; init; } = 4;

    /// <summary>The default demo shape for a vocabulary of <paramref name="vocabSize"/> tokens.</summary>
    public static GptConfig Default(int vocabSize) => new() { VocabSize = vocabSize };

    /// <summary>Throws if the shape is impossible, naming the setting and the fix.</summary>
    public void Validate()
    {
        if (VocabSize < 2) throw new ArgumentOutOfRangeException(nameof(VocabSize), VocabSize, "GptConfig: the vocabulary needs at least 2 tokens.");
        if (ContextLength < 2) throw new ArgumentOutOfRangeException(nameof(ContextLength), ContextLength, "GptConfig: the context must hold at least 2 tokens.");
        if (Layers < 1) throw new ArgumentOutOfRangeException(nameof(Layers), Layers, "GptConfig: at least one layer.");
        if (Width < 1 || Heads < 1) throw new ArgumentOutOfRangeException(nameof(Width), $"GptConfig: width {Width} and heads {Heads} must be positive.");
        if (Width % Heads != 0) throw new ArgumentException($"GptConfig: the width {Width} is not divisible by the {Heads} heads; pick a width that is a multiple of the head count.");
        if (MlpRatio < 1) throw new ArgumentOutOfRangeException(nameof(MlpRatio), MlpRatio, "GptConfig: the MLP ratio must be at least 1.");
    }

    /// <summary>
    /// Number of parameters: embeddings V·C + T·C; per block two LayerNorms (4C), attention (3C² + 3C + C² + C) and the MLP
    /// (2·r·C² + r·C + C); the final LayerNorm (2C). The head is tied, so it adds none.
    /// </summary>
    public long ParameterCount
    {
        get
        {
            long c = Width, r = MlpRatio;
            long block = 4 * c + (4 * c * c + 4 * c) + (2 * r * c * c + r * c + c);
            return VocabSize * c + ContextLength * c + Layers * block + 2 * c;
        }
    }

    /// <summary>
    /// <see cref="ParameterCount"/> in floating point, which cannot overflow for any shape: readers compare it with the
    /// weights a file holds and refuse a described shape larger than them before allocating anything.
    /// </summary>
    public double ParameterCountEstimate
    {
        get
        {
            double c = Width, r = MlpRatio;
            return (double)VocabSize * c + (double)ContextLength * c + (double)Layers * (4 * c + 4 * c * c + 4 * c + 2 * r * c * c + r * c + c) + 2 * c;
        }
    }
}
