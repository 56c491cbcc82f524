using Reinforce.Distributed;

namespace Reinforce.Algorithms;

/// <summary>
/// Data-parallel training (DD-PPO, Wijmans et al. 2020; OpenAI Baselines' MPI PPO): every rank runs the same agent on
/// its own environment copies, and the ranks act as one agent whose rollout is the union of theirs.
/// </summary>
/// <remarks>
/// <para>What makes R ranks of n copies equal to one process with R·n copies:</para>
/// <list type="bullet">
/// <item>the weights start from rank 0's and every optimizer step applies the gradient averaged over the ranks
/// (<see cref="GradientStep"/>, the one place every on-policy algorithm steps its optimizer);</item>
/// <item>each rank's copies have their own reset seeds (rank 0's are those of a single-process run);</item>
/// <item>the minibatches are drawn from one permutation of all R·n·n_steps samples, identical on every rank
/// (a generator seeded by the run's seed alone); each rank takes the members it holds, so the union over ranks of
/// minibatch k is exactly minibatch k of a one-rank run on the concatenated rollout (<see cref="LocalMinibatch"/>);</item>
/// <item>per-minibatch figures that mix samples (the advantage standardisation, the approximate KL that stops the
/// epochs early) are all-reduced, so every rank makes the same decision;</item>
/// <item>after each update the ranks compare a checksum of their weights, so a divergence is an error, never silent;</item>
/// <item>the observation and reward normalisation statistics are merged over the ranks after every rollout (each rank's
/// new samples since the last merge, combined exactly with Chan et al.'s formula in rank order), so all ranks normalise
/// alike and the checkpoint holds the statistics of every rank's samples. Within one rollout each rank updates its own
/// copy from its own samples, so with normalisation on, R ranks differ statistically (not in expectation) from one process
/// of R·n copies, whose statistics see all copies at every step.</item>
/// </list>
/// <para>Each rank samples its actions from its own generator (seed, rank); without a communicator nothing here runs and
/// training is exactly the single-process algorithm.</para>
/// </remarks>
public abstract partial class OnPolicyAgent
{
    private Rng? _shuffleRng;
    private int[] _globalPermutation = [];
    private int[] _globalCopyOrder = [];
    private RunningStatisticsMerge? _observationMerge, _rewardMerge;

    /// <summary>The ranks this agent trains with (a single process unless <see cref="Distribute"/> was called).</summary>
    public ICommunicator Communicator => _gradientStep.DataParallel?.Communicator ?? SingleProcessCommunicator.Instance;

    /// <summary>Time this rank spent all-reducing gradients so far (zero in a single process): with <see cref="UpdateTime"/>, the communication's share of the updates.</summary>
    public TimeSpan CommunicationTime => _gradientStep.DataParallel?.CommunicationTime ?? TimeSpan.Zero;

    /// <summary>True after <see cref="Distribute"/>: updates go through the data-parallel path.</summary>
    public bool IsDataParallel => _gradientStep.DataParallel is not null;

    /// <summary>
    /// Makes this agent one rank of a data-parallel run over <paramref name="communicator"/>: copies rank 0's weights
    /// here, gives this rank its own action-sampling stream and environment seeds, and averages gradients at every
    /// optimizer step. Call on every rank, before <see cref="Learn"/>, with agents built from the same settings (or all
    /// loaded from the same checkpoint, to resume a distributed run).
    /// </summary>
    public void Distribute(ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        if (_gradientStep.DataParallel is not null) throw new InvalidOperationException("Distribute: this agent is already distributed.");
        if (communicator.Size > 1)
        {
            var steps = new long[communicator.Size];
            communicator.AllGather(StepsDone, steps);
            var behind = Enumerable.Range(0, steps.Length).Where(r => steps[r] != steps[0]).ToArray();
            if (behind.Length > 0)
                throw new DistributedException(
                    $"rank(s) {string.Join(", ", behind)} start at step {steps[behind[0]]:N0} while rank 0 starts at {steps[0]:N0}: " +
                    "every rank must start fresh or resume the same checkpoint (all ranks must see the same run folder).");
        }
        _gradientStep.Distribute(communicator);
        if (communicator.Size > 1)
        {
            // Fresh runs start from the same initial statistics and resumed ones from rank 0's checkpoint: the common base.
            if (ObservationNormalizer is not null) _observationMerge = new RunningStatisticsMerge(ObservationNormalizer.Statistics);
            if (RewardNormalizer is not null) _rewardMerge = new RunningStatisticsMerge(RewardNormalizer.Statistics);
        }
        ulong seed = unchecked((ulong)(long)Options.Seed);
        // The shuffle stream is shared by all ranks; after a resume it continues from the update count, so every rank agrees.
        _shuffleRng = new Rng(Rng.DeriveSeed(Rng.DeriveSeed(seed, 6), Iterations));
        if (communicator.Rank > 0)
        {
            Rng = new Rng(Rng.DeriveSeed(Rng.DeriveSeed(Rng.DeriveSeed(seed, 1), communicator.Rank), Iterations));
            // A resumed agent on rank r > 0 took rank 0's checkpoint: its weights, optimizer and counters are exact, but the
            // environments it replayed are rank 0's, so they start afresh here ("weights exact, environments reset").
            if (_envStarted)
            {
                ResetEnvironments();
                _rolloutState = Policy.CreateState(Env.NumEnvs);
            }
        }
    }

    /// <summary>Resets the training environments: rank 0 as a single process would, rank r with a seed derived from (seed, r).</summary>
    private void ResetEnvironments() =>
        Env.Reset(Communicator.Rank == 0 ? EnvironmentSeed : Rng.DeriveSeed(EnvironmentSeed, 1_000_000 + Communicator.Rank));

    /// <summary>Draws the epoch's permutation of all ranks' samples (the same on every rank).</summary>
    protected void ShuffleGlobal() => DrawShared(ref _globalPermutation, Communicator.Size * Buffer.Capacity);

    /// <summary>
    /// Recurrent PPO's epoch order of all ranks' environment copies (the same on every rank): global copy r·n + e is
    /// copy e of rank r, as in a one-process run of R·n copies.
    /// </summary>
    protected void ShuffleGlobalCopies() => DrawShared(ref _globalCopyOrder, Communicator.Size * Buffer.Envs);

    /// <summary>
    /// The copies this rank holds of recurrent minibatch <paramref name="batch"/> (global copies
    /// <c>[batch·perBatch, (batch + 1)·perBatch)</c> of <see cref="ShuffleGlobalCopies"/>' order), as its own copy
    /// indices in that order; returns how many there are.
    /// </summary>
    protected int LocalCopies(int batch, int perBatch, int[] local)
    {
        int n = Buffer.Envs, rank = Communicator.Rank, count = 0;
        for (int j = batch * perBatch; j < (batch + 1) * perBatch; j++)
        {
            int g = _globalCopyOrder[j];
            if (g / n == rank) local[count++] = g % n;
        }
        return count;
    }

    /// <summary>A permutation of 0..<paramref name="total"/>−1 from the stream all ranks share (Fisher–Yates).</summary>
    private void DrawShared(ref int[] order, int total)
    {
        if (order.Length != total) order = new int[total];
        var rng = _shuffleRng ?? throw new InvalidOperationException("The agent is not distributed: call Distribute first.");
        for (int i = 0; i < total; i++) order[i] = i;
        for (int i = total - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    /// <summary>
    /// This rank's members of the global minibatch <c>[start, start + size)</c> of <see cref="ShuffleGlobal"/>'s
    /// permutation, as indices into its own buffer, in permutation order; returns how many there are.
    /// </summary>
    /// <remarks>A global sample id is t·(R·n) + r·n + e (step t, rank r, copy e): the index the same transition has in a one-process run with R·n copies.</remarks>
    protected int LocalMinibatch(int start, int size, int[] local)
    {
        int n = Buffer.Envs, rank = Communicator.Rank, width = Communicator.Size * n, count = 0;
        for (int j = start; j < start + size; j++)
        {
            int g = _globalPermutation[j];
            int t = g / width, column = g - t * width;
            if (column / n != rank) continue;
            local[count++] = t * n + column % n;
        }
        return count;
    }

    /// <summary>Sums <paramref name="values"/> over the ranks in place (identity in a single process).</summary>
    protected void AllReduceSum(Span<double> values) => Communicator.AllReduceSum(values);

    /// <summary>
    /// Standardises advantages over the whole minibatch across ranks: (x − mean) / (std + 1e-8) with the unbiased
    /// standard deviation of all ranks' members together.
    /// </summary>
    protected void StandardizeAcrossRanks(Span<float> advantages)
    {
        Span<double> moments = stackalloc double[3];
        moments.Clear();
        foreach (var a in advantages) { moments[0] += a; moments[1] += (double)a * a; }
        moments[2] = advantages.Length;
        Communicator.AllReduceSum(moments);
        double count = moments[2];
        if (count < 2) return;
        double mean = moments[0] / count;
        double variance = Math.Max(0, (moments[1] - moments[0] * mean) / (count - 1));
        double std = Math.Sqrt(variance);
        for (int i = 0; i < advantages.Length; i++) advantages[i] = (float)((advantages[i] - mean) / (std + 1e-8));
    }

    /// <summary>
    /// After an update: checks that every rank holds the same weights (a checksum all-gathered), and agrees whether to
    /// go on (any rank's callback asking to stop stops them all). Returns whether to keep training.
    /// </summary>
    private bool AgreeAfterUpdate(bool keepGoing)
    {
        if (_gradientStep.DataParallel is not { IsDistributed: true } dp) return keepGoing;
        var comm = dp.Communicator;
        DataParallelRuns.EnsureSameWeights(comm, dp.WeightsChecksum(), $"after update {Iterations}");
        Span<double> stop = [keepGoing ? 0 : 1];
        comm.AllReduceMax(stop);
        return stop[0] == 0;
    }

    /// <summary>Averages a set of per-rank figures (losses, rates) over the ranks, for the metrics rank 0 logs.</summary>
    protected void AverageAcrossRanks(Span<double> figures)
    {
        if (Communicator.Size == 1) return;
        Communicator.AllReduceSum(figures);
        for (int i = 0; i < figures.Length; i++) figures[i] /= Communicator.Size;
    }

    /// <summary>The mean return and length of recent episodes: this process's, or the mean of the ranks' that have finished any.</summary>
    private (double? Return, double? Length) EpisodeMeansAcrossRanks()
    {
        if (Communicator.Size == 1) return (Episodes.MeanReturn, Episodes.MeanLength);
        bool has = Episodes.MeanReturn is not null;
        Span<double> sums = [has ? Episodes.MeanReturn!.Value : 0, has ? Episodes.MeanLength ?? 0 : 0, has ? 1 : 0];
        Communicator.AllReduceSum(sums);
        return sums[2] == 0 ? (null, null) : (sums[0] / sums[2], sums[1] / sums[2]);
    }

    /// <summary>Merges the ranks' normalisation statistics (after each rollout of a data-parallel run).</summary>
    private void MergeStatisticsAcrossRanks()
    {
        _observationMerge?.Merge(Communicator);
        _rewardMerge?.Merge(Communicator);
    }
}
