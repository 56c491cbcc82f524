namespace Reinforce.Nn;

/// <summary>
/// Weight initialisers with PyTorch's <c>torch.nn.init</c> semantics, drawing from the project's <see cref="Rng"/>.
/// Fans follow PyTorch: for a weight [out, in, ...], fan_in = in·receptive and fan_out = out·receptive.
/// Each fills the tensor in place and returns it.
/// </summary>
public static class Init
{
    /// <summary>
    /// A (semi-)orthogonal matrix times <paramref name="gain"/>, as <c>torch.nn.init.orthogonal_</c>: the tensor is
    /// viewed as [rows, cols] (rows = first dimension); a standard-normal matrix of the taller orientation is
    /// factored A = QR and Q's columns are multiplied by the signs of R's diagonal (so Q is uniformly distributed);
    /// a wide weight takes Qᵀ. Tall or square: WᵀW = gain²·I; wide: WWᵀ = gain²·I.
    /// Used with gain √2 for hidden layers and 0.01 / 1 for policy / value heads by SB3 and CleanRL.
    /// </summary>
    public static Tensor Orthogonal(Tensor w, float gain, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(rng);
        if (w.Rank < 2) throw new ArgumentException($"Init.Orthogonal: shape {Tensor.ShapeString(w.Shape)} has fewer than 2 dimensions (PyTorch's orthogonal_ needs a matrix).");
        int rows = w.Shape[0], cols = w.Size / Math.Max(rows, 1);
        if (w.Size == 0) return w;
        // Draw the normal matrix as PyTorch does ([rows, cols], row-major), then factor its taller orientation.
        var normal = new double[rows * cols];
        for (int i = 0; i < normal.Length; i++) normal[i] = rng.NextGaussian();
        bool wide = rows < cols;
        int n = wide ? cols : rows, m = wide ? rows : cols;          // A is [n, m], n ≥ m
        // Columns of A: column j of [rows, cols] (tall) or row j of it (wide, A = normalᵀ).
        var q = new double[m][];
        for (int j = 0; j < m; j++)
        {
            var v = new double[n];
            for (int i = 0; i < n; i++) v[i] = wide ? normal[j * cols + i] : normal[i * cols + j];
            q[j] = v;
        }
        // Gram–Schmidt, each projection done twice ("twice is enough") so Q is orthonormal to rounding. Its R has a
        // positive diagonal, which is exactly the sign correction torch applies to LAPACK's QR.
        for (int j = 0; j < m; j++)
        {
            var v = q[j];
            for (int pass = 0; pass < 2; pass++)
                for (int k = 0; k < j; k++)
                {
                    double dot = 0;
                    for (int i = 0; i < n; i++) dot += q[k][i] * v[i];
                    for (int i = 0; i < n; i++) v[i] -= dot * q[k][i];
                }
            double norm = 0;
            for (int i = 0; i < n; i++) norm += v[i] * v[i];
            norm = Math.Sqrt(norm);
            if (norm == 0) throw new InvalidOperationException("Init.Orthogonal: the random matrix was rank-deficient (probability zero); use another seed.");
            for (int i = 0; i < n; i++) v[i] /= norm;
        }
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                w.Data[r * cols + c] = (float)(gain * (wide ? q[r][c] : q[c][r]));
        return w;
    }

    /// <summary>U(−a, a) with a = gain·√(6/(fan_in + fan_out)) (Glorot and Bengio, 2010).</summary>
    public static Tensor XavierUniform(Tensor w, float gain, Rng rng)
    {
        var (fanIn, fanOut) = Fans("XavierUniform", w);
        return Uniform(w, -1, 1, rng, gain * Math.Sqrt(6.0 / (fanIn + fanOut)));
    }

    /// <summary>N(0, σ²) with σ = gain·√(2/(fan_in + fan_out)).</summary>
    public static Tensor XavierNormal(Tensor w, float gain, Rng rng)
    {
        var (fanIn, fanOut) = Fans("XavierNormal", w);
        return Normal(w, gain * Math.Sqrt(2.0 / (fanIn + fanOut)), rng);
    }

    /// <summary>
    /// U(−b, b) with b = gain·√(3/fan) (He et al., 2015), fan = fan_in (or fan_out when <paramref name="fanOut"/>).
    /// PyTorch's default gain is √2 (ReLU); <c>nn.Linear</c>'s default init is this with gain √(1/3), i.e. b = 1/√fan_in.
    /// </summary>
    public static Tensor KaimingUniform(Tensor w, float gain, Rng rng, bool fanOut = false)
    {
        var (fi, fo) = Fans("KaimingUniform", w);
        return Uniform(w, -1, 1, rng, gain * Math.Sqrt(3.0 / (fanOut ? fo : fi)));
    }

    /// <summary>N(0, σ²) with σ = gain/√fan, fan = fan_in (or fan_out).</summary>
    public static Tensor KaimingNormal(Tensor w, float gain, Rng rng, bool fanOut = false)
    {
        var (fi, fo) = Fans("KaimingNormal", w);
        return Normal(w, gain / Math.Sqrt(fanOut ? fo : fi), rng);
    }

    /// <summary>N(0, std²).</summary>
    public static Tensor Normal(Tensor w, double std, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(rng);
        for (int i = 0; i < w.Size; i++) w.Data[i] = (float)(std * rng.NextGaussian());
        return w;
    }

    /// <summary>U(low, high).</summary>
    public static Tensor Uniform(Tensor w, double low, double high, Rng rng) => Uniform(w, low, high, rng, 1.0);

    private static Tensor Uniform(Tensor w, double low, double high, Rng rng, double scale)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(rng);
        for (int i = 0; i < w.Size; i++) w.Data[i] = (float)(scale * rng.Uniform(low, high));
        return w;
    }

    /// <summary>All zeros.</summary>
    public static Tensor Zeros(Tensor w) => Constant(w, 0f);

    /// <summary>Every element set to <paramref name="value"/>.</summary>
    public static Tensor Constant(Tensor w, float value)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.Fill(value);
        return w;
    }

    /// <summary>
    /// CleanRL's <c>layer_init</c>: an orthogonal weight with <paramref name="gain"/> and a constant bias
    /// (SB3 and CleanRL use gain √2 for hidden layers, 0.01 for the policy head, 1 for the value head).
    /// </summary>
    public static Linear OrthogonalLayer(Linear layer, float gain, Rng rng, float bias = 0f)
    {
        ArgumentNullException.ThrowIfNull(layer);
        Orthogonal(layer.Weight.Value, gain, rng);
        if (layer.Bias is not null) Constant(layer.Bias.Value, bias);
        return layer;
    }

    /// <summary>PyTorch's <c>calculate_gain</c>: 5/3 for tanh, √2 for ReLU, 1 for the rest (linear, sigmoid, ...).</summary>
    public static float Gain(Activation activation) => Activations.Of(activation).Gain;

    private static (double FanIn, double FanOut) Fans(string name, Tensor w)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (w.Rank < 2)
            throw new ArgumentException($"Init.{name}: fan in and fan out cannot be computed for shape {Tensor.ShapeString(w.Shape)} (fewer than 2 dimensions).");
        double receptive = 1;
        for (int i = 2; i < w.Rank; i++) receptive *= w.Shape[i];
        return (w.Shape[1] * receptive, w.Shape[0] * receptive);
    }
}
