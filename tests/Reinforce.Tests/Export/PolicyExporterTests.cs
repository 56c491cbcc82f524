using System.Globalization;
using Reinforce.Algorithms;
using Reinforce.Autograd;
using Reinforce.Distributions;
using Reinforce.Envs;
using Reinforce.Export;
using Reinforce.IO.Onnx;
using Reinforce.Spaces;
using Reinforce.Tensors;
using Xunit.Abstractions;
using Reinforce.Envs.ClassicControl;

namespace Reinforce.Tests.Export;

/// <summary>
/// Exported policies run in the real ONNX Runtime and give the library's own numbers: probabilities and means from
/// the policy's forward pass to 1e-5, deterministic actions equal to Predict's.
/// </summary>
public class PolicyExporterTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-5;

    // ------------------------------------------------------------------ default layout, agents on real environments

    [Fact]
    public void CartPole_categorical_policy_gives_the_librarys_probabilities_and_actions_in_onnx_runtime()
    {
        using var env = Environments.MakeVector("CartPole-v1", 2, 1);
        using var agent = new Ppo(env, new PpoOptions { Seed = 4, NumSteps = 16, BatchSize = 32, Policy = new PolicyOptions { HiddenSizes = [16, 16] } });
        agent.Learn(64);   // a real (tiny) training run; the weights are then spread out so the outputs vary strongly
        Randomize(agent.Policy, 7);
        const int rows = 9;
        var obs = Observations(new Rng(21), rows, 4, 2f);

        var export = PolicyExporter.Export(agent);
        Assert.Equal(17, export.Opset);
        Assert.Equal(8, export.IrVersion);
        Assert.Equal(8, IrVersionOf(export.Model));
        var ort = OnnxRuntime.Session(export.Model, new Dictionary<string, (int[], float[])> { ["obs"] = ([rows, 4], obs) });

        Assert.Equal(["obs"], ort.InputNames);
        Assert.Equal(["action_probs", "action"], ort.OutputNames);
        AssertClose("CartPole action_probs", LibraryOutput(agent.Policy, obs, rows), ort["action_probs"], [rows, 2]);
        var actions = new int[rows];
        agent.Predict(obs, actions, deterministic: true);
        AssertActions(actions, ort["action"], [rows, 1]);
    }

    [Fact]
    public void MultiDiscrete_policy_gives_per_branch_softmaxes_and_argmaxes_in_onnx_runtime()
    {
        TinyMultiDiscreteEnv.EnsureRegistered();
        using var env = Environments.MakeVector(TinyMultiDiscreteEnv.Id, 2, 3);
        using var agent = new Ppo(env, new PpoOptions { Seed = 5, NumSteps = 16, BatchSize = 32, Policy = new PolicyOptions { HiddenSizes = [12] } });
        agent.Learn(64);
        Randomize(agent.Policy, 8);
        const int rows = 8;
        var obs = Observations(new Rng(22), rows, 4, 1.5f);

        var ort = OnnxRuntime.Session(PolicyExporter.ToOnnx(agent), new Dictionary<string, (int[], float[])> { ["obs"] = ([rows, 4], obs) });
        AssertClose("MultiDiscrete action_probs", LibraryOutput(agent.Policy, obs, rows), ort["action_probs"], [rows, 9]);
        var actions = new int[rows * 3];
        agent.Predict(obs, actions, deterministic: true);
        AssertActions(actions, ort["action"], [rows, 3]);
    }

    [Fact]
    public void Pendulum_gaussian_policy_with_observation_normalization_gives_the_means_and_clipped_actions_of_predict()
    {
        using var env = Environments.MakeVector("Pendulum-v1", 2, 1);
        var options = new PpoOptions
        {
            Seed = 6, NumSteps = 64, BatchSize = 64, NumEpochs = 2, NormalizeObservations = true,
            Policy = new PolicyOptions { HiddenSizes = [16, 16], UseSde = true, SdeSampleFreq = 4, LogStdInit = -1f },
        };
        using var agent = new Ppo(env, options);
        agent.Learn(512);   // real running statistics of Pendulum's observations
        var stats = agent.ObservationNormalizer!.Statistics;
        Assert.True(stats.Count > 500, "the normalisation statistics were updated by training");
        Randomize(agent.Policy, 9, scale: 3f);
        const int rows = 10;
        var obs = Observations(new Rng(23), rows, 3, 3f);
        obs[2] = 400f;    // far beyond the statistics: normalised past the clip bound (±10)
        obs[5] = -400f;

        var ort = OnnxRuntime.Session(PolicyExporter.ToOnnx(agent), new Dictionary<string, (int[], float[])> { ["obs"] = ([rows, 3], obs) });
        var normalized = new float[obs.Length];
        agent.ObservationNormalizer.Normalize(obs, normalized);
        Assert.Equal(10f, normalized[2]);
        Assert.Equal(-10f, normalized[5]);
        AssertClose("Pendulum mean", LibraryOutput(agent.Policy, normalized, rows), ort["mean"], [rows, 1]);
        var actions = new float[rows];
        agent.Predict(obs, actions, deterministic: true);
        AssertClose("Pendulum action", actions, ort["action"], [rows, 1]);
        Assert.Contains(actions, a => a is 2f or -2f);   // some means lie beyond the bounds, so the clip is exercised
    }

    // ------------------------------------------------------------------ network variants (policies without environments)

    public static TheoryData<string> Variants => new() { "relu-shared", "elu", "sigmoid", "softplus", "identity-linear", "bernoulli", "multibinary", "discrete-start", "box" };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Every_head_and_activation_matches_the_library(string variant)
    {
        var (space, options) = variant switch
        {
            "relu-shared" => ((Space)new Discrete(4), new PolicyOptions { HiddenSizes = [10, 6], Activation = "relu", SharedTrunk = true }),
            "elu" => (new Discrete(3), new PolicyOptions { HiddenSizes = [8], Activation = "elu" }),
            "sigmoid" => (new MultiDiscrete([2, 5]), new PolicyOptions { HiddenSizes = [8, 8], Activation = "sigmoid" }),
            "softplus" => (new Box([-1f, -3f], [1f, 3f]), new PolicyOptions { HiddenSizes = [8], Activation = "softplus" }),
            "identity-linear" => (new Discrete(3), new PolicyOptions { HiddenSizes = [], Activation = "identity" }),
            "bernoulli" => (new Discrete(2), new PolicyOptions { HiddenSizes = [8], Distribution = DistributionKind.Bernoulli }),
            "multibinary" => (new MultiDiscrete([2, 2, 2]), new PolicyOptions { HiddenSizes = [8], Distribution = DistributionKind.Bernoulli }),
            "discrete-start" => (new Discrete(3, start: -1), new PolicyOptions { HiddenSizes = [8] }),
            _ => (new Box([-1f, -2f, -0.5f], [1f, 2f, 0.5f]), new PolicyOptions { HiddenSizes = [8, 8], LogStdInit = -0.5f }),
        };
        var policy = new ActorCriticPolicy(5, space, options, withCritic: true, new Rng(31));
        Randomize(policy, 32);
        const int rows = 12;
        var obs = Observations(new Rng(33), rows, 5, 2f);

        var ort = OnnxRuntime.Session(PolicyExporter.ToOnnx(policy), new Dictionary<string, (int[], float[])> { ["obs"] = ([rows, 5], obs) });
        var deterministic = Act(policy, obs, rows);
        if (policy.Kind == ActionHeadKind.Gaussian)
        {
            AssertClose($"{variant} mean", LibraryOutput(policy, obs, rows), ort["mean"], [rows, policy.OutputSize]);
            var clipped = new float[deterministic.Continuous.Length];
            policy.ClipToBounds(deterministic.Continuous, clipped);
            AssertClose($"{variant} action", clipped, ort["action"], [rows, policy.OutputSize]);
        }
        else
        {
            AssertClose($"{variant} action_probs", LibraryOutput(policy, obs, rows), ort["action_probs"], [rows, policy.OutputSize]);
            AssertActions(deterministic.Discrete, ort["action"], [rows, policy.DiscreteActionSize]);
        }
    }

    [Fact]
    public void Every_supported_opset_runs_with_the_same_outputs_and_its_release_ir_version()
    {
        var policy = new ActorCriticPolicy(4, new MultiDiscrete([3, 2]), new PolicyOptions { HiddenSizes = [8] }, withCritic: false, new Rng(41));
        Randomize(policy, 42);
        const int rows = 5;
        var obs = Observations(new Rng(43), rows, 4, 1f);
        var expected = LibraryOutput(policy, obs, rows);
        foreach (var (opset, ir) in new[] { (13, 7), (15, 8), (17, 8), (19, 9), (21, 10) })
        {
            var bytes = PolicyExporter.ToOnnx(policy, options: new OnnxExportOptions { Opset = opset });
            Assert.Equal(ir, IrVersionOf(bytes));
            var ort = OnnxRuntime.Session(bytes, new Dictionary<string, (int[], float[])> { ["obs"] = ([rows, 4], obs) });
            AssertClose($"opset {opset} action_probs", expected, ort["action_probs"], [rows, 5]);
        }
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => PolicyExporter.ToOnnx(policy, options: new OnnxExportOptions { Opset = 12 }));
        Assert.Contains("opsets 13 to 21", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Normalization_statistics_that_do_not_fit_the_policy_are_rejected_with_the_sizes()
    {
        var policy = new ActorCriticPolicy(4, new Discrete(2), new PolicyOptions { HiddenSizes = [8] }, withCritic: false, new Rng(1));
        var ex = Assert.Throws<ArgumentException>(() => PolicyExporter.ToOnnx(policy, new ObservationNormalization([0, 0, 0], [1, 1, 1], 1e-8, 10)));
        Assert.Contains("3 means and 3 variances", ex.Message, StringComparison.Ordinal);
        Assert.Contains("4 observation values", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => PolicyExporter.ToOnnx(policy, new ObservationNormalization([0, 0, 0, 0], [1, -1, 1, 1], 1e-8, 10)));
        Assert.Contains("element 1", ex.Message, StringComparison.Ordinal);
    }

    // ------------------------------------------------------------------ Unity ML-Agents layout

    [Fact]
    public void Unity_discrete_export_has_ml_agents_names_constants_and_shapes_and_respects_action_masks()
    {
        using var env = Environments.MakeVector("CartPole-v1", 2, 1);
        using var agent = new Ppo(env, new PpoOptions { Seed = 4, NumSteps = 16, BatchSize = 32, Policy = new PolicyOptions { HiddenSizes = [16] } });
        Randomize(agent.Policy, 17);
        const int rows = 6;
        var obs = Observations(new Rng(51), rows, 4, 2f);
        var export = PolicyExporter.Export(agent, new OnnxExportOptions { Unity = true, SamplingSeed = 5 });
        Assert.Equal(15, export.Opset);
        Assert.Equal(8, export.IrVersion);

        var allowAll = Enumerable.Repeat(1f, rows * 2).ToArray();
        var ort = OnnxRuntime.Session(export.Model, new Dictionary<string, (int[], float[])> { ["obs_0"] = ([rows, 4], obs), ["action_masks"] = ([rows, 2], allowAll) });
        Assert.Equal(["obs_0", "action_masks"], ort.InputNames);
        Assert.Equal(["version_number", "memory_size", "discrete_actions", "discrete_action_output_shape", "deterministic_discrete_actions"], ort.OutputNames);
        AssertConstant(ort["version_number"], [1], [3]);
        AssertConstant(ort["memory_size"], [1], [0]);
        AssertConstant(ort["discrete_action_output_shape"], [1, 1], [2]);
        var actions = new int[rows];
        agent.Predict(obs, actions, deterministic: true);
        AssertActions(actions, ort["deterministic_discrete_actions"], [rows, 1]);
        Assert.Equal([rows, 1L], ort["discrete_actions"].Dims);
        Assert.Equal("int64", ort["discrete_actions"].Type);
        Assert.All(ort["discrete_actions"].Data, a => Assert.True(a is 0 or 1));

        // Masking out each row's best action: the deterministic and the sampled action become the other one.
        var mask = new float[rows * 2];
        for (int r = 0; r < rows; r++) mask[r * 2 + (1 - actions[r])] = 1f;
        ort = OnnxRuntime.Session(export.Model, new Dictionary<string, (int[], float[])> { ["obs_0"] = ([rows, 4], obs), ["action_masks"] = ([rows, 2], mask) });
        Assert.Equal(actions.Select(a => (double)(1 - a)), ort["deterministic_discrete_actions"].Data);
        Assert.Equal(actions.Select(a => (double)(1 - a)), ort["discrete_actions"].Data);
    }

    [Fact]
    public void Unity_multi_discrete_samples_follow_the_policys_probabilities_and_never_take_masked_actions()
    {
        var policy = new ActorCriticPolicy(4, new MultiDiscrete([3, 2, 4]), new PolicyOptions { HiddenSizes = [8] }, withCritic: true, new Rng(61));
        Randomize(policy, 62, scale: 0.6f);
        const int rows = 3000;
        var one = Observations(new Rng(63), 1, 4, 1f);
        var obs = Enumerable.Range(0, rows).SelectMany(_ => one).ToArray();
        float[] rowMask = [1, 1, 1, 1, 1, 0, 1, 1, 1];   // the third branch (columns 5 to 8) may not choose action 0
        var mask = Enumerable.Range(0, rows).SelectMany(_ => rowMask).ToArray();
        var bytes = PolicyExporter.ToOnnx(policy, options: new OnnxExportOptions { Unity = true, SamplingSeed = 11 });
        var ort = OnnxRuntime.Session(bytes, new Dictionary<string, (int[], float[])> { ["obs_0"] = ([rows, 4], obs), ["action_masks"] = ([rows, 9], mask) });

        AssertConstant(ort["discrete_action_output_shape"], [1, 3], [3, 2, 4]);
        var samples = ort["discrete_actions"];
        Assert.Equal([rows, 3L], samples.Dims);
        Assert.Equal("int64", samples.Type);
        // The library's probabilities with the same mask (the masked choice removed, the rest renormalised).
        var probs = LibraryOutput(policy, one, 1);
        int[] branches = [3, 2, 4];
        double worst = 0;
        int offset = 0;
        for (int b = 0; b < 3; b++)
        {
            double allowed = 0;
            for (int k = 0; k < branches[b]; k++) allowed += rowMask[offset + k] * probs[offset + k];
            for (int k = 0; k < branches[b]; k++)
            {
                double expected = rowMask[offset + k] * probs[offset + k] / allowed;
                double frequency = Enumerable.Range(0, rows).Count(r => samples.Data[r * 3 + b] == k) / (double)rows;
                worst = Math.Max(worst, Math.Abs(frequency - expected));
                Assert.True(Math.Abs(frequency - expected) < 0.04, $"branch {b} action {k}: sampled {frequency:F3}, policy probability {expected:F3}");
            }
            offset += branches[b];
        }
        Assert.DoesNotContain(Enumerable.Range(0, rows), r => samples.Data[r * 3 + 2] == 0);
        output.WriteLine($"Unity multi-discrete: largest |sample frequency − probability| over 3000 draws = {worst:F4}");
    }

    [Fact]
    public void Unity_bernoulli_branches_become_two_way_choices_with_the_same_deterministic_action()
    {
        var policy = new ActorCriticPolicy(3, new MultiDiscrete([2, 2]), new PolicyOptions { HiddenSizes = [8], Distribution = DistributionKind.Bernoulli }, withCritic: false, new Rng(71));
        Randomize(policy, 72);
        const int rows = 10;
        var obs = Observations(new Rng(73), rows, 3, 2f);
        var bytes = PolicyExporter.ToOnnx(policy, options: new OnnxExportOptions { Unity = true, SamplingSeed = 3 });
        var ort = OnnxRuntime.Session(bytes, new Dictionary<string, (int[], float[])> { ["obs_0"] = ([rows, 3], obs), ["action_masks"] = ([rows, 4], Enumerable.Repeat(1f, rows * 4).ToArray()) });
        AssertConstant(ort["discrete_action_output_shape"], [1, 2], [2, 2]);
        AssertActions(Act(policy, obs, rows).Discrete, ort["deterministic_discrete_actions"], [rows, 2]);
        Assert.All(ort["discrete_actions"].Data, a => Assert.True(a is 0 or 1));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Unity_continuous_samples_have_the_policys_mean_and_standard_deviation(bool sde)
    {
        // Wide bounds so that clipping does not distort the sample statistics.
        var space = new Box([-100f, -100f], [100f, 100f]);
        var policy = new ActorCriticPolicy(3, space, new PolicyOptions { HiddenSizes = [8], LogStdInit = -0.7f, UseSde = sde }, withCritic: true, new Rng(81));
        Randomize(policy, 82);
        const int rows = 3000;
        var one = Observations(new Rng(83), 1, 3, 1f);
        var obs = Enumerable.Range(0, rows).SelectMany(_ => one).ToArray();
        var bytes = PolicyExporter.ToOnnx(policy, options: new OnnxExportOptions { Unity = true, SamplingSeed = 13 });
        var ort = OnnxRuntime.Session(bytes, new Dictionary<string, (int[], float[])> { ["obs_0"] = ([rows, 3], obs) });

        Assert.Equal(["obs_0"], ort.InputNames);
        Assert.Equal(["version_number", "memory_size", "continuous_actions", "continuous_action_output_shape", "deterministic_continuous_actions"], ort.OutputNames);
        AssertConstant(ort["version_number"], [1], [3]);
        AssertConstant(ort["memory_size"], [1], [0]);
        AssertConstant(ort["continuous_action_output_shape"], [1], [2]);
        Assert.Equal([rows, 2L], ort["continuous_actions"].Dims);
        Assert.Equal("float32", ort["continuous_actions"].Type);

        var mean = LibraryOutput(policy, one, 1);
        AssertClose("Unity deterministic_continuous_actions", [.. Enumerable.Range(0, rows).SelectMany(_ => mean)], ort["deterministic_continuous_actions"], [rows, 2]);
        var std = ExpectedStd(policy, one);
        var samples = ort["continuous_actions"].Data;
        for (int j = 0; j < 2; j++)
        {
            var column = Enumerable.Range(0, rows).Select(r => samples[r * 2 + j]).ToArray();
            double m = column.Average();
            double s = Math.Sqrt(column.Sum(v => (v - m) * (v - m)) / (rows - 1));
            Assert.True(Math.Abs(m - mean[j]) < 0.1 * std[j], $"action {j}: sample mean {m:F4}, policy mean {mean[j]:F4} (std {std[j]:F4})");
            Assert.True(Math.Abs(s / std[j] - 1) < 0.06, $"action {j}: sample std {s:F4}, policy std {std[j]:F4}");
            output.WriteLine($"Unity continuous (gSDE {sde}) action {j}: sample mean {m:F4} vs {mean[j]:F4}, sample std {s:F4} vs {std[j]:F4}");
        }
    }

    [Fact]
    public void Unity_continuous_actions_are_clipped_to_the_box_bounds()
    {
        var policy = new ActorCriticPolicy(3, new Box([-0.1f], [0.1f]), new PolicyOptions { HiddenSizes = [8], LogStdInit = 0f }, withCritic: false, new Rng(91));
        Randomize(policy, 92);
        const int rows = 50;
        var obs = Observations(new Rng(93), rows, 3, 2f);
        var ort = OnnxRuntime.Session(PolicyExporter.ToOnnx(policy, options: new OnnxExportOptions { Unity = true }), new Dictionary<string, (int[], float[])> { ["obs_0"] = ([rows, 3], obs) });
        Assert.All(ort["continuous_actions"].Data, a => Assert.InRange(a, -0.1f, 0.1f));
        Assert.Contains(ort["continuous_actions"].Data, a => Math.Abs(a) == 0.1f);   // std 1 against bounds ±0.1: most samples are clipped
        var clipped = new float[rows];
        policy.ClipToBounds(Act(policy, obs, rows).Continuous, clipped);
        AssertClose("Unity deterministic clipped", clipped, ort["deterministic_continuous_actions"], [rows, 1]);
    }

    [Fact]
    public void Save_writes_the_model_atomically_and_leaves_no_temporary_file()
    {
        var policy = new ActorCriticPolicy(4, new Discrete(2), new PolicyOptions { HiddenSizes = [8] }, withCritic: false, new Rng(1));
        string dir = Path.Combine(Path.GetTempPath(), "reinforce-export-" + Guid.NewGuid().ToString("N"));
        try
        {
            string path = Path.Combine(dir, "nested", "policy.onnx");
            var export = PolicyExporter.Save(path, policy);
            Assert.Equal(export.Model, File.ReadAllBytes(path));
            Assert.Equal(["policy.onnx"], Directory.GetFiles(Path.Combine(dir, "nested")).Select(Path.GetFileName));
            Assert.Equal(export.Model, PolicyExporter.ToOnnx(policy));   // the same policy gives the same bytes
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>Spreads the weights so outputs differ clearly between observations (fresh heads start at gain 0.01).</summary>
    internal static void Randomize(TrainablePolicy policy, ulong seed, float scale = 1.2f)
    {
        var rng = new Rng(seed);
        foreach (var (name, parameter) in policy.NamedParameters())
        {
            var data = parameter.Value.Data;
            int fanIn = parameter.Value.Rank >= 2 ? parameter.Value.Size / parameter.Value.Shape[0] : 1;   // in·kh·kw for a convolution
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = name == "log_std" ? (float)(-0.5 + 0.3 * rng.NextGaussian())
                    : name.EndsWith(".bias", StringComparison.Ordinal) ? (float)(0.3 * rng.NextGaussian())
                    : (float)(scale * rng.NextGaussian() / Math.Sqrt(fanIn));
            }
        }
    }

    internal static float[] Observations(Rng rng, int rows, int size, float scale) =>
        [.. Enumerable.Range(0, rows * size).Select(_ => (float)(scale * rng.NextGaussian()))];

    /// <summary>The library's distribution parameters from the policy's forward pass: probabilities (per branch) or Gaussian means.</summary>
    internal static float[] LibraryOutput(TrainablePolicy trainable, float[] observations, int rows)
    {
        var policy = (ActorCriticPolicy)trainable;
        using var scope = Graph.NoGrad();
        var output = policy.Forward(Tensor.FromArray(observations, rows, policy.ObservationSize));
        switch (policy.Kind)
        {
            case ActionHeadKind.Categorical:
                return new Categorical(output).Probs.Data;
            case ActionHeadKind.MultiCategorical:
            {
                var result = new float[rows * policy.OutputSize];
                int offset = 0;
                foreach (int n in ((MultiDiscrete)policy.ActionSpace).Nvec)
                {
                    var probs = new Categorical(Ops.Slice(output, offset, n)).Probs.Data;
                    for (int r = 0; r < rows; r++) Array.Copy(probs, r * n, result, r * policy.OutputSize + offset, n);
                    offset += n;
                }
                return result;
            }
            case ActionHeadKind.Bernoulli:
                return output.Sigmoid().Data;
            default:
                return output.Data;
        }
    }

    /// <summary>Deterministic actions from the policy's inference path (what Predict runs).</summary>
    internal static (int[] Discrete, float[] Continuous) Act(TrainablePolicy trainable, float[] observations, int rows)
    {
        var policy = (ActorCriticPolicy)trainable;
        var discrete = new int[rows * policy.DiscreteActionSize];
        var continuous = new float[rows * policy.ContinuousActionSize];
        policy.Act(observations, rows, new Rng(0), deterministic: true, discrete, continuous, new float[rows], []);
        return (discrete, continuous);
    }

    /// <summary>The Gaussian head's standard deviation for one observation: exp(log_std), or with gSDE sqrt(Σ latent²·σ² + 1e-6).</summary>
    private static double[] ExpectedStd(TrainablePolicy trainable, float[] observation)
    {
        var policy = (ActorCriticPolicy)trainable;
        var logStd = policy.LogStd!.Value.Data;
        int d = policy.OutputSize;
        if (!policy.UsesSde) return [.. logStd.Select(v => Math.Exp(v))];
        using var scope = Graph.NoGrad();
        var latent = policy.ActorCritic(Tensor.FromArray(observation, 1, policy.ObservationSize)).Latent!.Data;
        var std = new double[d];
        for (int j = 0; j < d; j++)
        {
            double variance = 1e-6;
            for (int k = 0; k < latent.Length; k++) variance += latent[k] * latent[k] * Math.Exp(2 * logStd[k * d + j]);
            std[j] = Math.Sqrt(variance);
        }
        return std;
    }

    private void AssertClose(string what, float[] expected, OrtOutput actual, long[] dims)
    {
        Assert.Equal(dims, actual.Dims);
        Assert.Equal("float32", actual.Type);
        Assert.Equal(expected.Length, actual.Data.Length);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual.Data[i]));
        output.WriteLine($"{what}: max |library − ONNX Runtime| = {worst.ToString("E2", CultureInfo.InvariantCulture)} over {expected.Length} values");
        Assert.True(worst <= Tolerance, $"{what}: the library and ONNX Runtime differ by {worst:E2} (tolerance {Tolerance:E0}).");
        Assert.True(expected.Distinct().Count() > 1, $"{what}: every value is the same, so the comparison would not discriminate.");
    }

    private static void AssertActions(int[] expected, OrtOutput actual, long[] dims)
    {
        Assert.Equal(dims, actual.Dims);
        Assert.Equal("int64", actual.Type);
        Assert.Equal(expected.Select(a => (double)a), actual.Data);
        Assert.True(expected.Distinct().Count() > 1, "every deterministic action is the same, so the comparison would not discriminate.");
    }

    private static void AssertConstant(OrtOutput actual, long[] dims, double[] values)
    {
        Assert.Equal(dims, actual.Dims);
        Assert.Equal("float32", actual.Type);   // ML-Agents reads these constants as float tensors
        Assert.Equal(values, actual.Data);
    }

    /// <summary>ModelProto field 1 (ir_version), written first.</summary>
    private static int IrVersionOf(byte[] model)
    {
        Assert.Equal(0x08, model[0]);
        return model[1];
    }
}

/// <summary>A tiny environment with MultiDiscrete([3, 2, 4]) actions: the reward counts the branches that match signs of the observation.</summary>
internal sealed class TinyMultiDiscreteEnv : IEnvironment<float[], int[]>
{
    public const string Id = "ExportTest-MultiDiscrete-v0";
    private static readonly object Gate = new();
    private Rng _rng = new(0);
    private float[] _state = new float[4];
    private int _steps;

    public static void EnsureRegistered()
    {
        lock (Gate)
        {
            if (!Environments.IsRegistered(Id)) Environments.Register(Id, () => new TinyMultiDiscreteEnv(), maxEpisodeSteps: 20);
        }
    }

    public Space ObservationSpace { get; } = new Box(-1f, 1f, [4]);

    public Space ActionSpace { get; } = new MultiDiscrete([3, 2, 4]);

    public (float[] Observation, StepInfo Info) Reset(int? seed = null)
    {
        if (seed is int s) _rng = new Rng(s);
        _steps = 0;
        Draw();
        return ((float[])_state.Clone(), StepInfo.Empty);
    }

    public Step<float[]> Step(int[] action)
    {
        ArgumentNullException.ThrowIfNull(action);
        double reward = (action[0] == (_state[0] > 0 ? 2 : 0) ? 1 : 0) + (action[1] == (_state[1] > 0 ? 1 : 0) ? 1 : 0) + (action[2] == (_state[2] > 0 ? 3 : 1) ? 1 : 0);
        Draw();
        return new Step<float[]>((float[])_state.Clone(), reward, ++_steps >= 10, false, StepInfo.Empty);
    }

    private void Draw()
    {
        for (int i = 0; i < _state.Length; i++) _state[i] = _rng.NextFloat() * 2f - 1f;
    }
}
