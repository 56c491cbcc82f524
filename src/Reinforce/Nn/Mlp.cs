namespace Reinforce.Nn;

/// <summary>
/// A multilayer perceptron: Linear layers of the given sizes with an activation between them (and after the last
/// when <c>activateLast</c>). Children are <c>layers.0</c> (Linear), <c>layers.1</c> (activation), <c>layers.2</c>, ...
/// as PyTorch's <c>nn.Sequential</c> names them, so <c>layers.0.weight</c> is the first weight.
/// </summary>
public sealed class Mlp : Module
{
    private readonly Sequential _layers;
    private readonly List<Linear> _linears = [];
    private readonly bool _activateLast;
    private FusedMlp? _compiled;

    /// <param name="sizes">Input size, hidden sizes, output size (at least two numbers).</param>
    /// <param name="activation">The nonlinearity between layers.</param>
    /// <param name="rng">Draws the initial weights (PyTorch's default init; see <see cref="Init.OrthogonalLayer"/> for SB3's).</param>
    /// <param name="activateLast">Whether the activation follows the last layer too.</param>
    public Mlp(int[] sizes, Activation activation, Rng rng, bool activateLast = false)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentNullException.ThrowIfNull(rng);
        if (sizes.Length < 2 || sizes.Any(s => s <= 0))
            throw new ArgumentException($"Mlp: sizes [{string.Join(", ", sizes)}] must be at least an input and an output size, all positive.", nameof(sizes));
        Sizes = (int[])sizes.Clone();
        Activation = activation;
        _activateLast = activateLast;
        _layers = RegisterModule("layers", new Sequential());
        for (int i = 0; i + 1 < sizes.Length; i++)
        {
            var linear = new Linear(sizes[i], sizes[i + 1], rng);
            _linears.Add(linear);
            _layers.Add(linear);
            bool last = i + 2 == sizes.Length;
            if (!last || activateLast) _layers.Add(new ActivationLayer(activation));
        }
    }

    public IReadOnlyList<int> Sizes { get; }

    public Activation Activation { get; }

    /// <summary>The Linear layers, first to last (for custom initialisation).</summary>
    public IReadOnlyList<Linear> Linears => _linears;

    public int InFeatures => Sizes[0];

    public int OutFeatures => Sizes[^1];

    public override Tensor Forward(Tensor x) => _layers.Forward(x);

    /// <summary>
    /// The network's compiled inference path (<see cref="FusedMlp"/> over these very <see cref="Linear"/> layers, not a
    /// copy): <see cref="Infer"/> runs it without recording a graph or allocating once warm.
    /// </summary>
    public FusedMlp Compiled => _compiled ??= new FusedMlp(_linears, Activation, _activateLast);

    /// <summary>The forward pass for <paramref name="rows"/> rows without recording or allocating; the result is valid until the next call.</summary>
    public ReadOnlySpan<float> Infer(ReadOnlySpan<float> input, int rows) => Compiled.Infer(input, rows);
}
