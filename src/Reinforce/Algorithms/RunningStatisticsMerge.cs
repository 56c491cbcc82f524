using Reinforce.Distributed;
using Reinforce.Envs.Wrappers;

namespace Reinforce.Algorithms;

/// <summary>
/// Running statistics kept equal over the ranks: every rank remembers the merged state it last agreed on (the base);
/// at a merge each contributes what it added since (count, mean and sum of squared deviations of its new samples,
/// recovered from its running state and the base by inverting Chan et al.'s update), the contributions are summed
/// over the ranks about the base mean, and every rank folds the total into the base. The result is the statistics of
/// all ranks' samples, the same bits on every rank.
/// </summary>
internal sealed class RunningStatisticsMerge
{
    private readonly RunningMeanStd _statistics;
    private readonly double[] _baseMean, _baseVar;
    private double _baseCount;
    private readonly double[] _sums; // [count, Σ n·(μ − μ0) per element, Σ (M2 + n·(μ − μ0)²) per element]

    public RunningStatisticsMerge(RunningMeanStd statistics)
    {
        _statistics = statistics;
        _baseMean = statistics.Mean;
        _baseVar = statistics.Var;
        _baseCount = statistics.Count;
        _sums = new double[1 + 2 * statistics.Size];
    }

    public void Merge(ICommunicator communicator)
    {
        int d = _baseMean.Length;
        var mean = _statistics.MeanSpan;
        var variance = _statistics.VarSpan;
        double n = _statistics.Count, n0 = _baseCount, added = n - n0;
        Array.Clear(_sums);
        _sums[0] = added;
        if (added > 0)
        {
            for (int j = 0; j < d; j++)
            {
                // This rank's new samples: mean μ1 and squared deviations M2₁, from n·μ = n0·μ0 + n1·μ1 and
                // n·σ² = n0·σ0² + M2₁ + (μ1 − μ0)²·n0·n1/n.
                double shift = (n * (mean[j] - _baseMean[j])) / added;          // μ1 − μ0
                double m2 = n * variance[j] - n0 * _baseVar[j] - shift * shift * n0 * added / n;
                _sums[1 + j] = added * shift;
                _sums[1 + d + j] = Math.Max(0, m2) + added * shift * shift;
            }
        }
        communicator.AllReduceSum(_sums);
        double total = _sums[0];
        if (!(total > 0)) { _statistics.Restore(_baseMean, _baseVar, _baseCount); return; }
        double count = n0 + total;
        for (int j = 0; j < d; j++)
        {
            double shift = _sums[1 + j] / total;                               // mean of all new samples − μ0
            double m2 = Math.Max(0, _sums[1 + d + j] - total * shift * shift);  // their squared deviations
            double combined = n0 * _baseVar[j] + m2 + shift * shift * n0 * total / count;
            _baseMean[j] += shift * total / count;
            _baseVar[j] = combined / count;
        }
        _baseCount = count;
        _statistics.Restore(_baseMean, _baseVar, _baseCount);
    }
}
