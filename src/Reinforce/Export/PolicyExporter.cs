using System.Globalization;
using Reinforce.Algorithms;
using Reinforce.IO;
using Reinforce.IO.Onnx;
using Reinforce.Envs;
using Reinforce.Nn;
using Reinforce.Spaces;
using Reinforce.Training;
using Reinforce.Envs.Vector;

namespace Reinforce.Export;

/// <summary>One input or output of an exported model: its name, element type and shape (null dimensions are the dynamic batch).</summary>
public sealed record OnnxTensorSignature(string Name, string ElementType, int?[] Shape)
{
    /// <summary>For example <c>obs [batch, 4] float32</c>.</summary>
    public override string ToString() =>
        $"{Name} [{string.Join(", ", Shape.Select(d => d is int v ? v.ToString(CultureInfo.InvariantCulture) : "batch"))}] {ElementType}";
}

/// <summary>An exported model: the serialised ONNX bytes and what it takes and gives.</summary>
/// <param name="Model">The ONNX ModelProto.</param>
/// <param name="Opset">The operator set version.</param>
/// <param name="IrVersion">The ONNX IR version.</param>
/// <param name="Inputs">The graph inputs, in order.</param>
/// <param name="Outputs">The graph outputs, in order.</param>
public sealed record OnnxExport(byte[] Model, int Opset, int IrVersion, IReadOnlyList<OnnxTensorSignature> Inputs, IReadOnlyList<OnnxTensorSignature> Outputs);

/// <summary>
/// Writes a trained <see cref="ActorCriticPolicy"/>'s actor as an ONNX model: raw observations in (normalised inside
/// the model when the run normalised them), the action distribution's parameters and the deterministic action out,
/// with a dynamic batch dimension. Built from the policy's public surface (its named parameters, activation, head
/// kind and action space), so the model computes what <see cref="ActorCriticPolicy.Forward"/> and
/// <see cref="Agent.Predict(ReadOnlySpan{float}, bool)"/> compute.
/// </summary>
/// <remarks>
/// <para>Default layout — input <c>obs</c> float32 [batch, observation size]; outputs for discrete actions
/// <c>action_probs</c> float32 [batch, logits] (Categorical: softmax; MultiDiscrete: one softmax per branch,
/// concatenated; Bernoulli: sigmoid, P(1) per branch) and <c>action</c> int64 [batch, branches] (argmax per branch,
/// plus the space's start; Bernoulli: logit &gt; 0); for Box actions <c>mean</c> float32 [batch, D] (the Gaussian
/// mean, unclipped) and <c>action</c> float32 [batch, D] (the mean clipped to the Box bounds).</para>
/// <para>Unity layout (<see cref="OnnxExportOptions.Unity"/>): the names, element types and shapes of Unity
/// ML-Agents' exporter (model API version 3): see the README section "Export to ONNX".</para>
/// </remarks>
public static class PolicyExporter
{
    private const string Float32 = "float32";
    private const string Int64 = "int64";

    /// <summary>
    /// Exports an agent's policy with its observation normalisation: an MLP <see cref="ActorCriticPolicy"/> or an
    /// <see cref="EncoderPolicy"/> (CNN per image part, one input per Dict key, LSTM/GRU state in and out). An agent
    /// trained with action masks gets the <c>action_mask</c> input.
    /// </summary>
    public static OnnxExport Export(OnPolicyAgent agent, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        options ??= new OnnxExportOptions();
        if (agent.MaskSize > 0) options = options with { ActionMask = true };
        var normalization = ObservationNormalization.Of(agent);
        return agent.Policy switch
        {
            ActorCriticPolicy mlp => Write(mlp, mlp, normalization, options),
            EncoderPolicy encoder => Write(encoder, encoder.Head, normalization, options),
            var other => throw new NotSupportedException(
                $"ONNX export: the agent's policy is a {other.GetType().Name}; the exporter writes ActorCriticPolicy (MLP) and EncoderPolicy (CNN, Dict, LSTM/GRU)."),
        };
    }

    /// <summary>Exports <paramref name="policy"/>, applying <paramref name="normalization"/> to the observations first when given.</summary>
    public static OnnxExport Export(ActorCriticPolicy policy, ObservationNormalization? normalization = null, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return Write(policy, policy, normalization, options ?? new OnnxExportOptions());
    }

    /// <summary>
    /// Exports an <see cref="EncoderPolicy"/> in the default layout: one input per observation part (byte images as
    /// uint8, scaled inside the model as training scaled them), <paramref name="normalization"/> applied first when
    /// given, and for a recurrent policy the state in (<c>h_in</c>, <c>c_in</c>) and out (<c>h_out</c>, <c>c_out</c>).
    /// </summary>
    public static OnnxExport Export(EncoderPolicy policy, ObservationNormalization? normalization = null, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return Write(policy, policy.Head, normalization, options ?? new OnnxExportOptions());
    }

    /// <summary>The graph for <paramref name="policy"/>: its inputs and encoders (or the plain observation), then <paramref name="head"/>'s actor layers and action head.</summary>
    private static OnnxExport Write(TrainablePolicy policy, ActorCriticPolicy head, ObservationNormalization? normalization, OnnxExportOptions options)
    {
        int opset = options.ResolvedOpset;
        int irVersion = OnnxExportOptions.IrVersionFor(opset);
        normalization?.Validate(policy.ObservationSize);
        var encoder = policy as EncoderPolicy;
        if (options.Unity && encoder is not null)
            throw new NotSupportedException(
                $"ONNX export: the Unity ML-Agents layout is written for MLP policies on vector observations, but this policy has encoders for {encoder.ObservationLayout}" +
                $"{(encoder.IsRecurrent ? " and a recurrent memory" : "")}. Export it in the default layout (leave out --unity): one input per observation part{(encoder.IsRecurrent ? ", the memory as h_in/c_in and h_out/c_out" : "")}.");
        if (options.ActionMask && head.ActionMaskSize == 0)
            throw new NotSupportedException($"ONNX export: an action mask was requested, but the action space {head.ActionSpace} has no discrete choices to mask; export without ActionMask.");
        var network = Network.Read(head);
        var graph = new GraphWriter(new OnnxGraphBuilder(options.GraphName, opset, irVersion));
        var g = graph.Builder;

        string x;
        int dense = 0;
        if (encoder is null)
        {
            string observations = options.Unity ? "obs_0" : "obs";
            graph.Input(observations, OnnxGraphBuilder.Float32, null, policy.ObservationSize);
            x = observations;
            if (normalization is not null) x = Normalize(g, x, normalization, 0, policy.ObservationSize, [policy.ObservationSize], "obs");
        }
        else x = WriteEncoders(graph, encoder, normalization, ref dense);
        var stateOutputs = encoder?.Memory is { } memory ? WriteMemory(graph, memory, ref x) : [];

        // The actor's feature layers, walked module by module: each Nn module type has one ONNX mapping (Emit).
        foreach (var module in head.ActorFeatureModules) x = Emit(g, x, module, ref dense);
        string latent = x;

        g.AddMetadata("reinforce.action_space", head.ActionSpace.ToString() ?? "");
        g.AddMetadata("reinforce.head", head.Kind.ToString());
        g.AddMetadata("reinforce.activation", head.Activation.ToString());
        g.AddMetadata("reinforce.observation_size", policy.ObservationSize.ToString(CultureInfo.InvariantCulture));
        g.AddMetadata("reinforce.observation_layout", policy.ObservationLayout.ToString());
        g.AddMetadata("reinforce.observation_normalization", normalization is null ? "none" : "applied inside the model: clip((obs - mean) / sqrt(var + eps))");
        g.AddMetadata("reinforce.layout", options.Unity ? "unity-ml-agents (model API version 3)" : "reinforce");
        if (encoder?.Memory is { } m)
            g.AddMetadata("reinforce.memory", $"{m.Kind} {m.NumLayers}x{m.HiddenSize}: state inputs {string.Join(", ", m.StateNames.Select(n => n + "_in"))} and outputs {string.Join(", ", m.StateNames.Select(n => n + "_out"))} [layers, batch, hidden]; feed each step's outputs back, zeros at an episode start");

        if (options.Unity) WriteUnityHead(graph, head, network, latent, options.SamplingSeed);
        else WriteHead(graph, head, network, latent, options.ActionMask);
        foreach (var (name, value) in stateOutputs) graph.Output(name, OnnxGraphBuilder.Float32, value);
        return new OnnxExport(g.Build(), opset, irVersion, graph.Inputs, graph.Outputs);
    }

    // ------------------------------------------------------------------ encoders and memory

    /// <summary>The graph input of an observation part: "obs" for a plain observation, else the part's key (Dict keys; Tuple indices; nested parts joined by dots).</summary>
    public static string InputName(ObservationLayout layout, ObservationBlock part)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(part);
        return layout.IsSingle ? "obs" : part.Key;
    }

    private static readonly string[] ReservedNames = ["action_mask", "action_probs", "action", "mean", "h_in", "c_in", "h_out", "c_out"];

    /// <summary>One input per observation part, each through its encoder (the CNN of an image part, or its flat values), concatenated: [batch, features].</summary>
    private static string WriteEncoders(GraphWriter graph, EncoderPolicy policy, ObservationNormalization? normalization, ref int dense)
    {
        var g = graph.Builder;
        var features = new List<string>();
        foreach (var e in policy.Encoders)
        {
            var part = e.Part;
            string name = InputName(policy.ObservationLayout, part);
            if (Array.IndexOf(ReservedNames, name) >= 0)
                throw new NotSupportedException($"ONNX export: the observation key '{name}' would share its name with one of the model's own inputs or outputs ({string.Join(", ", ReservedNames)}); rename the key in the environment's DictSpace.");
            graph.Input(name, part.IsByte ? OnnxGraphBuilder.UInt8 : OnnxGraphBuilder.Float32, [null, .. part.Shape.Select(d => (int?)d)]);
            string x = name;
            if (part.IsByte)
            {
                string cast = g.Fresh($"{name}_float");
                g.AddNode("Cast", [x], [cast], ("to", (long)OnnxGraphBuilder.Float32));
                x = cast;
            }
            if (normalization is not null) x = Normalize(g, x, normalization, part.Offset, part.Length, part.Shape, name);
            if (e.Network is null)
            {
                if (part.Shape.Length != 1)
                {
                    string flat = g.Fresh($"{name}_flat");
                    g.AddNode("Flatten", [x], [flat], ("axis", 1L));
                    x = flat;
                }
                features.Add(x);
                continue;
            }
            if (e.ChannelsLast)
            {
                string chw = g.Fresh($"{name}_chw");
                g.AddNode("Transpose", [x], [chw], ("perm", new long[] { 0, 3, 1, 2 }));
                x = chw;
            }
            if (policy.ImageScale != 1f)
            {
                string scaled = g.Fresh($"{name}_scaled");
                g.AddNode("Mul", [x, g.AddInitializer(g.Fresh("image_scale"), (ReadOnlySpan<float>)[policy.ImageScale])], [scaled]);
                x = scaled;
            }
            features.Add(Emit(g, x, e.Network, ref dense));
        }
        if (features.Count == 1) return features[0];
        string all = g.Fresh("features");
        g.AddNode("Concat", [.. features], [all], ("axis", 1L));
        return all;
    }

    /// <summary>
    /// One step of the recurrent layer from the state inputs (<c>h_in</c>, and <c>c_in</c> for an LSTM; [layers, batch,
    /// hidden]) written out cell by cell with PyTorch's gate order, as the policy's acting path computes it; replaces
    /// <paramref name="x"/> by the last layer's h and returns the state outputs to declare (name, shape).
    /// </summary>
    private static List<(string Name, int?[] Shape)> WriteMemory(GraphWriter graph, RecurrentLayer memory, ref string x)
    {
        var g = graph.Builder;
        int hidden = memory.HiddenSize, layers = memory.NumLayers;
        bool lstm = memory.Kind == RecurrentKind.Lstm;
        int?[] stateShape = [layers, null, hidden];
        graph.Input("h_in", OnnxGraphBuilder.Float32, stateShape);
        if (lstm) graph.Input("c_in", OnnxGraphBuilder.Float32, stateShape);
        var hOut = new string[layers];
        var cOut = new string[layers];
        for (int l = 0; l < layers; l++)
        {
            string index = g.AddInitializer(g.Fresh($"layer_{l}"), (ReadOnlySpan<long>)[l]);
            string h = g.Fresh($"h_{l}");
            g.AddNode("Gather", ["h_in", index], [h], ("axis", 0L));
            var inputGates = Dense(g, x, new DenseLayer((float[])memory.WeightIh(l).Value.Data.Clone(), (float[])memory.BiasIh(l).Value.Data.Clone(), (lstm ? 4 : 3) * hidden, l == 0 ? memory.InputSize : hidden), $"lstm.ih_l{l}");
            var hiddenGates = Dense(g, h, new DenseLayer((float[])memory.WeightHh(l).Value.Data.Clone(), (float[])memory.BiasHh(l).Value.Data.Clone(), (lstm ? 4 : 3) * hidden, hidden), $"lstm.hh_l{l}");
            string hNew;
            if (lstm)
            {
                string c = g.Fresh($"c_{l}");
                g.AddNode("Gather", ["c_in", index], [c], ("axis", 0L));
                string gates = Binary(g, "Add", inputGates, hiddenGates, "gates");
                string i = Unary(g, "Sigmoid", Slice(g, gates, 0, hidden, "gate_i"));
                string f = Unary(g, "Sigmoid", Slice(g, gates, hidden, hidden, "gate_f"));
                string cell = Unary(g, "Tanh", Slice(g, gates, 2 * hidden, hidden, "gate_g"));
                string o = Unary(g, "Sigmoid", Slice(g, gates, 3 * hidden, hidden, "gate_o"));
                string cNew = Binary(g, "Add", Binary(g, "Mul", f, c, "forget"), Binary(g, "Mul", i, cell, "write"), $"c_new_{l}");
                hNew = Binary(g, "Mul", o, Unary(g, "Tanh", cNew), $"h_new_{l}");
                cOut[l] = cNew;
            }
            else
            {
                string r = Unary(g, "Sigmoid", Binary(g, "Add", Slice(g, inputGates, 0, hidden, "x_r"), Slice(g, hiddenGates, 0, hidden, "h_r"), "r"));
                string z = Unary(g, "Sigmoid", Binary(g, "Add", Slice(g, inputGates, hidden, hidden, "x_z"), Slice(g, hiddenGates, hidden, hidden, "h_z"), "z"));
                string n = Unary(g, "Tanh", Binary(g, "Add", Slice(g, inputGates, 2 * hidden, hidden, "x_n"), Binary(g, "Mul", r, Slice(g, hiddenGates, 2 * hidden, hidden, "h_n"), "r_h_n"), "n"));
                // h' = (1 − z)·n + z·h, written as the kernel computes it.
                string one = g.AddInitializer(g.Fresh("one"), (ReadOnlySpan<float>)[1f]);
                hNew = Binary(g, "Add", Binary(g, "Mul", Binary(g, "Sub", one, z, "keep_new"), n, "new_part"), Binary(g, "Mul", z, h, "old_part"), $"h_new_{l}");
            }
            hOut[l] = hNew;
            x = hNew;
        }
        var outputs = new List<(string, int?[])> { (StackLayers(g, hOut, "h_out"), stateShape) };
        if (lstm) outputs.Add((StackLayers(g, cOut, "c_out"), stateShape));
        return outputs;
    }

    /// <summary>Stacks per-layer [batch, hidden] values into [layers, batch, hidden] named <paramref name="output"/>.</summary>
    private static string StackLayers(OnnxGraphBuilder g, string[] perLayer, string output)
    {
        string axes = g.AddInitializer(g.Fresh("axis0"), (ReadOnlySpan<long>)[0], 1);
        var unsqueezed = perLayer.Select(v =>
        {
            string u = g.Fresh($"{v}_stacked");
            g.AddNode("Unsqueeze", [v, axes], [u]);
            return u;
        }).ToArray();
        if (unsqueezed.Length == 1) g.AddNode("Identity", [unsqueezed[0]], [output]);
        else g.AddNode("Concat", unsqueezed, [output], ("axis", 0L));
        return output;
    }

    private static string Unary(OnnxGraphBuilder g, string op, string x)
    {
        string y = g.Fresh(op.ToLowerInvariant());
        g.AddNode(op, [x], [y]);
        return y;
    }

    private static string Binary(OnnxGraphBuilder g, string op, string a, string b, string name)
    {
        string y = g.Fresh(name);
        g.AddNode(op, [a, b], [y]);
        return y;
    }

    /// <summary>The model bytes of <see cref="Export(ActorCriticPolicy, ObservationNormalization?, OnnxExportOptions?)"/>.</summary>
    public static byte[] ToOnnx(ActorCriticPolicy policy, ObservationNormalization? normalization = null, OnnxExportOptions? options = null) =>
        Export(policy, normalization, options).Model;

    /// <summary>The model bytes of <see cref="Export(OnPolicyAgent, OnnxExportOptions?)"/>.</summary>
    public static byte[] ToOnnx(OnPolicyAgent agent, OnnxExportOptions? options = null) => Export(agent, options).Model;

    /// <summary>Exports <paramref name="policy"/> to <paramref name="path"/> (written to a temporary file, then renamed into place).</summary>
    public static OnnxExport Save(string path, ActorCriticPolicy policy, ObservationNormalization? normalization = null, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var export = Export(policy, normalization, options);
        AtomicFile.WriteAllBytes(path, export.Model);
        return export;
    }

    /// <summary>Exports an agent's policy and observation normalisation to <paramref name="path"/> (written to a temporary file, then renamed into place).</summary>
    public static OnnxExport Save(string path, OnPolicyAgent agent, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var export = Export(agent, options);
        AtomicFile.WriteAllBytes(path, export.Model);
        return export;
    }

    /// <summary>
    /// The checkpoint folder to export for <paramref name="path"/>: the folder itself when it holds a checkpoint
    /// (<c>agent.json</c>; a path to that file also works), else a run folder's newest checkpoint (<c>final/</c> or
    /// <c>checkpoints/step-N/</c>).
    /// </summary>
    public static string ResolveCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path) && string.Equals(Path.GetFileName(path), Checkpoint.ManifestFile, StringComparison.Ordinal))
            path = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (Checkpoint.Exists(path)) return path;
        if (File.Exists(path))
            throw new CheckpointFormatException(path, "this is a file, not a checkpoint or run folder", "Pass a run folder made by `reinforce train` (or Learn + Save), or a checkpoint folder such as <run>/final.");
        if (!Directory.Exists(path))
            throw new CheckpointFormatException(path, "the folder does not exist", "Pass a run folder made by `reinforce train` (or Learn + Save), or a checkpoint folder such as <run>/final.");
        return TrainingRun.LatestCheckpoint(path)
            ?? throw new CheckpointFormatException(path, $"the folder is neither a checkpoint (it has no {Checkpoint.ManifestFile}) nor a run folder with a final/ or checkpoints/step-N/ checkpoint",
                "Pass a run folder made by `reinforce train` (or Learn + Save), or a checkpoint folder such as <run>/final.");
    }

    /// <summary>
    /// Loads the agent to export from a run folder or checkpoint folder with the training code's own loader
    /// (<see cref="Checkpoint.Load"/>: checksums, settings and weights are verified). Pass <paramref name="env"/> for
    /// environments that are not registered (made as the training environment was).
    /// </summary>
    public static OnPolicyAgent LoadCheckpoint(string path, IVectorEnv? env = null) => Checkpoint.Load(ResolveCheckpoint(path), env);

    // ------------------------------------------------------------------ default layout

    private static void WriteHead(GraphWriter graph, ActorCriticPolicy policy, Network network, string latent, bool actionMask)
    {
        var g = graph.Builder;
        switch (policy.Kind)
        {
            case ActionHeadKind.Categorical:
            case ActionHeadKind.MultiCategorical:
            {
                string logits = Dense(g, latent, network.Head, "policy_head");
                if (actionMask)
                {
                    // bool [batch, Σ branch sizes], true = legal: a masked logit becomes -1e30, so its probability is 0 and it is never the argmax.
                    graph.Input("action_mask", OnnxGraphBuilder.Bool, null, policy.ActionMaskSize);
                    string masked = g.Fresh("masked_logits");
                    g.AddNode("Where", ["action_mask", logits, g.AddInitializer("masked_logit", (ReadOnlySpan<float>)[-1e30f])], [masked]);
                    logits = masked;
                }
                int[] branches = network.Branches;
                var probs = new string[branches.Length];
                var actions = new string[branches.Length];
                int offset = 0;
                for (int b = 0; b < branches.Length; b++)
                {
                    string branch = branches.Length == 1 ? logits : Slice(g, logits, offset, branches[b], $"branch_{b}_logits");
                    probs[b] = branches.Length == 1 ? "action_probs" : g.Fresh($"branch_{b}_probs");
                    g.AddNode("Softmax", [branch], [probs[b]], ("axis", -1L));
                    actions[b] = g.Fresh($"branch_{b}_action");
                    g.AddNode("ArgMax", [branch], [actions[b]], ("axis", -1L), ("keepdims", 1L));
                    offset += branches[b];
                }
                if (branches.Length > 1) g.AddNode("Concat", probs, ["action_probs"], ("axis", 1L));
                string action = Concat(g, actions, policy.Kind == ActionHeadKind.Categorical && network.Start != 0 ? g.Fresh("action_from_zero") : "action");
                if (policy.Kind == ActionHeadKind.Categorical && network.Start != 0)
                {
                    // Discrete(n, start): the environment's actions are start … start + n − 1.
                    string start = g.AddInitializer("action_start", (ReadOnlySpan<long>)[network.Start]);
                    g.AddNode("Add", [action, start], ["action"]);
                }
                graph.Output("action_probs", OnnxGraphBuilder.Float32, null, policy.OutputSize);
                graph.Output("action", OnnxGraphBuilder.Int64, null, branches.Length);
                break;
            }
            case ActionHeadKind.Bernoulli:
            {
                string logits = Dense(g, latent, network.Head, "policy_head");
                g.AddNode("Sigmoid", [logits], ["action_probs"]);
                string zero = g.AddInitializer("zero", (ReadOnlySpan<float>)[0f]);
                string positive = g.Fresh("logit_positive");
                g.AddNode("Greater", [logits, zero], [positive]);
                g.AddNode("Cast", [positive], ["action"], ("to", (long)OnnxGraphBuilder.Int64));
                graph.Output("action_probs", OnnxGraphBuilder.Float32, null, policy.OutputSize);
                graph.Output("action", OnnxGraphBuilder.Int64, null, policy.OutputSize);
                break;
            }
            default:
            {
                string mean = Dense(g, latent, network.Head, "policy_head", output: "mean");
                ClipToBounds(g, mean, policy, "action");
                graph.Output("mean", OnnxGraphBuilder.Float32, null, policy.OutputSize);
                graph.Output("action", OnnxGraphBuilder.Float32, null, policy.OutputSize);
                break;
            }
        }
    }

    // ------------------------------------------------------------------ Unity ML-Agents layout

    // Unity ML-Agents 2.0+ (ModelApiVersion.MLAgents2_0 = 3): constants are float32 outputs, actions float32 (continuous) or
    // int64 (discrete), action masks a float32 input with 1 = allowed; the Behavior Parameters component reads these names.
    private const float UnityModelApiVersion = 3f;

    private static void WriteUnityHead(GraphWriter graph, ActorCriticPolicy policy, Network network, string latent, float? seed)
    {
        var g = graph.Builder;
        bool continuous = policy.Kind == ActionHeadKind.Gaussian;
        int[] branches = continuous ? [] : policy.Kind == ActionHeadKind.Bernoulli ? [.. Enumerable.Repeat(2, policy.OutputSize)] : network.Branches;
        int maskWidth = branches.Sum();
        if (!continuous) graph.Input("action_masks", OnnxGraphBuilder.Float32, null, maskWidth);

        Constant(graph, "version_number", [UnityModelApiVersion], 1);
        Constant(graph, "memory_size", [0f], 1);

        if (continuous)
        {
            string mean = Dense(g, latent, network.Head, "policy_head");
            string std = network.SdeSigmaSquared is { } sigma2 ? SdeStd(g, latent, sigma2, network.Head.Out, network.LatentSize) : g.AddInitializer("std", network.Std!, network.Head.Out);
            string noise = g.Fresh("standard_normal");
            g.AddNode("RandomNormalLike", [mean], [noise], Seeded(seed));
            string scaled = g.Fresh("noise");
            g.AddNode("Mul", [noise, std], [scaled]);
            string sample = g.Fresh("sample");
            g.AddNode("Add", [mean, scaled], [sample]);
            ClipToBounds(g, sample, policy, "continuous_actions");
            graph.Output("continuous_actions", OnnxGraphBuilder.Float32, null, policy.OutputSize);
            Constant(graph, "continuous_action_output_shape", [policy.OutputSize], 1);
            ClipToBounds(g, mean, policy, "deterministic_continuous_actions");
            graph.Output("deterministic_continuous_actions", OnnxGraphBuilder.Float32, null, policy.OutputSize);
            return;
        }

        // Bernoulli branches become two-way softmaxes over the logits (0, x): softmax gives (1 − σ(x), σ(x)).
        var head = policy.Kind == ActionHeadKind.Bernoulli ? TwoWay(network.Head) : network.Head;
        string logits = Dense(g, latent, head, "policy_head");
        // As ML-Agents: logits·mask − 1e8·(1 − mask), so masked choices get probability 0 and are never the argmax.
        string one = g.AddInitializer("one", (ReadOnlySpan<float>)[1f]);
        string big = g.AddInitializer("mask_penalty", (ReadOnlySpan<float>)[1e8f]);
        string kept = g.Fresh("kept_logits");
        g.AddNode("Mul", [logits, "action_masks"], [kept]);
        string blocked = g.Fresh("blocked");
        g.AddNode("Sub", [one, "action_masks"], [blocked]);
        string penalty = g.Fresh("penalty");
        g.AddNode("Mul", [blocked, big], [penalty]);
        string masked = g.Fresh("masked_logits");
        g.AddNode("Sub", [kept, penalty], [masked]);

        var sampled = new string[branches.Length];
        var modes = new string[branches.Length];
        int offset = 0;
        for (int b = 0; b < branches.Length; b++)
        {
            string branch = branches.Length == 1 ? masked : Slice(g, masked, offset, branches[b], $"branch_{b}_logits");
            sampled[b] = g.Fresh($"branch_{b}_sample");
            g.AddNode("Multinomial", [branch], [sampled[b]], [("dtype", (long)OnnxGraphBuilder.Int64), ("sample_size", 1L), .. Seeded(seed is float s ? s + b : null)]);
            modes[b] = g.Fresh($"branch_{b}_mode");
            g.AddNode("ArgMax", [branch], [modes[b]], ("axis", -1L), ("keepdims", 1L));
            offset += branches[b];
        }
        Concat(g, sampled, "discrete_actions");
        graph.Output("discrete_actions", OnnxGraphBuilder.Int64, null, branches.Length);
        Constant(graph, "discrete_action_output_shape", [.. branches.Select(n => (float)n)], 1, branches.Length);
        Concat(g, modes, "deterministic_discrete_actions");
        graph.Output("deterministic_discrete_actions", OnnxGraphBuilder.Int64, null, branches.Length);
    }

    private static (string Name, object Value)[] Seeded(float? seed) => seed is float s ? [("seed", s)] : [];

    /// <summary>gSDE's per-action standard deviation sqrt(Σ_l latent_l²·σ_ld² + 1e-6), as the policy computes it when sampling.</summary>
    private static string SdeStd(OnnxGraphBuilder g, string latent, float[] sigmaSquared, int actions, int latentSize)
    {
        string squares = g.Fresh("latent_squared");
        g.AddNode("Mul", [latent, latent], [squares]);
        string weights = g.AddInitializer("sde_variance", sigmaSquared, latentSize, actions);
        string variance = g.Fresh("sde_variance_sum");
        g.AddNode("MatMul", [squares, weights], [variance]);
        string eps = g.AddInitializer("sde_epsilon", (ReadOnlySpan<float>)[1e-6f]);
        string total = g.Fresh("sde_variance_eps");
        g.AddNode("Add", [variance, eps], [total]);
        string std = g.Fresh("sde_std");
        g.AddNode("Sqrt", [total], [std]);
        return std;
    }

    private static DenseLayer TwoWay(DenseLayer head)
    {
        var weight = new float[2 * head.Out * head.In];
        var bias = new float[2 * head.Out];
        for (int k = 0; k < head.Out; k++)
        {
            Array.Copy(head.Weight, k * head.In, weight, (2 * k + 1) * head.In, head.In);
            bias[2 * k + 1] = head.Bias[k];
        }
        return new DenseLayer(weight, bias, 2 * head.Out, head.In);
    }

    private static void Constant(GraphWriter graph, string name, float[] values, params int[] shape)
    {
        string constant = graph.Builder.AddInitializer(name + "_value", values, shape);
        graph.Builder.AddNode("Identity", [constant], [name]);
        graph.Output(name, OnnxGraphBuilder.Float32, [.. shape.Select(d => (int?)d)]);
    }

    // ------------------------------------------------------------------ building blocks

    /// <summary>clip((x − mean) / sqrt(var + eps)) with the statistics of row elements [offset, offset + length), shaped as the part (broadcast over the batch).</summary>
    private static string Normalize(OnnxGraphBuilder g, string x, ObservationNormalization n, int offset, int length, int[] shape, string name)
    {
        var mean = new float[length];
        var std = new float[length];
        for (int j = 0; j < length; j++)
        {
            mean[j] = (float)n.Mean[offset + j];
            std[j] = (float)Math.Sqrt(n.Variance[offset + j] + n.Epsilon);
        }
        string centered = g.Fresh($"{name}_centered");
        g.AddNode("Sub", [x, g.AddInitializer(g.Fresh($"{name}_mean"), mean, shape)], [centered]);
        string scaled = g.Fresh($"{name}_normalized");
        g.AddNode("Div", [centered, g.AddInitializer(g.Fresh($"{name}_std"), std, shape)], [scaled]);
        if (n.Clip is not double c) return scaled;
        string clipped = g.Fresh($"{name}_clipped");
        g.AddNode("Clip", [scaled, g.AddInitializer(g.Fresh($"{name}_clip_low"), (ReadOnlySpan<float>)[(float)-c]), g.AddInitializer(g.Fresh($"{name}_clip_high"), (ReadOnlySpan<float>)[(float)c])], [clipped]);
        return clipped;
    }

    /// <summary>Writes <paramref name="module"/> applied to <paramref name="x"/>: containers recurse, Linear is a Gemm, an activation its operator.</summary>
    private static string Emit(OnnxGraphBuilder g, string x, Module module, ref int dense)
    {
        switch (module)
        {
            case Sequential sequential:
                foreach (var layer in sequential.Layers) x = Emit(g, x, layer, ref dense);
                return x;
            case Mlp mlp:
                foreach (var (_, child) in mlp.Children()) x = Emit(g, x, child, ref dense);
                return x;
            case Cnn cnn:
                foreach (var (_, child) in cnn.Children()) x = Emit(g, x, child, ref dense);
                return x;
            case Conv2d conv:
                return Convolution(g, x, conv);
            case Flatten:
            {
                string flat = g.Fresh("flatten");
                g.AddNode("Flatten", [x], [flat], ("axis", 1L));
                return flat;
            }
            case Linear linear:
                return Dense(g, x, DenseLayer.Of(linear), $"hidden_{dense++}");
            case ActivationLayer activation:
                return Activate(g, x, activation.Kind);
            default:
                throw new NotSupportedException($"ONNX export: the module {module.GetType().Name} has no ONNX mapping; the exporter writes Sequential, Mlp, Cnn, Conv2d, Flatten, Linear and activation layers.");
        }
    }

    /// <summary>A Conv2d (NCHW) as ONNX Conv: weights [out, in, kh, kw], bias, strides, symmetric pads, dilations.</summary>
    private static string Convolution(OnnxGraphBuilder g, string x, Conv2d conv)
    {
        string name = g.Fresh("conv");
        var w = conv.Weight.Value;
        string weight = g.AddInitializer($"{name}.weight", w.Data, w.Shape);
        string[] inputs = conv.Bias is { } bias ? [x, weight, g.AddInitializer($"{name}.bias", bias.Value.Data, conv.OutChannels)] : [x, weight];
        string y = g.Fresh($"{name}_out");
        g.AddNode("Conv", inputs, [y],
            ("kernel_shape", new long[] { conv.Kernel.Height, conv.Kernel.Width }),
            ("strides", new long[] { conv.Stride.Height, conv.Stride.Width }),
            ("pads", new long[] { conv.Padding.Height, conv.Padding.Width, conv.Padding.Height, conv.Padding.Width }),
            ("dilations", new long[] { conv.Dilation.Height, conv.Dilation.Width }));
        return y;
    }

    private static string Dense(OnnxGraphBuilder g, string x, DenseLayer layer, string name, string? output = null)
    {
        string w = g.AddInitializer($"{name}.weight", layer.Weight, layer.Out, layer.In);
        string b = g.AddInitializer($"{name}.bias", layer.Bias, layer.Out);
        string y = output ?? g.Fresh(name);
        g.AddNode("Gemm", [x, w, b], [y], ("transB", 1L));
        return y;
    }

    private static string Activate(OnnxGraphBuilder g, string x, Activation activation)
    {
        var function = Activations.Of(activation);
        string op = function.OnnxOperator
            ?? throw new NotSupportedException($"ONNX export: the activation {activation} has no ONNX operator mapping; use {string.Join(", ", Activations.All.Where(a => a.OnnxOperator is not null).Select(a => a.Name))}.");
        if (op.Length == 0) return x;
        string y = g.Fresh(op.ToLowerInvariant());
        if (function.OnnxAlpha is float alpha) g.AddNode(op, [x], [y], ("alpha", alpha));
        else g.AddNode(op, [x], [y]);
        return y;
    }

    private static string Slice(OnnxGraphBuilder g, string x, int start, int length, string name)
    {
        string starts = g.AddInitializer(g.Fresh($"{name}_start"), (ReadOnlySpan<long>)[start], 1);
        string ends = g.AddInitializer(g.Fresh($"{name}_end"), (ReadOnlySpan<long>)[start + length], 1);
        string axes = g.AddInitializer(g.Fresh($"{name}_axis"), (ReadOnlySpan<long>)[1], 1);
        string y = g.Fresh(name);
        g.AddNode("Slice", [x, starts, ends, axes], [y]);
        return y;
    }

    private static string Concat(OnnxGraphBuilder g, string[] parts, string output)
    {
        if (parts.Length == 1) g.AddNode("Identity", [parts[0]], [output]);
        else g.AddNode("Concat", parts, [output], ("axis", 1L));
        return output;
    }

    private static void ClipToBounds(OnnxGraphBuilder g, string x, ActorCriticPolicy policy, string output)
    {
        var box = (Box)policy.ActionSpace;
        string low = g.AddInitializer(g.Fresh("action_low"), box.LowSpan, box.FlatSize);
        string high = g.AddInitializer(g.Fresh("action_high"), box.HighSpan, box.FlatSize);
        string floored = g.Fresh("above_low");
        g.AddNode("Max", [x, low], [floored]);
        g.AddNode("Min", [floored, high], [output]);
    }

    // ------------------------------------------------------------------ reading the policy

    private sealed record DenseLayer(float[] Weight, float[] Bias, int Out, int In)
    {
        public static DenseLayer Of(Linear linear)
        {
            var bias = linear.Bias ?? throw new NotSupportedException("ONNX export: a Linear layer without a bias; the exporter writes dense layers with biases.");
            return new DenseLayer((float[])linear.Weight.Value.Data.Clone(), (float[])bias.Value.Data.Clone(), linear.OutFeatures, linear.InFeatures);
        }
    }

    /// <summary>What the heads need beyond the feature layers: the policy head, the action branches and the Gaussian's spread.</summary>
    private sealed record Network(DenseLayer Head, int[] Branches, int Start, float[]? Std, float[]? SdeSigmaSquared, int LatentSize)
    {
        public static Network Read(ActorCriticPolicy policy)
        {
            var head = DenseLayer.Of(policy.PolicyHead);
            int[] branches = policy.ActionSpace switch
            {
                Discrete d => [d.N],
                MultiDiscrete m => m.Nvec,
                _ => [],
            };
            int start = policy.ActionSpace is Discrete discrete ? discrete.Start : 0;
            float[]? std = null, sigmaSquared = null;
            if (policy.Kind == ActionHeadKind.Gaussian)
            {
                var logStd = policy.LogStd!.Value.Data;
                // With gSDE: σ² per (latent feature, action), squared in float as the policy does when sampling.
                if (policy.UsesSde) sigmaSquared = [.. logStd.Select(v => { float s = MathF.Exp(v); return s * s; })];
                else std = [.. logStd.Select(MathF.Exp)];
            }
            return new Network(head, branches, start, std, sigmaSquared, policy.LatentSize);
        }
    }

    /// <summary>The builder plus the signature of what was declared.</summary>
    private sealed class GraphWriter(OnnxGraphBuilder builder)
    {
        public OnnxGraphBuilder Builder { get; } = builder;

        public List<OnnxTensorSignature> Inputs { get; } = [];

        public List<OnnxTensorSignature> Outputs { get; } = [];

        public void Input(string name, int elementType, params int?[] shape)
        {
            Builder.AddInput(name, elementType, shape);
            Inputs.Add(new OnnxTensorSignature(name, TypeName(elementType), shape));
        }

        public void Output(string name, int elementType, params int?[] shape)
        {
            Builder.AddOutput(name, elementType, shape);
            Outputs.Add(new OnnxTensorSignature(name, TypeName(elementType), shape));
        }

        private static string TypeName(int elementType) => elementType switch
        {
            OnnxGraphBuilder.Int64 => Int64,
            OnnxGraphBuilder.UInt8 => "uint8",
            OnnxGraphBuilder.Bool => "bool",
            _ => Float32,
        };
    }
}
