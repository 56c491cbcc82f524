using Reinforce.Optim;
using Reinforce.Tensors;

namespace Reinforce.Tests.Optim;

/// <summary>Saving and restoring optimizer state: a resumed run must equal an uninterrupted one bit for bit.</summary>
[Collection("Kernel paths")]   // asserts zero allocation in steady state: runs alone (see KernelPathsCollection)
public class OptimizerStateTests
{
    public static TheoryData<string> Configurations => ["sgd", "sgd-nesterov-wd", "adam", "adam-l2", "adamw", "rmsprop", "rmsprop-centered-momentum"];

    internal static Optimizer Create(string configuration, IReadOnlyList<Tensor> ps, IEnumerable<string>? names = null) => configuration switch
    {
        "sgd" => new Sgd(ps, 0.05f, momentum: 0.9f, dampening: 0.1f, names: names),
        "sgd-nesterov-wd" => new Sgd(ps, 0.05f, momentum: 0.9f, nesterov: true, weightDecay: 0.01f, names: names),
        "adam" => new Adam(ps, 3e-3f, eps: 1e-5f, names: names),
        "adam-l2" => new Adam(ps, 3e-3f, weightDecay: 0.1f, names: names),
        "adamw" => new AdamW(ps, 3e-3f, beta2: 0.95f, weightDecay: 0.1f, names: names),
        "rmsprop" => new RmsProp(ps, 7e-4f, eps: 1e-5f, names: names),
        "rmsprop-centered-momentum" => new RmsProp(ps, 7e-4f, momentum: 0.5f, centered: true, weightDecay: 0.01f, names: names),
        _ => throw new ArgumentException(configuration),
    };

    private static Tensor[] MakeParameters(int seed)
    {
        var rng = new Rng(seed);
        return [Tensor.RandomNormal(rng, [3, 4]).RequireGrad(), Tensor.RandomNormal(rng, [4]).RequireGrad(), Tensor.RandomNormal(rng, [37]).RequireGrad()];
    }

    /// <summary>Feeds deterministic gradients for steps [from, to), with a learning-rate schedule; the last parameter has no gradient on every third step.</summary>
    private static void Run(Optimizer optimizer, Tensor[] ps, int from, int to, int total, float baseLr = 1e-3f)
    {
        var schedule = new CosineSchedule(baseLr, baseLr * 0.1f);
        for (int step = from; step < to; step++)
        {
            var rng = new Rng(Rng.DeriveSeed(99, step));
            for (int i = 0; i < ps.Length; i++)
            {
                ps[i].Grad = i == ps.Length - 1 && step % 3 == 2 ? null : Tensor.RandomNormal(rng, ps[i].Shape, std: 1f + step);
            }
            // Parameter-dependent gradient part, so the trajectory depends on the restored values as well.
            foreach (var p in ps)
                if (p.Grad is not null)
                    for (int k = 0; k < p.Size; k++) p.Grad.Data[k] += 0.3f * p.Data[k];
            optimizer.LearningRate = schedule.At(step / (double)total);
            optimizer.Step();
        }
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Resuming_from_saved_state_is_bit_identical(string configuration)
    {
        var uninterrupted = MakeParameters(5);
        var reference = Create(configuration, uninterrupted);
        Run(reference, uninterrupted, 0, 12, 12);

        var first = MakeParameters(5);
        var optimizer = Create(configuration, first);
        Run(optimizer, first, 0, 7, 12);
        string json = optimizer.GetState().ToJson();
        var (tensors, metadata) = optimizer.GetState().ToTensors();

        var fromFile = Reinforce.IO.SafeTensors.Deserialize(Reinforce.IO.SafeTensors.Serialize(tensors, metadata));

        foreach (var restoreFrom in new[] { "json", "tensors", "safetensors" })
        {
            // A fresh process: new parameter tensors holding the saved weights, a new optimizer with a different learning rate.
            var resumed = first.Select(p => p.Clone().RequireGrad()).ToArray();
            var restored = Create(configuration, resumed);
            restored.LearningRate = 123f;
            restored.SetState(restoreFrom switch
            {
                "json" => OptimizerState.FromJson(json),
                "tensors" => OptimizerState.FromTensors(tensors, metadata),
                _ => OptimizerState.FromTensors(fromFile.Tensors, fromFile.Metadata),
            });
            Assert.Equal(7, restored.StepCount);
            // The learning rate is part of the state: the one in force at the save is back.
            Assert.Equal(new CosineSchedule(1e-3f, 1e-4f).At(6 / 12.0), restored.LearningRate);
            Run(restored, resumed, 7, 12, 12);
            for (int i = 0; i < resumed.Length; i++)
                Assert.Equal(uninterrupted[i].Data, resumed[i].Data); // exact float equality, element by element
        }
    }

    [Fact]
    public void State_keeps_per_parameter_step_counts_and_names()
    {
        var ps = MakeParameters(1);
        var adam = Create("adam", ps, ["w", "b", "extra"]);
        Run(adam, ps, 0, 6, 6);
        var state = adam.GetState();
        Assert.Equal("Adam", state.Algorithm);
        Assert.Equal(6, state.StepCount);
        Assert.Equal(["w", "b", "extra"], state.Parameters.Select(p => p.Name));
        Assert.Equal([6L, 6L, 4L], state.Parameters.Select(p => p.Step)); // the last one had no gradient on steps 2 and 5
        Assert.Equal([3, 4], state.Parameters[0].Shape);
        Assert.Equal(["exp_avg", "exp_avg_sq"], state.Parameters[0].Buffers.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(1e-5, state.Hyperparameters["eps"], 1e-12);
        Assert.Contains("lr", state.Hyperparameters.Keys);
        // GetState is a copy: stepping on does not change it.
        float before = state.Parameters[0].Buffers["exp_avg"][0];
        Run(adam, ps, 6, 7, 7);
        Assert.Equal(before, state.Parameters[0].Buffers["exp_avg"][0]);
    }

    [Fact]
    public void Json_round_trip_keeps_every_bit_including_non_finite_values()
    {
        var ps = MakeParameters(2);
        var rms = Create("rmsprop", ps);
        Run(rms, ps, 0, 3, 3);
        var state = rms.GetState();
        state.Parameters[1].Buffers["square_avg"][0] = float.NaN;
        state.Parameters[1].Buffers["square_avg"][1] = float.PositiveInfinity;
        state.Parameters[1].Buffers["square_avg"][2] = 1.40129846e-45f; // the smallest subnormal
        var back = OptimizerState.FromJson(state.ToJson());
        for (int i = 0; i < state.Parameters.Count; i++)
        {
            var a = state.Parameters[i].Buffers["square_avg"];
            var b = back.Parameters[i].Buffers["square_avg"];
            Assert.Equal(a.Select(BitConverter.SingleToInt32Bits), b.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void Mismatched_state_is_rejected_with_a_clear_message_and_changes_nothing()
    {
        var ps = MakeParameters(3);
        var adam = Create("adam", ps, ["w", "b", "extra"]);
        Run(adam, ps, 0, 2, 2);
        var good = adam.GetState();

        var fresh = MakeParameters(3);
        var target = Create("adam", fresh, ["w", "b", "extra"]);
        target.LearningRate = 0.5f;

        // Wrong algorithm.
        var sgd = new Sgd(fresh, 0.1f, momentum: 0.9f, names: ["w", "b", "extra"]);
        var e = Assert.Throws<ArgumentException>(() => sgd.SetState(good));
        Assert.Contains("'Adam'", e.Message);
        Assert.Contains("'Sgd'", e.Message);

        // Fewer parameters.
        var two = new Adam(fresh[..2], names: ["w", "b"]);
        e = Assert.Throws<ArgumentException>(() => two.SetState(good));
        Assert.Contains("3 parameters", e.Message);
        Assert.Contains("has 2", e.Message);

        // A shape that changed.
        var reshaped = new Adam([Tensor.Zeros(4, 3), fresh[1], fresh[2]], names: ["w", "b", "extra"]);
        e = Assert.Throws<ArgumentException>(() => reshaped.SetState(good));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("[4, 3]", e.Message);
        Assert.Contains("[3, 4]", e.Message);

        // Different names.
        var renamed = Create("adam", fresh, ["w", "bias", "extra"]);
        e = Assert.Throws<ArgumentException>(() => renamed.SetState(good));
        Assert.Contains("'bias'", e.Message);

        // A missing buffer, and a buffer of the wrong length: rejected, and the target keeps its own settings.
        var broken = OptimizerState.FromJson(good.ToJson());
        broken.Hyperparameters["beta2"] = 0.5;
        broken.Parameters[2].Buffers.Remove("exp_avg_sq");
        e = Assert.Throws<ArgumentException>(() => target.SetState(broken));
        Assert.Contains("exp_avg_sq", e.Message);
        Assert.Contains("'extra'", e.Message);
        Assert.Equal(0.5f, target.LearningRate);
        Assert.Equal(0.999f, ((Adam)target).Beta2);
        Assert.Equal(0, target.StepCount);

        broken = OptimizerState.FromJson(good.ToJson());
        broken.Parameters[1].Buffers["exp_avg"] = new float[3];
        e = Assert.Throws<ArgumentException>(() => target.SetState(broken));
        Assert.Contains("3 values", e.Message);

        broken = OptimizerState.FromJson(good.ToJson());
        broken.Hyperparameters.Remove("eps");
        e = Assert.Throws<ArgumentException>(() => target.SetState(broken));
        Assert.Contains("'eps'", e.Message);

        Assert.Throws<FormatException>(() => OptimizerState.FromJson("{\"parameters\": 3}"));
        target.SetState(good); // and the good one still loads
        Assert.Equal(2, target.StepCount);
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void A_step_allocates_nothing(string configuration)
    {
        var ps = MakeParameters(4);
        foreach (var p in ps) p.Grad = Tensor.Ones(p.Shape);
        var optimizer = Create(configuration, ps);
        for (int i = 0; i < 5; i++) optimizer.Step(); // first step allocates the buffers once
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            optimizer.LearningRate = 1e-3f;
            optimizer.Step();
            optimizer.ZeroGrad();
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Parameters_without_gradient_are_left_untouched()
    {
        var p = Tensor.FromArray([1f, 2f]).RequireGrad();
        var q = Tensor.FromArray([3f]).RequireGrad();
        var adamW = new AdamW([p, q], 0.1f, weightDecay: 0.5f);
        q.Grad = Tensor.FromArray([1f]);
        adamW.Step();
        Assert.Equal([1f, 2f], p.Data); // no gradient: not even weight decay applies (as in PyTorch)
        Assert.NotEqual(3f, q.Data[0]);
    }

    [Fact]
    public void Bad_settings_are_rejected()
    {
        var p = Tensor.Zeros(2).RequireGrad();
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], lr: -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], beta1: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp([p], alpha: 1.5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([p], float.NaN));
        Assert.Contains("Nesterov", Assert.Throws<ArgumentException>(() => new Sgd([p], 0.1f, nesterov: true)).Message);
        Assert.Contains("more than once", Assert.Throws<ArgumentException>(() => new Sgd([p, p], 0.1f)).Message);
        Assert.Contains("no parameters", Assert.Throws<ArgumentException>(() => new Sgd(Array.Empty<Tensor>(), 0.1f)).Message);
        Assert.Contains("used twice", Assert.Throws<ArgumentException>(() => new Sgd([p, Tensor.Zeros(1)], 0.1f, names: ["a", "a"])).Message);
        var adam = new Adam([p]);
        Assert.Throws<ArgumentOutOfRangeException>(() => adam.LearningRate = float.PositiveInfinity);
        p.Grad = Tensor.Zeros(3);
        Assert.Contains("[3]", Assert.Throws<InvalidOperationException>(adam.Step).Message);
    }
}
