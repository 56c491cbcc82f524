using Reinforce.Autograd;
using Reinforce.Nn.Transformers;
using Reinforce.Nn;
using Reinforce.Tensors;

namespace Reinforce.Tests.Nn;

public class ModuleTests
{
    private sealed class ActorCritic : Module
    {
        public ActorCritic(Rng rng)
        {
            Actor = RegisterModule("actor", new Mlp([4, 8, 2], Activation.Tanh, rng));
            Critic = RegisterModule("critic", new Mlp([4, 8, 1], Activation.Tanh, rng));
            LogStd = RegisterParameter("log_std", Tensor.Zeros(2));
        }

        public Mlp Actor { get; }
        public Mlp Critic { get; }
        public Parameter LogStd { get; }
    }

    [Fact]
    public void Names_are_hierarchical_stable_and_PyTorch_shaped()
    {
        var model = new ActorCritic(new Rng(1));
        // A module's own parameters come before its children's, as in PyTorch's named_parameters and state_dict.
        string[] expected =
        [
            "log_std",
            "actor.layers.0.weight", "actor.layers.0.bias", "actor.layers.2.weight", "actor.layers.2.bias",
            "critic.layers.0.weight", "critic.layers.0.bias", "critic.layers.2.weight", "critic.layers.2.bias",
        ];
        Assert.Equal(expected, model.NamedParameters().Select(p => p.Name));
        Assert.Equal(expected, model.StateDict().Keys);
        Assert.Equal(expected, model.Parameters().Select(p => p.Name));
        Assert.Equal([8, 4], model.StateDict()["actor.layers.0.weight"].Shape);
        Assert.Equal(4 * 8 + 8 + 8 * 2 + 2 + 4 * 8 + 8 + 8 + 1 + 2, model.ParameterCount);
        Assert.All(model.Parameters(), p => Assert.True(p.Value.RequiresGrad));
    }

    [Fact]
    public void Gpt_block_uses_GPT2_parameter_names()
    {
        var block = new GptBlock(8, 2, new Rng(1));
        Assert.Equal(
        [
            "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
            "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias",
        ], block.StateDict().Keys);
        Assert.Equal([8, 24], block.StateDict()["attn.c_attn.weight"].Shape);
        Assert.Equal([8, 32], block.StateDict()["mlp.c_fc.weight"].Shape);
    }

    [Fact]
    public void State_dict_is_a_snapshot_and_round_trips()
    {
        var a = new ActorCritic(new Rng(1));
        var b = new ActorCritic(new Rng(2));
        var state = a.StateDict();
        Assert.NotEqual(a.Actor.Linears[0].Weight.Value.Data, b.Actor.Linears[0].Weight.Value.Data);
        var weightBefore = b.Actor.Linears[0].Weight.Value;
        b.LoadStateDict(state);
        Assert.Same(weightBefore, b.Actor.Linears[0].Weight.Value);  // loaded in place: optimizers keep their references
        foreach (var (name, tensor) in a.StateDict()) Assert.Equal(tensor.Data, b.StateDict()[name].Data);

        a.Actor.Linears[0].Weight.Value.Data[0] += 1f;
        Assert.NotEqual(a.Actor.Linears[0].Weight.Value.Data[0], state["actor.layers.0.weight"].Data[0]);
    }

    [Fact]
    public void State_dict_round_trips_through_safetensors_into_a_fresh_model()
    {
        var trained = new ActorCritic(new Rng(1));
        var bytes = Reinforce.IO.SafeTensors.Serialize(trained.StateDict());
        var restored = new ActorCritic(new Rng(99));
        restored.LoadStateDict(Reinforce.IO.SafeTensors.Deserialize(bytes).Tensors);
        var x = Tensor.RandomNormal(new Rng(5), [3, 4]);
        Assert.Equal(trained.Actor.Forward(x).Data, restored.Actor.Forward(x).Data);
        Assert.Equal(trained.Critic.Forward(x).Data, restored.Critic.Forward(x).Data);

        // A checkpoint of another architecture is refused with the reason.
        var wider = Reinforce.IO.SafeTensors.Serialize(new Mlp([4, 16, 2], Activation.Tanh, new Rng(1)).StateDict());
        var e = Assert.Throws<StateDictException>(() => new Mlp([4, 8, 2], Activation.Tanh, new Rng(1)).LoadStateDict(Reinforce.IO.SafeTensors.Deserialize(wider).Tensors));
        Assert.Contains("'layers.0.weight' has shape [16, 4] but the module expects [8, 4]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Loading_a_mismatched_state_names_every_problem_and_changes_nothing()
    {
        var model = new ActorCritic(new Rng(1));
        var before = model.StateDict();
        var state = new Dictionary<string, Tensor>(new ActorCritic(new Rng(2)).StateDict());
        state.Remove("critic.layers.2.bias");
        state["actor.layers.2.weight"] = Tensor.Zeros(3, 8);
        state["actor.layers.4.weight"] = Tensor.Zeros(1);

        var e = Assert.Throws<StateDictException>(() => model.LoadStateDict(state));
        Assert.Equal(["critic.layers.2.bias"], e.Missing);
        Assert.Equal(["actor.layers.4.weight"], e.Unexpected);
        Assert.Equal(["actor.layers.2.weight"], e.Mismatched);
        Assert.Contains("missing 'critic.layers.2.bias' [1]", e.Message, StringComparison.Ordinal);
        Assert.Contains("'actor.layers.2.weight' has shape [3, 8] but the module expects [2, 8]", e.Message, StringComparison.Ordinal);
        Assert.Contains("unexpected 'actor.layers.4.weight'", e.Message, StringComparison.Ordinal);
        foreach (var (name, tensor) in model.StateDict()) Assert.Equal(before[name].Data, tensor.Data);
    }

    [Fact]
    public void Non_strict_loading_ignores_extra_entries_but_not_missing_ones()
    {
        var model = new Linear(2, 2, new Rng(1));
        var state = new Dictionary<string, Tensor>(new Linear(2, 2, new Rng(2)).StateDict()) { ["extra"] = Tensor.Zeros(1) };
        model.LoadStateDict(state, strict: false);
        Assert.Equal(state["weight"].Data, model.Weight.Value.Data);
        state.Remove("bias");
        Assert.Throws<StateDictException>(() => model.LoadStateDict(state, strict: false));
    }

    [Fact]
    public void Registration_rejects_bad_and_duplicate_names()
    {
        Assert.Throws<ArgumentException>(() => new BadModule("a.b"));
        Assert.Throws<ArgumentException>(() => new BadModule("dup", duplicate: true));
    }

    private sealed class BadModule : Module
    {
        public BadModule(string name, bool duplicate = false)
        {
            RegisterParameter(name, Tensor.Zeros(1));
            if (duplicate) RegisterModule(name, new LayerNorm(2));
        }
    }

    private sealed class Tied : Module
    {
        public Tied(Rng rng)
        {
            Emb = RegisterModule("wte", new Embedding(5, 3, rng));
            RegisterParameter("lm_head", Emb.Weight);
        }

        public Embedding Emb { get; }
    }

    [Fact]
    public void Tied_parameters_are_optimised_once_but_saved_under_both_names()
    {
        var m = new Tied(new Rng(1));
        Assert.Equal(["lm_head"], m.NamedParameters().Select(p => p.Name));
        Assert.Equal(["lm_head", "wte.weight"], m.StateDict().Keys);
        Assert.Same(m.Emb.Weight, m.Parameters().Single());
    }

    [Fact]
    public void ZeroGrad_clears_every_gradient()
    {
        var mlp = new Mlp([3, 5, 2], Activation.Relu, new Rng(3));
        Ops.Sum(mlp.Forward(Tensor.RandomNormal(new Rng(4), [6, 3]))).Backward();
        Assert.Contains(mlp.Parameters(), p => p.Grad!.Data.Any(v => v != 0));
        mlp.ZeroGrad();
        Assert.All(mlp.Parameters(), p => Assert.All(p.Grad!.Data, v => Assert.Equal(0f, v)));
    }

    [Fact]
    public void Mlp_layout_and_activate_last()
    {
        var mlp = new Mlp([3, 16, 16, 2], Activation.Elu, new Rng(5), activateLast: true);
        Assert.Equal(3, mlp.Linears.Count);
        Assert.Equal(["layers", "layers.0", "layers.1", "layers.2", "layers.3", "layers.4", "layers.5"],
            mlp.NamedModules().Skip(1).Select(m => m.Name));
        var y = mlp.Forward(Tensor.RandomNormal(new Rng(6), [4, 3]));
        Assert.Equal([4, 2], y.Shape);
        Assert.All(y.Data, v => Assert.True(v > -1f));  // ELU after the last layer bounds the output below by −1
        Assert.Throws<ArgumentException>(() => new Mlp([3], Activation.Tanh, new Rng(1)));
        Assert.Contains("Mlp", mlp.Summary(), StringComparison.Ordinal);
    }

    [Fact]
    public void Linear_default_init_is_uniform_within_one_over_sqrt_fan_in()
    {
        var layer = new Linear(64, 32, new Rng(7));
        float bound = 1f / 8f;
        Assert.All(layer.Weight.Value.Data, v => Assert.InRange(v, -bound, bound));
        Assert.All(layer.Bias!.Value.Data, v => Assert.InRange(v, -bound, bound));
        Assert.True(layer.Weight.Value.Data.Max() > 0.9f * bound && layer.Weight.Value.Data.Min() < -0.9f * bound);
    }

    [Fact]
    public void Activations_parse_from_config_names()
    {
        Assert.Equal(Activation.GeluTanh, Activations.Parse("gelu"));
        Assert.Equal(Activation.GeluErf, Activations.Parse("GELU-erf"));
        Assert.Equal(Activation.Relu, Activations.Parse(" relu "));
        var e = Assert.Throws<ArgumentException>(() => Activations.Parse("swish"));
        Assert.Contains("tanh", e.Message, StringComparison.Ordinal);
    }
}
