using System.Runtime.CompilerServices;
using System.Runtime;

namespace Reinforce.Tensors;

public static partial class Kernels
{
    /// <summary>
    /// The element-wise part of an LSTM step with PyTorch's gate order (i, f, g, o): for each row b of
    /// <paramref name="gates"/> [rows, 4·hidden] (the pre-activations W_ih·x + b_ih + W_hh·h + b_hh) and each unit k,
    /// effectively computes c'[b, k] = σ(f)·c[b, k] + σ(i)·tanh(g) and h'[b, k] = σ(o)·tanh(c'[b, k]).
    /// <paramref name="cOut"/> may be <paramref name="c"/> itself (an in-place state update).
    /// </summary>
    [BypassReadyToRun]
    public static void LstmPointwise(ReadOnlySpan<float> gates, ReadOnlySpan<float> c, Span<float> cOut, Span<float> hOut, int rows, int hidden)
    {
        CheckRecurrent("LstmPointwise", gates.Length, 4, c.Length, rows, hidden);
        if (cOut.Length != rows * hidden || hOut.Length != rows * hidden)
            throw new ArgumentException($"LstmPointwise: cOut and hOut must each hold [rows {rows}, hidden {hidden}] = {rows * hidden} elements (have {cOut.Length} and {hOut.Length}).");
        for (int b = 0; b < rows; b++)
        {
            var gRow = gates.Slice(b * 4 * hidden, 4 * hidden);
            for (int k = 0; k < hidden; k++)
            {
                int at = b * hidden + k;
                float i = Sigmoid(gRow[k]), f = Sigmoid(gRow[hidden + k]), g = MathF.Tanh(gRow[2 * hidden + k]), o = Sigmoid(gRow[3 * hidden + k]);
                float cNew = f * c[at] + i * g;
                cOut[at] = cNew;
                hOut[at] = o * MathF.Tanh(cNew);
            }
        }
    }

    /// <summary>
    /// The element-wise part of a GRU step with PyTorch's gate order (r, z, n): for each row b, with
    /// <paramref name="inputGates"/> = W_ih·x + b_ih and <paramref name="hiddenGates"/> = W_hh·h + b_hh (both [rows, 3·hidden]),
    /// effectively computes r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r·h_n), h' = (1 − z)·n + z·h.
    /// <paramref name="hOut"/> may be <paramref name="h"/> itself.
    /// </summary>
    public static void GruPointwise(ReadOnlySpan<float> inputGates, ReadOnlySpan<float> hiddenGates, ReadOnlySpan<float> h, Span<float> hOut, int rows, int hidden)
    {
        CheckRecurrent("GruPointwise", inputGates.Length, 3, h.Length, rows, hidden);
        if (hiddenGates.Length != inputGates.Length)
            throw new ArgumentException($"GruPointwise: the hidden gates have {hiddenGates.Length} elements but the input gates {inputGates.Length}; both are [rows, 3·hidden].");
        if (hOut.Length != rows * hidden)
            throw new ArgumentException($"GruPointwise: hOut must hold [rows {rows}, hidden {hidden}] = {rows * hidden} elements (has {hOut.Length}).");
        for (int b = 0; b < rows; b++)
        {
            var xg = inputGates.Slice(b * 3 * hidden, 3 * hidden);
            var hg = hiddenGates.Slice(b * 3 * hidden, 3 * hidden);
            for (int k = 0; k < hidden; k++)
            {
                int at = b * hidden + k;
                float r = Sigmoid(xg[k] + hg[k]), z = Sigmoid(xg[hidden + k] + hg[hidden + k]);
                float n = MathF.Tanh(xg[2 * hidden + k] + r * hg[2 * hidden + k]);
                hOut[at] = (1f - z) * n + z * h[at];
            }
        }
    }

    /// <summary>1 / (1 + e^−x), finite for any x.</summary>
    [BypassReadyToRun]
    internal static float Sigmoid(float x) => x >= 0 ? 1f / (1f + MathF.Exp(-x)) : MathF.Exp(x) / (1f + MathF.Exp(x));

    private static void CheckRecurrent(string operation, int gatesLength, int gateCount, int stateLength, int rows, int hidden)
    {
        if (rows < 0 || hidden <= 0)
            throw new ArgumentOutOfRangeException(nameof(hidden), $"{operation}: rows must be non-negative and hidden positive (got {rows}, {hidden}).");
        if (gatesLength != rows * gateCount * hidden)
            throw new ArgumentException($"{operation}: the gates have {gatesLength} elements but [rows {rows}, {gateCount}·hidden {gateCount * hidden}] needs {rows * gateCount * hidden}.");
        if (stateLength != rows * hidden)
            throw new ArgumentException($"{operation}: the state has {stateLength} elements but [rows {rows}, hidden {hidden}] needs {rows * hidden}.");
    }
}
