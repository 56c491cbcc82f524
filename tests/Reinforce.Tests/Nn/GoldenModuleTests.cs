using Reinforce.Nn.Transformers;
using Reinforce.Nn;
using Reinforce.Tensors;
using Reinforce.Tests.Golden;

namespace Reinforce.Tests.Nn;

/// <summary>
/// The Nn modules against PyTorch: each golden case's weights are loaded through <see cref="Module.LoadStateDict"/>
/// under the module's own names (so the names and layouts are PyTorch's / GPT-2's), then values and gradients are compared.
/// </summary>
public class GoldenModuleTests
{
    /// <summary>Loads the case's inputs named in <paramref name="weights"/> (golden name → state name) into the module, runs <paramref name="forward"/> on the rest and checks everything.</summary>
    private static void CheckModule(string caseName, Module module, IReadOnlyDictionary<string, string> weights, Func<GoldenCase, Tensor?, Tensor> forward,
        string? inputName = "x", double rtol = 1e-5, double atol = 1e-6)
    {
        var c = GoldenData.Case(caseName);
        module.LoadStateDict(weights.ToDictionary(w => w.Value, w => c.Input(w.Key).ToTensor()));
        var x = inputName is null ? null : c.Input(inputName).ToTensor(requiresGrad: true);
        var y = forward(c, x);
        GoldenData.AssertClose(c.Output(), y, rtol, atol, $"{caseName} y");
        y.Backward(c.Upstream.ToTensor());
        if (x is not null) GoldenData.AssertClose(c.Grad(inputName!), x.Grad!, rtol, atol, $"{caseName} d{inputName}");
        var parameters = module.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        foreach (var (goldenName, stateName) in weights)
            GoldenData.AssertClose(c.Grad(goldenName), parameters[stateName].Grad!, rtol, atol, $"{caseName} d{goldenName}");
    }

    [Fact]
    public void Linear_module_matches_PyTorch_nn_Linear()
    {
        var layer = new Linear(4, 3, new Rng(0));
        CheckModule("linear", layer, new Dictionary<string, string> { ["weight"] = "weight", ["bias"] = "bias" }, (_, x) => layer.Forward(x!));
    }

    [Fact]
    public void LayerNorm_module_matches_PyTorch_nn_LayerNorm()
    {
        var ln = new LayerNorm(8, 1e-5f);
        CheckModule("layer_norm_eps1e-5", ln, new Dictionary<string, string> { ["weight"] = "weight", ["bias"] = "bias" }, (_, x) => ln.Forward(x!));
    }

    [Fact]
    public void Embedding_module_matches_PyTorch_nn_Embedding()
    {
        var emb = new Embedding(10, 4, new Rng(0));
        CheckModule("embedding", emb, new Dictionary<string, string> { ["weight"] = "weight" },
            (c, _) => emb.Forward(c.Ints("indices"), [c.Field("indices").GetArrayLength(), c.Field("indices")[0].GetArrayLength()]),
            inputName: null);
    }

    [Fact]
    public void CausalSelfAttention_module_loads_GPT2_names_and_matches()
    {
        var c = GoldenData.Case("causal_self_attention");
        var attn = new CausalSelfAttention(8, (int)c.Number("heads"), new Rng(0));
        CheckModule("causal_self_attention", attn, new Dictionary<string, string>
        {
            ["c_attn_weight"] = "c_attn.weight", ["c_attn_bias"] = "c_attn.bias",
            ["c_proj_weight"] = "c_proj.weight", ["c_proj_bias"] = "c_proj.bias",
        }, (_, x) => attn.Forward(x!));
    }

    [Fact]
    public void Losses_match_PyTorch()
    {
        var ce = GoldenData.Case("cross_entropy_mean");
        GoldenRunner.Check("cross_entropy_mean", i => Losses.CrossEntropy(i["logits"], ce.Ints("targets")));
        var bce = GoldenData.Case("bce_with_logits_mean");
        GoldenRunner.Check("bce_with_logits_mean", i => Losses.BinaryCrossEntropyWithLogits(i["logits"], bce.Doubles("targets").Select(v => (float)v).ToArray()));
        var target = GoldenData.Case("mse_mean").TensorField("target").ToTensor();
        GoldenRunner.Check("mse_mean", i => Losses.MeanSquaredError(i["input"], target));
    }

    [Fact]
    public void Activation_layers_match_PyTorch()
    {
        foreach (var (name, kind) in new[] { ("tanh", Activation.Tanh), ("relu", Activation.Relu), ("elu", Activation.Elu), ("sigmoid", Activation.Sigmoid),
                     ("softplus", Activation.Softplus), ("gelu_tanh", Activation.GeluTanh), ("gelu_erf", Activation.GeluErf) })
        {
            var layer = new ActivationLayer(kind);
            GoldenRunner.Check(name, i => layer.Forward(i["x"]));
        }
    }
}
