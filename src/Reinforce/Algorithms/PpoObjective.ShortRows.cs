using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Runtime;
using Reinforce.Tensors;

namespace Reinforce.Algorithms;

/// <summary>
/// <see cref="PpoObjective.CategoricalLoss"/>'s policy side for rows of two or three logits (CartPole, Acrobot,
/// MountainCar, ...), sixteen rows at a time: each lane of a vector is one row, and each logit's column is a vector. The
/// row-by-row path runs a dozen passes over a minibatch of a few hundred floats (log-softmax, gather, probabilities,
/// entropy, their gradients), each too short to reach full speed; here the policy side is a few vector passes over the
/// columns forward and one backward. Every lane performs the float operations of the row-by-row path in the same order, with the same functions
/// (<see cref="Libm"/>'s expf and log as <see cref="Kernels.LogSoftmaxRows"/>, <see cref="Vector512.Exp(Vector512{float})"/>
/// as TensorPrimitives.Exp, multiply then add as TensorPrimitives.MultiplyAdd), so the results are the same bits
/// (FusedLossTests compares the two paths, and both with the distribution's separate operations).
/// </summary>
internal static partial class PpoObjective
{
    /// <summary>
    /// Whether <see cref="CategoricalForward"/> takes the short-rows path for <paramref name="n"/> rows of
    /// <paramref name="c"/> logits: two or three actions, a vector's worth of rows (TensorPrimitives computes a span of
    /// at least sixteen floats with its vector exp, which the lanes reproduce), and AVX-512.
    /// </summary>
    internal static bool ShortRowsApply(int n, int c) => c is 2 or 3 && n >= 16 && Libm.Vectorised && !ShortRowsDisabled;

    /// <summary>Test hook: the row-by-row path even where the short-rows path applies (to compare the two), on this thread.</summary>
    internal static bool ShortRowsDisabled
    {
        get => t_shortRowsDisabled;
        set => t_shortRowsDisabled = value;
    }

    [ThreadStatic] private static bool t_shortRowsDisabled;

    /// <summary>
    /// The forward pass: per row, log-softmax (<see cref="Kernels.LogSoftmaxRows"/>'s bits), the taken action's
    /// log-probability, the entropy (<see cref="Distributions.DistributionOps.EntropyRows"/>'s), and for the backward pass the
    /// probabilities p = exp(log p) the entropy used and the softmax exp(log p) the log-softmax's backward uses. The
    /// exponentials and the logarithm run as span passes over the columns between the loops (the same functions, lane by
    /// lane), which keeps this method small: inlined four times over, they made it the slowest method of a training run's
    /// first update to compile (15 ms).
    /// </summary>
    [BypassReadyToRun]
    private static void ShortRowsForward(ReadOnlySpan<float> logits, int n, int c, Workspace ws)
    {
        int stride = ws.Stride;
        ws.Actions.AsSpan(n, stride - n).Clear();
        var columns = ws.ColumnLogProbs.AsSpan(0, c * stride);   // x − max, then log p in place
        var exps = ws.ColumnSoftmax.AsSpan(0, c * stride);       // exp(x − max), then the softmax
        var sums = ws.ColumnSums.AsSpan(0, stride);               // Σ exp, then its log
        ref float rd = ref MemoryMarshal.GetReference(columns);
        ref float re = ref MemoryMarshal.GetReference(exps);
        ref float rsum = ref MemoryMarshal.GetReference(sums);
        bool three = c == 3;
        nuint s1 = (nuint)stride, s2 = 2 * (nuint)stride;

        // x − max per column. Of two columns one is the maximum, whose term is exp(0) = 1 exactly (also for −0, and for
        // both when the logits are equal): only the other column's difference needs its exp.
        Span<float> lastRows = stackalloc float[48];
        for (nuint i = 0; i < (nuint)stride; i += 16)
        {
            // Sixteen rows' logits, a column per vector (the last rows through a block padded with zeros: finite, so
            // every lane's arithmetic stays on the vector path; the padding rows' results are never read).
            scoped ReadOnlySpan<float> rows = logits[((int)i * c)..];
            if (rows.Length < 16 * c)
            {
                lastRows.Clear();
                rows.CopyTo(lastRows);
                rows = lastRows;
            }
            var (x0, x1, x2) = Columns(rows, three);
            var max = Vector512.Max(x0, x1);   // MathF.Max's order: +0 above −0 (no NaN: the logits were checked)
            if (three) max = Vector512.Max(max, x2);
            var d0 = x0 - max;
            var d1 = x1 - max;
            d0.StoreUnsafe(ref rd, i);
            d1.StoreUnsafe(ref rd, i + s1);
            if (three) (x2 - max).StoreUnsafe(ref rd, i + s2);
            else Vector512.Min(d0, d1).StoreUnsafe(ref re, i);
        }
        if (three) Libm.Expf(columns, exps);
        else Libm.Expf(exps[..stride], exps);

        // Σ exp(x − max) from the last column to the first (from 0), and its log.
        for (nuint i = 0; i < (nuint)stride; i += 16)
        {
            Vector512<float> sum;
            if (three)
            {
                sum = Vector512.LoadUnsafe(ref re, i + s2);
                sum += Vector512.LoadUnsafe(ref re, i + s1);
                sum += Vector512.LoadUnsafe(ref re, i);
            }
            else
            {
                var other = Vector512.LoadUnsafe(ref re, i);
                var one = Vector512<float>.One;
                sum = Vector512<float>.Zero + Vector512.ConditionalSelect(Vector512.Equals(Vector512.LoadUnsafe(ref rd, i + s1), Vector512<float>.Zero), one, other);
                sum += Vector512.ConditionalSelect(Vector512.Equals(Vector512.LoadUnsafe(ref rd, i), Vector512<float>.Zero), one, other);
            }
            sum.StoreUnsafe(ref rsum, i);
        }
        Libm.LogOfFloats(sums, sums);

        // log p = x − max − log Σ, and the taken action's.
        ref int ra = ref MemoryMarshal.GetArrayDataReference(ws.Actions);
        ref float rTaken = ref MemoryMarshal.GetArrayDataReference(ws.TakenLogProb);
        for (nuint i = 0; i < (nuint)stride; i += 16)
        {
            var logSum = Vector512.LoadUnsafe(ref rsum, i);
            var lp0 = Vector512.LoadUnsafe(ref rd, i) - logSum;
            var lp1 = Vector512.LoadUnsafe(ref rd, i + s1) - logSum;
            lp0.StoreUnsafe(ref rd, i);
            lp1.StoreUnsafe(ref rd, i + s1);
            var action = Vector512.LoadUnsafe(ref ra, i);
            var taken = Vector512.ConditionalSelect(Vector512.Equals(action, Vector512<int>.Zero).AsSingle(), lp0, lp1);
            if (three)
            {
                var lp2 = Vector512.LoadUnsafe(ref rd, i + s2) - logSum;
                lp2.StoreUnsafe(ref rd, i + s2);
                taken = Vector512.ConditionalSelect(Vector512.Equals(action, Vector512.Create(2)).AsSingle(), lp2, taken);
            }
            taken.StoreUnsafe(ref rTaken, i);
        }

        // p = exp(log p) as TensorPrimitives.Exp gives it, for the entropy; the softmax through Libm, as
        // Kernels.LogSoftmaxBackwardRows takes it.
        System.Numerics.Tensors.TensorPrimitives.Exp(columns, ws.ColumnProbs);
        Libm.Expf(columns, exps);

        // The entropy −Σ p·log p, summed from 0, last column first.
        ref float rp = ref MemoryMarshal.GetArrayDataReference(ws.ColumnProbs);
        ref float rEntropy = ref MemoryMarshal.GetArrayDataReference(ws.Entropy);
        for (nuint i = 0; i < (nuint)stride; i += 16)
        {
            var h = Vector512<float>.Zero;
            if (three) h += Vector512.LoadUnsafe(ref rp, i + s2) * Vector512.LoadUnsafe(ref rd, i + s2);
            h += Vector512.LoadUnsafe(ref rp, i + s1) * Vector512.LoadUnsafe(ref rd, i + s1);
            h += Vector512.LoadUnsafe(ref rp, i) * Vector512.LoadUnsafe(ref rd, i);
            (h * Vector512.Create(-1f)).StoreUnsafe(ref rEntropy, i);
        }
    }

    /// <summary>
    /// The backward pass: the loss's gradient <paramref name="g"/> to the logits, added into <paramref name="logitsGrad"/>,
    /// with the row-by-row path's operations in its order: the policy term's gradient for the taken log-probability (into
    /// zero), the entropy's gradient to every log-probability (Neg, SumLastDim, Mul, Exp, each into zeros), the gather's
    /// (added to the taken action's), then the log-softmax's, g − softmax·Σg with Σg from the last column to the first.
    /// </summary>
    [BypassReadyToRun]
    private static void ShortRowsBackward(in Terms terms, Workspace ws, float g, Span<float> logitsGrad)
    {
        int n = terms.Count, c = ws.Classes, stride = ws.Stride;
        bool three = c == 3, entropy = terms.EntropyCoef != 0f;
        var t = terms.PolicyGradientParts(g);
        var zero = Vector512<float>.Zero;
        // DistributionOps.EntropyRowsBackward's first steps, the same for every row: the entropy's gradient (into zero),
        // gSum = −g_H (multiply, then add zero, as TensorPrimitives.MultiplyAdd), and every entry's product gradient gSum.
        var gProduct = zero + ((zero + Vector512.Create(entropy ? terms.PerEntropy(g) : 0f)) * Vector512.Create(-1f) + zero);
        ref float rlp = ref MemoryMarshal.GetArrayDataReference(ws.ColumnLogProbs);
        ref float rp = ref MemoryMarshal.GetArrayDataReference(ws.ColumnProbs);
        ref float rs = ref MemoryMarshal.GetArrayDataReference(ws.ColumnSoftmax);
        ref int ra = ref MemoryMarshal.GetArrayDataReference(ws.Actions);
        ref float rr = ref MemoryMarshal.GetArrayDataReference(ws.Ratio);
        Span<float> advantageBlock = stackalloc float[16], lastRows = stackalloc float[48];
        var advantages = terms.Advantages;
        nuint s1 = (nuint)stride, s2 = 2 * (nuint)stride;
        for (int start = 0; start < stride; start += 16)
        {
            nuint i = (nuint)start;
            Vector512<float> a;
            if (start + 16 <= n) a = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(advantages), i);
            else
            {
                advantageBlock.Clear();   // the padding rows' gradients are computed and dropped
                advantages[start..].CopyTo(advantageBlock);
                a = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(advantageBlock));
            }
            var gTaken = zero + t.Gradient(Vector512.LoadUnsafe(ref rr, i), a);

            Vector512<float> g0 = zero, g1 = zero, g2 = zero;
            var lp0 = Vector512.LoadUnsafe(ref rlp, i);
            var lp1 = Vector512.LoadUnsafe(ref rlp, i + s1);
            var lp2 = three ? Vector512.LoadUnsafe(ref rlp, i + s2) : default;
            if (entropy)
            {
                // The rest of DistributionOps.EntropyRowsBackward: through p·log p (d p = g·log p, d log p = g·p) and
                // p = exp(log p) (d log p += d p·p).
                var p0 = Vector512.LoadUnsafe(ref rp, i);
                var p1 = Vector512.LoadUnsafe(ref rp, i + s1);
                g0 = (gProduct * lp0 + zero) * p0 + (gProduct * p0 + zero);
                g1 = (gProduct * lp1 + zero) * p1 + (gProduct * p1 + zero);
                if (three)
                {
                    var p2 = Vector512.LoadUnsafe(ref rp, i + s2);
                    g2 = (gProduct * lp2 + zero) * p2 + (gProduct * p2 + zero);
                }
            }
            // The gather's backward: the taken action's entry gets the taken log-probability's gradient.
            var action = Vector512.LoadUnsafe(ref ra, i);
            g0 = Vector512.ConditionalSelect(Vector512.Equals(action, Vector512<int>.Zero).AsSingle(), g0 + gTaken, g0);
            g1 = Vector512.ConditionalSelect(Vector512.Equals(action, Vector512<int>.One).AsSingle(), g1 + gTaken, g1);
            if (three) g2 = Vector512.ConditionalSelect(Vector512.Equals(action, Vector512.Create(2)).AsSingle(), g2 + gTaken, g2);
            // The log-softmax's backward.
            var sum = zero;
            if (three) sum += g2;
            sum += g1;
            sum += g0;
            var d0 = g0 - Vector512.LoadUnsafe(ref rs, i) * sum;
            var d1 = g1 - Vector512.LoadUnsafe(ref rs, i + s1) * sum;
            var d2 = three ? g2 - Vector512.LoadUnsafe(ref rs, i + s2) * sum : default;
            // Added into the logits' gradient row by row (the last rows through a padded block).
            var (o0, o1, o2) = Rows(d0, d1, d2, three);
            var rows = logitsGrad[(start * c)..];
            if (rows.Length >= 16 * c)
            {
                ref float gx = ref MemoryMarshal.GetReference(rows);
                (Vector512.LoadUnsafe(ref gx) + o0).StoreUnsafe(ref gx);
                (Vector512.LoadUnsafe(ref gx, 16) + o1).StoreUnsafe(ref gx, 16);
                if (three) (Vector512.LoadUnsafe(ref gx, 32) + o2).StoreUnsafe(ref gx, 32);
            }
            else
            {
                ref float last = ref MemoryMarshal.GetReference(lastRows);
                o0.StoreUnsafe(ref last);
                o1.StoreUnsafe(ref last, 16);
                if (three) o2.StoreUnsafe(ref last, 32);
                for (int k = 0; k < rows.Length; k++) rows[k] += lastRows[k];
            }
        }
    }

    // Lane k of column j is entry 2k + j (two columns) or 3k + j (three) of sixteen rows; for three columns the first
    // permute takes the entries below 32 from the first two vectors, the second the rest from the third.
    private static readonly Vector512<int> Even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    private static readonly Vector512<int> Odd = Even + Vector512<int>.One;
    private static readonly Vector512<int> Third0 = Vector512.Create(0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 0, 0, 0, 0, 0);
    private static readonly Vector512<int> Third0Rest = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 20, 23, 26, 29);
    private static readonly Vector512<int> Third1 = Vector512.Create(1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 0, 0, 0, 0, 0);
    private static readonly Vector512<int> Third1Rest = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 18, 21, 24, 27, 30);
    private static readonly Vector512<int> Third2 = Vector512.Create(2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 0, 0, 0, 0, 0, 0);
    private static readonly Vector512<int> Third2Rest = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 19, 22, 25, 28, 31);
    // Entry m of sixteen rows' output is lane m / c of column m % c: for two columns, entries 0–15 and 16–31 from lanes
    // 0–7 and 8–15; for three, each output vector takes its column-0 and column-1 entries first, then column 2's.
    private static readonly Vector512<int> Zip0 = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    private static readonly Vector512<int> Zip1 = Zip0 + Vector512.Create(8);
    private static readonly Vector512<int> Out0 = Vector512.Create(0, 16, 0, 1, 17, 0, 2, 18, 0, 3, 19, 0, 4, 20, 0, 5);
    private static readonly Vector512<int> Out0Third = Vector512.Create(0, 1, 16, 3, 4, 17, 6, 7, 18, 9, 10, 19, 12, 13, 20, 15);
    private static readonly Vector512<int> Out1 = Vector512.Create(21, 0, 6, 22, 0, 7, 23, 0, 8, 24, 0, 9, 25, 0, 10, 26);
    private static readonly Vector512<int> Out1Third = Vector512.Create(0, 21, 2, 3, 22, 5, 6, 23, 8, 9, 24, 11, 12, 25, 14, 15);
    private static readonly Vector512<int> Out2 = Vector512.Create(0, 11, 27, 0, 12, 28, 0, 13, 29, 0, 14, 30, 0, 15, 31, 0);
    private static readonly Vector512<int> Out2Third = Vector512.Create(26, 1, 2, 27, 4, 5, 28, 7, 8, 29, 10, 11, 30, 13, 14, 31);

    /// <summary>The columns of sixteen rows of two or three entries (<paramref name="rows"/> holds at least 16·c).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float>, Vector512<float>, Vector512<float>) Columns(ReadOnlySpan<float> rows, bool three)
    {
        ref float r = ref MemoryMarshal.GetReference(rows);
        var v0 = Vector512.LoadUnsafe(ref r);
        var v1 = Vector512.LoadUnsafe(ref r, 16);
        if (!three) return (Avx512F.PermuteVar16x32x2(v0, Even, v1), Avx512F.PermuteVar16x32x2(v0, Odd, v1), default);
        var v2 = Vector512.LoadUnsafe(ref r, 32);
        return (Avx512F.PermuteVar16x32x2(Avx512F.PermuteVar16x32x2(v0, Third0, v1), Third0Rest, v2),
            Avx512F.PermuteVar16x32x2(Avx512F.PermuteVar16x32x2(v0, Third1, v1), Third1Rest, v2),
            Avx512F.PermuteVar16x32x2(Avx512F.PermuteVar16x32x2(v0, Third2, v1), Third2Rest, v2));
    }

    /// <summary>Sixteen rows, row after row in two or three vectors, from their columns <paramref name="c0"/>, <paramref name="c1"/> (and <paramref name="c2"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float>, Vector512<float>, Vector512<float>) Rows(Vector512<float> c0, Vector512<float> c1, Vector512<float> c2, bool three)
    {
        if (!three) return (Avx512F.PermuteVar16x32x2(c0, Zip0, c1), Avx512F.PermuteVar16x32x2(c0, Zip1, c1), default);
        return (Avx512F.PermuteVar16x32x2(Avx512F.PermuteVar16x32x2(c0, Out0, c1), Out0Third, c2),
            Avx512F.PermuteVar16x32x2(Avx512F.PermuteVar16x32x2(c0, Out1, c1), Out1Third, c2),
            Avx512F.PermuteVar16x32x2(Avx512F.PermuteVar16x32x2(c0, Out2, c1), Out2Third, c2));
    }

    /// <summary>The policy term's gradient per sample, sixteen at a time: <see cref="Terms.PolicyGradient"/>'s arithmetic.</summary>
    internal readonly struct PolicyGradientLanes(float perMinimum, float lo, float hi)
    {
        /// <summary>∂loss/∂log π(a|s) for ratios r and advantages a (one sample per lane).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Gradient(Vector512<float> r, Vector512<float> a)
        {
            var vlo = Vector512.Create(lo);
            var vhi = Vector512.Create(hi);
            var pm = Vector512.Create(perMinimum);
            var half = Vector512.Create(0.5f * perMinimum);
            // Math.Clamp(r, lo, hi): lo below, hi above, r otherwise (a NaN stays NaN).
            var clamped = Vector512.ConditionalSelect(Vector512.LessThan(r, vlo), vlo, Vector512.ConditionalSelect(Vector512.GreaterThan(r, vhi), vhi, r));
            var surrogate = r * a;
            var clipped = clamped * a;
            var tie = Vector512.Equals(surrogate, clipped);
            var toSurrogate = Vector512.ConditionalSelect(tie, half, Vector512.ConditionalSelect(Vector512.LessThan(surrogate, clipped), pm, Vector512<float>.Zero));
            var toClipped = Vector512.ConditionalSelect(tie, half, pm - toSurrogate);
            var gRatio = toSurrogate * a;
            var inside = Vector512.GreaterThanOrEqual(r, vlo) & Vector512.LessThanOrEqual(r, vhi);
            gRatio = Vector512.ConditionalSelect(inside, gRatio + toClipped * a, gRatio);
            return gRatio * r;
        }
    }
}
