using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Autograd;
using Reinforce.Tensors;

namespace Reinforce.Nn;

/// <summary>
/// The compiled form of a stack of <see cref="Linear"/> modules with one activation between them (an <see cref="Mlp"/>,
/// or a policy's actor and critic): y = f(x·Wᵀ + b) per layer, in one pass over flat buffers, reading the modules' own
/// parameter tensors in place (an optimizer step is seen immediately; nothing is copied). The policy network's hot path. <see cref="Infer"/> is the allocation-free, gradient-free forward used
/// while collecting rollouts; <see cref="Forward"/> records the whole stack as a single autograd operation whose
/// backward (beside it, as every operation in <see cref="Ops"/>) produces every weight's and bias's gradient at once.
/// The weights are the modules' own tensors, read in place: an optimizer step is seen immediately.
/// </summary>
public sealed class FusedMlp
{
    private readonly Tensor[] _weights;
    private readonly Tensor[] _biases;
    private readonly ActivationFunction _activation;   // its kernel, and its derivative written from the output
    private readonly bool _activateLast;
    private readonly int _maxWidth;

    // Forward/backward workspace (reused; sized for the last batch size seen).
    private float[][] _layerOutputs = [];
    private float[] _gradA = [], _gradB = [];
    private int _workspaceRows = -1;
    private int _version;

    // Inference workspace (separate, so a rollout between forward and backward cannot corrupt the tape).
    private float[][] _inferOutputs = [];
    private int _inferRows = -1;

    // While frozen (a rollout, when no optimizer step can happen): each weight transposed once, Wᵀ [in, out], so Infer
    // reads it in place instead of repacking W for every batch of a few rows.
    private float[][]? _frozenTransposed;

    /// <summary>Compiles <paramref name="layers"/> (each with a bias), <paramref name="activation"/> after every layer but the last (and after the last too when <paramref name="activateLast"/>).</summary>
    public FusedMlp(IReadOnlyList<Linear> layers, Activation activation, bool activateLast)
        : this(Weights(layers), Biases(layers), activation, activateLast) { }

    private static Tensor[] Weights(IReadOnlyList<Linear> layers) =>
        [.. (layers ?? throw new ArgumentNullException(nameof(layers))).Select(l => l.Weight.Value)];

    private static Tensor[] Biases(IReadOnlyList<Linear> layers) =>
        [.. layers.Select(l => (l.Bias ?? throw new ArgumentException("FusedMlp: every Linear layer needs a bias.", nameof(layers))).Value)];

    /// <summary>Wraps layers given as weight [out, in] and bias [out] tensors (shared, not copied).</summary>
    internal FusedMlp(IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor> biases, Activation activation, bool activateLast)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(biases);
        var function = Activations.Of(activation);
        if (!function.IsCompilable)
            throw new ArgumentException($"FusedMlp: {activation} has no derivative in terms of its output; use {Activations.CompilableNames}.", nameof(activation));
        if (weights.Count == 0 || weights.Count != biases.Count)
            throw new ArgumentException($"FusedMlp: {weights.Count} weights and {biases.Count} biases; give one of each per layer (at least one layer).");
        for (int l = 0; l < weights.Count; l++)
        {
            var w = weights[l];
            if (w.Rank != 2) throw new ArgumentException($"FusedMlp: weight {l} has shape {Tensor.ShapeString(w.Shape)}; expected [out, in].");
            if (biases[l].Size != w.Shape[0]) throw new ArgumentException($"FusedMlp: bias {l} has {biases[l].Size} elements for a weight of shape {Tensor.ShapeString(w.Shape)}.");
            if (l > 0 && w.Shape[1] != weights[l - 1].Shape[0])
                throw new ArgumentException($"FusedMlp: layer {l} takes {w.Shape[1]} inputs but layer {l - 1} gives {weights[l - 1].Shape[0]}.");
        }
        _weights = [.. weights];
        _biases = [.. biases];
        _activation = function;
        _activateLast = activateLast;
        _maxWidth = Math.Max(InputSize, _weights.Max(w => w.Shape[0]));
        _recordInputs = [null!, .. Inputs(null, this)];
        MultiplyAddsPerRow = _weights.Sum(w => (long)w.Size);
    }

    // The recorded operation's inputs: the input x (set by each Forward), then every weight and its bias.
    private readonly Tensor[] _recordInputs;

    /// <summary>The weights and biases (the tensors given, shared), layer by layer.</summary>
    internal IEnumerable<Tensor> ParameterTensors => _weights.Zip(_biases).SelectMany(p => new[] { p.First, p.Second });

    /// <summary>The widest layer's outputs (or the input, if wider).</summary>
    internal int MaxWidth => _maxWidth;

    /// <summary>Inputs per row.</summary>
    public int InputSize => _weights[0].Shape[1];

    /// <summary>Outputs per row.</summary>
    public int OutputSize => _weights[^1].Shape[0];

    /// <summary>Multiply-adds of one row's forward pass.</summary>
    public long MultiplyAddsPerRow { get; }

    /// <summary>
    /// Rows × multiply-adds per row below which <see cref="ForwardPair"/> stays on one thread. Handing a pass to another
    /// core costs tens of microseconds on a virtual machine (the worker sleeps between minibatches): measured on the
    /// 2-core machine, CleanRL's 64×64 settings (128 rows, 0.57M) train at 221k steps/s on one thread and 190–198k
    /// paired, and 512 rows (2.3M) at 269k against 245k; at 2048 rows (9.2M) the two are equal.
    /// </summary>
    internal static long ParallelThreshold { get; set; } = 16_000_000;

    /// <summary>
    /// The forward pass for <paramref name="rows"/> rows of <paramref name="input"/> without recording anything; the
    /// result lives in an internal buffer valid until the next <see cref="Infer"/>.
    /// </summary>
    [BypassReadyToRun]
    public ReadOnlySpan<float> Infer(ReadOnlySpan<float> input, int rows)
    {
        if (input.Length < rows * InputSize) throw new ArgumentException($"FusedMlp.Infer: {input.Length} inputs for {rows} rows of {InputSize}.");
        if (rows > _inferRows) { _inferOutputs = AllocateOutputs(rows); _inferRows = rows; }
        ReadOnlySpan<float> x = input[..(rows * InputSize)];
        for (int l = 0; l < _weights.Length; l++)
        {
            var y = _inferOutputs[l].AsSpan(0, rows * _weights[l].Shape[0]);
            LayerForward(l, x, y, rows, _frozen ? _frozenTransposed![l] : null);
            x = y;
        }
        return x;
    }

    /// <summary>
    /// Until the returned scope is disposed, <see cref="Infer"/> reads a transposed copy of each weight taken now, so
    /// a batch of a few rows (one rollout step over a handful of environments) multiplies without packing W first:
    /// the same multiply-adds in the same order, so the same bits. For a loop in which the weights cannot change,
    /// such as collecting a rollout: an optimizer step inside the scope would not be seen by <see cref="Infer"/>.
    /// </summary>
    [BypassReadyToRun]
    public FrozenScope Freeze()
    {
        var transposed = _frozenTransposed ?? new float[_weights.Length][];
        for (int l = 0; l < _weights.Length; l++)
        {
            int outSize = _weights[l].Shape[0], inSize = _weights[l].Shape[1];
            Kernels.Transpose(_weights[l].Data, outSize, inSize, transposed[l] ??= new float[outSize * inSize]);
        }
        _frozenTransposed = transposed;
        _frozen = true;
        return new FrozenScope(this);
    }

    private bool _frozen;

    /// <summary>Ends a <see cref="Freeze"/>: <see cref="Infer"/> reads the live weights again.</summary>
    public readonly struct FrozenScope(FusedMlp? net) : IDisposable
    {
        /// <summary>Thaws the network.</summary>
        public void Dispose()
        {
            if (net is not null) net._frozen = false;
        }
    }

    /// <summary>
    /// The forward pass recorded as one differentiable operation: x [N, in] → [N, out]. Gradients reach every
    /// weight and bias that requires one, and x when it does.
    /// </summary>
    [BypassReadyToRun]
    public Tensor Forward(Tensor x)
    {
        CheckInput(x, "Forward");
        int rows = x.Rows;
        int version = BeginForward(rows);
        Span<int> shape = stackalloc int[Math.Max(x.Rank, 1)];
        x.Shape.CopyTo(shape);
        shape[^1] = OutputSize;
        var output = Tensor.Uninitialized(shape);   // the last layer writes every element
        ForwardInto(x.Data, rows, output.Data);
        _recordInputs[0] = x;
        Graph.Record(output, "FusedMlp", _recordInputs, (Net: this, X: x, Output: output, Version: version, Rows: rows),
            [BypassReadyToRun] static (s) =>
        {
            s.Net.CheckVersion(s.Version);
            var x = s.X;
            var gx = x.RequiresGrad ? TensorArena.Allocate(x.Size) : [];
            s.Net.BackwardInto(x.Data, s.Output.Data, s.Output.Grad!.Data, s.Rows, gx);
            if (x.RequiresGrad)
            {
                x.AccumulateGrad(gx);
                TensorArena.Release(gx);
            }
        });
        _recordInputs[0] = null!;   // the node holds its own copy
        return output;
    }

    /// <summary>
    /// Two networks on the same input recorded as one operation, x [N, in] → [N, out₁ + out₂] (the first network's
    /// outputs, then the second's): a policy's actor and critic. Each network's forward and backward pass runs on its
    /// own core when <see cref="Kernels.MaxThreads"/> allows two and the networks are big enough to gain from it, and
    /// each is computed by one thread alone, so the result is the same bits whatever the thread count.
    /// </summary>
    public static Tensor ForwardPair(FusedMlp first, FusedMlp second, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        first.CheckInput(x, "ForwardPair");
        second.CheckInput(x, "ForwardPair");
        if (ReferenceEquals(first, second)) throw new ArgumentException("FusedMlp.ForwardPair: the two networks must be different instances.");
        int rows = x.Rows, a = first.OutputSize, b = second.OutputSize;
        int versionA = first.BeginForward(rows), versionB = second.BeginForward(rows);
        var outA = new float[rows * a];
        var outB = new float[rows * b];
        bool parallel = PairRunsInParallel(first, second, rows);
        Both(() => first.ForwardInto(x.Data, rows, outA), () => second.ForwardInto(x.Data, rows, outB), parallel);
        var output = Tensor.Uninitialized([.. x.Shape[..^1], a + b]);   // every row copied in whole below
        for (int r = 0; r < rows; r++)
        {
            outA.AsSpan(r * a, a).CopyTo(output.Data.AsSpan(r * (a + b), a));
            outB.AsSpan(r * b, b).CopyTo(output.Data.AsSpan(r * (a + b) + a, b));
        }
        return Graph.Record(output, "FusedMlpPair", [.. Inputs(x, first), .. Inputs(null, second)], () =>
        {
            first.CheckVersion(versionA);
            second.CheckVersion(versionB);
            var g = output.Grad!.Data;
            var gA = new float[rows * a];
            var gB = new float[rows * b];
            for (int r = 0; r < rows; r++)
            {
                g.AsSpan(r * (a + b), a).CopyTo(gA.AsSpan(r * a, a));
                g.AsSpan(r * (a + b) + a, b).CopyTo(gB.AsSpan(r * b, b));
            }
            // Separate input-gradient buffers: the two passes must not write the same memory.
            var dxA = x.RequiresGrad ? new float[x.Size] : [];
            var dxB = x.RequiresGrad ? new float[x.Size] : [];
            Both(() => first.BackwardInto(x.Data, outA, gA, rows, dxA), () => second.BackwardInto(x.Data, outB, gB, rows, dxB), parallel);
            if (x.RequiresGrad)
            {
                x.AccumulateGrad(dxA);
                x.AccumulateGrad(dxB);
            }
        });
    }

    /// <summary>
    /// Whether <see cref="ForwardPair"/> would run the two networks on two cores for <paramref name="rows"/> rows: a second
    /// thread pays for itself only when each pass has enough work to hide the hand-over (about 10 µs). When it would not,
    /// a caller may as well run <see cref="Forward"/> on each network (two recorded operations, the same bits, and no
    /// interleaved output to split again).
    /// </summary>
    public static bool PairRunsInParallel(FusedMlp first, FusedMlp second, int rows) =>
        Kernels.MaxThreads >= 2 && (long)rows * Math.Min(first.MultiplyAddsPerRow, second.MultiplyAddsPerRow) >= ParallelThreshold;

    /// <summary>Runs both actions, the second on another thread when <see cref="Kernels.MaxThreads"/> allows two; rethrows the first failure.</summary>
    private static void Both(Action first, Action second, bool parallel)
    {
        if (!parallel || Kernels.MaxThreads < 2)
        {
            first();
            second();
            return;
        }
        var other = Task.Run(second);
        try
        {
            first();
        }
        finally
        {
            other.GetAwaiter().GetResult();
        }
    }

    private static Tensor[] Inputs(Tensor? x, FusedMlp net)
    {
        var inputs = new List<Tensor>(1 + 2 * net._weights.Length);
        if (x is not null) inputs.Add(x);
        for (int l = 0; l < net._weights.Length; l++) { inputs.Add(net._weights[l]); inputs.Add(net._biases[l]); }
        return [.. inputs];
    }

    [BypassReadyToRun]
    private void CheckInput(Tensor x, string operation)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.LastDim != InputSize) throw new ArgumentException($"FusedMlp.{operation}: input of shape {Tensor.ShapeString(x.Shape)}; expected [N, {InputSize}].");
    }

    private void CheckVersion(int version)
    {
        if (version != _version)
            throw new InvalidOperationException("FusedMlp: the network was run forward again before this result's backward pass; call Backward on each loss before the next forward through the same network.");
    }

    /// <summary>Sizes the workspace for <paramref name="rows"/> rows and starts a new forward pass (its version).</summary>
    private int BeginForward(int rows)
    {
        if (rows != _workspaceRows)
        {
            _layerOutputs = AllocateOutputs(rows);
            _gradA = new float[rows * _maxWidth];
            _gradB = new float[rows * _maxWidth];
            _workspaceRows = rows;
        }
        return ++_version;
    }

    /// <summary>The forward pass into <paramref name="output"/>, keeping the hidden activations for <see cref="BackwardInto"/>.</summary>
    [BypassReadyToRun]
    private void ForwardInto(ReadOnlySpan<float> x, int rows, Span<float> output)
    {
        ReadOnlySpan<float> input = x;
        for (int l = 0; l < _weights.Length - 1; l++)
        {
            LayerForward(l, input, _layerOutputs[l], rows);
            input = _layerOutputs[l];
        }
        LayerForward(_weights.Length - 1, input, output, rows);
    }

    /// <summary>
    /// The backward pass: accumulates every weight's and bias's gradient from dLoss/d(output), and writes
    /// dLoss/dx into <paramref name="gradInput"/> unless it is empty.
    /// </summary>
    [BypassReadyToRun]
    private void BackwardInto(ReadOnlySpan<float> x, ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, int rows, Span<float> gradInput)
    {
        // Walk back through the layers: g holds dLoss/d(output of layer l).
        ReadOnlySpan<float> g = gradOutput;
        for (int l = _weights.Length - 1; l >= 0; l--)
        {
            int outSize = _weights[l].Shape[0], inSize = _weights[l].Shape[1];
            ReadOnlySpan<float> layerOutput = l == _weights.Length - 1 ? output : _layerOutputs[l];
            ReadOnlySpan<float> layerInput = l == 0 ? x : _layerOutputs[l - 1];
            // dz = g ⊙ f'(z), written from the output y = f(z).
            Span<float> dz = (l % 2 == 0 ? _gradA : _gradB).AsSpan(0, rows * outSize);
            bool activated = l < _weights.Length - 1 || _activateLast;
            // db += Σ_rows dz in the derivative's pass when there is one (the same bits as summing afterwards).
            bool biasWithDerivative = activated && _biases[l].RequiresGrad;
            if (biasWithDerivative) _activation.DerivativeWithBiasGradient(layerOutput[..(rows * outSize)], g[..(rows * outSize)], dz, _biases[l].GradBuffer(), outSize);
            else if (activated) _activation.Derivative!(layerOutput[..(rows * outSize)], g[..(rows * outSize)], dz);
            else g[..(rows * outSize)].CopyTo(dz);

            if (_weights[l].RequiresGrad) Kernels.MatMul(dz, layerInput, _weights[l].GradBuffer(), outSize, rows, inSize, transposeA: true, accumulate: true);  // dW += dzᵀ·x
            if (_biases[l].RequiresGrad && !biasWithDerivative) Kernels.SumRows(dz, _biases[l].GradBuffer(), outSize, accumulate: true);                        // db += Σ_rows dz
            if (l > 0)
            {
                Span<float> gIn = (l % 2 == 0 ? _gradB : _gradA).AsSpan(0, rows * inSize);
                Kernels.MatMul(dz, _weights[l].Data, gIn, rows, outSize, inSize);                                                                                // dx = dz·W
                g = gIn;
            }
            else if (!gradInput.IsEmpty)
            {
                Kernels.MatMul(dz, _weights[0].Data, gradInput, rows, outSize, inSize);
            }
        }
    }

    private float[][] AllocateOutputs(int rows)
    {
        var outputs = new float[_weights.Length][];
        for (int l = 0; l < _weights.Length; l++) outputs[l] = new float[rows * _weights[l].Shape[0]];
        return outputs;
    }

    [BypassReadyToRun]
    private void LayerForward(int layer, ReadOnlySpan<float> x, Span<float> y, int rows, float[]? transposedWeight = null)
    {
        int outSize = _weights[layer].Shape[0], inSize = _weights[layer].Shape[1];
        var bias = _biases[layer].Data.AsSpan();
        bool activated = layer < _weights.Length - 1 || _activateLast;
        // An activated layer of one block of depth writes its product alone and adds the bias in the activation's pass:
        // b + Σ is then the same single rounded addition as when the product accumulates onto rows of b (more depth
        // blocks add their partial sums to b one after another, so they keep that order).
        bool biasWithActivation = activated && inSize <= Kernels.KC;
        if (!biasWithActivation) Kernels.BroadcastRows(bias, y, rows);
        if (transposedWeight is null) Kernels.MatMul(x, _weights[layer].Data, y, rows, inSize, outSize, transposeB: true, accumulate: !biasWithActivation);   // y = b + x·Wᵀ
        else Kernels.MatMul(x, transposedWeight, y, rows, inSize, outSize, accumulate: !biasWithActivation);                                                  // the same, Wᵀ stored
        if (biasWithActivation) _activation.ActivateWithBias(y[..(rows * outSize)], bias, rows);
        else if (activated) _activation.Kernel!(y[..(rows * outSize)]);
    }
}
