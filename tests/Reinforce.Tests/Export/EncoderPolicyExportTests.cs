using Microsoft.ML.OnnxRuntime;
using Reinforce.Algorithms;
using Reinforce.Autograd;
using Reinforce.Cli;
using Reinforce.Distributions;
using Reinforce.Envs;
using Reinforce.Envs.Wrappers;
using Reinforce.Export;
using Reinforce.Spaces;
using Reinforce.Tensors;
using Xunit.Abstractions;

namespace Reinforce.Tests.Export;

/// <summary>
/// Exported <see cref="EncoderPolicy"/> models (CNN per image part, one input per Dict key, LSTM/GRU state in and
/// out, action masks) run in the real ONNX Runtime and give what the library's acting path gives on the same
/// observations and memory: the same actions, probabilities and next state to 1e-5.
/// </summary>
public class EncoderPolicyExportTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-5;

    [Fact]
    public void MinAtar_cnn_policy_takes_byte_images_and_gives_the_probabilities_and_actions_of_predict()
    {
        using var env = Environments.MakeVector("MinAtar/Breakout-v1", 4, seed: 1);
        using var agent = new Ppo(env, new PpoOptions { Seed = 2, NumSteps = 32, BatchSize = 64, NumEpochs = 1, Policy = new PolicyOptions { HiddenSizes = [32], Activation = "relu", Cnn = "small" } });
        agent.Learn(128);
        var policy = Assert.IsType<EncoderPolicy>(agent.Policy);
        PolicyExporterTests.Randomize(policy, 13, scale: 3f);
        const int rows = 16;
        int size = policy.ObservationSize;   // 4 x 10 x 10
        var rng = new Rng(31);
        var bytes = new byte[rows * size];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = rng.NextDouble() < 0.15 ? (byte)1 : (byte)0;
        var obs = bytes.Select(b => (float)b).ToArray();

        var export = PolicyExporter.Export(agent);
        Assert.Equal("obs [batch, 4, 10, 10] uint8", export.Inputs.Single().ToString());
        var ort = OnnxRuntime.Session(export.Model, [OnnxRuntime.Bytes("obs", bytes, rows, 4, 10, 10)]);
        Assert.Equal(["action_probs", "action"], ort.OutputNames);

        float[] probs;
        using (Graph.NoGrad()) probs = new Categorical(policy.Head.Forward(policy.Features(Tensor.FromArray(obs, rows, size)))).Probs.Data;
        output.WriteLine("probabilities: " + string.Join(" ", probs.Select(p => p.ToString("F3", System.Globalization.CultureInfo.InvariantCulture))));
        AssertClose("Breakout action_probs", probs, ort["action_probs"], [rows, 3]);
        var actions = new int[rows];
        agent.Predict(obs, actions, deterministic: true);
        Assert.Equal(actions.Select(a => (double)a), ort["action"].Data);
        Assert.True(actions.Distinct().Count() > 1, "every deterministic action is the same, so the comparison would not discriminate");
    }

    public static TheoryData<string> Memories => new() { "lstm-dict-2-layers", "gru-vector" };

    /// <summary>
    /// Several steps with the memory fed back (each step's h_out/c_out as the next h_in/c_in), one copy's memory zeroed
    /// mid-way as at an episode start, observation normalisation, image scaling and action masks: the model's actions,
    /// probabilities and next state equal the policy's acting path with its <see cref="RecurrentPolicyState"/>.
    /// </summary>
    [Theory]
    [MemberData(nameof(Memories))]
    public void Recurrent_policy_carries_its_state_in_and_out_as_the_library_does(string variant)
    {
        bool dict = variant.Contains("dict", StringComparison.Ordinal);
        Space space = dict ? new DictSpace(("camera", ByteBox.Image(3, 6, 6)), ("velocity", new Box(-1f, 1f, [3]))) : new Box(-5f, 5f, [4]);
        var layout = ObservationLayout.Of(space);
        var options = new PolicyOptions
        {
            HiddenSizes = [16], Activation = "tanh", Cnn = dict ? "small" : "auto", FeaturesDim = 16, NormalizeImages = dict,
            LstmHiddenSize = 8, LstmLayers = dict ? 2 : 1, RecurrentKind = dict ? Reinforce.Nn.RecurrentKind.Lstm : Reinforce.Nn.RecurrentKind.Gru,
        };
        var policy = new EncoderPolicy(layout, new Discrete(5), options, withCritic: true, new Rng(3));
        PolicyExporterTests.Randomize(policy, 12, scale: 2f);
        const int rows = 3;
        var rng = new Rng(41);
        var statistics = new RunningMeanStd(layout.Size);
        statistics.Update(RawObservations(layout, rng, 64));
        var normalization = new ObservationNormalization(statistics.Mean, statistics.Var, 1e-8, 5.0);

        var export = PolicyExporter.Export(policy, normalization, new OnnxExportOptions { ActionMask = true });
        string[] stateNames = dict ? ["h", "c"] : ["h"];
        output.WriteLine($"{variant}: inputs {string.Join("; ", export.Inputs)}; outputs {string.Join("; ", export.Outputs)}");
        Assert.Equal([.. (dict ? new[] { "camera", "velocity" } : ["obs"]), .. stateNames.Select(n => n + "_in"), "action_mask"], export.Inputs.Select(i => i.Name));
        Assert.Equal(["action_probs", "action", .. stateNames.Select(n => n + "_out")], export.Outputs.Select(o => o.Name));
        if (dict) Assert.Equal("camera [batch, 3, 6, 6] uint8", export.Inputs[0].ToString());

        var state = (RecurrentPolicyState)policy.CreateState(rows);
        int layers = options.LstmLayers, hidden = options.LstmHiddenSize;
        var fed = stateNames.ToDictionary(n => n, _ => new float[layers * rows * hidden]);
        var actRng = new Rng(5);
        var distinctActions = new HashSet<int>();
        for (int step = 0; step < 4; step++)
        {
            if (step == 2)
            {
                // Copy 1's episode ended: the library resets its memory, the ONNX caller feeds zeros for it.
                state.Reset(1);
                foreach (var values in fed.Values)
                    for (int l = 0; l < layers; l++) Array.Clear(values, (l * rows + 1) * hidden, hidden);
            }
            var raw = RawObservations(layout, rng, rows);
            var mask = new bool[rows * 5];
            for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextDouble() < 0.6;
            for (int r = 0; r < rows; r++) mask[r * 5 + step % 5] = true;   // at least one legal action per row

            var normalized = new float[raw.Length];
            statistics.Normalize(raw, normalized, 1e-8, 5.0);
            var actions = new int[rows];
            policy.Act(new ObservationBatch(normalized, rows, layout), state, mask, actRng, deterministic: true, new ActionBatch(actions, [], new float[rows], []));

            var feeds = new List<NamedOnnxValue>();
            if (dict)
            {
                var camera = layout["camera"];
                var velocity = layout["velocity"];
                feeds.Add(OnnxRuntime.Bytes("camera", [.. Enumerable.Range(0, rows).SelectMany(r => raw.AsSpan(r * layout.Size + camera.Offset, camera.Length).ToArray().Select(v => (byte)v))], rows, 3, 6, 6));
                feeds.Add(OnnxRuntime.Floats("velocity", [.. Enumerable.Range(0, rows).SelectMany(r => raw.AsSpan(r * layout.Size + velocity.Offset, velocity.Length).ToArray())], rows, 3));
            }
            else feeds.Add(OnnxRuntime.Floats("obs", raw, rows, 4));
            foreach (var n in stateNames) feeds.Add(OnnxRuntime.Floats(n + "_in", fed[n], layers, rows, hidden));
            feeds.Add(OnnxRuntime.Bools("action_mask", mask, rows, 5));
            var ort = OnnxRuntime.Session(export.Model, feeds);

            foreach (var n in stateNames)
            {
                AssertClose($"{variant} step {step} {n}_out", state.Get(n), ort[n + "_out"], [layers, rows, hidden]);
                fed[n] = [.. ort[n + "_out"].Data.Select(v => (float)v)];
            }
            Assert.Equal(actions.Select(a => (double)a), ort["action"].Data);
            for (int i = 0; i < mask.Length; i++)
                if (!mask[i]) Assert.Equal(0.0, ort["action_probs"].Data[i]);
            float[] probs;
            var lastLayer = state.Get("h").AsSpan((layers - 1) * rows * hidden, rows * hidden).ToArray();
            using (Graph.NoGrad()) probs = new Categorical(policy.Head.Forward(Tensor.FromArray(lastLayer, rows, hidden)), mask).Probs.Data;
            AssertClose($"{variant} step {step} action_probs", probs, ort["action_probs"], [rows, 5]);
            distinctActions.UnionWith(actions);
        }
        Assert.True(distinctActions.Count > 1, "every deterministic action is the same, so the comparison would not discriminate");
    }

    /// <summary>
    /// A recurrent agent trained, saved and exported from its checkpoint (as `reinforce export` does) acts in ONNX Runtime
    /// exactly as <see cref="Agent.Predict(ReadOnlySpan{float}, Span{int}, PolicyState, ReadOnlySpan{bool}, bool)"/>
    /// with a state kept by the caller, over real CartPoleNoVel episodes (normalised observations, memory reset at episode ends).
    /// </summary>
    [Fact]
    public void A_recurrent_checkpoint_exports_and_acts_as_predict_with_its_state_over_real_episodes()
    {
        string dir = Path.Combine(Path.GetTempPath(), "reinforce-recurrent-export-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var env = Environments.MakeVector("CartPoleNoVel-v1", 4, seed: 1))
            using (var trained = new Ppo(env, new PpoOptions { Seed = 3, NumSteps = 16, BatchSize = 32, NumEpochs = 2, NormalizeObservations = true, Policy = new PolicyOptions { HiddenSizes = [16], LstmHiddenSize = 8 } }))
            {
                trained.Learn(512);
                trained.Save(Path.Combine(dir, "final"));
            }
            var (code, stdout, error) = ExportCommandTests.Run("export", dir, "--format", "onnx");
            Assert.True(code == 0, $"reinforce export failed ({code}): {error}");
            Assert.Contains("h_in [1, batch, 8] float32", stdout, StringComparison.Ordinal);
            Assert.Contains("c_out [1, batch, 8] float32", stdout, StringComparison.Ordinal);
            var model = File.ReadAllBytes(Path.Combine(dir, "policy.onnx"));

            using var agent = PolicyExporter.LoadCheckpoint(dir);
            Assert.True(agent.Policy.IsRecurrent);
            using var play = Environments.MakeVector("CartPoleNoVel-v1", 2, seed: 9);
            play.Reset(9);
            var state = (RecurrentPolicyState)agent.CreateState(2);
            var h = new float[2 * 8];
            var c = new float[2 * 8];
            var actions = new int[2];
            int episodesEnded = 0;
            for (int t = 0; t < 60; t++)
            {
                var obs = play.Observations.ToArray();
                agent.Predict(obs, actions, state);
                var ort = OnnxRuntime.Session(model, [OnnxRuntime.Floats("obs", obs, 2, 2), OnnxRuntime.Floats("h_in", h, 1, 2, 8), OnnxRuntime.Floats("c_in", c, 1, 2, 8)]);
                Assert.Equal(actions.Select(a => (double)a), ort["action"].Data);
                AssertClose($"step {t} h_out", state.Get("h"), ort["h_out"], [1, 2, 8]);
                h = [.. ort["h_out"].Data.Select(v => (float)v)];
                c = [.. ort["c_out"].Data.Select(v => (float)v)];
                play.Step(actions);
                for (int e = 0; e < 2; e++)
                {
                    if (!play.Terminated[e] && !play.Truncated[e]) continue;
                    state.Reset(e);
                    Array.Clear(h, e * 8, 8);
                    Array.Clear(c, e * 8, 8);
                    episodesEnded++;
                }
            }
            output.WriteLine($"60 steps of 2 copies, {episodesEnded} episode ends: ONNX Runtime's actions and memory equal Predict's");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_unity_layout_refuses_an_encoder_policy_and_names_the_default_layout()
    {
        var layout = ObservationLayout.Of(new DictSpace(("camera", ByteBox.Image(3, 6, 6)), ("velocity", new Box(-1f, 1f, [3]))));
        var policy = new EncoderPolicy(layout, new Discrete(3), new PolicyOptions { Cnn = "small", LstmHiddenSize = 4 }, withCritic: true, new Rng(1));
        var error = Assert.Throws<NotSupportedException>(() => PolicyExporter.Export(policy, options: new OnnxExportOptions { Unity = true }));
        Assert.Contains("camera", error.Message, StringComparison.Ordinal);
        Assert.Contains("leave out --unity", error.Message, StringComparison.Ordinal);
        Assert.Contains("h_in/c_in", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Random raw observation rows: byte parts as whole values 0–255 (0/1 for a 0–1 ByteBox), float parts Gaussian.</summary>
    private static float[] RawObservations(ObservationLayout layout, Rng rng, int rows)
    {
        var data = new float[rows * layout.Size];
        for (int r = 0; r < rows; r++)
            foreach (var block in layout.Blocks)
                for (int j = 0; j < block.Length; j++)
                    data[r * layout.Size + block.Offset + j] = block.IsByte ? (float)rng.NextInt((int)block.High + 1) : (float)(1.5 * rng.NextGaussian());
        return data;
    }

    private void AssertClose(string what, float[] expected, OrtOutput actual, long[] dims)
    {
        Assert.Equal(dims, actual.Dims);
        Assert.Equal("float32", actual.Type);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(expected[i] - actual.Data[i]);
            worst = Math.Max(worst, diff);
            Assert.True(diff <= Tolerance * Math.Max(1, Math.Abs(expected[i])), $"{what}[{i}]: library {expected[i]}, ONNX Runtime {actual.Data[i]}");
        }
        output.WriteLine($"{what}: largest difference {worst:E1} over {expected.Length} values");
    }
}
