using Reinforce.Nn;
using Reinforce.Optim;

namespace Reinforce.Rlhf.Training;

/// <summary>
/// AdamW over a model as GPT training usually sets it up: weight decay on the matrices (every parameter of rank 2:
/// linear weights and embeddings) and none on the vectors (biases and LayerNorm gains), which decay would only pull
/// towards zero. Two AdamW instances share the learning rate and step together.
/// </summary>
public sealed class ModelOptimizer
{
    private readonly AdamW _decayed;
    private readonly AdamW? _plain;
    private readonly Tensor[] _all;

    /// <summary>AdamW (β₁ = 0.9, β₂ = <paramref name="beta2"/>) over every parameter of <paramref name="model"/>.</summary>
    public ModelOptimizer(Module model, float learningRate, float weightDecay, float beta2 = 0.99f)
    {
        ArgumentNullException.ThrowIfNull(model);
        var named = model.NamedParameters().ToList();
        var matrices = named.Where(p => p.Parameter.Value.Rank >= 2).ToList();
        var vectors = named.Where(p => p.Parameter.Value.Rank < 2).ToList();
        _decayed = new AdamW(matrices.Select(p => p.Parameter.Value), learningRate, 0.9f, beta2, 1e-8f, weightDecay, matrices.Select(p => p.Name));
        if (vectors.Count > 0) _plain = new AdamW(vectors.Select(p => p.Parameter.Value), learningRate, 0.9f, beta2, 1e-8f, 0f, vectors.Select(p => p.Name));
        _all = [.. named.Select(p => p.Parameter.Value)];
    }

    /// <summary>The learning rate of the next step.</summary>
    public float LearningRate
    {
        get => _decayed.LearningRate;
        set
        {
            _decayed.LearningRate = value;
            if (_plain is not null) _plain.LearningRate = value;
        }
    }

    /// <summary>Every parameter tensor.</summary>
    public IReadOnlyList<Tensor> Parameters => _all;

    /// <summary>Clears every gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _all) p.ZeroGrad();
    }

    /// <summary>Clips the global gradient norm to <paramref name="maxNorm"/> and takes one step; returns the norm before clipping.</summary>
    public float Step(float maxNorm)
    {
        float norm = GradientClipping.ClipGlobalNorm(_all, maxNorm, errorIfNonFinite: true);
        _decayed.Step();
        _plain?.Step();
        return norm;
    }
}
