using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Nn;
using Reinforce.Optim;
using Reinforce.Tensors;

namespace Reinforce.Algorithms;

/// <summary>
/// PPO's minibatch step with the actor on the calling thread and the critic on a second core (<see cref="PairedWorker"/>),
/// for a categorical policy whose actor and critic are separate networks on the observations (SB3's and CleanRL's
/// default). Each core keeps its own network's weights, gradients and Adam moments: the critic's forward and backward
/// pass, its value loss, its gradient's sum of squares and its optimizer update run on the worker; the actor's, its
/// policy loss and entropy on the caller. Only the value loss and each parameter's sum of squares cross between the
/// cores (and the clipping coefficient back). Stepping the critic's parameters from the calling thread instead moved its
/// weights, gradients and moments (about 70 KB for a 4-64-64 critic) between the cores' caches in every minibatch and took the gain away (a harness with 4-32-32 and 4-64-64
/// networks at 128 rows: 0.9-1.4x against 1.5-1.95x for owning).
/// <para>
/// The arithmetic is <see cref="PpoObjective.CategoricalLoss"/>'s and <see cref="GradientStep"/>'s, each piece done once
/// by one thread: the loss's gradient is 1 for both sides, the gradient norm adds the parameters' sums of squares in the
/// optimizer's order, and every parameter gets the same update. So the results are the same bits as the one-thread step
/// (checked in the tests), and do not depend on the thread count.
/// </para>
/// <para>
/// Whether an update pairs is decided per update by what each way measured (<see cref="PairNextUpdate"/>): another thread
/// holding a core makes two threads slower than one. Results do not depend on the choice.
/// </para>
/// </summary>
internal sealed class PpoPairedStep : IPairedWork
{
    /// <summary>
    /// Multiply-adds of one side's forward pass (rows × per row) below which a minibatch stays on one thread: the CartPole
    /// preset's 4-32-32 networks (156k at 128 rows) gained about 12 % per update on two cores once the background compiler
    /// was done, and lost as much in a run's first 0.3 s while it was not (training 0.535 s against 0.50 s on one thread,
    /// ten interleaved runs); CleanRL's 4-64-64 networks (573k) gained 9-25 %.
    /// </summary>
    internal const long MinimumWork = 262_144;

    private readonly FusedMlp _actor, _critic;
    private readonly Optimizer _optimizer;
    private readonly float? _maxGradNorm;
    private readonly bool _errorIfNonFinite;
    private readonly int[] _actorParameters, _criticParameters;   // indices into the optimizer's parameters
    private readonly float[] _sumsOfSquares;                       // per optimizer parameter, written by its side
    private readonly Func<PairedWorker> _secondCore;              // the agent's worker (shared with its rollouts), made at first use
    private PairedWorker Worker => _secondCore();
    private readonly TensorArena _criticArena = new();            // the critic side's step buffers (an arena is per thread)
    private readonly TensorArena _actorArena = new();             // the actor side's: its own, so a run that switches between
                                                                  // one thread and two lends each arena the same sequence
    private readonly PpoObjective.Workspace _workspace = new();

    // The minibatch being stepped, for the worker.
    private Tensor? _observations;
    private PpoObjective.Terms _terms;
    private bool _stepping;          // the worker's piece: false = forward and backward, true = clip and update
    private float _coefficient;
    private float _valueLoss;
    private float _policyLoss, _entropyMean;
    private Tensor? _logits;
    private float[] _valueGrad = [], _logitsGrad = [];
    private bool _inFlight;

    private PpoPairedStep(FusedMlp actor, FusedMlp critic, Optimizer optimizer, float? maxGradNorm, bool errorIfNonFinite,
        int[] actorParameters, int[] criticParameters, Func<PairedWorker> secondCore)
    {
        _secondCore = secondCore;
        (_actor, _critic, _optimizer, _maxGradNorm, _errorIfNonFinite) = (actor, critic, optimizer, maxGradNorm, errorIfNonFinite);
        (_actorParameters, _criticParameters) = (actorParameters, criticParameters);
        if (maxGradNorm is float max) GradientClipping.CheckMaxNorm(max);
        _sumsOfSquares = new float[optimizer.Parameters.Count];
    }

    /// <summary>Minibatches stepped so far, and how many of those updated the parameters on both cores at once (the optimizer allowed it), for tests.</summary>
    internal long Minibatches { get; private set; }

    /// <inheritdoc cref="Minibatches"/>
    internal long SharedUpdates { get; private set; }

    /// <summary>The critic's pieces the worker ran, and those the caller ran because the worker had not started them.</summary>
    internal (long ByWorker, long ByCaller) Pieces => (Worker.RunByWorker, Worker.RunByOwner);

    /// <summary>Bytes the worker thread allocated in its pieces so far, for the allocation tests.</summary>
    internal long WorkerAllocatedBytes => Worker.WorkerAllocatedBytes;

    /// <summary>Whether <paramref name="parameter"/> is the critic's (stepped on the worker) rather than the actor's.</summary>
    internal bool IsCritics(Tensor parameter) => _criticParameters.Any(i => ReferenceEquals(_optimizer.Parameters[i], parameter));

    /// <summary>
    /// The paired step for <paramref name="policy"/>, or null when it does not apply: no separate actor and critic
    /// networks, or an optimizer parameter that belongs to neither (all of them must be the two networks' weights and biases).
    /// </summary>
    public static PpoPairedStep? TryCreate(IPolicy policy, Optimizer optimizer, float? maxGradNorm, bool errorIfNonFinite, Func<PairedWorker> secondCore)
    {
        if (policy is not ActorCriticPolicy { SeparateNetworks: var (actor, critic) }) return null;
        var actorSet = new HashSet<Tensor>(actor.ParameterTensors, ReferenceEqualityComparer.Instance);
        var criticSet = new HashSet<Tensor>(critic.ParameterTensors, ReferenceEqualityComparer.Instance);
        var actorIndices = new List<int>();
        var criticIndices = new List<int>();
        for (int i = 0; i < optimizer.Parameters.Count; i++)
        {
            var p = optimizer.Parameters[i];
            if (actorSet.Contains(p)) actorIndices.Add(i);
            else if (criticSet.Contains(p)) criticIndices.Add(i);
            else return null;
        }
        return new PpoPairedStep(actor, critic, optimizer, maxGradNorm, errorIfNonFinite, [.. actorIndices], [.. criticIndices], secondCore);
    }

    /// <summary>
    /// Whether a minibatch of <paramref name="rows"/> goes over two cores: two threads allowed, each side's forward pass at
    /// least <see cref="MinimumWork"/> multiply-adds, and small enough that none of its products or element-wise passes
    /// splits over the cores itself (larger networks use them that way, <see cref="FusedMlp.ForwardPair"/>).
    /// </summary>
    public bool Applies(int rows) =>
        Kernels.MaxThreads >= 2 && Fits(_actor, rows) && Fits(_critic, rows);

    private static bool Fits(FusedMlp net, int rows)
    {
        long work = rows * net.MultiplyAddsPerRow;
        return work >= MinimumWork && work < Kernels.ParallelThreshold && (long)rows * net.MaxWidth < Kernels.ParallelElementWork;
    }

    /// <summary>Every this many updates, the mode that measured slower runs once more, so a change (another process
    /// taking a core, the background compiler finishing) is noticed.</summary>
    internal const int ProbeEvery = 8;

    private readonly double[][] _costs = [new double[3], new double[3]];   // the last seconds per minibatch on one thread [0] and on two [1]
    private readonly int[] _costCount = new int[2];
    private int _updates;
    private long _updateStart;       // when the update PairNextUpdate decided began (0: it decided nothing)
    private bool _updatePaired;

    /// <summary>
    /// Whether the next update, of minibatches of <paramref name="rows"/>, runs on two cores; call
    /// <see cref="UpdateEnded"/> after it, which times it. Two cores are not always faster: while another thread holds one
    /// (the background compiler in a run's first second, another process), the worker and the caller share the other
    /// and each hand-over waits for the scheduler. So the update that decides measures: one thread first, then two, then
    /// whichever ran faster over its last three updates, and every <see cref="ProbeEvery"/>-th update the other (every
    /// fourth such update when it lost by more than a fifth). Either way the results are the same bits; only the time differs.
    /// </summary>
    [BypassReadyToRun]
    public bool PairNextUpdate(int rows)
    {
        _updateStart = 0;
        if (!Applies(rows)) return false;
        _updates++;
        _updateStart = Stopwatch.GetTimestamp();
        return _updatePaired = Forced ?? Choose();
    }

    private bool Choose()
    {
        if (_costCount[0] < 2) return false;   // each way's first update compiles its code: measured, not counted
        if (_costCount[1] < 2) return true;
        double paired = Cost(1), single = Cost(0);
        bool pairedFaster = paired < single;
        // The slower way is measured again every ProbeEvery updates, or four times as rarely when it lost by more than a
        // fifth (another process on the cores can make two threads much slower; probing then costs that much each time).
        int every = Math.Abs(paired - single) > 0.2 * Math.Min(paired, single) ? 4 * ProbeEvery : ProbeEvery;
        return _updates % every == 0 ? !pairedFaster : pairedFaster;
    }

    /// <summary>Set: every update that can pair does (true) or none does (false), whatever they measure; for tests.</summary>
    internal bool? Forced { get; set; }

    /// <summary>Ends the update <see cref="PairNextUpdate"/> decided, of <paramref name="minibatches"/> minibatch steps: its time counts for its way.</summary>
    public void UpdateEnded(int minibatches)
    {
        if (_updateStart == 0 || minibatches <= 0) return;
        Record(_updatePaired, Stopwatch.GetElapsedTime(_updateStart).TotalSeconds / minibatches);
        _updateStart = 0;
    }

    /// <summary>Records how long an update's minibatches took (seconds each) on one thread or on two (each way's first is not counted).</summary>
    internal void Record(bool paired, double secondsPerMinibatch)
    {
        int mode = paired ? 1 : 0;
        if (_costCount[mode]++ > 0) _costs[mode][(_costCount[mode] - 2) % 3] = secondsPerMinibatch;
    }

    /// <summary>The median of a mode's last three measurements after its first (the lower of two; the one when there is one).</summary>
    private double Cost(int mode)
    {
        int n = Math.Min(_costCount[mode] - 1, 3);
        var c = _costs[mode];
        return n switch
        {
            1 => c[0],
            2 => Math.Min(c[0], c[1]),
            _ => Math.Max(Math.Min(c[0], c[1]), Math.Min(Math.Max(c[0], c[1]), c[2])),
        };
    }

    /// <summary>
    /// The loss's forward pass for <paramref name="batch"/>: the critic's side starts on the worker (through its backward
    /// pass), the actor's forward pass and policy terms run here; r and log r per sample into the spans, for the KL and
    /// the clip fraction. Follow with <see cref="Step"/>, or <see cref="Abandon"/> to skip the update (early stop).
    /// </summary>
    [BypassReadyToRun]
    public void Forward(Minibatch batch, ReadOnlySpan<int> actions, float epsilon, float? epsilonVf, float entropyCoef, float valueCoef,
        Span<float> ratio, Span<float> logRatio)
    {
        if (_inFlight) throw new InvalidOperationException("PpoPairedStep.Forward: the last minibatch was neither stepped nor abandoned.");
        int n = batch.Size;
        _observations = batch.Observations;
        // Before the worker starts: the terms keep r in the workspace, as CategoricalLoss's do.
        _workspace.Ensure(n, _actor.OutputSize, PpoObjective.ShortRowsApply(n, _actor.OutputSize));
        _terms = new PpoObjective.Terms(batch, epsilon, epsilonVf, entropyCoef, valueCoef, share: 1f, n, _workspace.Ratio);
        _stepping = false;
        Worker.Post(this);
        _inFlight = true;
        try
        {
            using var arena = _actorArena.Activate();
            _logits = _actor.Forward(batch.Observations);
            PpoObjective.CategoricalForward(_logits, actions, _workspace);
            (_policyLoss, _entropyMean) = _terms.PolicyForward(_workspace.TakenLogProb, _workspace.Entropy, ratio, logRatio);
        }
        catch
        {
            // The critic's piece may be reading the minibatch: withdraw it or wait for it, keeping this thread's exception.
            _inFlight = false;
            Worker.Cancel();
            _actorArena.Recycle();
            throw;
        }
    }

    /// <summary>
    /// The backward pass and the optimizer step of the minibatch <see cref="Forward"/> started; returns the gradient norm
    /// before clipping, and the loss's parts.
    /// </summary>
    [BypassReadyToRun]
    public float Step(out PpoObjective.Parts parts)
    {
        if (!_inFlight) throw new InvalidOperationException("PpoPairedStep.Step: no minibatch in flight (call Forward first).");
        try
        {
            using var arena = _actorArena.Activate();
            // The actor's gradient: the policy terms' gradient to the logits (into zeros, as a fresh gradient), then backward.
            foreach (int i in _actorParameters) _optimizer.Parameters[i].ZeroGrad();
            var logits = _logits!;
            int size = logits.Size;
            if (_logitsGrad.Length != size) _logitsGrad = new float[size];
            Array.Clear(_logitsGrad);
            PpoObjective.CategoricalBackward(_terms, _workspace, 1f, _logitsGrad);
            logits.Backward(Tensor.Wrap(_logitsGrad, logits.Shape));   // the wrapper is lent by the step's arena, when one is active
            foreach (int i in _actorParameters) _sumsOfSquares[i] = GradientClipping.SumOfSquares(_optimizer.Parameters[i]);
        }
        finally
        {
            _inFlight = false;
            _actorArena.Recycle();   // the actor's tensors are spent; the worker never lends from this arena
            Worker.Wait();          // rethrows the critic's failure, if any
        }
        parts = new PpoObjective.Parts(_policyLoss, _valueLoss, _entropyMean);
        Minibatches++;

        // The global norm in the optimizer's order, as GradientStep's clipping adds it up.
        double sum = 0;
        foreach (float s in _sumsOfSquares) sum += s;
        float norm = (float)Math.Sqrt(sum);
        float coefficient = 1f;
        if (_maxGradNorm is float max) coefficient = GradientClipping.ClipCoefficient(norm, max, _errorIfNonFinite);
        if (!_optimizer.BeginSharedStep())
        {
            // The optimizer steps parameters together (weight decay, or parameters at different step counts): one thread.
            if (coefficient != 1f) foreach (var p in _optimizer.Parameters) GradientClipping.Scale(p, coefficient);
            _optimizer.Step();
            return norm;
        }
        SharedUpdates++;
        _coefficient = coefficient;
        _stepping = true;
        Worker.Post(this);
        try
        {
            ClipAndUpdate(_actorParameters, coefficient);
        }
        finally
        {
            Worker.Wait();
        }
        return norm;
    }

    /// <summary>Ends the minibatch <see cref="Forward"/> started without an update (PPO's early stop on the KL).</summary>
    public void Abandon()
    {
        if (!_inFlight) return;
        _inFlight = false;
        Worker.Cancel();
        _actorArena.Recycle();
    }

    /// <summary>The critic's pieces (run by the worker, or by the caller when the worker is late): its forward and backward pass, or its clipping and update.</summary>
    [BypassReadyToRun]
    void IPairedWork.Run()
    {
        if (_stepping)
        {
            ClipAndUpdate(_criticParameters, _coefficient);
            return;
        }
        try
        {
            using var arena = _criticArena.Activate();
            foreach (int i in _criticParameters) _optimizer.Parameters[i].ZeroGrad();
            var observations = _observations!;
            int n = _terms.Count;
            var values = Autograd.Ops.Reshape(_critic.Forward(observations), n);
            _valueLoss = _terms.ValueForward(values.Data);
            if (_valueGrad.Length != n) _valueGrad = new float[n];
            Array.Clear(_valueGrad);
            _terms.ValueGradient(1f, values.Data, _valueGrad);
            values.Backward(Tensor.Wrap(_valueGrad, values.Shape));
            foreach (int i in _criticParameters) _sumsOfSquares[i] = GradientClipping.SumOfSquares(_optimizer.Parameters[i]);
        }
        finally
        {
            _criticArena.Recycle();
        }
    }

    [BypassReadyToRun]
    private void ClipAndUpdate(int[] parameters, float coefficient)
    {
        foreach (int i in parameters)
        {
            if (coefficient != 1f) GradientClipping.Scale(_optimizer.Parameters[i], coefficient);
            _optimizer.StepParameter(i);
        }
    }
}
