using Reinforce.Tensors;

namespace Reinforce.Autograd;

public static partial class Ops
{
    /// <summary>
    /// The element-wise part of an LSTM step, PyTorch's gate order (i, f, g, o): given the gate pre-activations
    /// <paramref name="gates"/> [B, 4H] (x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) and the cell <paramref name="c"/> [B, H],
    /// returns c' = σ(f)·c + σ(i)·tanh(g) and h' = σ(o)·tanh(c'). Recorded as two operations (c' from the gates and c;
    /// h' from the gates and c'), so a gradient reaching either output flows back correctly.
    /// </summary>
    public static (Tensor H, Tensor C) LstmCell(Tensor gates, Tensor c)
    {
        ArgumentNullException.ThrowIfNull(gates);
        ArgumentNullException.ThrowIfNull(c);
        if (c.Rank != 2 || gates.Rank != 2 || gates.Shape[0] != c.Shape[0] || gates.Shape[1] != 4 * c.Shape[1])
            throw new ArgumentException($"LstmCell: gates shape {Tensor.ShapeString(gates.Shape)} and cell shape {Tensor.ShapeString(c.Shape)} must be [batch, 4·hidden] and [batch, hidden].");
        int rows = c.Shape[0], hidden = c.Shape[1];
        var cNew = Tensor.Zeros(rows, hidden);
        var hNew = Tensor.Zeros(rows, hidden);
        Kernels.LstmPointwise(gates.Data, c.Data, cNew.Data, hNew.Data, rows, hidden);
        Graph.Record(cNew, "LstmCellState", gates, c, () =>
        {
            var g = cNew.Grad!.Data;
            var gg = gates.RequiresGrad ? gates.GradBuffer() : default;
            var gc = c.RequiresGrad ? c.GradBuffer() : default;
            for (int b = 0; b < rows; b++)
                for (int k = 0; k < hidden; k++)
                {
                    int at = b * hidden + k, row = b * 4 * hidden;
                    float i = Kernels.Sigmoid(gates.Data[row + k]), f = Kernels.Sigmoid(gates.Data[row + hidden + k]);
                    float gt = MathF.Tanh(gates.Data[row + 2 * hidden + k]);
                    float d = g[at];
                    if (!gc.IsEmpty) gc[at] += d * f;
                    if (gg.IsEmpty) continue;
                    gg[row + k] += d * gt * i * (1f - i);
                    gg[row + hidden + k] += d * c.Data[at] * f * (1f - f);
                    gg[row + 2 * hidden + k] += d * i * (1f - gt * gt);
                }
        });
        Graph.Record(hNew, "LstmCellHidden", gates, cNew, () =>
        {
            var g = hNew.Grad!.Data;
            var gg = gates.RequiresGrad ? gates.GradBuffer() : default;
            var gc = cNew.RequiresGrad ? cNew.GradBuffer() : default;
            for (int b = 0; b < rows; b++)
                for (int k = 0; k < hidden; k++)
                {
                    int at = b * hidden + k, row = b * 4 * hidden;
                    float o = Kernels.Sigmoid(gates.Data[row + 3 * hidden + k]), tc = MathF.Tanh(cNew.Data[at]);
                    float d = g[at];
                    if (!gg.IsEmpty) gg[row + 3 * hidden + k] += d * tc * o * (1f - o);
                    if (!gc.IsEmpty) gc[at] += d * o * (1f - tc * tc);
                }
        });
        return (hNew, cNew);
    }

    /// <summary>
    /// The element-wise part of a GRU step, PyTorch's gate order (r, z, n): given <paramref name="inputGates"/> [B, 3H]
    /// (x·W_ihᵀ + b_ih), <paramref name="hiddenGates"/> [B, 3H] (h·W_hhᵀ + b_hh) and <paramref name="h"/> [B, H], returns
    /// h' = (1 − z)·n + z·h with r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r·h_n).
    /// </summary>
    public static Tensor GruCell(Tensor inputGates, Tensor hiddenGates, Tensor h)
    {
        ArgumentNullException.ThrowIfNull(inputGates);
        ArgumentNullException.ThrowIfNull(hiddenGates);
        ArgumentNullException.ThrowIfNull(h);
        if (h.Rank != 2 || inputGates.Rank != 2 || !Tensor.SameShape(inputGates.Shape, hiddenGates.Shape)
            || inputGates.Shape[0] != h.Shape[0] || inputGates.Shape[1] != 3 * h.Shape[1])
            throw new ArgumentException($"GruCell: gate shapes {Tensor.ShapeString(inputGates.Shape)}, {Tensor.ShapeString(hiddenGates.Shape)} and state shape {Tensor.ShapeString(h.Shape)} must be [batch, 3·hidden] twice and [batch, hidden].");
        int rows = h.Shape[0], hidden = h.Shape[1];
        var hNew = Tensor.Zeros(rows, hidden);
        Kernels.GruPointwise(inputGates.Data, hiddenGates.Data, h.Data, hNew.Data, rows, hidden);
        return Graph.Record(hNew, "GruCell", [inputGates, hiddenGates, h], () =>
        {
            var g = hNew.Grad!.Data;
            var gx = inputGates.RequiresGrad ? inputGates.GradBuffer() : default;
            var gh = hiddenGates.RequiresGrad ? hiddenGates.GradBuffer() : default;
            var gs = h.RequiresGrad ? h.GradBuffer() : default;
            var xg = inputGates.Data;
            var hg = hiddenGates.Data;
            for (int b = 0; b < rows; b++)
                for (int k = 0; k < hidden; k++)
                {
                    int at = b * hidden + k, row = b * 3 * hidden;
                    float r = Kernels.Sigmoid(xg[row + k] + hg[row + k]), z = Kernels.Sigmoid(xg[row + hidden + k] + hg[row + hidden + k]);
                    float hn = hg[row + 2 * hidden + k];
                    float n = MathF.Tanh(xg[row + 2 * hidden + k] + r * hn);
                    float d = g[at];
                    if (!gs.IsEmpty) gs[at] += d * z;
                    float dn = d * (1f - z) * (1f - n * n);           // through tanh
                    float dz = d * (h.Data[at] - n) * z * (1f - z);    // through σ
                    float dr = dn * hn * r * (1f - r);
                    if (!gx.IsEmpty)
                    {
                        gx[row + k] += dr;
                        gx[row + hidden + k] += dz;
                        gx[row + 2 * hidden + k] += dn;
                    }
                    if (!gh.IsEmpty)
                    {
                        gh[row + k] += dr;
                        gh[row + hidden + k] += dz;
                        gh[row + 2 * hidden + k] += dn * r;
                    }
                }
        });
    }
}
