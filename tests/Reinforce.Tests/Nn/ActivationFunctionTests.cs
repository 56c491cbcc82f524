using Reinforce.Autograd;
using Reinforce.Nn;
using Reinforce.Tensors;

namespace Reinforce.Tests.Nn;

/// <summary>
/// Each activation is one <see cref="ActivationFunction"/>: its compiled kernel and derivative (FusedMlp's path) agree
/// with its differentiable operation (the autograd path), its names parse back to it, and what can be exported names
/// an ONNX operator.
/// </summary>
public class ActivationFunctionTests
{
    [Fact]
    public void EveryActivationHasExactlyOneDescriptionInEnumOrder()
    {
        var kinds = Enum.GetValues<Activation>();
        Assert.Equal(kinds.Length, Activations.All.Count);
        foreach (var kind in kinds)
        {
            var function = Activations.Of(kind);
            Assert.Equal(kind, function.Kind);
            foreach (var name in function.Names) Assert.Equal(kind, Activations.Parse(name));
            Assert.Equal(kind, Activations.Parse(function.Name.ToUpperInvariant().Replace("_", "-", StringComparison.Ordinal)));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => Activations.Of((Activation)99));
        var e = Assert.Throws<ArgumentException>(() => Activations.Parse("swish"));
        Assert.Contains("tanh, relu, elu, gelu_tanh, gelu_erf, sigmoid, softplus, identity", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CompiledKernelAndDerivativeAgreeWithTheOperation()
    {
        var rng = new Rng(11);
        const int n = 67;
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 8 - 4);
        x[3] = 0.5f; x[4] = -0.5f;
        var upstream = new float[n];
        for (int i = 0; i < n; i++) upstream[i] = (float)(rng.NextDouble() * 2 - 1);

        int compiled = 0;
        foreach (var function in Activations.All)
        {
            if (!function.IsCompilable)
            {
                Assert.True(function.Kind is Activation.GeluTanh or Activation.GeluErf, $"{function.Name} should have a compiled form");
                continue;
            }
            compiled++;
            // The operation's value and gradient.
            var input = Tensor.FromArray(x).RequireGrad();
            var y = function.Operation(input);
            var loss = Ops.Sum(Ops.Mul(y, Tensor.FromArray(upstream)));
            loss.Backward();
            var expectedY = y.Data;
            var expectedGrad = input.Grad?.Data ?? upstream;   // identity returns its input: the gradient is the upstream

            // The kernel in place, then the derivative from its output.
            var z = (float[])x.Clone();
            function.Kernel!(z);
            var dz = new float[n];
            function.Derivative!(z, upstream, dz);
            for (int i = 0; i < n; i++)
            {
                Assert.True(Math.Abs(expectedY[i] - z[i]) <= 2e-6f * (1 + Math.Abs(expectedY[i])), $"{function.Name}({x[i]}): kernel {z[i]}, operation {expectedY[i]}");
                Assert.True(Math.Abs(expectedGrad[i] - dz[i]) <= 2e-5f * (1 + Math.Abs(expectedGrad[i])), $"{function.Name}'({x[i]}): derivative {dz[i]}, operation {expectedGrad[i]}");
            }
            Assert.NotNull(function.OnnxOperator);
        }
        Assert.Equal(6, compiled);
        Assert.Equal("tanh, relu, elu, sigmoid, softplus, identity", Activations.CompilableNames);
    }

    [Fact]
    public void GainsAreThoseOfPyTorchCalculateGain()
    {
        Assert.Equal(5f / 3f, Init.Gain(Activation.Tanh));
        Assert.Equal(MathF.Sqrt(2f), Init.Gain(Activation.Relu));
        Assert.Equal(1f, Init.Gain(Activation.Sigmoid));
        Assert.Equal(1f, Init.Gain(Activation.Identity));
    }
}
