using Reinforce.Autograd;

namespace Reinforce.Nn.Transformers;

/// <summary>GPT-2's feed-forward part: <c>c_fc</c> [dim, 4·dim], GELU (tanh form), <c>c_proj</c> [4·dim, dim].</summary>
public sealed class GptMlp : Module
{
    public GptMlp(int dim, int hidden, Rng rng)
    {
        Fc = RegisterModule("c_fc", new TransposedLinear(dim, hidden, rng));
        Proj = RegisterModule("c_proj", new TransposedLinear(hidden, dim, rng));
    }

    public TransposedLinear Fc { get; }
    public TransposedLinear Proj { get; }

    public override Tensor Forward(Tensor x) => Proj.Forward(Ops.GeluTanh(Fc.Forward(x)));
}

/// <summary>
/// A pre-LayerNorm transformer block as in GPT-2: x + attn(ln_1(x)), then x + mlp(ln_2(x)). Parameter names follow
/// GPT-2's (<c>ln_1</c>, <c>attn.c_attn</c>, <c>attn.c_proj</c>, <c>ln_2</c>, <c>mlp.c_fc</c>, <c>mlp.c_proj</c>).
/// </summary>
public sealed class GptBlock : Module
{
    public GptBlock(int dim, int heads, Rng rng, int mlpRatio = 4, float layerNormEps = 1e-5f)
    {
        Ln1 = RegisterModule("ln_1", new LayerNorm(dim, layerNormEps));
        Attention = RegisterModule("attn", new CausalSelfAttention(dim, heads, rng));
        Ln2 = RegisterModule("ln_2", new LayerNorm(dim, layerNormEps));
        Mlp = RegisterModule("mlp", new GptMlp(dim, mlpRatio * dim, rng));
    }

    public LayerNorm Ln1 { get; }
    public CausalSelfAttention Attention { get; }
    public LayerNorm Ln2 { get; }
    public GptMlp Mlp { get; }

    /// <summary>x [B, T, dim] → [B, T, dim].</summary>
    public override Tensor Forward(Tensor x) => Forward(x, default);

    /// <summary>With per-row left padding (see <see cref="CausalSelfAttention.Forward(Tensor, ReadOnlySpan{int})"/>).</summary>
    public Tensor Forward(Tensor x, ReadOnlySpan<int> sequenceStarts) => Forward(x, sequenceStarts, cache: null);

    /// <summary>
    /// The one forward: x + attn(ln_1(x)), then x + mlp(ln_2(x)), with optional left padding and, when
    /// <paramref name="cache"/> is given, as a generation step extending it (inside <see cref="Graph.NoGrad"/>).
    /// </summary>
    public Tensor Forward(Tensor x, ReadOnlySpan<int> sequenceStarts, KvCache? cache)
    {
        x = Ops.Add(x, Attention.Forward(Ln1.Forward(x), sequenceStarts, cache));
        return Ops.Add(x, Mlp.Forward(Ln2.Forward(x)));
    }

    /// <summary>Generation step for the new positions x [B, Tnew, dim], extending <paramref name="cache"/> (inside <see cref="Graph.NoGrad"/>).</summary>
    public Tensor ForwardCached(Tensor x, KvCache cache, ReadOnlySpan<int> sequenceStarts = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        return Forward(x, sequenceStarts, cache);
    }
}
