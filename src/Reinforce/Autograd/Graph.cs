using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Tensors;

namespace Reinforce.Autograd;

/// <summary>One recorded operation: the tensors it read and how to send its output's gradient back to them.</summary>
internal abstract class Node
{
    private Tensor[] _inputs = [];
    private int _inputCount;

    /// <summary>The operation's name (for messages and debugging).</summary>
    public abstract string Operation { get; }

    /// <summary>The tensors the operation read, in order.</summary>
    public ReadOnlySpan<Tensor> Inputs => _inputs.AsSpan(0, _inputCount);

    /// <summary>Sends the output's gradient back to the inputs that require one.</summary>
    [BypassReadyToRun]
    public abstract void Backward();

    /// <summary>Keeps <paramref name="inputs"/> as the inputs (the array itself, not a copy).</summary>
    protected void SetInputs(Tensor[] inputs) => (_inputs, _inputCount) = (inputs, inputs.Length);

    /// <summary>Copies <paramref name="inputs"/> into the node's own array (kept and reused when it is long enough).</summary>
    protected void CopyInputs(ReadOnlySpan<Tensor> inputs)
    {
        if (_inputs.Length < inputs.Length) _inputs = new Tensor[inputs.Length];
        inputs.CopyTo(_inputs);
        _inputCount = inputs.Length;
    }

    /// <summary>Drops the references to the inputs (the array is kept for reuse).</summary>
    protected void ForgetInputs()
    {
        Array.Clear(_inputs, 0, _inputCount);
        _inputCount = 0;
    }
}

/// <summary>
/// The general form of a recorded operation: its backward is a closure written beside the forward (micrograd's shape),
/// capturing whatever it needs. Each recording allocates the closure, its delegate, the inputs' array and the node.
/// </summary>
internal sealed class ClosureNode : Node
{
    private readonly Action _backward;

    public ClosureNode(string operation, Tensor[] inputs, Action backward)
    {
        Operation = operation;
        SetInputs(inputs);
        _backward = backward;
    }

    /// <inheritdoc/>
    public override string Operation { get; }

    /// <inheritdoc/>
    [BypassReadyToRun]
    public override void Backward() => _backward();
}

/// <summary>
/// The allocation-free form of a recorded operation, for the hot ones (a training step's every operation): its backward is
/// a static function of a state value (the tensors and numbers the closure would have captured), so recording creates no
/// closure and no delegate, and the node itself, with its inputs' array, is lent by the step's arena (see
/// <see cref="TensorArena.Lend{T}"/>) and used again in the next step.
/// </summary>
internal sealed class Node<TState> : Node, IArenaObject<Node<TState>>
{
    private string _operation = "";
    private TState _state = default!;
    private Action<TState>? _backward;

    /// <inheritdoc/>
    public override string Operation => _operation;

    /// <summary>Records the operation: its name, inputs (copied), state and backward function.</summary>
    public void Set(string operation, ReadOnlySpan<Tensor> inputs, TState state, Action<TState> backward)
    {
        _operation = operation;
        CopyInputs(inputs);
        _state = state;
        _backward = backward;
    }

    /// <inheritdoc/>
    [BypassReadyToRun]
    public override void Backward() => _backward!(_state);

    static Node<TState> IArenaObject<Node<TState>>.Create() => new();

    void IArenaObject.Recycled()
    {
        ForgetInputs();
        _state = default!;
        _backward = null;
    }
}

/// <summary>
/// The autograd tape: records operations whose inputs require gradients, and runs them backwards.
/// Like micrograd, each operation's backward is a closure written beside its forward (see <see cref="Ops"/>).
/// </summary>
public static class Graph
{
    [ThreadStatic] private static int t_noGradDepth;

    /// <summary>Whether operations on this thread are being recorded (false inside <see cref="NoGrad"/>).</summary>
    public static bool IsRecording => t_noGradDepth == 0;

    /// <summary>
    /// A scope in which nothing is recorded (inference, target computation, optimizer updates):
    /// <c>using (Graph.NoGrad()) { ... }</c>.
    /// </summary>
    public static NoGradScope NoGrad()
    {
        t_noGradDepth++;
        return new NoGradScope();
    }

    /// <summary>Ends a <see cref="NoGrad"/> scope when disposed.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        public void Dispose() => t_noGradDepth--;
    }

    /// <summary>
    /// Attaches <paramref name="backward"/> to <paramref name="output"/> when recording is on and any input requires a gradient;
    /// returns <paramref name="output"/> either way.
    /// </summary>
    [BypassReadyToRun]
    internal static Tensor Record(Tensor output, string operation, Tensor[] inputs, Action backward)
    {
        if (t_noGradDepth != 0) return output;
        bool any = false;
        foreach (var input in inputs) any |= input.RequiresGrad;
        if (!any) return output;
        output.RequiresGrad = true;
        output.Creator = new ClosureNode(operation, inputs, backward);
        return output;
    }

    /// <summary>
    /// <see cref="Record(Tensor, string, Tensor[], Action)"/> without allocating: <paramref name="backward"/> is a static
    /// lambda (it captures nothing; the compiler keeps one delegate) that receives <paramref name="state"/>, the values it
    /// needs, and <paramref name="inputs"/> are copied into the node, which the active arena lends (see <see cref="Node{TState}"/>).
    /// For the operations of a training step that runs in an arena; the backward is written beside the forward all the same.
    /// </summary>
    [BypassReadyToRun]
    internal static Tensor Record<TState>(Tensor output, string operation, ReadOnlySpan<Tensor> inputs, TState state, Action<TState> backward)
    {
        if (t_noGradDepth != 0) return output;
        bool any = false;
        foreach (var input in inputs) any |= input.RequiresGrad;
        if (!any) return output;
        var node = TensorArena.Lend<Node<TState>>() ?? new Node<TState>();
        node.Set(operation, inputs, state, backward);
        output.RequiresGrad = true;
        output.Creator = node;
        return output;
    }

    [BypassReadyToRun]
    internal static Tensor Record(Tensor output, string operation, Tensor input, Action backward) =>
        Record(output, operation, [input], backward);

    [BypassReadyToRun]
    internal static Tensor Record(Tensor output, string operation, Tensor a, Tensor b, Action backward) =>
        Record(output, operation, [a, b], backward);

    /// <summary>
    /// Reverse-mode differentiation from <paramref name="root"/>: seeds its gradient with ones (or <paramref name="upstream"/>),
    /// runs every recorded backward in reverse topological order, and accumulates into the leaves' <see cref="Tensor.Grad"/>.
    /// Intermediate gradients and the graph are released afterwards (as PyTorch does without retain_graph).
    /// </summary>
    [BypassReadyToRun]
    public static void Backward(Tensor root, Tensor? upstream = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (!root.RequiresGrad)
            throw new InvalidOperationException("Backward: this tensor does not require a gradient (no input of the computation had RequiresGrad set, or it was computed inside Graph.NoGrad()).");
        if (upstream is null && root.Size != 1)
            throw new InvalidOperationException($"Backward: the tensor has shape {Tensor.ShapeString(root.Shape)}; backward without an upstream gradient needs a single element (a loss). Pass the upstream gradient explicitly.");
        if (upstream is not null && !Tensor.SameShape(upstream.Shape, root.Shape) && upstream.Size != root.Size)
            throw new ArgumentException($"Backward: upstream gradient shape {Tensor.ShapeString(upstream.Shape)} does not match the tensor's shape {Tensor.ShapeString(root.Shape)}.");

        // The walk's collections are reused across calls on this thread (a training step allocates none of them); a backward
        // pass started from inside another one's closure gets its own.
        var walk = t_walk ?? new TopologicalWalk();
        t_walk = null;
        try
        {
            BackwardFrom(root, upstream, walk.Order(root));
        }
        finally
        {
            walk.Clear();
            t_walk = walk;
        }
    }

    [ThreadStatic] private static TopologicalWalk? t_walk;

    [BypassReadyToRun]
    private static void BackwardFrom(Tensor root, Tensor? upstream, List<Tensor> order)
    {
        if (upstream is null) root.AccumulateGrad([1f]);
        else root.AccumulateGrad(upstream.Data);

        using (NoGrad())
        {
            for (int i = order.Count - 1; i >= 0; i--)
            {
                var tensor = order[i];
                var node = tensor.Creator!;
                if (tensor.Grad is not null) node.Backward();
                // Release what only the backward pass needed (the gradient's buffer back to the step's arena, if it lent it).
                tensor.Creator = null;
                TensorArena.Release(tensor.Grad?.Data);
                tensor.Grad = null;
            }
        }
    }

    /// <summary>Non-leaf tensors reachable from a root, each after all of its inputs (the collections kept for reuse).</summary>
    private sealed class TopologicalWalk
    {
        private readonly List<Tensor> _order = [];
        private readonly HashSet<Tensor> _visited = new(ReferenceEqualityComparer.Instance);
        private readonly Stack<(Tensor Tensor, int NextInput)> _stack = new();

        [BypassReadyToRun]
        public List<Tensor> Order(Tensor root)
        {
            if (root.Creator is null) return _order;
            _stack.Push((root, 0));
            _visited.Add(root);
            while (_stack.Count > 0)
            {
                var (tensor, next) = _stack.Pop();
                var inputs = tensor.Creator!.Inputs;
                if (next < inputs.Length)
                {
                    _stack.Push((tensor, next + 1));
                    var input = inputs[next];
                    if (input.Creator is not null && _visited.Add(input)) _stack.Push((input, 0));
                }
                else
                {
                    _order.Add(tensor);
                }
            }
            return _order;
        }

        /// <summary>Forgets the last walk (and the tensors it held, so they can be collected).</summary>
        [BypassReadyToRun]
        public void Clear()
        {
            _order.Clear();
            _visited.Clear();
            _stack.Clear();
        }
    }
}
