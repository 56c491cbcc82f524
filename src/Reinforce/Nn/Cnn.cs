using Reinforce.Autograd;
using Reinforce.Tensors;

namespace Reinforce.Nn;

/// <summary>One convolution of a <see cref="Cnn"/>: output channels, square kernel, stride and padding.</summary>
public readonly record struct ConvLayerSpec(int Channels, int Kernel, int Stride = 1, int Padding = 0);

/// <summary>
/// A convolutional feature extractor over NCHW images: convolutions each followed by ReLU, flattened, then one Linear
/// layer to <see cref="FeaturesDim"/> features and ReLU. Children are named as Stable-Baselines3's <c>NatureCNN</c>
/// (<c>cnn.0.weight</c>, <c>cnn.2.weight</c>, ..., <c>linear.0.weight</c>), so its state dict maps one to one.
/// Weights are orthogonal with gain √2 and biases zero (SB3's and CleanRL's initialisation of the extractor).
/// Besides <see cref="Module.Forward(Tensor)"/> (recorded for training) it has an inference pass,
/// <see cref="Infer"/>, that writes into the caller's buffer and allocates nothing once warm (the rollout loop's path).
/// </summary>
public sealed class Cnn : Module
{
    private readonly Conv2d[] _convs;
    private readonly Linear _linear;
    private readonly Conv2dGeometry[] _geometry;   // per layer, for batch 1
    private float[] _a = [], _b = [];

    /// <param name="inChannels">Channels of the input image (C of NCHW).</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="layers">The convolutions, first to last.</param>
    /// <param name="featuresDim">Width of the output features (the Linear layer after flattening).</param>
    /// <param name="rng">Draws the initial weights.</param>
    public Cnn(int inChannels, int height, int width, IReadOnlyList<ConvLayerSpec> layers, int featuresDim, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(featuresDim);
        if (layers.Count == 0) throw new ArgumentException("Cnn: at least one convolution is needed.", nameof(layers));
        InChannels = inChannels;
        Height = height;
        Width = width;
        FeaturesDim = featuresDim;
        var cnn = RegisterModule("cnn", new Sequential());
        _convs = new Conv2d[layers.Count];
        _geometry = new Conv2dGeometry[layers.Count];
        int c = inChannels, h = height, w = width;
        for (int i = 0; i < layers.Count; i++)
        {
            var s = layers[i];
            var conv = new Conv2d(c, s.Channels, s.Kernel, rng, s.Stride, s.Padding);
            _geometry[i] = conv.Geometry(1, h, w);
            try { _geometry[i].Validate($"Cnn layer {i}"); }
            catch (ArgumentException e)
            {
                throw new ArgumentException(
                    $"Cnn: an image of {inChannels}x{height}x{width} (CxHxW) is too small for this network at layer {i} ({e.Message}). " +
                    "Use a CNN meant for small images (cnn: \"small\", as for MinAtar's 10x10) or resize the observations.", nameof(height), e);
            }
            Init.Orthogonal(conv.Weight.Value, MathF.Sqrt(2f), rng);
            Init.Zeros(conv.Bias!.Value);
            _convs[i] = conv;
            cnn.Add(conv).Add(new ActivationLayer(Activation.Relu));
            (c, h, w) = (s.Channels, _geometry[i].OutHeight, _geometry[i].OutWidth);
        }
        cnn.Add(new Flatten());
        FlattenedSize = c * h * w;
        _linear = Init.OrthogonalLayer(new Linear(FlattenedSize, featuresDim, rng), MathF.Sqrt(2f), rng);
        RegisterModule("linear", new Sequential(_linear, new ActivationLayer(Activation.Relu)));
    }

    /// <summary>Mnih et al. (2015)'s network as SB3's <c>NatureCNN</c>: 32 8x8 stride 4, 64 4x4 stride 2, 64 3x3 stride 1, then <paramref name="featuresDim"/> (512).</summary>
    public static Cnn Nature(int inChannels, int height, int width, Rng rng, int featuresDim = 512) =>
        new(inChannels, height, width, [new(32, 8, 4), new(64, 4, 2), new(64, 3, 1)], featuresDim, rng);

    /// <summary>The small network of MinAtar's baselines (Young and Tian 2019) for 10x10 images: 16 3x3 stride 1, then <paramref name="featuresDim"/> (128).</summary>
    public static Cnn Small(int inChannels, int height, int width, Rng rng, int featuresDim = 128) =>
        new(inChannels, height, width, [new(16, 3, 1)], featuresDim, rng);

    public int InChannels { get; }
    public int Height { get; }
    public int Width { get; }

    /// <summary>Width of the output features.</summary>
    public int FeaturesDim { get; }

    /// <summary>Width of the flattened convolution output (the Linear layer's input).</summary>
    public int FlattenedSize { get; }

    /// <summary>The convolutions, first to last.</summary>
    public IReadOnlyList<Conv2d> Convolutions => _convs;

    /// <summary>The Linear layer after flattening.</summary>
    public Linear Projection => _linear;

    /// <summary>x [N, C, H, W] → features [N, FeaturesDim], recorded for backpropagation.</summary>
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckShape(x.Shape);
        var h = x;
        foreach (var conv in _convs) h = Ops.Relu(conv.Forward(h));
        return Ops.Relu(_linear.Forward(Ops.Flatten(h)));
    }

    /// <summary>
    /// The same numbers as <see cref="Forward"/> for <paramref name="batch"/> images laid out NCHW in
    /// <paramref name="x"/>, written to <paramref name="features"/> [batch, FeaturesDim], without recording and without
    /// allocating once the buffers have grown to the batch.
    /// </summary>
    public void Infer(ReadOnlySpan<float> x, int batch, Span<float> features)
    {
        int imageSize = InChannels * Height * Width;
        if (batch < 0 || x.Length != batch * imageSize)
            throw new ArgumentException($"Cnn.Infer: {x.Length} floats are not {batch} images of {InChannels}x{Height}x{Width} (CxHxW, {imageSize} floats each).");
        if (features.Length != batch * FeaturesDim)
            throw new ArgumentException($"Cnn.Infer: the output holds {features.Length} floats but {batch} rows of {FeaturesDim} are needed.");
        int largest = 0;
        foreach (var g in _geometry) largest = Math.Max(largest, g.OutputImageSize);
        if (_a.Length < batch * largest) { _a = new float[batch * largest]; _b = new float[batch * largest]; }
        ReadOnlySpan<float> input = x;
        Span<float> output = default;
        for (int i = 0; i < _convs.Length; i++)
        {
            var g = _geometry[i] with { Batch = batch };
            output = (i % 2 == 0 ? _a : _b).AsSpan(0, (int)g.OutputSize);
            Kernels.Conv2dForward(input, _convs[i].Weight.Value.Data, _convs[i].Bias!.Value.Data, output, g);
            System.Numerics.Tensors.TensorPrimitives.Max(output, 0f, output);
            input = output;
        }
        Kernels.LinearForward(input, _linear.Weight.Value.Data, _linear.Bias!.Value.Data, features, batch, FlattenedSize, FeaturesDim);
        System.Numerics.Tensors.TensorPrimitives.Max(features, 0f, features);
    }

    private void CheckShape(int[] shape)
    {
        if (shape.Length != 4 || shape[1] != InChannels || shape[2] != Height || shape[3] != Width)
            throw new ArgumentException(
                $"Cnn: input shape {Tensor.ShapeString(shape)} does not match the network's images [N, {InChannels}, {Height}, {Width}] (NCHW). " +
                "Images stored HWC must be transposed to CHW first (the image encoders do this from the observation space).");
    }
}
