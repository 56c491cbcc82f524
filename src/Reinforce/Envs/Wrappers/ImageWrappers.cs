using Reinforce.Spaces;

namespace Reinforce.Envs.Wrappers;

/// <summary>
/// A wrapper that changes observations (and possibly their type), Gymnasium's <c>ObservationWrapper</c>: override
/// <see cref="Observation"/>; reset and step results pass through it.
/// </summary>
public abstract class ObservationWrapper<TInner, TObservation, TAction> : IEnvironment<TObservation, TAction>, IWrapper
{
    /// <summary>Wraps <paramref name="inner"/>.</summary>
    protected ObservationWrapper(IEnvironment<TInner, TAction> inner) => Inner = inner ?? throw new ArgumentNullException(nameof(inner));

    /// <summary>The wrapped environment.</summary>
    public IEnvironment<TInner, TAction> Inner { get; }

    /// <inheritdoc/>
    public IEnvironment InnerEnvironment => Inner;

    /// <inheritdoc/>
    public string Name => Inner.Name;

    /// <inheritdoc/>
    public abstract Space ObservationSpace { get; }

    /// <inheritdoc/>
    public Space ActionSpace => Inner.ActionSpace;

    /// <summary>Turns an observation of the wrapped environment into this wrapper's.</summary>
    protected abstract TObservation Observation(TInner observation, bool reset);

    /// <inheritdoc/>
    public (TObservation Observation, StepInfo Info) Reset(int? seed = null)
    {
        var (obs, info) = Inner.Reset(seed);
        return (Observation(obs, reset: true), info);
    }

    /// <inheritdoc/>
    public Step<TObservation> Step(TAction action)
    {
        var step = Inner.Step(action);
        return new Step<TObservation>(Observation(step.Observation, reset: false), step.Reward, step.Terminated, step.Truncated, step.Info);
    }

    /// <summary>The wrapped environment's image space, or a clear error naming what it is instead.</summary>
    protected static ByteBox RequireImage(IEnvironment inner, string wrapper)
    {
        if (inner.ObservationSpace is ByteBox { IsImage: true } image) return image;
        throw new ArgumentException($"{inner.Name}: {wrapper} needs image observations (a ByteBox with three axes, e.g. ByteBox.Image(3, 210, 160)), but the observation space is {inner.ObservationSpace}.", nameof(inner));
    }

    /// <summary>Checks the length of an image from the wrapped environment.</summary>
    protected void CheckLength(int length, Space space)
    {
        if (length != space.FlatSize) throw new InvalidOperationException($"{Name}: the observation has {length} values but the observation space {space} has {space.FlatSize}; return observations of the declared shape.");
    }

    /// <inheritdoc/>
    public override string ToString() => $"{GetType().Name.Split('`')[0]}<{Inner}>";
}

/// <summary>
/// Turns channels-last images ([H, W, C], as most renderers produce) into channels-first ([C, H, W]), the order the CNN
/// encoders read (SB3's <c>VecTransposeImage</c>). This is the one place transposition happens: environments that
/// already emit CHW (MinAtar, the wrappers below) need nothing.
/// </summary>
public sealed class TransposeImage<TAction> : ObservationWrapper<byte[], byte[], TAction>
{
    private readonly ByteBox _inner;
    private readonly ByteBox _space;

    /// <summary>Transposes the images of <paramref name="inner"/>, whose space must be a channels-last ByteBox.</summary>
    public TransposeImage(IEnvironment<byte[], TAction> inner) : base(inner)
    {
        _inner = RequireImage(inner, "TransposeImage");
        if (_inner.Layout != ImageLayout.ChannelsLast) throw new ArgumentException($"{inner.Name}: the images are already channels-first ({_inner}); TransposeImage is for [H, W, C] images.", nameof(inner));
        _space = new ByteBox(_inner.Low, _inner.High, [_inner.Channels, _inner.Height, _inner.Width]);
    }

    /// <inheritdoc/>
    public override Space ObservationSpace => _space;

    /// <inheritdoc/>
    protected override byte[] Observation(byte[] observation, bool reset)
    {
        CheckLength(observation.Length, _inner);
        int c = _inner.Channels, h = _inner.Height, w = _inner.Width;
        var result = new byte[observation.Length];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int k = 0; k < c; k++) result[(k * h + y) * w + x] = observation[(y * w + x) * c + k];
        return result;
    }
}

/// <summary>
/// Converts RGB images to one luminance channel, <c>0.2125 R + 0.7154 G + 0.0721 B</c> truncated to a byte, as
/// Gymnasium's <c>GrayscaleObservation</c>; the result is [1, H, W] (channels first) whatever the input order.
/// </summary>
public sealed class GrayscaleObservation<TAction> : ObservationWrapper<byte[], byte[], TAction>
{
    private readonly ByteBox _inner;
    private readonly ByteBox _space;

    /// <summary>Converts the RGB images of <paramref name="inner"/> (a ByteBox with 3 channels, CHW or HWC).</summary>
    public GrayscaleObservation(IEnvironment<byte[], TAction> inner) : base(inner)
    {
        _inner = RequireImage(inner, "GrayscaleObservation");
        if (_inner.Channels != 3) throw new ArgumentException($"{inner.Name}: GrayscaleObservation needs RGB images (3 channels), but {_inner} has {_inner.Channels}.", nameof(inner));
        _space = new ByteBox(0, 255, [1, _inner.Height, _inner.Width]);
    }

    /// <inheritdoc/>
    public override Space ObservationSpace => _space;

    /// <inheritdoc/>
    protected override byte[] Observation(byte[] observation, bool reset)
    {
        CheckLength(observation.Length, _inner);
        int pixels = _inner.Height * _inner.Width;
        var result = new byte[pixels];
        bool last = _inner.Layout == ImageLayout.ChannelsLast;
        for (int p = 0; p < pixels; p++)
        {
            int r = last ? observation[3 * p] : observation[p];
            int g = last ? observation[3 * p + 1] : observation[pixels + p];
            int b = last ? observation[3 * p + 2] : observation[2 * pixels + p];
            result[p] = (byte)(0.2125 * r + 0.7154 * g + 0.0721 * b);
        }
        return result;
    }
}

/// <summary>
/// Resizes images to <see cref="Height"/>×<see cref="Width"/> by area averaging (each output pixel the mean of the input
/// area it covers, with fractional edges, like OpenCV's INTER_AREA that Gymnasium's <c>ResizeObservation</c> uses for
/// shrinking), rounded to the nearest byte. Keeps the channel order of the input.
/// </summary>
public sealed class ResizeObservation<TAction> : ObservationWrapper<byte[], byte[], TAction>
{
    private readonly ByteBox _inner;
    private readonly ByteBox _space;
    private readonly (int From, int To, double[] Weights)[] _rows;
    private readonly (int From, int To, double[] Weights)[] _columns;

    /// <summary>Resizes the images of <paramref name="inner"/> to <paramref name="height"/>×<paramref name="width"/> (84×84 for Atari).</summary>
    public ResizeObservation(IEnvironment<byte[], TAction> inner, int height, int width) : base(inner)
    {
        _inner = RequireImage(inner, "ResizeObservation");
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height), $"ResizeObservation needs a positive size; got {height}x{width}.");
        Height = height;
        Width = width;
        _space = _inner.Layout == ImageLayout.ChannelsFirst
            ? new ByteBox(_inner.Low, _inner.High, [_inner.Channels, height, width])
            : new ByteBox(_inner.Low, _inner.High, [height, width, _inner.Channels], ImageLayout.ChannelsLast);
        _rows = AreaWeights(_inner.Height, height);
        _columns = AreaWeights(_inner.Width, width);
    }

    /// <summary>The output height.</summary>
    public int Height { get; }

    /// <summary>The output width.</summary>
    public int Width { get; }

    /// <inheritdoc/>
    public override Space ObservationSpace => _space;

    /// <summary>For each output index, the input range it covers and each input's share of it (summing to 1).</summary>
    private static (int, int, double[])[] AreaWeights(int input, int output)
    {
        var result = new (int, int, double[])[output];
        double scale = (double)input / output;
        for (int o = 0; o < output; o++)
        {
            double start = o * scale, end = (o + 1) * scale;
            int from = (int)Math.Floor(start), to = Math.Min(input, (int)Math.Ceiling(end));
            var weights = new double[to - from];
            for (int i = from; i < to; i++) weights[i - from] = (Math.Min(end, i + 1) - Math.Max(start, i)) / scale;
            result[o] = (from, to, weights);
        }
        return result;
    }

    /// <inheritdoc/>
    protected override byte[] Observation(byte[] observation, bool reset)
    {
        CheckLength(observation.Length, _inner);
        int c = _inner.Channels, h = _inner.Height, w = _inner.Width;
        bool last = _inner.Layout == ImageLayout.ChannelsLast;
        var result = new byte[c * Height * Width];
        for (int k = 0; k < c; k++)
        {
            for (int oy = 0; oy < Height; oy++)
            {
                var (y0, y1, wy) = _rows[oy];
                for (int ox = 0; ox < Width; ox++)
                {
                    var (x0, x1, wx) = _columns[ox];
                    double sum = 0;
                    for (int y = y0; y < y1; y++)
                        for (int x = x0; x < x1; x++)
                            sum += wy[y - y0] * wx[x - x0] * observation[last ? (y * w + x) * c + k : (k * h + y) * w + x];
                    result[last ? (oy * Width + ox) * c + k : (k * Height + oy) * Width + ox] = (byte)Math.Clamp(Math.Round(sum, MidpointRounding.AwayFromZero), 0, 255);
                }
            }
        }
        return result;
    }
}

/// <summary>
/// Scales byte observations to floats in [0, 1] (divided by 255, SB3's image normalisation done once in the
/// environment): the observation space becomes a <see cref="Box"/>(0, 1) of the same shape, so images can feed any
/// float policy; the CNN encoders still see an image part (three axes).
/// </summary>
public sealed class NormalizeImage<TAction> : ObservationWrapper<byte[], float[], TAction>
{
    private readonly ByteBox _inner;
    private readonly Box _space;

    /// <summary>Scales the observations of <paramref name="inner"/> (a ByteBox).</summary>
    public NormalizeImage(IEnvironment<byte[], TAction> inner) : base(inner)
    {
        _inner = inner.ObservationSpace as ByteBox ?? throw new ArgumentException($"{inner.Name}: NormalizeImage needs byte observations (a ByteBox), but the observation space is {inner.ObservationSpace}.", nameof(inner));
        _space = new Box(0f, 1f, _inner.Shape);
    }

    /// <inheritdoc/>
    public override Space ObservationSpace => _space;

    /// <inheritdoc/>
    protected override float[] Observation(byte[] observation, bool reset)
    {
        CheckLength(observation.Length, _inner);
        var result = new float[observation.Length];
        for (int i = 0; i < result.Length; i++) result[i] = observation[i] / 255f;
        return result;
    }
}

/// <summary>
/// Stacks the last <see cref="StackSize"/> observations, oldest first (Gymnasium's <c>FrameStackObservation</c>; at
/// reset the first observation fills every slot). An image [C, H, W] becomes [k·C, H, W] (frames along the channel
/// axis, what a CNN reads: the DQN/PPO Atari stack); a vector [n] becomes [k·n]. Works on byte images (ByteBox) and
/// float vectors or images (Box). For vector environments prefer <see cref="VectorFrameStack"/>, which allocates nothing.
/// </summary>
public sealed class FrameStackObservation<T, TAction> : ObservationWrapper<T[], T[], TAction> where T : unmanaged
{
    private readonly Space _space;
    private readonly int _frame;
    private readonly T[] _frames;

    /// <summary>Stacks <paramref name="stackSize"/> observations of <paramref name="inner"/>.</summary>
    public FrameStackObservation(IEnvironment<T[], TAction> inner, int stackSize) : base(inner)
    {
        if (stackSize < 1) throw new ArgumentOutOfRangeException(nameof(stackSize), stackSize, "Stack at least one frame (4 is the Atari convention).");
        StackSize = stackSize;
        _space = StackedSpace(inner.ObservationSpace, stackSize, inner.Name);
        _frame = inner.ObservationSpace.FlatSize;
        _frames = new T[_frame * stackSize];
    }

    /// <summary>The number of frames stacked.</summary>
    public int StackSize { get; }

    /// <inheritdoc/>
    public override Space ObservationSpace => _space;

    /// <summary>The space of <paramref name="stackSize"/> stacked observations of <paramref name="space"/>.</summary>
    internal static Space StackedSpace(Space space, int stackSize, string name)
    {
        int[] Stacked(int[] shape) => shape.Length == 3 ? [shape[0] * stackSize, shape[1], shape[2]] : [shape.Aggregate(1, (a, b) => a * b) * stackSize];
        switch (space)
        {
            case ByteBox b when b.IsImage && b.Layout == ImageLayout.ChannelsLast:
                throw new ArgumentException($"{name}: frame stacking stacks along the channel axis of channels-first images; wrap the environment in TransposeImage first ({b} is [H, W, C]).");
            case ByteBox b:
                return new ByteBox(b.Low, b.High, Stacked(b.Shape));
            case Box b:
                var low = new float[b.FlatSize * stackSize];
                var high = new float[low.Length];
                for (int k = 0; k < stackSize; k++)
                {
                    b.LowSpan.CopyTo(low.AsSpan(k * b.FlatSize));
                    b.HighSpan.CopyTo(high.AsSpan(k * b.FlatSize));
                }
                return new Box(low, high, Stacked(b.Shape));
            default:
                throw new ArgumentException($"{name}: frame stacking needs a Box or ByteBox observation space, not {space}.");
        }
    }

    /// <inheritdoc/>
    protected override T[] Observation(T[] observation, bool reset)
    {
        CheckLength(observation.Length, Inner.ObservationSpace);
        if (reset)
        {
            for (int k = 0; k < StackSize; k++) observation.CopyTo(_frames, k * _frame);
        }
        else
        {
            Array.Copy(_frames, _frame, _frames, 0, _frames.Length - _frame);
            observation.CopyTo(_frames, _frames.Length - _frame);
        }
        return (T[])_frames.Clone();
    }
}
