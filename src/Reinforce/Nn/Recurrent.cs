using Reinforce.Autograd;

namespace Reinforce.Nn;

/// <summary>The kind of recurrent layer a policy's memory uses.</summary>
public enum RecurrentKind
{
    /// <summary>Long short-term memory: two state tensors (h, c).</summary>
    Lstm,
    /// <summary>Gated recurrent unit: one state tensor (h).</summary>
    Gru,
}

/// <summary>
/// A stack of recurrent layers run over a sequence, PyTorch's <c>nn.LSTM</c> / <c>nn.GRU</c> (batch_first = false):
/// input [T, B, in] → output [T, B, hidden] (the last layer's h at every step) and the final state, each state tensor
/// [layers, B, hidden]. Parameters are named as PyTorch names them (weight_ih_l0, weight_hh_l0, bias_ih_l0,
/// bias_hh_l0, then _l1, ...) in the same order, so a PyTorch state dict loads one to one.
/// Optional episode starts reset the state to zero before the step where an episode begins (as recurrent PPO does
/// within a rollout sequence).
/// </summary>
public abstract class RecurrentLayer : Module
{
    private readonly Parameter[] _weightIh, _weightHh, _biasIh, _biasHh;

    private protected RecurrentLayer(int inputSize, int hiddenSize, int numLayers, int gates, Rng rng)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hiddenSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numLayers);
        ArgumentNullException.ThrowIfNull(rng);
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        _weightIh = new Parameter[numLayers];
        _weightHh = new Parameter[numLayers];
        _biasIh = new Parameter[numLayers];
        _biasHh = new Parameter[numLayers];
        double bound = 1.0 / Math.Sqrt(hiddenSize);
        for (int l = 0; l < numLayers; l++)
        {
            int inSize = l == 0 ? inputSize : hiddenSize;
            _weightIh[l] = RegisterParameter($"weight_ih_l{l}", Init.Uniform(Tensor.Zeros(gates * hiddenSize, inSize), -bound, bound, rng));
            _weightHh[l] = RegisterParameter($"weight_hh_l{l}", Init.Uniform(Tensor.Zeros(gates * hiddenSize, hiddenSize), -bound, bound, rng));
            _biasIh[l] = RegisterParameter($"bias_ih_l{l}", Init.Uniform(Tensor.Zeros(gates * hiddenSize), -bound, bound, rng));
            _biasHh[l] = RegisterParameter($"bias_hh_l{l}", Init.Uniform(Tensor.Zeros(gates * hiddenSize), -bound, bound, rng));
        }
    }

    public int InputSize { get; }
    public int HiddenSize { get; }
    public int NumLayers { get; }

    /// <summary>Which kind of layer this is.</summary>
    public abstract RecurrentKind Kind { get; }

    /// <summary>How many state tensors the layer carries (2 for an LSTM: h and c; 1 for a GRU: h).</summary>
    public abstract int StateCount { get; }

    /// <summary>The names of the state tensors ("h", "c" or "h"), for checkpoints, exports and messages.</summary>
    public abstract IReadOnlyList<string> StateNames { get; }

    /// <summary>Layer <paramref name="layer"/>'s input-to-hidden weight [gates·hidden, in].</summary>
    public Parameter WeightIh(int layer) => _weightIh[layer];

    /// <summary>Layer <paramref name="layer"/>'s hidden-to-hidden weight [gates·hidden, hidden].</summary>
    public Parameter WeightHh(int layer) => _weightHh[layer];

    /// <summary>Layer <paramref name="layer"/>'s input bias [gates·hidden].</summary>
    public Parameter BiasIh(int layer) => _biasIh[layer];

    /// <summary>Layer <paramref name="layer"/>'s hidden bias [gates·hidden].</summary>
    public Parameter BiasHh(int layer) => _biasHh[layer];

    /// <summary>A zero state for <paramref name="batch"/> sequences: <see cref="StateCount"/> tensors of [layers, batch, hidden].</summary>
    public Tensor[] ZeroState(int batch)
    {
        var state = new Tensor[StateCount];
        for (int i = 0; i < state.Length; i++) state[i] = Tensor.Zeros(NumLayers, batch, HiddenSize);
        return state;
    }

    /// <summary>
    /// Runs the layers over <paramref name="x"/> [T, B, in] from <paramref name="state"/> (null: zeros). When
    /// <paramref name="episodeStarts"/> is given ([T·B] row-major, 1 where an episode begins at that step), the state of
    /// that sequence is reset to zero before that step. Returns the output [T, B, hidden] and the final state.
    /// </summary>
    public (Tensor Output, Tensor[] State) Forward(Tensor x, IReadOnlyList<Tensor>? state, ReadOnlySpan<float> episodeStarts = default)
    {
        ArgumentNullException.ThrowIfNull(x);
        string name = $"{GetType().Name}({InputSize}, {HiddenSize}, layers {NumLayers})";
        if (x.Rank != 3 || x.Shape[2] != InputSize)
            throw new ArgumentException($"{name}: input shape {Tensor.ShapeString(x.Shape)} must be [sequence, batch, {InputSize}].");
        int steps = x.Shape[0], batch = x.Shape[1];
        state ??= ZeroState(batch);
        if (state.Count != StateCount)
            throw new ArgumentException($"{name}: expected {StateCount} state tensors ({string.Join(", ", StateNames)}), got {state.Count}.");
        foreach (var s in state)
            if (s is null || !Tensor.SameShape(s.Shape, [NumLayers, batch, HiddenSize]))
                throw new ArgumentException($"{name}: state shape {(s is null ? "null" : Tensor.ShapeString(s.Shape))} must be [layers {NumLayers}, batch {batch}, hidden {HiddenSize}].");
        if (!episodeStarts.IsEmpty && episodeStarts.Length != steps * batch)
            throw new ArgumentException($"{name}: {episodeStarts.Length} episode-start flags for a sequence of {steps} steps × {batch} (need one per step and sequence).");

        // Keep masks (1 − start) per step, [B, 1] so they broadcast over the hidden units; null when no reset happens.
        var keep = new Tensor?[steps];
        if (!episodeStarts.IsEmpty)
            for (int t = 0; t < steps; t++)
            {
                var row = episodeStarts.Slice(t * batch, batch);
                if (!row.ContainsAnyExcept(0f))
                    continue;
                var k = Tensor.Zeros(batch, 1);
                for (int b = 0; b < batch; b++) k.Data[b] = 1f - row[b];
                keep[t] = k;
            }

        var layerInput = x;
        var final = new Tensor[StateCount][];
        for (int i = 0; i < StateCount; i++) final[i] = new Tensor[NumLayers];
        for (int l = 0; l < NumLayers; l++)
        {
            // The input projection of every step at once: one large matrix multiply.
            var inputGates = Ops.Linear(layerInput, _weightIh[l].Value, _biasIh[l].Value);
            var s = new Tensor[StateCount];
            for (int i = 0; i < StateCount; i++) s[i] = Ops.Reshape(Ops.Slice(state[i], l, 1, axis: 0), batch, HiddenSize);
            var outputs = new Tensor[steps];
            for (int t = 0; t < steps; t++)
            {
                if (keep[t] is { } k) for (int i = 0; i < StateCount; i++) s[i] = Ops.Mul(s[i], k);
                var xg = Ops.Reshape(Ops.Slice(inputGates, t, 1, axis: 0), batch, inputGates.Shape[2]);
                s = Step(l, xg, s);
                outputs[t] = Ops.Reshape(s[0], 1, batch, HiddenSize);
            }
            for (int i = 0; i < StateCount; i++) final[i][l] = Ops.Reshape(s[i], 1, batch, HiddenSize);
            layerInput = steps == 1 ? outputs[0] : Ops.Concat(outputs, axis: 0);
        }
        var result = new Tensor[StateCount];
        for (int i = 0; i < StateCount; i++) result[i] = NumLayers == 1 ? final[i][0] : Ops.Concat(final[i], axis: 0);
        return (layerInput, result);
    }

    /// <summary>One step of layer <paramref name="layer"/> given its input gates x·W_ihᵀ + b_ih [B, gates·hidden] and state [B, hidden] each.</summary>
    private protected abstract Tensor[] Step(int layer, Tensor inputGates, Tensor[] state);
}

/// <summary>PyTorch's <c>nn.LSTM</c> (gates i, f, g, o; state h and c). See <see cref="RecurrentLayer"/>.</summary>
public sealed class Lstm(int inputSize, int hiddenSize, Rng rng, int numLayers = 1) : RecurrentLayer(inputSize, hiddenSize, numLayers, 4, rng)
{
    private static readonly string[] s_names = ["h", "c"];

    public override RecurrentKind Kind => RecurrentKind.Lstm;
    public override int StateCount => 2;
    public override IReadOnlyList<string> StateNames => s_names;

    private protected override Tensor[] Step(int layer, Tensor inputGates, Tensor[] state)
    {
        var gates = Ops.Add(inputGates, Ops.Linear(state[0], WeightHh(layer).Value, BiasHh(layer).Value));
        var (h, c) = Ops.LstmCell(gates, state[1]);
        return [h, c];
    }
}

/// <summary>PyTorch's <c>nn.GRU</c> (gates r, z, n; state h). See <see cref="RecurrentLayer"/>.</summary>
public sealed class Gru(int inputSize, int hiddenSize, Rng rng, int numLayers = 1) : RecurrentLayer(inputSize, hiddenSize, numLayers, 3, rng)
{
    private static readonly string[] s_names = ["h"];

    public override RecurrentKind Kind => RecurrentKind.Gru;
    public override int StateCount => 1;
    public override IReadOnlyList<string> StateNames => s_names;

    private protected override Tensor[] Step(int layer, Tensor inputGates, Tensor[] state) =>
        [Ops.GruCell(inputGates, Ops.Linear(state[0], WeightHh(layer).Value, BiasHh(layer).Value), state[0])];
}

/// <summary>
/// What <see cref="LstmCell"/> and <see cref="GruCell"/> share: PyTorch's parameters weight_ih [gates·hidden, in],
/// weight_hh [gates·hidden, hidden], bias_ih, bias_hh (drawn in that order, uniform on ±1/√hidden), the input check
/// and the two projections of one step.
/// </summary>
public abstract class RecurrentCell : Module
{
    private protected RecurrentCell(int inputSize, int hiddenSize, int gates, Rng rng)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hiddenSize);
        ArgumentNullException.ThrowIfNull(rng);
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        double bound = 1.0 / Math.Sqrt(hiddenSize);
        WeightIh = RegisterParameter("weight_ih", Init.Uniform(Tensor.Zeros(gates * hiddenSize, inputSize), -bound, bound, rng));
        WeightHh = RegisterParameter("weight_hh", Init.Uniform(Tensor.Zeros(gates * hiddenSize, hiddenSize), -bound, bound, rng));
        BiasIh = RegisterParameter("bias_ih", Init.Uniform(Tensor.Zeros(gates * hiddenSize), -bound, bound, rng));
        BiasHh = RegisterParameter("bias_hh", Init.Uniform(Tensor.Zeros(gates * hiddenSize), -bound, bound, rng));
    }

    public int InputSize { get; }
    public int HiddenSize { get; }
    public Parameter WeightIh { get; }
    public Parameter WeightHh { get; }
    public Parameter BiasIh { get; }
    public Parameter BiasHh { get; }

    /// <summary>x·W_ihᵀ + b_ih, after checking x is [batch, in].</summary>
    private protected Tensor InputGates(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 2 || x.Shape[1] != InputSize)
            throw new ArgumentException($"{GetType().Name}({InputSize}, {HiddenSize}): input shape {Tensor.ShapeString(x.Shape)} must be [batch, {InputSize}].");
        return Ops.Linear(x, WeightIh.Value, BiasIh.Value);
    }

    /// <summary>h·W_hhᵀ + b_hh.</summary>
    private protected Tensor HiddenGates(Tensor h) => Ops.Linear(h, WeightHh.Value, BiasHh.Value);
}

/// <summary>PyTorch's <c>nn.LSTMCell</c>: one step, x [B, in] and (h, c) [B, hidden] each → (h', c'). See <see cref="RecurrentCell"/>.</summary>
public sealed class LstmCell(int inputSize, int hiddenSize, Rng rng) : RecurrentCell(inputSize, hiddenSize, 4, rng)
{
    /// <summary>One step: x [B, in], h and c [B, hidden] → (h', c').</summary>
    public (Tensor H, Tensor C) Forward(Tensor x, Tensor h, Tensor c) => Ops.LstmCell(Ops.Add(InputGates(x), HiddenGates(h)), c);
}

/// <summary>PyTorch's <c>nn.GRUCell</c>: one step, x [B, in] and h [B, hidden] → h'. See <see cref="RecurrentCell"/>.</summary>
public sealed class GruCell(int inputSize, int hiddenSize, Rng rng) : RecurrentCell(inputSize, hiddenSize, 3, rng)
{
    /// <summary>One step: x [B, in], h [B, hidden] → h'.</summary>
    public Tensor Forward(Tensor x, Tensor h) => Ops.GruCell(InputGates(x), HiddenGates(h), h);
}
