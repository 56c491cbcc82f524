using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Nn;

namespace Reinforce.Optim;

/// <summary>Gradient clipping by the global L2 norm over all parameters (PyTorch's <c>clip_grad_norm_</c>).</summary>
public static class GradientClipping
{
    /// <summary>
    /// The L2 norm of all gradients taken together, √(Σ‖gᵢ‖²) (parameters without a gradient count as zero).
    /// </summary>
    [BypassReadyToRun]
    public static float GlobalNorm(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        // A list (an optimizer's parameters) by index: a step's clipping allocates no enumerator.
        var list = parameters as IReadOnlyList<Tensor> ?? parameters.ToArray();
        double sumOfSquares = 0;
        for (int i = 0; i < list.Count; i++) sumOfSquares += SumOfSquares(list[i]);
        return (float)Math.Sqrt(sumOfSquares);
    }

    /// <summary>
    /// ‖g‖² of one parameter's gradient (0 without one). <see cref="GlobalNorm(IEnumerable{Tensor})"/> adds these up in
    /// the parameters' order in double; a step split over two threads computes them where the gradients are and adds
    /// them up the same way, so the norm is the same bits.
    /// </summary>
    [BypassReadyToRun]
    internal static float SumOfSquares(Tensor? parameter) =>
        parameter?.Grad is { } grad ? TensorPrimitives.SumOfSquares(grad.Data) : 0f;

    /// <summary>
    /// Scales all gradients by min(1, maxNorm / (norm + 1e-6)) where norm is their global L2 norm, as PyTorch's
    /// <c>torch.nn.utils.clip_grad_norm_</c> does, and returns the norm measured before clipping (log it: a growing
    /// norm is an early sign of divergence).
    /// </summary>
    /// <param name="parameters">The parameters whose <see cref="Tensor.Grad"/> is scaled in place.</param>
    /// <param name="maxNorm">The largest global norm allowed (PPO commonly uses 0.5).</param>
    /// <param name="errorIfNonFinite">Throw when the norm is NaN or infinite instead of scaling (PyTorch's default is not to).</param>
    public static float ClipGlobalNorm(IEnumerable<Tensor> parameters, float maxNorm, bool errorIfNonFinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckMaxNorm(maxNorm);
        var list = parameters as IReadOnlyList<Tensor> ?? parameters.ToArray();
        float norm = GlobalNorm(list);
        float coefficient = ClipCoefficient(norm, maxNorm, errorIfNonFinite);
        if (coefficient == 1f) return norm;
        for (int i = 0; i < list.Count; i++) Scale(list[i], coefficient);
        return norm;
    }

    /// <summary>Throws unless <paramref name="maxNorm"/> is a positive number.</summary>
    internal static void CheckMaxNorm(float maxNorm)
    {
        if (!(maxNorm > 0f) || float.IsNaN(maxNorm))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "ClipGlobalNorm: maxNorm must be positive.");
    }

    /// <summary>
    /// What the gradients are multiplied by for a global norm of <paramref name="norm"/>: PyTorch's clip_coef =
    /// max_norm / (total_norm + 1e-6), clamped to at most 1 (1: nothing to do). A non-finite norm throws when
    /// <paramref name="errorIfNonFinite"/>.
    /// </summary>
    internal static float ClipCoefficient(float norm, float maxNorm, bool errorIfNonFinite)
    {
        if (!float.IsFinite(norm) && errorIfNonFinite)
            throw new InvalidOperationException($"ClipGlobalNorm: the gradients' global norm is {norm}; the loss or a gradient is NaN/infinite (lower the learning rate, check the rewards and observations for NaN).");
        return (float)Math.Min(1.0, maxNorm / (norm + 1e-6));
    }

    /// <summary>Multiplies one parameter's gradient (if any) by <paramref name="coefficient"/>.</summary>
    [BypassReadyToRun]
    internal static void Scale(Tensor? parameter, float coefficient)
    {
        if (parameter?.Grad is { } grad) TensorPrimitives.Multiply(grad.Data, coefficient, grad.Data);
    }

    /// <summary>Clips the gradients of a module's parameters (see <see cref="ClipGlobalNorm(IEnumerable{Tensor}, float, bool)"/>).</summary>
    public static float ClipGlobalNorm(IEnumerable<Parameter> parameters, float maxNorm, bool errorIfNonFinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return ClipGlobalNorm(parameters.Select(p => p.Value).ToArray(), maxNorm, errorIfNonFinite);
    }

    /// <summary>The global L2 norm of a module's parameters' gradients.</summary>
    [BypassReadyToRun]
    public static float GlobalNorm(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return GlobalNorm(parameters.Select(p => p.Value));
    }

    /// <summary>Clips the gradients of an optimizer's parameters (see <see cref="ClipGlobalNorm(IEnumerable{Tensor}, float, bool)"/>).</summary>
    public static float ClipGlobalNorm(Optimizer optimizer, float maxNorm, bool errorIfNonFinite = false)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return ClipGlobalNorm(optimizer.Parameters, maxNorm, errorIfNonFinite);
    }
}
