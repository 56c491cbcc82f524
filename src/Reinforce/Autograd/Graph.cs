using Reinforce.Tensors;

namespace Reinforce.Autograd;

/// <summary>One recorded operation: the tensors it read and how to send its output's gradient back to them.</summary>
internal sealed class Node(string operation, Tensor[] inputs, Action backward)
{
    public string Operation { get; } = operation;
    public Tensor[] Inputs { get; } = inputs;
    public Action Backward { get; } = backward;
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
    internal static Tensor Record(Tensor output, string operation, Tensor[] inputs, Action backward)
    {
        if (t_noGradDepth != 0) return output;
        bool any = false;
        foreach (var input in inputs) any |= input.RequiresGrad;
        if (!any) return output;
        output.RequiresGrad = true;
        output.Creator = new Node(operation, inputs, backward);
        return output;
    }

    internal static Tensor Record(Tensor output, string operation, Tensor input, Action backward) =>
        Record(output, operation, [input], backward);

    internal static Tensor Record(Tensor output, string operation, Tensor a, Tensor b, Action backward) =>
        Record(output, operation, [a, b], backward);

    /// <summary>
    /// Reverse-mode differentiation from <paramref name="root"/>: seeds its gradient with ones (or <paramref name="upstream"/>),
    /// runs every recorded backward in reverse topological order, and accumulates into the leaves' <see cref="Tensor.Grad"/>.
    /// Intermediate gradients and the graph are released afterwards (as PyTorch does without retain_graph).
    /// </summary>
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
        public void Clear()
        {
            _order.Clear();
            _visited.Clear();
            _stack.Clear();
        }
    }
}
