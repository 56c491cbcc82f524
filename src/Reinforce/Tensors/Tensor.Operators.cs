using Reinforce.Autograd;

namespace Reinforce.Tensors;

// Conveniences that forward to the differentiable operations in Autograd.Ops.
public sealed partial class Tensor
{
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Sub(a, b);
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Mul(a, b);
    public static Tensor operator /(Tensor a, Tensor b) => Ops.Div(a, b);
    public static Tensor operator +(Tensor a, float c) => Ops.AddScalar(a, c);
    public static Tensor operator +(float c, Tensor a) => Ops.AddScalar(a, c);
    public static Tensor operator -(Tensor a, float c) => Ops.AddScalar(a, -c);
    public static Tensor operator -(float c, Tensor a) => Ops.AddScalar(Ops.Neg(a), c);
    public static Tensor operator *(Tensor a, float c) => Ops.MulScalar(a, c);
    public static Tensor operator *(float c, Tensor a) => Ops.MulScalar(a, c);
    public static Tensor operator /(Tensor a, float c) => Ops.MulScalar(a, 1f / c);
    public static Tensor operator -(Tensor a) => Ops.Neg(a);

    public Tensor MatMul(Tensor other, bool transposeA = false, bool transposeB = false) => Ops.MatMul(this, other, transposeA, transposeB);
    public Tensor Exp() => Ops.Exp(this);
    public Tensor Log() => Ops.Log(this);
    public Tensor Square() => Ops.Square(this);
    public Tensor Sqrt() => Ops.Sqrt(this);
    public Tensor Abs() => Ops.Abs(this);
    public Tensor Tanh() => Ops.Tanh(this);
    public Tensor Relu() => Ops.Relu(this);
    public Tensor Sigmoid() => Ops.Sigmoid(this);
    public Tensor Clamp(float min, float max) => Ops.Clamp(this, min, max);
    public Tensor Sum() => Ops.Sum(this);
    public Tensor Mean() => Ops.Mean(this);
    public Tensor SumLastDim() => Ops.SumLastDim(this);
    public Tensor MeanLastDim() => Ops.MeanLastDim(this);
    public Tensor Reshape(params ReadOnlySpan<int> shape) => Ops.Reshape(this, shape);
    public Tensor Softmax() => Ops.Softmax(this);
    public Tensor LogSoftmax() => Ops.LogSoftmax(this);
    public Tensor GatherLastDim(ReadOnlySpan<int> index) => Ops.GatherLastDim(this, index);
    public Tensor IndexRows(ReadOnlySpan<int> rows) => Ops.IndexRows(this, rows);
}
