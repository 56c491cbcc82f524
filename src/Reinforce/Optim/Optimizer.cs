using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Nn;

namespace Reinforce.Optim;

/// <summary>
/// A first-order optimizer over a fixed list of parameter tensors: <see cref="Step"/> reads each parameter's
/// <see cref="Tensor.Grad"/> and updates the parameter's values in place, following PyTorch's update rule for the
/// same algorithm exactly (bias correction, where eps goes, the first momentum step).
/// </summary>
/// <remarks>
/// <para>All state (moment buffers, per-parameter step counts) is allocated once, on the first <see cref="Step"/>,
/// <see cref="GetState"/> or <see cref="SetState"/>; a step allocates nothing.</para>
/// <para>A parameter whose gradient is null is skipped by a step and its step count does not advance, as in PyTorch.</para>
/// <para>Each parameter has a name, used to match saved state to parameters: given names, or "0", "1", ... by position.</para>
/// </remarks>
public abstract class Optimizer
{
    private readonly Tensor[] _parameters;
    private readonly string[] _names;
    private readonly long[] _steps;
    private float[][][]? _buffers;      // [parameter][buffer] → values
    private string[]? _bufferNames;     // the layout _buffers was allocated for
    private IReadOnlyList<string>? _bufferLayout;
    private float[] _scratchA = [];
    private float[] _scratchB = [];
    private float _learningRate;

    /// <summary>Takes the parameters to optimize (each once) and, optionally, their names for saved state.</summary>
    /// <param name="parameters">The tensors to update; their <see cref="Tensor.Grad"/> is read by <see cref="Step"/>.</param>
    /// <param name="learningRate">The initial learning rate (a schedule may change it before each step).</param>
    /// <param name="names">One unique name per parameter (for example module parameter names); null names them by position.</param>
    protected Optimizer(IEnumerable<Tensor> parameters, float learningRate, IEnumerable<string>? names)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters.ToArray();
        string kind = GetType().Name;
        if (_parameters.Length == 0)
            throw new ArgumentException($"{kind}: no parameters to optimize. Pass the model's parameters (for example model.Parameters()).", nameof(parameters));
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (_parameters[i] is null) throw new ArgumentException($"{kind}: parameter {i} is null.", nameof(parameters));
            if (!seen.Add(_parameters[i]))
                throw new ArgumentException($"{kind}: parameter {i} appears more than once in the list; each tensor must be passed once (it would be updated twice per step).", nameof(parameters));
        }

        if (names is null)
        {
            _names = new string[_parameters.Length];
            for (int i = 0; i < _names.Length; i++) _names[i] = i.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            _names = names.ToArray();
            if (_names.Length != _parameters.Length)
                throw new ArgumentException($"{kind}: {_names.Length} names for {_parameters.Length} parameters; give one name per parameter.", nameof(names));
            var unique = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in _names)
            {
                if (string.IsNullOrEmpty(name)) throw new ArgumentException($"{kind}: a parameter name is null or empty.", nameof(names));
                if (!unique.Add(name)) throw new ArgumentException($"{kind}: the parameter name '{name}' is used twice; names identify parameters in saved state and must be unique.", nameof(names));
            }
        }
        _steps = new long[_parameters.Length];
        LearningRate = learningRate;
    }

    /// <summary>
    /// Takes a module's parameters (<c>model.Parameters()</c>); each is identified in saved state by its
    /// <see cref="Parameter.Name"/> (the hierarchical name such as <c>actor.layers.0.weight</c>).
    /// </summary>
    protected Optimizer(IEnumerable<Parameter> parameters, float learningRate)
        : this(Split(parameters), learningRate)
    {
    }

    private Optimizer((Tensor[] Values, string[] Names) split, float learningRate)
        : this(split.Values, learningRate, split.Names)
    {
    }

    private static (Tensor[] Values, string[] Names) Split(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var list = parameters.ToArray();
        var firstIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < list.Length; i++)
        {
            if (list[i] is null) throw new ArgumentException($"Optimizer: parameter {i} is null.", nameof(parameters));
            if (!firstIndex.TryAdd(list[i].Name, i) && !ReferenceEquals(list[firstIndex[list[i].Name]], list[i]))
                throw new ArgumentException(
                    $"Optimizer: two different parameters are both named '{list[i].Name}' (positions {firstIndex[list[i].Name]} and {i}); names key the saved optimizer state. " +
                    "When optimizing several modules, register them as children of one module (so names get prefixes such as actor./critic.) and pass its Parameters(), " +
                    "or use the IEnumerable<Tensor> constructor with explicit names.", nameof(parameters));
        }
        return (list.Select(p => p.Value).ToArray(), list.Select(p => p.Name).ToArray());
    }

    /// <summary>The parameters this optimizer updates, in the order given.</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters;

    /// <summary>The parameters' names, in the same order as <see cref="Parameters"/>.</summary>
    public IReadOnlyList<string> ParameterNames => _names;

    /// <summary>The learning rate used by the next <see cref="Step"/>; schedules set it before each update.</summary>
    public float LearningRate
    {
        get => _learningRate;
        set
        {
            if (!float.IsFinite(value) || value < 0f)
                throw new ArgumentOutOfRangeException(nameof(value), value, $"{GetType().Name}: the learning rate must be finite and non-negative.");
            _learningRate = value;
        }
    }

    /// <summary>How many times <see cref="Step"/> has been called (restored by <see cref="SetState"/>).</summary>
    public long StepCount { get; private set; }

    /// <summary>The short algorithm name stored in saved state ("Adam", "Sgd", ...).</summary>
    public abstract string Algorithm { get; }

    /// <summary>Updates every parameter that has a gradient, in place.</summary>
    public void Step()
    {
        EnsureBuffers();
        StepCount++;
        for (int i = 0; i < _parameters.Length; i++) StepParameter(i);
    }

    /// <summary>
    /// Starts a step whose parameters two threads then update, each its own, with <see cref="StepParameter"/> (PPO's
    /// actor and critic on two cores): what <see cref="Step"/> does before its loop, and whatever the update shares across
    /// parameters computed now (<see cref="PrepareSharedStep"/>), so the parameters' updates touch nothing in common.
    /// False, with nothing done, when this optimizer cannot (<see cref="StepsParametersIndependently"/>) or the parameters
    /// are at different step counts; the caller then calls <see cref="Step"/>. The results are the same bits as
    /// <see cref="Step"/>'s whatever the order of the parameters' updates.
    /// </summary>
    internal bool BeginSharedStep()
    {
        if (!StepsParametersIndependently) return false;
        long first = _steps.Length > 0 ? _steps[0] : 0;
        foreach (long s in _steps) if (s != first) return false;
        EnsureBuffers();
        StepCount++;
        PrepareSharedStep(first + 1);
        return true;
    }

    /// <summary>Updates parameter <paramref name="index"/> if it has a gradient: one iteration of <see cref="Step"/>'s loop.</summary>
    [BypassReadyToRun]
    internal void StepParameter(int index)
    {
        var p = _parameters[index];
        var grad = p.Grad;
        if (grad is null) return;
        if (grad.Size != p.Size)
            throw new InvalidOperationException($"{Algorithm}.Step: parameter '{_names[index]}' has shape {Tensor.ShapeString(p.Shape)} but its gradient has shape {Tensor.ShapeString(grad.Shape)}.");
        _steps[index]++;
        ParameterIndex = index;
        Update(p.Data, grad.Data, _buffers![index], _steps[index]);
    }

    /// <summary>
    /// Whether <see cref="Update"/> reads and writes only its own parameter's data and buffers (after
    /// <see cref="PrepareSharedStep"/>), so two threads may update different parameters at once: false unless an optimizer
    /// says so (it must then not read <see cref="ParameterIndex"/>, which the threads would both set).
    /// </summary>
    internal virtual bool StepsParametersIndependently => false;

    /// <summary>Computes what every parameter's update at <paramref name="step"/> shares, before threads update them.</summary>
    private protected virtual void PrepareSharedStep(long step) { }

    /// <summary>The position (in <see cref="Parameters"/>) of the parameter <see cref="Update"/> is updating.</summary>
    protected int ParameterIndex { get; private set; }

    /// <summary>Sets every parameter's gradient to zero (the gradient buffers are kept).</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.ZeroGrad();
    }

    /// <summary>
    /// Applies one update to one parameter. <paramref name="step"/> counts this parameter's updates including this one (1 on the first).
    /// </summary>
    /// <param name="parameter">The values to update in place.</param>
    /// <param name="gradient">The gradient (must not be modified).</param>
    /// <param name="buffers">This parameter's buffers, in the order of <see cref="BufferNames"/>.</param>
    /// <param name="step">This parameter's update count, 1-based.</param>
    protected abstract void Update(Span<float> parameter, ReadOnlySpan<float> gradient, float[][] buffers, long step);

    /// <summary>
    /// The names of the per-parameter buffers (each the parameter's size) under the current settings. Return the same
    /// (static) list instance for the same layout: a different instance means the layout changed and buffers are re-allocated.
    /// </summary>
    protected abstract IReadOnlyList<string> BufferNames { get; }

    /// <summary>Whether each update needs the scratch spans (then they are allocated once, as large as the largest parameter).</summary>
    protected virtual int ScratchCount => 0;

    /// <summary>The hyperparameters other than the learning rate, as saved in state (booleans as 0/1).</summary>
    protected abstract void WriteHyperparameters(IDictionary<string, double> destination);

    /// <summary>Restores the hyperparameters written by <see cref="WriteHyperparameters"/> (values already checked present).</summary>
    protected abstract void ReadHyperparameters(IReadOnlyDictionary<string, double> source);

    /// <summary>First scratch span of <paramref name="length"/> floats (contents undefined).</summary>
    protected Span<float> ScratchA(int length) => _scratchA.AsSpan(0, length);

    /// <summary>Second scratch span of <paramref name="length"/> floats (contents undefined).</summary>
    protected Span<float> ScratchB(int length) => _scratchB.AsSpan(0, length);

    /// <summary>Checks a hyperparameter lies in [<paramref name="min"/>, <paramref name="max"/>] (or below max when <paramref name="maxExclusive"/>).</summary>
    protected static float CheckRange(string optimizer, string name, float value, float min, float max, bool maxExclusive = false)
    {
        bool ok = float.IsFinite(value) && value >= min && (maxExclusive ? value < max : value <= max);
        if (!ok)
        {
            string upper = maxExclusive ? $"{max.ToString(CultureInfo.InvariantCulture)})" : $"{max.ToString(CultureInfo.InvariantCulture)}]";
            throw new ArgumentOutOfRangeException(name, value, $"{optimizer}: {name} must lie in [{min.ToString(CultureInfo.InvariantCulture)}, {upper}.");
        }
        return value;
    }

    /// <summary>Allocates (or re-allocates, after settings changed) the buffers for the current settings.</summary>
    private void EnsureBuffers()
    {
        // Called on every step: the layouts are static arrays, so a reference check suffices and allocates nothing.
        var names = BufferNames;
        if (_buffers is not null && ReferenceEquals(names, _bufferLayout)) return;
        _bufferLayout = names;
        _bufferNames = names.ToArray();
        _buffers = new float[_parameters.Length][][];
        int largest = 0;
        for (int i = 0; i < _parameters.Length; i++)
        {
            int size = _parameters[i].Size;
            largest = Math.Max(largest, size);
            _buffers[i] = new float[_bufferNames.Length][];
            for (int b = 0; b < _bufferNames.Length; b++) _buffers[i][b] = new float[size];
        }
        if (ScratchCount >= 1 && _scratchA.Length < largest) _scratchA = new float[largest];
        if (ScratchCount >= 2 && _scratchB.Length < largest) _scratchB = new float[largest];
    }

    // ---------------------------------------------------------------- state

    /// <summary>
    /// A deep copy of everything a resumed run needs to continue bit-exactly: hyperparameters (including the learning rate),
    /// the step count, and each parameter's step count and buffers, keyed by parameter name.
    /// </summary>
    public OptimizerState GetState()
    {
        EnsureBuffers();
        var hyper = new SortedDictionary<string, double>(StringComparer.Ordinal) { ["lr"] = LearningRate };
        WriteHyperparameters(hyper);
        var parameters = new List<ParameterState>(_parameters.Length);
        for (int i = 0; i < _parameters.Length; i++)
        {
            var buffers = new Dictionary<string, float[]>(StringComparer.Ordinal);
            for (int b = 0; b < _bufferNames!.Length; b++) buffers[_bufferNames[b]] = (float[])_buffers![i][b].Clone();
            parameters.Add(new ParameterState
            {
                Name = _names[i],
                Shape = (int[])_parameters[i].Shape.Clone(),
                Step = _steps[i],
                Buffers = buffers,
            });
        }
        return new OptimizerState
        {
            Algorithm = Algorithm,
            StepCount = StepCount,
            Hyperparameters = new Dictionary<string, double>(hyper, StringComparer.Ordinal),
            Parameters = parameters,
        };
    }

    /// <summary>
    /// Restores a state saved by <see cref="GetState"/> of the same algorithm over parameters with the same names and shapes
    /// (hyperparameters, including the learning rate, are restored too, as PyTorch's load_state_dict does).
    /// Nothing changes when the state does not fit; the exception names the mismatch.
    /// </summary>
    public void SetState(OptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        string where = $"{Algorithm}.SetState";
        if (!string.Equals(state.Algorithm, Algorithm, StringComparison.Ordinal))
            throw new ArgumentException($"{where}: the state was saved by a '{state.Algorithm}' optimizer, this one is '{Algorithm}'. Create the same optimizer type that saved it.", nameof(state));
        if (state.Parameters is null || state.Hyperparameters is null)
            throw new ArgumentException($"{where}: the state has no parameter list or no hyperparameters (incomplete or corrupt).", nameof(state));
        if (state.StepCount < 0) throw new ArgumentException($"{where}: the state's step count {state.StepCount} is negative.", nameof(state));
        if (state.Parameters.Count != _parameters.Length)
            throw new ArgumentException($"{where}: the state holds {state.Parameters.Count} parameters but this optimizer has {_parameters.Length}. The model must have the same parameters as the one that was saved.", nameof(state));

        // Hyperparameters first (they decide which buffers exist), but only commit after everything is checked.
        var expected = new SortedDictionary<string, double>(StringComparer.Ordinal) { ["lr"] = LearningRate };
        WriteHyperparameters(expected);
        foreach (var key in expected.Keys)
        {
            if (!state.Hyperparameters.TryGetValue(key, out double v))
                throw new ArgumentException($"{where}: the state lacks the hyperparameter '{key}'.", nameof(state));
            if (!double.IsFinite(v)) throw new ArgumentException($"{where}: the state's hyperparameter '{key}' is {v}.", nameof(state));
        }
        var extra = state.Hyperparameters.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        if (extra.Count > 0)
            throw new ArgumentException($"{where}: the state has hyperparameters this optimizer does not know: {string.Join(", ", extra)}.", nameof(state));

        var byName = new Dictionary<string, ParameterState>(StringComparer.Ordinal);
        foreach (var ps in state.Parameters)
        {
            if (ps?.Name is null) throw new ArgumentException($"{where}: the state has a parameter entry without a name.", nameof(state));
            if (!byName.TryAdd(ps.Name, ps)) throw new ArgumentException($"{where}: the state names parameter '{ps.Name}' twice.", nameof(state));
        }

        var backupHyper = new Dictionary<string, double>(expected, StringComparer.Ordinal);
        try
        {
            ReadHyperparameters(state.Hyperparameters);
            var bufferNames = BufferNames;
            var restored = new float[_parameters.Length][][];
            for (int i = 0; i < _parameters.Length; i++)
            {
                if (!byName.TryGetValue(_names[i], out var ps))
                    throw new ArgumentException($"{where}: the state has no entry for parameter '{_names[i]}' (it has: {string.Join(", ", byName.Keys.Take(8))}{(byName.Count > 8 ? ", ..." : "")}).", nameof(state));
                if (ps.Shape is null || !Tensor.SameShape(ps.Shape, _parameters[i].Shape))
                    throw new ArgumentException($"{where}: parameter '{_names[i]}' has shape {Tensor.ShapeString(_parameters[i].Shape)} but the state was saved for shape {Tensor.ShapeString(ps.Shape ?? [])}.", nameof(state));
                if (ps.Step < 0) throw new ArgumentException($"{where}: parameter '{_names[i]}' has a negative step count {ps.Step}.", nameof(state));
                var have = ps.Buffers ?? new Dictionary<string, float[]>();
                restored[i] = new float[bufferNames.Count][];
                for (int b = 0; b < bufferNames.Count; b++)
                {
                    if (!have.TryGetValue(bufferNames[b], out var values))
                        throw new ArgumentException($"{where}: parameter '{_names[i]}' lacks the buffer '{bufferNames[b]}' (saved with different settings?).", nameof(state));
                    if (values is null || values.Length != _parameters[i].Size)
                        throw new ArgumentException($"{where}: buffer '{bufferNames[b]}' of parameter '{_names[i]}' has {values?.Length ?? 0} values, the parameter has {_parameters[i].Size}.", nameof(state));
                    restored[i][b] = (float[])values.Clone();
                }
                var unknown = have.Keys.Where(k => !bufferNames.Contains(k)).ToList();
                if (unknown.Count > 0)
                    throw new ArgumentException($"{where}: parameter '{_names[i]}' has buffers this optimizer does not use: {string.Join(", ", unknown)}.", nameof(state));
            }

            float lr = (float)state.Hyperparameters["lr"];
            if (lr < 0f) throw new ArgumentException($"{where}: the state's learning rate {lr} is negative.", nameof(state));
            EnsureBuffers();
            for (int i = 0; i < _parameters.Length; i++)
            {
                for (int b = 0; b < restored[i].Length; b++) restored[i][b].CopyTo(_buffers![i][b], 0);
                _steps[i] = byName[_names[i]].Step;
            }
            _learningRate = lr;
            StepCount = state.StepCount;
        }
        catch
        {
            ReadHyperparameters(backupHyper);
            throw;
        }
    }
}
