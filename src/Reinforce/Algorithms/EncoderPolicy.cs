using Reinforce.Autograd;
using Reinforce.Nn;
using Reinforce.Spaces;
using Reinforce.Tensors;

namespace Reinforce.Algorithms;

/// <summary>
/// An actor-critic policy whose observations pass through encoders chosen from the observation layout, as
/// Stable-Baselines3's <c>MlpPolicy</c>/<c>CnnPolicy</c>/<c>MultiInputPolicy</c> choose their features extractor: a
/// vector part goes in as it is, an image part ([C, H, W], or [H, W, C] recognised by SB3's rule that the channel axis is
/// the smallest) through a CNN (Nature CNN, or the small CNN of MinAtar's baselines for small images), and the features
/// of every part are concatenated (one encoder per key of a Dict observation). Optionally a recurrent layer (LSTM or GRU,
/// <c>lstm_hidden_size</c>) follows, shared by actor and critic as in CleanRL's ppo_atari_lstm; then the MLP actor and
/// critic and the action head of <see cref="ActorCriticPolicy"/> (registered as <c>head</c>), which also applies action masks.
/// </summary>
/// <remarks>
/// Children: <c>features_extractor.{part}</c> (a <see cref="Cnn"/> per image part), <c>lstm</c> (PyTorch's names:
/// weight_ih_l0, ...), <c>head</c>. Acting (<see cref="Act"/>) runs allocation-free kernels; training goes through
/// <see cref="EvaluateActions"/> (feed-forward) or <see cref="EvaluateSequences"/> (recurrent: whole sequences from
/// their stored initial state, reset at episode starts).
/// </remarks>
public sealed class EncoderPolicy : TrainablePolicy
{
    /// <summary>The values the <c>cnn</c> setting accepts.</summary>
    public static readonly IReadOnlyList<string> CnnChoices = ["auto", "nature", "small", "flatten"];

    private readonly Encoder[] _encoders;
    private readonly ActorCriticPolicy _head;
    private readonly RecurrentLayer? _memory;
    private readonly float _imageScale;
    // Inference scratch, grown to the largest batch.
    private float[] _features = [], _partInput = [], _partOutput = [], _gates = [], _hiddenGates = [], _layerInput = [], _valueState = [];

    /// <summary>How one observation part is encoded (a null network: the part goes in as its flat values).</summary>
    internal sealed record Encoder(ObservationBlock Part, Cnn? Network, bool ChannelsLast, int Channels, int Height, int Width, int FeatureOffset, int FeatureSize);

    /// <summary>Builds the encoders for <paramref name="layout"/>, the optional recurrent layer and the actor-critic head for <paramref name="actionSpace"/>.</summary>
    public EncoderPolicy(ObservationLayout layout, Space actionSpace, PolicyOptions options, bool withCritic, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(actionSpace);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rng);
        options.Validate();
        Options = options.Clone();
        ObservationLayout = layout;
        ActionSpace = actionSpace;
        _imageScale = options.NormalizeImages ? 1f / 255f : 1f;
        string cnn = options.Cnn.Trim().ToLowerInvariant();
        bool anyImage = layout.Blocks.Any(p => p.Shape.Length == 3);
        if (!anyImage && cnn is "nature" or "small")
            throw new ConfigurationException("policy.cnn",
                $"is '{cnn}', an image encoder, but the observation has no image part: it is {layout} (a vector). " +
                "Remove policy.cnn (or set it to auto) for vector observations; a CNN needs observations shaped [C, H, W] or [H, W, C].");

        var extractor = new FeatureExtractor();
        var encoders = new List<Encoder>();
        int offset = 0;
        foreach (var part in layout.Blocks)
        {
            Cnn? network = null;
            bool channelsLast = false;
            int c = 0, h = 0, w = 0, size = part.Length;
            if (part.Shape.Length == 3 && cnn != "flatten")
            {
                // SB3's is_image_space_channels_first: the channel axis is the smallest of the three.
                channelsLast = part.Shape[2] < part.Shape[0];
                (c, h, w) = channelsLast ? (part.Shape[2], part.Shape[0], part.Shape[1]) : (part.Shape[0], part.Shape[1], part.Shape[2]);
                string kind = cnn == "auto" ? (h >= 36 && w >= 36 ? "nature" : "small") : cnn;
                try
                {
                    network = kind == "nature"
                        ? Cnn.Nature(c, h, w, rng, options.FeaturesDim > 0 ? options.FeaturesDim : 512)
                        : Cnn.Small(c, h, w, rng, options.FeaturesDim > 0 ? options.FeaturesDim : 128);
                }
                catch (ArgumentException e)
                {
                    throw new ConfigurationException("policy.cnn",
                        $"is '{cnn}', but the observation part '{PartName(part)}' of shape [{string.Join(", ", part.Shape)}] is too small for the {kind} CNN ({e.Message}). " +
                        "Use cnn: small for small images such as MinAtar's 10x10, or resize the images.");
                }
                extractor.Add(PartName(part).Replace('.', '_'), network);
                size = network.FeaturesDim;
            }
            encoders.Add(new Encoder(part, network, channelsLast, c, h, w, offset, size));
            offset += size;
        }
        _encoders = [.. encoders];
        FeatureSize = offset;
        if (extractor.Count > 0) RegisterModule("features_extractor", extractor);
        int headInput = FeatureSize;
        if (options.LstmHiddenSize > 0)
        {
            _memory = options.RecurrentKind == RecurrentKind.Gru
                ? new Gru(FeatureSize, options.LstmHiddenSize, rng, options.LstmLayers)
                : new Lstm(FeatureSize, options.LstmHiddenSize, rng, options.LstmLayers);
            // CleanRL's ppo_atari_lstm: orthogonal weights, zero biases.
            for (int l = 0; l < _memory.NumLayers; l++)
            {
                Init.Orthogonal(_memory.WeightIh(l).Value, 1f, rng);
                Init.Orthogonal(_memory.WeightHh(l).Value, 1f, rng);
                Init.Zeros(_memory.BiasIh(l).Value);
                Init.Zeros(_memory.BiasHh(l).Value);
            }
            RegisterModule("lstm", _memory);
            headInput = options.LstmHiddenSize;
        }
        _head = RegisterModule("head", new ActorCriticPolicy(headInput, actionSpace, options, withCritic, rng));
    }

    /// <summary>The settings the network was built with.</summary>
    public PolicyOptions Options { get; }

    /// <inheritdoc/>
    public override ObservationLayout ObservationLayout { get; }

    /// <inheritdoc/>
    public override Space ActionSpace { get; }

    /// <summary>Width of the concatenated features (before the recurrent layer).</summary>
    public int FeatureSize { get; }

    /// <summary>The recurrent layer (null without memory).</summary>
    public RecurrentLayer? Memory => _memory;

    /// <summary>The actor-critic MLPs and action head on top of the features.</summary>
    public ActorCriticPolicy Head => _head;

    /// <summary>The CNN of image part <paramref name="partName"/> (null for a vector part).</summary>
    public Cnn? ImageEncoder(string partName) => _encoders.FirstOrDefault(e => PartName(e.Part) == partName)?.Network;

    /// <summary>The encoder of every observation part, in the order their features are concatenated.</summary>
    internal IReadOnlyList<Encoder> Encoders => _encoders;

    /// <summary>The factor image parts are multiplied by before their CNN (1/255 with normalize_images, else 1).</summary>
    internal float ImageScale => _imageScale;

    /// <summary>A block's name: its Dict key, or "obs" for a plain observation.</summary>
    private static string PartName(ObservationBlock block) => block.Key.Length == 0 ? "obs" : block.Key;

    /// <inheritdoc/>
    public override int DiscreteActionSize => _head.DiscreteActionSize;

    /// <inheritdoc/>
    public override int ContinuousActionSize => _head.ContinuousActionSize;

    /// <inheritdoc/>
    public override int ActionMaskSize => _head.ActionMaskSize;

    /// <inheritdoc/>
    public override bool HasCritic => _head.HasCritic;

    /// <inheritdoc/>
    public override bool IsRecurrent => _memory is not null;

    /// <inheritdoc/>
    public override Parameter? LogStd => _head.LogStd;

    /// <inheritdoc/>
    public override PolicyState CreateState(int copies) =>
        _memory is null ? PolicyState.None : new RecurrentPolicyState(_memory.StateNames, _memory.NumLayers, copies, _memory.HiddenSize);

    /// <inheritdoc/>
    public override void OnRolloutStep(int step, int rows, Rng rng) => _head.OnRolloutStep(step, rows, rng);

    /// <inheritdoc/>
    public override void ToEnvironmentActions(ReadOnlySpan<float> sampled, Span<float> environmentActions) => _head.ToEnvironmentActions(sampled, environmentActions);

    // ------------------------------------------------------------------ acting (allocation-free)

    /// <inheritdoc/>
    public override void Act(in ObservationBatch observations, PolicyState state, ReadOnlySpan<bool> actionMask, Rng rng, bool deterministic, in ActionBatch output)
    {
        int rows = observations.Rows;
        var features = Encode(observations);
        if (_memory is not null) features = MemoryStep(features, rows, RequireState(state, rows), advance: true);
        _head.Act(features, rows, actionMask, rng, deterministic, output);
    }

    /// <inheritdoc/>
    public override void PredictValues(in ObservationBatch observations, PolicyState state, Span<float> values)
    {
        int rows = observations.Rows;
        var features = Encode(observations);
        if (_memory is not null)
        {
            // A batch of the state's own rows uses their memory; any other batch (a single final observation) a fresh one.
            var recurrent = state as RecurrentPolicyState;
            features = MemoryStep(features, rows, recurrent is not null && recurrent.Copies == rows ? recurrent : null, advance: false);
        }
        _head.PredictValuesFeatures(features, rows, values);
    }

    private RecurrentPolicyState RequireState(PolicyState state, int rows)
    {
        if (state is RecurrentPolicyState r && r.Copies == rows && r.Hidden == _memory!.HiddenSize && r.Layers == _memory.NumLayers && r.Names.Count == _memory.StateCount)
            return r;
        throw new ArgumentException(
            $"EncoderPolicy: this policy is recurrent ({_memory!.Kind}, {_memory.NumLayers} layer(s) of {_memory.HiddenSize}) and needs its memory: pass the state made by " +
            $"CreateState({rows}) (one per stream of observations, kept between calls), not {(state is RecurrentPolicyState s ? $"a state of {s.Copies} copies with {s.Layers}x{s.Hidden} units" : "a stateless one")}.",
            nameof(state));
    }

    /// <summary>The encoders' features for every row, [rows, FeatureSize], in scratch.</summary>
    private ReadOnlySpan<float> Encode(in ObservationBatch observations)
    {
        CheckObservations(observations);
        int rows = observations.Rows;
        if (_encoders.Length == 1 && _encoders[0].Network is null) return observations.Data;
        Grow(ref _features, rows * FeatureSize);
        foreach (var e in _encoders)
        {
            int size = e.Part.Length;
            if (e.Network is null)
            {
                for (int r = 0; r < rows; r++) observations.Block(r, e.Part).CopyTo(_features.AsSpan(r * FeatureSize + e.FeatureOffset, size));
                continue;
            }
            Grow(ref _partInput, rows * size);
            Grow(ref _partOutput, rows * e.FeatureSize);
            for (int r = 0; r < rows; r++) ToChannelsFirst(observations.Block(r, e.Part), _partInput.AsSpan(r * size, size), e);
            e.Network.Infer(_partInput.AsSpan(0, rows * size), rows, _partOutput.AsSpan(0, rows * e.FeatureSize));
            for (int r = 0; r < rows; r++) _partOutput.AsSpan(r * e.FeatureSize, e.FeatureSize).CopyTo(_features.AsSpan(r * FeatureSize + e.FeatureOffset, e.FeatureSize));
        }
        return _features.AsSpan(0, rows * FeatureSize);
    }

    /// <summary>One image to [C, H, W], scaled.</summary>
    private void ToChannelsFirst(ReadOnlySpan<float> image, Span<float> destination, Encoder e)
    {
        if (!e.ChannelsLast)
        {
            if (_imageScale == 1f) image.CopyTo(destination);
            else System.Numerics.Tensors.TensorPrimitives.Multiply(image, _imageScale, destination);
            return;
        }
        int plane = e.Height * e.Width;
        for (int p = 0; p < plane; p++)
            for (int ch = 0; ch < e.Channels; ch++) destination[ch * plane + p] = image[p * e.Channels + ch] * _imageScale;
    }

    /// <summary>One recurrent step for every row from <paramref name="state"/> (zeros when null); writes the new state back when <paramref name="advance"/>. Returns the last layer's h.</summary>
    private ReadOnlySpan<float> MemoryStep(ReadOnlySpan<float> features, int rows, RecurrentPolicyState? state, bool advance)
    {
        var m = _memory!;
        int hidden = m.HiddenSize, gates = m.Kind == RecurrentKind.Lstm ? 4 : 3, layerSize = rows * hidden;
        Grow(ref _gates, rows * gates * hidden);
        Grow(ref _hiddenGates, rows * gates * hidden);
        Grow(ref _layerInput, Math.Max(rows * FeatureSize, layerSize));
        Grow(ref _valueState, m.StateCount * m.NumLayers * layerSize);
        // Work on a copy of the state when it must not advance.
        var h = state is not null && advance ? state.Tensors[0].AsSpan() : _valueState.AsSpan(0, m.NumLayers * layerSize);
        var c = m.StateCount == 2 ? (state is not null && advance ? state.Tensors[1].AsSpan() : _valueState.AsSpan(m.NumLayers * layerSize, m.NumLayers * layerSize)) : default;
        if (!advance || state is null)
        {
            if (state is null) { h.Clear(); c.Clear(); }
            else
            {
                state.Tensors[0].CopyTo(h);
                if (!c.IsEmpty) state.Tensors[1].CopyTo(c);
            }
        }
        ReadOnlySpan<float> input = features;
        int inputSize = FeatureSize;
        for (int l = 0; l < m.NumLayers; l++)
        {
            var hl = h.Slice(l * layerSize, layerSize);
            var g = _gates.AsSpan(0, rows * gates * hidden);
            Kernels.LinearForward(input[..(rows * inputSize)], m.WeightIh(l).Value.Data, m.BiasIh(l).Value.Data, g, rows, inputSize, gates * hidden);
            if (m.Kind == RecurrentKind.Lstm)
            {
                var hg = _hiddenGates.AsSpan(0, rows * gates * hidden);
                Kernels.LinearForward(hl, m.WeightHh(l).Value.Data, m.BiasHh(l).Value.Data, hg, rows, hidden, gates * hidden);
                System.Numerics.Tensors.TensorPrimitives.Add(g, hg, g);
                var cl = c.Slice(l * layerSize, layerSize);
                Kernels.LstmPointwise(g, cl, cl, hl, rows, hidden);
            }
            else
            {
                var hg = _hiddenGates.AsSpan(0, rows * gates * hidden);
                Kernels.LinearForward(hl, m.WeightHh(l).Value.Data, m.BiasHh(l).Value.Data, hg, rows, hidden, gates * hidden);
                Kernels.GruPointwise(g, hg, hl, hl, rows, hidden);
            }
            hl.CopyTo(_layerInput);
            input = _layerInput.AsSpan(0, layerSize);
            inputSize = hidden;
        }
        return input;
    }

    private static void Grow(ref float[] buffer, int size)
    {
        if (buffer.Length < size) buffer = new float[size];
    }

    // ------------------------------------------------------------------ training (recorded)

    /// <summary>The encoders' features [N, FeatureSize] for observation rows [N, RowSize], recorded for backpropagation.</summary>
    public Tensor Features(Tensor observations)
    {
        ArgumentNullException.ThrowIfNull(observations);
        if (observations.Rank != 2 || observations.Shape[1] != ObservationLayout.Size)
            throw new ArgumentException($"EncoderPolicy: observations of shape {Tensor.ShapeString(observations.Shape)} do not match the layout {ObservationLayout}: expected [N, {ObservationLayout.Size}].");
        if (_encoders.Length == 1 && _encoders[0].Network is null) return observations;
        int rows = observations.Shape[0];
        var parts = new Tensor[_encoders.Length];
        for (int i = 0; i < _encoders.Length; i++)
        {
            var e = _encoders[i];
            var x = _encoders.Length == 1 ? observations : Ops.Slice(observations, e.Part.Offset, e.Part.Length);
            if (e.Network is null) { parts[i] = x; continue; }
            x = e.ChannelsLast
                ? Ops.Permute(Ops.Reshape(x, rows, e.Height, e.Width, e.Channels), 0, 3, 1, 2)
                : Ops.Reshape(x, rows, e.Channels, e.Height, e.Width);
            if (_imageScale != 1f) x = Ops.MulScalar(x, _imageScale);
            parts[i] = e.Network.Forward(x);
        }
        return parts.Length == 1 ? parts[0] : Ops.Concat(parts);
    }

    /// <inheritdoc/>
    internal override (ActorCriticPolicy Head, Tensor Features)? CategoricalHead(Tensor observations) =>
        _memory is null && _head.Kind == ActionHeadKind.Categorical && _head.HasCritic ? (_head, Features(observations)) : null;

    /// <inheritdoc/>
    public override PolicyEvaluation EvaluateActions(Tensor observations, ReadOnlySpan<int> discreteActions, Tensor? continuousActions, ReadOnlySpan<bool> actionMask = default)
    {
        if (_memory is not null)
            throw new InvalidOperationException(
                "EncoderPolicy: this policy is recurrent, so its actions must be evaluated over whole sequences from their initial state (EvaluateSequences); " +
                "train it with recurrent_ppo instead of ppo/a2c, or set policy.lstm_hidden_size to 0.");
        return _head.EvaluateActions(Features(observations), discreteActions, continuousActions, actionMask);
    }

    /// <summary>
    /// log π(a|s), entropy and V(s) for <paramref name="envs"/> whole sequences of <paramref name="steps"/> steps, rows ordered
    /// step-major ([steps × envs] rows of observations, actions, masks), run through the recurrent layer from
    /// <paramref name="initialState"/> (one tensor per state name, each [layers, envs, hidden]) and reset to zero before the
    /// steps flagged in <paramref name="episodeStarts"/> ([steps × envs]); recorded for backpropagation.
    /// </summary>
    public PolicyEvaluation EvaluateSequences(Tensor observations, int steps, int envs, IReadOnlyList<Tensor> initialState, ReadOnlySpan<float> episodeStarts,
        ReadOnlySpan<int> discreteActions, Tensor? continuousActions, ReadOnlySpan<bool> actionMask = default)
    {
        ArgumentNullException.ThrowIfNull(observations);
        if (_memory is null) throw new InvalidOperationException("EncoderPolicy.EvaluateSequences: the policy has no recurrent layer (policy.lstm_hidden_size is 0); use EvaluateActions.");
        if (observations.Rank != 2 || observations.Shape[0] != steps * envs)
            throw new ArgumentException($"EvaluateSequences: observations of shape {Tensor.ShapeString(observations.Shape)} are not [steps {steps} × envs {envs}, {ObservationLayout.Size}].");
        var features = Features(observations);
        var (output, _) = _memory.Forward(Ops.Reshape(features, steps, envs, FeatureSize), initialState, episodeStarts);
        return _head.EvaluateActions(Ops.Reshape(output, steps * envs, _memory.HiddenSize), discreteActions, continuousActions, actionMask);
    }

    /// <summary>The Cnn modules by observation part (a module with one child per image part, named by the part).</summary>
    private sealed class FeatureExtractor : Module
    {
        public int Count { get; private set; }

        public void Add(string name, Cnn network)
        {
            RegisterModule(name, network);
            Count++;
        }
    }
}
