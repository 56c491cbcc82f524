using Reinforce.Tensors;
using Reinforce.Autograd;
using Reinforce.Nn;
using Reinforce.Tests.Golden;

namespace Reinforce.Tests.Nn;

/// <summary>
/// Convolution, pooling and recurrent layers against PyTorch 1.13 (float64) values and gradients
/// (Data/pytorch-golden-conv-rnn.jsonl, made by tools/golden/conv_rnn_golden.py). The recurrent layers load PyTorch's
/// own parameters by PyTorch's names (weight_ih_l0, ...), so the names, the layouts and the gate order all map one to one.
/// </summary>
public class ConvRecurrentGoldenTests
{
    private static readonly Lazy<IReadOnlyDictionary<string, GoldenCase>> s_cases =
        new(() => GoldenData.Load(GoldenData.PathOf("pytorch-golden-conv-rnn.jsonl")));

    private static GoldenCase Case(string name) => s_cases.Value[name];

    private static (int, int) Pair(GoldenCase c, string field)
    {
        var v = c.Ints(field);
        return (v[0], v[1]);
    }

    [Fact]
    public void The_data_states_the_PyTorch_version_that_made_it()
    {
        var meta = Case("_meta");
        Assert.StartsWith("1.13", meta.Field("torch").GetString(), StringComparison.Ordinal);
        Assert.Equal("tools/golden/conv_rnn_golden.py", meta.Field("generator").GetString());
    }

    [Theory]
    [InlineData("conv2d_3x3")]
    [InlineData("conv2d_stride_pad_dilation")]
    [InlineData("conv2d_nature_first_layer_small")]
    [InlineData("conv2d_1x1_no_bias")]
    [InlineData("conv2d_pad_larger_than_kernel_edge")]
    public void Conv2d_op_matches_F_conv2d(string name)
    {
        var c = Case(name);
        var inputs = c.InputNames.ToDictionary(n => n, n => c.Input(n).ToTensor(requiresGrad: true));
        var y = Ops.Conv2d(inputs["x"], inputs["weight"], inputs.GetValueOrDefault("bias"), Pair(c, "stride"), Pair(c, "padding"), Pair(c, "dilation"));
        CheckSingleOutput(c, inputs, y, 1e-5, 1e-5);
    }

    [Fact]
    public void Conv2d_module_loads_PyTorch_weights_by_name()
    {
        var c = Case("conv2d_stride_pad_dilation");
        var w = c.Input("weight");
        var conv = new Conv2d(w.Shape[1], w.Shape[0], (w.Shape[2], w.Shape[3]), new Rng(1), Pair(c, "stride"), Pair(c, "padding"), Pair(c, "dilation"));
        conv.LoadStateDict(new Dictionary<string, Tensor> { ["weight"] = w.ToTensor(), ["bias"] = c.Input("bias").ToTensor() });
        var x = c.Input("x").ToTensor(requiresGrad: true);
        var y = conv.Forward(x);
        GoldenData.AssertClose(c.Output(), y, 1e-5, 1e-5, "y");
        y.Backward(c.Upstream.ToTensor());
        GoldenData.AssertClose(c.Grad("x"), x.Grad!, 1e-5, 1e-5, "dx");
        GoldenData.AssertClose(c.Grad("weight"), conv.Weight.Grad!, 1e-5, 1e-5, "dweight");
        GoldenData.AssertClose(c.Grad("bias"), conv.Bias!.Grad!, 1e-5, 1e-5, "dbias");
    }

    [Theory]
    [InlineData("max_pool2d_3_s2_p1", true)]
    [InlineData("max_pool2d_2x3_s2x1", true)]
    [InlineData("avg_pool2d_3_s2_p1", false)]
    [InlineData("avg_pool2d_2x2", false)]
    public void Pooling_matches_F_max_pool2d_and_avg_pool2d(string name, bool max)
    {
        var c = Case(name);
        var inputs = c.InputNames.ToDictionary(n => n, n => c.Input(n).ToTensor(requiresGrad: true));
        Module pool = max ? new MaxPool2d(Pair(c, "kernel"), Pair(c, "stride"), Pair(c, "padding")) : new AvgPool2d(Pair(c, "kernel"), Pair(c, "stride"), Pair(c, "padding"));
        CheckSingleOutput(c, inputs, pool.Forward(inputs["x"]), 1e-5, 1e-6);
    }

    private static void CheckSingleOutput(GoldenCase c, Dictionary<string, Tensor> inputs, Tensor y, double rtol, double atol)
    {
        GoldenData.AssertClose(c.Output(), y, rtol, atol, $"{c.Name} y");
        y.Backward(c.Upstream.ToTensor());
        foreach (var (name, tensor) in inputs)
            GoldenData.AssertClose(c.Grad(name), tensor.Grad!, rtol, atol, $"{c.Name} d{name}");
    }

    /// <summary>Loads the case's params into <paramref name="module"/> by PyTorch's names, runs it, back-propagates every output's upstream and checks all gradients.</summary>
    private static void CheckRecurrent(GoldenCase c, Module module, Func<Dictionary<string, Tensor>, Dictionary<string, Tensor>> run)
    {
        var parameters = c.Field("params").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(parameters, module.NamedParameters().Select(p => p.Name).ToList());   // same names, same order as PyTorch's state_dict
        module.LoadStateDict(parameters.ToDictionary(n => n, n => GoldenData.ReadTensor(c.Field("params").GetProperty(n), n).ToTensor()));
        var inputs = c.InputNames.ToDictionary(n => n, n => c.Input(n).ToTensor(requiresGrad: true));
        var outputs = run(inputs);
        Tensor? loss = null;
        foreach (var (name, y) in outputs)
        {
            GoldenData.AssertClose(c.Output(name), y, 1e-5, 1e-6, $"{c.Name} {name}");
            var u = GoldenData.ReadTensor(c.Field("upstream").GetProperty(name), name).ToTensor();
            var term = Ops.Sum(y * u);
            loss = loss is null ? term : loss + term;
        }
        loss!.Backward();
        foreach (var (name, x) in inputs) GoldenData.AssertClose(c.Grad(name), x.Grad!, 1e-5, 1e-6, $"{c.Name} d{name}");
        foreach (var (name, p) in module.NamedParameters()) GoldenData.AssertClose(c.Grad(name), p.Grad!, 1e-5, 1e-6, $"{c.Name} d{name}");
    }

    [Fact]
    public void Lstm_matches_nn_LSTM_with_two_layers()
    {
        var lstm = new Lstm(3, 4, new Rng(1), numLayers: 2);
        CheckRecurrent(Case("lstm_2_layers"), lstm, i =>
        {
            var (y, state) = lstm.Forward(i["x"], [i["h0"], i["c0"]]);
            return new() { ["y"] = y, ["h_n"] = state[0], ["c_n"] = state[1] };
        });
    }

    [Fact]
    public void Gru_matches_nn_GRU_with_two_layers()
    {
        var gru = new Gru(3, 4, new Rng(1), numLayers: 2);
        CheckRecurrent(Case("gru_2_layers"), gru, i =>
        {
            var (y, state) = gru.Forward(i["x"], [i["h0"]]);
            return new() { ["y"] = y, ["h_n"] = state[0] };
        });
    }

    [Fact]
    public void LstmCell_matches_nn_LSTMCell()
    {
        var cell = new LstmCell(5, 3, new Rng(1));
        CheckRecurrent(Case("lstm_cell"), cell, i =>
        {
            var (h, c) = cell.Forward(i["x"], i["h0"], i["c0"]);
            return new() { ["h"] = h, ["c"] = c };
        });
    }

    [Fact]
    public void GruCell_matches_nn_GRUCell()
    {
        var cell = new GruCell(5, 3, new Rng(1));
        CheckRecurrent(Case("gru_cell"), cell, i => new() { ["h"] = cell.Forward(i["x"], i["h0"]) });
    }
}
