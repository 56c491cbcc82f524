using System.Runtime.InteropServices;
using Reinforce.Autograd;
using Reinforce.IO;

namespace Reinforce.Nn.Transformers;

/// <summary>The shape of LoRA adapters (Hu et al. 2021), with PEFT's names and defaults.</summary>
public sealed record LoraOptions
{
    /// <summary>The rank r of each update ΔW = (α / r)·Aᵀ·Bᵀ.</summary>
    public int Rank { get; init; } = 8;

    /// <summary>α: the update is scaled by α / r.</summary>
    public double Alpha { get; init; } = 16;

    /// <summary>
    /// Dropout on the adapter's input during training (PEFT's <c>lora_dropout</c>). It applies to the layers that run as
    /// plain matrix products (<c>c_fc</c>, <c>mlp.c_proj</c>); the attention's <c>c_attn</c> and <c>attn.c_proj</c>
    /// run inside the fused attention operation, which takes weights, so their update is added to the weight and
    /// dropout does not reach them.
    /// </summary>
    public double Dropout { get; init; }

    /// <summary>Which layers get adapters, by GPT-2 name: any of <c>c_attn</c>, <c>c_proj</c> (both attention and MLP), <c>c_fc</c>.</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = ["c_attn"];

    /// <summary>Seed of A's initialisation (B starts at zero, so the adapted model starts equal to the base).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Throws on an impossible setting, naming it and the fix.</summary>
    public void Validate()
    {
        if (Rank < 1) throw new ArgumentOutOfRangeException(nameof(Rank), Rank, "LoraOptions: the rank must be at least 1 (8 or 16 is usual).");
        if (!(Alpha > 0) || double.IsInfinity(Alpha)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "LoraOptions: alpha must be a positive number (often twice the rank).");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "LoraOptions: dropout must be in [0, 1).");
        if (TargetModules is null || TargetModules.Count == 0) throw new ArgumentException("LoraOptions: name at least one target module (c_attn, c_proj, c_fc).");
        foreach (var t in TargetModules)
            if (t is not ("c_attn" or "c_proj" or "c_fc"))
                throw new ArgumentException($"LoraOptions: unknown target module \"{t}\"; GPT-2's adaptable layers are c_attn, c_proj and c_fc.");
    }
}

/// <summary>
/// One low-rank adapter on a <see cref="TransposedLinear"/> layer (GPT-2's Conv1D, W [in, out]): A [r, in] and B [out, r]
/// stored as PEFT stores them (<c>lora_A.weight</c>, <c>lora_B.weight</c>), so the layer computes
/// x·(W + (α/r)·Aᵀ·Bᵀ) + b. A starts uniform on ±1/√in (PEFT's Kaiming-uniform with a = √5), B at zero.
/// </summary>
public sealed class LoraAdapter : Module
{
    private readonly LoraAdapters _owner;
    private Tensor? _cached;
    private float[]? _cachedA, _cachedB;

    internal LoraAdapter(LoraAdapters owner, TransposedLinear target, int rank, float scale, Rng rng)
    {
        _owner = owner;
        Target = target;
        Scale = scale;
        double bound = 1.0 / Math.Sqrt(target.InFeatures);
        A = RegisterParameter("lora_A", Init.Uniform(Tensor.Zeros(rank, target.InFeatures), -bound, bound, rng));
        B = RegisterParameter("lora_B", Tensor.Zeros(target.OutFeatures, rank));
    }

    /// <summary>The adapted layer.</summary>
    public TransposedLinear Target { get; }

    /// <summary>[r, in].</summary>
    public Parameter A { get; }

    /// <summary>[out, r].</summary>
    public Parameter B { get; }

    /// <summary>α / r.</summary>
    public float Scale { get; }

    /// <summary>Whether the update is added at run time (adapters on and not merged into W).</summary>
    public bool Active => _owner.Enabled && !_owner.Merged;

    /// <summary>Dropout on the adapter's input while recording a graph; 0 otherwise.</summary>
    internal float TrainingDropout => Graph.IsRecording ? (float)_owner.Options.Dropout : 0f;

    internal Rng DropoutRng => _owner.DropoutRng;

    /// <summary>ΔW = scale·Aᵀ·Bᵀ, [in, out], through autograd.</summary>
    public Tensor Delta() => Ops.MulScalar(Ops.MatMul(A.Value, B.Value, transposeA: true, transposeB: true), Scale);

    /// <summary>
    /// W + ΔW. Without a graph (sampling), the sum is kept and reused while A and B are unchanged, so each generated
    /// token does not pay for the rank-r product again.
    /// </summary>
    internal Tensor EffectiveWeight(Tensor weight)
    {
        if (Graph.IsRecording) { _cached = null; return Ops.Add(weight, Delta()); }
        if (_cached is not null && A.Value.Data.AsSpan().SequenceEqual(_cachedA) && B.Value.Data.AsSpan().SequenceEqual(_cachedB)) return _cached;
        // Kept across generation steps, so never from the step's recycled buffers.
        using (Reinforce.Tensors.TensorArena.Suspend()) _cached = Ops.Add(weight, Delta());
        _cachedA = (float[])A.Value.Data.Clone();
        _cachedB = (float[])B.Value.Data.Clone();
        return _cached;
    }

    internal void DropCache() { _cached = null; _cachedA = _cachedB = null; }

    /// <summary>W += sign·ΔW in place.</summary>
    internal void AddInto(float sign)
    {
        DropCache();
        using (Graph.NoGrad())
        {
            var delta = Delta().Data;
            var w = Target.Weight.Value.Data;
            for (int i = 0; i < w.Length; i++) w[i] += sign * delta[i];
        }
    }
}

/// <summary>
/// LoRA adapters on a <see cref="Gpt"/>: the base weights are frozen (no gradients are kept for them) and only the
/// adapters train. Switching the adapters off (<see cref="Disabled"/>) gives back the base model exactly, which is
/// the reference of RL fine-tuning and DPO without a second copy in memory. <see cref="Merge"/> folds the updates into
/// the base weights (for fast sampling or export) and <see cref="Unmerge"/> takes them out again (up to float32
/// rounding). Parameter names are PEFT's: <c>h.0.attn.c_attn.lora_A.weight</c> (PEFT writes them under
/// <c>base_model.model.transformer.</c>; see <c>PeftAdapter</c>).
/// </summary>
public sealed class LoraAdapters : Module
{
    private readonly List<(string Path, LoraAdapter Adapter)> _adapters = [];
    private readonly Gpt _model;

    private LoraAdapters(Gpt model, LoraOptions options)
    {
        _model = model;
        Options = options;
        DropoutRng = new Rng(Rng.DeriveSeed((ulong)options.Seed, 11));
    }

    /// <summary>The adapters' shape.</summary>
    public LoraOptions Options { get; }

    /// <summary>The adapted layers by GPT-2 path (<c>h.0.attn.c_attn</c>), first to last.</summary>
    public IReadOnlyList<(string Path, LoraAdapter Adapter)> Adapters => _adapters;

    /// <summary>The adapters' tensors under PEFT's names relative to the transformer: <c>h.0.attn.c_attn.lora_A.weight</c> → A.</summary>
    public IReadOnlyDictionary<string, Tensor> PeftState()
    {
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (path, a) in _adapters)
        {
            state[$"{path}.lora_A.weight"] = a.A.Value;
            state[$"{path}.lora_B.weight"] = a.B.Value;
        }
        return state;
    }

    /// <summary>Whether the updates are applied (false inside <see cref="Disabled"/>).</summary>
    public bool Enabled { get; private set; } = true;

    /// <summary>Whether the updates are folded into the base weights.</summary>
    public bool Merged { get; private set; }

    internal Rng DropoutRng { get; }

    /// <summary>The <see cref="BaseFingerprint"/> of the model the adapters were attached to.</summary>
    public string BaseModel { get; private set; } = "";

    /// <summary>
    /// Adds adapters to <paramref name="model"/>'s target layers and freezes its base weights. A model carries one set of
    /// adapters at a time.
    /// </summary>
    public static LoraAdapters Attach(Gpt model, LoraOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (model.Lora is not null) throw new InvalidOperationException("LoraAdapters.Attach: the model already has LoRA adapters; detach them (or merge and detach) first.");
        var lora = new LoraAdapters(model, options);
        var rng = new Rng(options.Seed);
        float scale = (float)(options.Alpha / options.Rank);
        for (int l = 0; l < model.Blocks.Count; l++)
        {
            var block = model.Blocks[l];
            foreach (var (path, layer) in new[]
            {
                ($"h.{l}.attn.c_attn", block.Attention.Attn), ($"h.{l}.attn.c_proj", block.Attention.Proj),
                ($"h.{l}.mlp.c_fc", block.Mlp.Fc), ($"h.{l}.mlp.c_proj", block.Mlp.Proj),
            })
            {
                if (!options.TargetModules.Contains(path[(path.LastIndexOf('.') + 1)..])) continue;
                var adapter = new LoraAdapter(lora, layer, options.Rank, scale, rng);
                lora.RegisterModule(path.Replace('.', '_'), adapter);
                lora._adapters.Add((path, adapter));
                layer.Adapter = adapter;
            }
        }
        lora.BaseModel = BaseFingerprint(model);
        foreach (var p in model.Parameters()) p.Value.RequiresGrad = false;
        model.Lora = lora;
        return lora;
    }

    /// <summary>Removes the adapters (unmerged: the base model as it was; merged: the base model with the updates kept) and unfreezes the base.</summary>
    public void Detach()
    {
        foreach (var (_, a) in _adapters) a.Target.Adapter = null;
        foreach (var p in _model.Parameters()) p.Value.RequiresGrad = true;
        _model.Lora = null;
    }

    /// <summary>Switches the adapters off until the returned scope is disposed: the model computes as its base.</summary>
    public IDisposable Disabled()
    {
        if (Merged) throw new InvalidOperationException("LoraAdapters.Disabled: the adapters are merged into the weights; unmerge them first to see the base model.");
        bool was = Enabled;
        Enabled = false;
        return new Scope(() => Enabled = was);
    }

    /// <summary>Folds each update into its base weight (W ← W + ΔW); the model then runs at the base model's speed.</summary>
    public void Merge()
    {
        if (Merged) return;
        foreach (var (_, a) in _adapters) a.AddInto(+1f);
        Merged = true;
    }

    /// <summary>
    /// The model's weights as it computes with the adapters on — its state dictionary with each adapted weight replaced
    /// by a new tensor W + ΔW — without changing the model (the base weights stay bit-for-bit as they are). This is what
    /// a merged model is saved as: a plain GPT-2 that needs no adapters.
    /// </summary>
    public Dictionary<string, Tensor> MergedState()
    {
        var state = new Dictionary<string, Tensor>(_model.StateDict(), StringComparer.Ordinal);
        if (Merged) return state;
        using (Graph.NoGrad())
        {
            foreach (var (path, a) in _adapters)
            {
                var merged = Ops.Add(a.Target.Weight.Value, a.Delta());
                state[path + ".weight"] = new Tensor((float[])merged.Data.Clone(), a.Target.Weight.Value.Shape);
            }
        }
        return state;
    }

    /// <summary>Takes the updates out of the base weights again (W ← W − ΔW, equal to the original up to float32 rounding).</summary>
    public void Unmerge()
    {
        if (!Merged) return;
        foreach (var (_, a) in _adapters) a.AddInto(-1f);
        Merged = false;
    }

    /// <summary>
    /// A fingerprint of the base model the adapters were made for (CRC-32C of the embeddings and the first block), so
    /// an adapter file is refused on a different base.
    /// </summary>
    public static string BaseFingerprint(Gpt model)
    {
        ArgumentNullException.ThrowIfNull(model);
        uint crc = 0;
        foreach (var t in new[] { model.TokenEmbedding.Weight.Value, model.PositionEmbedding.Weight.Value, model.Blocks[0].Attention.Attn.Weight.Value })
            crc ^= Crc32C.Compute(MemoryMarshal.AsBytes(t.Data.AsSpan())) + (uint)t.Size;
        return $"{model.Config.Layers}x{model.Config.Width}x{model.Config.VocabSize}-{crc:x8}";
    }

    private sealed class Scope(Action onDispose) : IDisposable
    {
        public void Dispose() => onDispose();
    }
}
