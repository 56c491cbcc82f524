using Reinforce.Autograd;

namespace Reinforce.Nn.Transformers;

/// <summary>
/// Multi-head causal self-attention in GPT-2's layout: <c>c_attn</c> ([dim, 3·dim] weight, q | k | v) and
/// <c>c_proj</c> ([dim, dim]), both stored [in, out] so GPT-2 weights load as they are. Runs as one fused operation
/// (<see cref="Ops.CausalSelfAttention"/>); <see cref="ForwardCached"/> extends a <see cref="KvCache"/> for generation.
/// </summary>
public sealed class CausalSelfAttention : Module
{
    public CausalSelfAttention(int dim, int heads, Rng rng)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heads);
        if (dim % heads != 0) throw new ArgumentException($"CausalSelfAttention: {heads} heads do not divide dim {dim}.", nameof(heads));
        Dim = dim;
        Heads = heads;
        Attn = RegisterModule("c_attn", new TransposedLinear(dim, 3 * dim, rng));
        Proj = RegisterModule("c_proj", new TransposedLinear(dim, dim, rng));
    }

    public int Dim { get; }
    public int Heads { get; }
    public int HeadDim => Dim / Heads;

    /// <summary>The q | k | v projection, weight [dim, 3·dim].</summary>
    public TransposedLinear Attn { get; }

    /// <summary>The output projection, weight [dim, dim].</summary>
    public TransposedLinear Proj { get; }

    /// <summary>x [B, T, dim] → [B, T, dim].</summary>
    public override Tensor Forward(Tensor x) => Forward(x, default);

    /// <summary>As <see cref="Forward(Tensor)"/>, with per-row left padding: row b's positions before <paramref name="sequenceStarts"/>[b] are ignored.</summary>
    public Tensor Forward(Tensor x, ReadOnlySpan<int> sequenceStarts) => Forward(x, sequenceStarts, cache: null);

    /// <summary>
    /// The one forward: x [B, T, dim] → [B, T, dim], with optional left padding, and, when <paramref name="cache"/> is
    /// given, as a generation step (see <see cref="ForwardCached"/>).
    /// </summary>
    public Tensor Forward(Tensor x, ReadOnlySpan<int> sequenceStarts, KvCache? cache) =>
        Ops.CausalSelfAttention(x, Attn.EffectiveWeight, Attn.Bias!.Value, Proj.EffectiveWeight, Proj.Bias!.Value, Heads, sequenceStarts, cache);

    /// <summary>
    /// Generation step: x [B, Tnew, dim] holds the next positions; their keys and values are appended to
    /// <paramref name="cache"/> and each attends to all cached positions up to itself. Same result as
    /// <see cref="Forward(Tensor)"/> on the whole sequence, for these positions. Call inside <see cref="Graph.NoGrad"/>.
    /// </summary>
    public Tensor ForwardCached(Tensor x, KvCache cache, ReadOnlySpan<int> sequenceStarts = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        return Forward(x, sequenceStarts, cache);
    }

    /// <summary>An empty cache sized for this layer.</summary>
    public KvCache CreateCache(int batch, int capacity) => new(batch, Heads, HeadDim, capacity);
}
