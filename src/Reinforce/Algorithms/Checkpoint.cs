using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Reinforce.Envs;
using Reinforce.IO;
using Reinforce.Nn;
using Reinforce.Optim;
using Reinforce.Envs.Vector;
using Reinforce.Envs.Wrappers;

namespace Reinforce.Algorithms;

/// <summary>
/// An agent's checkpoint: a folder holding the weights (<c>model.safetensors</c>), the optimizer's moments
/// (<c>optimizer.safetensors</c>), what restores the training environments, and <c>agent.json</c> with the complete
/// settings, step count, random generator state, normalisation statistics, recent episodes and a SHA-256 of every file.
/// The environments come back in one of three ways (<see cref="EnvironmentRestore"/>, recorded as
/// <c>environment.restore</c>): a state snapshot (<c>environment.bin</c>, when every copy implements
/// <see cref="IStatefulEnv"/>; exact and of constant size), the actions sent since the seeded reset
/// (<c>actions.bin</c>, replayed on load; exact, grows with the run), or, for environments that can do neither,
/// nothing: the weights and statistics are exact and the environments start fresh episodes.
/// </summary>
/// <remarks>
/// <para>Saving writes a complete new folder next to the target, then swaps it in with renames: a crash at any
/// moment leaves the previous checkpoint (or, between the two renames, its renamed copy, which
/// <see cref="Load"/> finds) — never a half-written mix.</para>
/// <para>Loading checks the format version, every file's checksum, the parameter names and shapes, and that
/// the replayed environments reach the observations recorded at save time; each failure names the file and
/// what to do.</para>
/// </remarks>
public static class Checkpoint
{
    /// <summary>The checkpoint format this build writes and reads.</summary>
    public const int FormatVersion = 2;

    /// <summary>The metadata file's name.</summary>
    public const string ManifestFile = "agent.json";

    /// <summary>Test hook: makes <see cref="Save"/> fail after writing the new files and before replacing the old checkpoint (on the calling thread only, so tests running beside it are not hit).</summary>
    internal static bool FailBeforeSwapForTests
    {
        get => t_failBeforeSwap;
        set => t_failBeforeSwap = value;
    }

    [ThreadStatic]
    private static bool t_failBeforeSwap;

    private const string ModelFile = "model.safetensors";
    private const string OptimizerFile = "optimizer.safetensors";
    private const string ActionsFile = "actions.bin";
    private const string EnvironmentFile = "environment.bin";

    /// <summary>Writes <paramref name="agent"/>'s checkpoint to <paramref name="directory"/>, replacing any checkpoint there atomically.</summary>
    public static void Save(OnPolicyAgent agent, string directory, string? environmentId = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string target = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        string parent = Path.GetDirectoryName(target) ?? ".";
        Directory.CreateDirectory(parent);
        string stamp = Guid.NewGuid().ToString("N")[..8];
        string temp = $"{target}.saving-{stamp}";
        Directory.CreateDirectory(temp);
        try
        {
            var files = new Dictionary<string, byte[]>(StringComparer.Ordinal)
            {
                [ModelFile] = SafeTensors.Serialize(agent.Policy.StateDict().Concat(agent.MemoryState()).ToDictionary(), new Dictionary<string, string>
                {
                    ["format"] = "reinforce-policy",
                    ["algorithm"] = agent.AlgorithmName,
                }),
            };
            var (optimizerTensors, optimizerMetadata) = agent.Optimizer.GetState().ToTensors();
            files[OptimizerFile] = SafeTensors.Serialize(optimizerTensors, optimizerMetadata);
            switch (agent.EnvironmentRestore)
            {
                case EnvironmentRestore.Snapshot:
                    var state = new EnvironmentStateWriter();
                    agent.Env.SaveState(state);
                    files[EnvironmentFile] = state.ToArray();
                    break;
                case EnvironmentRestore.Replay:
                    files[ActionsFile] = agent.Actions.ToBytes();
                    break;
            }
            foreach (var (name, bytes) in files) File.WriteAllBytes(Path.Combine(temp, name), bytes);
            var manifest = Manifest(agent, environmentId, files);
            File.WriteAllText(Path.Combine(temp, ManifestFile), manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

            if (FailBeforeSwapForTests) throw new IOException("Simulated crash before the checkpoint swap (test hook).");

            // Swap the new folder in: target → old, temp → target, delete old.
            string? old = null;
            if (Directory.Exists(target))
            {
                old = $"{target}.old-{stamp}";
                Directory.Move(target, old);
            }
            Directory.Move(temp, target);
            if (old is not null) Directory.Delete(old, recursive: true);
        }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Loads a checkpoint written by <see cref="Save"/>. <paramref name="env"/> must be built as the training
    /// environment was (same id, number of copies, options): the recorded actions are replayed in it so training
    /// continues exactly. Without it, the environment recorded in the checkpoint is made with
    /// <see cref="Environments.MakeVector"/>.
    /// </summary>
    public static OnPolicyAgent Load(string directory, IVectorEnv? env = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string dir = Resolve(directory);
        string manifestPath = Path.Combine(dir, ManifestFile);
        JsonObject manifest;
        try
        {
            string text = File.ReadAllText(manifestPath);
            CheckpointManifest.CheckStrings(text, manifestPath);
            manifest = JsonNode.Parse(text)?.AsObject()
                ?? throw new CheckpointFormatException(manifestPath, "the file is empty", "Restore the checkpoint from a copy or pick another one.");
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new CheckpointFormatException(manifestPath, $"not valid JSON ({ex.Message})", "The file is damaged; pick another checkpoint (runs keep one per checkpoint_every_steps).", ex);
        }
        CheckpointManifest.Verify(manifest, manifestPath);

        int version = Int(manifest, "format_version", manifestPath);
        if (version is < 1 or > FormatVersion)
            throw new CheckpointFormatException(manifestPath, $"checkpoint format version {version}, but this build reads versions 1 to {FormatVersion}", "Load it with the Reinforce version that wrote it.");
        var restore = RestoreOf(manifest, manifestPath);

        // Every file must be exactly what was written.
        var checksums = CheckpointManifest.Object(manifest, "files", manifestPath);
        var bytes = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        string[] required = restore switch
        {
            EnvironmentRestore.Snapshot => [ModelFile, OptimizerFile, EnvironmentFile],
            EnvironmentRestore.Replay => [ModelFile, OptimizerFile, ActionsFile],
            _ => [ModelFile, OptimizerFile],
        };
        foreach (var name in required)
        {
            string path = Path.Combine(dir, name);
            if (!File.Exists(path)) throw new CheckpointFormatException(path, "the file is missing", $"A checkpoint folder needs {string.Join(", ", required)} and agent.json together; copy the whole folder.");
            var content = File.ReadAllBytes(path);
            string expected = CheckpointManifest.String(checksums, name, manifestPath, $"files.{name}");
            string actual = Convert.ToHexStringLower(SHA256.HashData(content));
            if (!string.Equals(expected, actual, StringComparison.Ordinal))
                throw new CheckpointFormatException(path, $"its SHA-256 is {actual[..12]}…, but agent.json recorded {expected[..Math.Min(12, expected.Length)]}… (the file is truncated, corrupt, or from another checkpoint)", "Use the checkpoint folder exactly as it was saved, or pick another checkpoint.");
            bytes[name] = content;
        }

        string algorithm = Str(manifest, "algorithm", manifestPath);
        string optionsJson = CheckpointManifest.Object(manifest, "options", manifestPath).ToJsonString();
        var environment = CheckpointManifest.Object(manifest, "environment", manifestPath);
        string? environmentId = CheckpointManifest.OptionalString(environment, "id", manifestPath, "environment.id");
        int numEnvs = CheckpointManifest.Int(environment, "num_envs", manifestPath, 1, CheckpointManifest.MaxEnvironments, "environment.num_envs");
        if (env is null)
        {
            if (environmentId is null)
                throw new CheckpointFormatException(manifestPath, "the checkpoint does not name its environment", "Pass the environment to Load (made as the training environment was).");
            env = Environments.MakeVector(environmentId, numEnvs, 0);
        }
        else if (env.NumEnvs != numEnvs)
        {
            throw new ArgumentException($"Checkpoint '{dir}' was trained with {numEnvs} environments, but the environment given has {env.NumEnvs}; make it with the same count so the recorded actions can be replayed.", nameof(env));
        }

        // The policy's encoders are built from the observation space: a checkpoint loaded into another space (a vector
        // environment for an image policy, a Dict with other keys, HWC instead of CHW) would fail later with a less clear message.
        string? recordedSpace = CheckpointManifest.OptionalString(environment, "observation_space", manifestPath, "environment.observation_space");
        int recordedSize = environment.ContainsKey("observation_size")
            ? CheckpointManifest.Int(environment, "observation_size", manifestPath, 1, int.MaxValue, "environment.observation_size") : env.ObservationSize;
        if (recordedSpace is not null ? recordedSpace != env.SingleObservationSpace.ToString() : recordedSize != env.ObservationSize)
            throw new ArgumentException(
                $"Checkpoint '{dir}' holds a policy for observations {recordedSpace ?? $"of {recordedSize} floats"}, but the environment given " +
                $"({(env.Envs.Count > 0 ? env.Envs[0].Name : "?")}) observes {env.SingleObservationSpace} ({env.ObservationSize} floats). Load it with the environment it was trained in " +
                $"({environmentId ?? "the same id"} with the same options and wrappers; images channels first as in training), or leave the environment out to make that one.", nameof(env));

        var info = AlgorithmRegistry.Find(algorithm) ?? throw new CheckpointFormatException(manifestPath, $"unknown algorithm \"{algorithm}\"",
            $"This build knows {string.Join(", ", AlgorithmRegistry.Names)}; load the checkpoint with the build (or plug-in) that registered \"{algorithm}\".");
        OnPolicyOptions options;
        using (var optionsDocument = JsonDocument.Parse(optionsJson)) options = info.ParseOptions(optionsDocument.RootElement, $"{manifestPath} (options)");
        var agent = info.Create(env, options);
        agent.EnvironmentId = environmentId;

        // Weights: names and shapes must match the network the settings describe.
        var (tensors, _) = SafeTensors.Deserialize(bytes[ModelFile], Path.Combine(dir, ModelFile));
        // A recurrent policy's rollout memory is stored beside the weights (OnPolicyAgent.MemoryPrefix).
        var memory = tensors.Where(t => t.Key.StartsWith(OnPolicyAgent.MemoryPrefix, StringComparison.Ordinal)).ToDictionary();
        tensors = tensors.Where(t => !t.Key.StartsWith(OnPolicyAgent.MemoryPrefix, StringComparison.Ordinal)).ToDictionary();
        if (agent.Policy.IsRecurrent && memory.Count == 0)
            throw new CheckpointFormatException(Path.Combine(dir, ModelFile),
                "the policy is recurrent but the checkpoint holds no rollout memory (no 'memory.*' tensors)",
                "The training cannot continue exactly without the memory the rollout had; save the checkpoint again with this build, or start a new run from these settings.");
        try
        {
            agent.Policy.LoadStateDict(tensors);
        }
        catch (StateDictException ex)
        {
            throw new CheckpointFormatException(Path.Combine(dir, ModelFile), $"the weights do not fit the network described in agent.json: {ex.Message}", "The checkpoint was edited or mixed with another run's files.", ex);
        }

        var (optimizerTensors, optimizerMetadata) = SafeTensors.Deserialize(bytes[OptimizerFile], Path.Combine(dir, OptimizerFile));
        agent.Optimizer.SetState(OptimizerState.FromTensors(optimizerTensors, optimizerMetadata));

        if (restore != agent.EnvironmentRestore && restore != EnvironmentRestore.Reset)
            throw new ArgumentException($"Checkpoint '{dir}' restores its environments by {Describe(restore)}, but the environment given can only be restored by {Describe(agent.EnvironmentRestore)}. Make the environment exactly as for training ({environmentId ?? "same id"}, {numEnvs} copies, same options).", nameof(env));

        ActionLog actions = agent.Actions;
        if (restore == EnvironmentRestore.Replay)
        {
            try
            {
                actions = ActionLog.FromBytes(bytes[ActionsFile]);
            }
            catch (InvalidDataException ex)
            {
                throw new CheckpointFormatException(Path.Combine(dir, ActionsFile), ex.Message, "Pick another checkpoint.", ex);
            }
        }

        var training = CheckpointManifest.Object(manifest, "training", manifestPath);
        var rngState = CheckpointManifest.UInt64Strings(training, "rng_state", manifestPath, 4, "training.rng_state");
        if (rngState.All(w => w == 0)) throw CheckpointManifest.Bad(manifestPath, "training.rng_state", "is all zeros, which is not a generator state");
        int iterations = CheckpointManifest.Int(training, "iterations", manifestPath, 0, int.MaxValue, "training.iterations");
        agent.RestoreTrainingState(
            CheckpointManifest.Long(training, "steps_done", manifestPath, 0, long.MaxValue, "training.steps_done"),
            iterations, rngState, actions);

        // Bring the environments back to where they were, and check that they are.
        switch (restore)
        {
            case EnvironmentRestore.Snapshot:
                try
                {
                    agent.LoadEnvironmentState(new EnvironmentStateReader(bytes[EnvironmentFile]));
                }
                catch (InvalidDataException ex)
                {
                    throw new CheckpointFormatException(Path.Combine(dir, EnvironmentFile), ex.Message, "Load it into the environment it was trained in (same id, copies and options), or pick another checkpoint.", ex);
                }
                break;
            case EnvironmentRestore.Replay:
                agent.ReplayEnvironment();
                break;
            default:
                ulong resetSeed = environment["reset_seed"] is JsonValue seedValue && seedValue.TryGetValue(out string? seedText)
                    && ulong.TryParse(seedText, NumberStyles.None, CultureInfo.InvariantCulture, out ulong parsed) ? parsed : agent.EnvironmentSeed;
                agent.ResetEnvironmentForResume(Rng.DeriveSeed(resetSeed, iterations));
                break;
        }
        // A recurrent policy's rollout memory belongs to the restored episodes (fresh episodes start with fresh memory).
        if (memory.Count > 0 && restore != EnvironmentRestore.Reset) agent.RestoreMemoryState(memory, Path.Combine(dir, ModelFile));
        if (restore != EnvironmentRestore.Reset)
        {
            string expectedObservations = CheckpointManifest.String(environment, "observations_sha256", manifestPath, "environment.observations_sha256");
            if (!string.Equals(HashObservations(agent.Env.Observations), expectedObservations, StringComparison.Ordinal))
                throw new ArgumentException($"Checkpoint '{dir}': {Describe(restore)} in the environment given did not reproduce the saved environment state. Make the environment exactly as for training ({environmentId ?? "same id"}, {numEnvs} copies, same options).", nameof(env));
        }

        var episodes = CheckpointManifest.OptionalObject(training, "episodes", manifestPath, "training.episodes");
        if (episodes is not null)
        {
            var returns = CheckpointManifest.Doubles(episodes, "returns", manifestPath, null, double.MinValue, double.MaxValue, "training.episodes.returns");
            var lengths = CheckpointManifest.Ints(episodes, "lengths", manifestPath, returns.Length, 0, int.MaxValue, "training.episodes.lengths");
            agent.Episodes.Restore(returns, lengths, CheckpointManifest.Long(episodes, "total", manifestPath, 0, long.MaxValue, "training.episodes.total"));
        }
        try
        {
            agent.RestoreAlgorithmState(CheckpointManifest.OptionalObject(manifest, "algorithm_state", manifestPath));
        }
        catch (InvalidDataException ex)
        {
            throw new CheckpointFormatException(manifestPath, $"algorithm_state: {ex.Message}", "The file is damaged or was edited; pick another checkpoint.", ex);
        }
        var normalization = CheckpointManifest.OptionalObject(manifest, "normalization", manifestPath);
        RestoreStatistics(normalization, "observations", agent.ObservationNormalizer?.Statistics, manifestPath);
        RestoreStatistics(normalization, "rewards", agent.RewardNormalizer?.Statistics, manifestPath);
        return agent;
    }

    /// <summary>How the checkpoint in <paramref name="directory"/> restores its environments.</summary>
    public static EnvironmentRestore RestoreOf(string directory)
    {
        string path = Path.Combine(Resolve(directory), ManifestFile);
        return RestoreOf(JsonNode.Parse(File.ReadAllText(path))!.AsObject(), path);
    }

    private static EnvironmentRestore RestoreOf(JsonObject manifest, string path)
    {
        // Format 1 checkpoints always replayed their actions.
        var environment = CheckpointManifest.Object(manifest, "environment", path);
        string name = environment["restore"] is JsonValue v && v.TryGetValue(out string? text) ? text : "replay";
        return name switch
        {
            "snapshot" => EnvironmentRestore.Snapshot,
            "replay" => EnvironmentRestore.Replay,
            "reset" => EnvironmentRestore.Reset,
            _ => throw new CheckpointFormatException(path, $"environment.restore is \"{name}\"", "Expected snapshot, replay or reset; the file was edited or is damaged."),
        };
    }

    private static string Describe(EnvironmentRestore restore) => restore switch
    {
        EnvironmentRestore.Snapshot => "loading the saved environment state",
        EnvironmentRestore.Replay => "replaying the recorded actions",
        _ => "resetting them",
    };

    /// <summary>Whether <paramref name="directory"/> holds a checkpoint (its manifest exists).</summary>
    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, ManifestFile));

    /// <summary>The step count recorded in a checkpoint's manifest.</summary>
    public static long StepsOf(string directory)
    {
        string path = Path.Combine(Resolve(directory), ManifestFile);
        JsonObject manifest;
        try
        {
            manifest = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new CheckpointFormatException(path, "the file is not a JSON object", "Pick another checkpoint.");
        }
        catch (JsonException ex)
        {
            throw new CheckpointFormatException(path, $"not valid JSON ({ex.Message})", "The file is damaged; pick another checkpoint.", ex);
        }
        return CheckpointManifest.Long(CheckpointManifest.Object(manifest, "training", path), "steps_done", path, 0, long.MaxValue, "training.steps_done");
    }

    private static JsonObject Manifest(OnPolicyAgent agent, string? environmentId, Dictionary<string, byte[]> files)
    {
        var checksums = new JsonObject();
        foreach (var (name, content) in files) checksums[name] = Convert.ToHexStringLower(SHA256.HashData(content));
        var (returns, lengths) = agent.Episodes.Snapshot();
        var manifest = new JsonObject
        {
            ["format"] = "reinforce-checkpoint",
            ["format_version"] = FormatVersion,
            ["algorithm"] = agent.AlgorithmName,
            ["options"] = JsonNode.Parse(AlgorithmInfo.SerializeOptions(agent.Options)),
            ["environment"] = new JsonObject
            {
                ["id"] = environmentId ?? agent.EnvironmentId,
                ["num_envs"] = agent.Env.NumEnvs,
                ["observation_size"] = agent.Policy.ObservationSize,
                ["observation_space"] = agent.ObservationSpace.ToString(),
                ["action_space"] = agent.Policy.ActionSpace.ToString(),
                ["reset_seed"] = agent.Actions.ResetSeed.ToString(CultureInfo.InvariantCulture),
                ["restore"] = agent.EnvironmentRestore.ToString().ToLowerInvariant(),
                ["observations_sha256"] = HashObservations(agent.Env.Observations),
            },
            ["training"] = new JsonObject
            {
                ["steps_done"] = agent.StepsDone,
                ["iterations"] = agent.Iterations,
                ["rng_state"] = new JsonArray([.. agent.RngState().Select(w => JsonValue.Create(w.ToString(CultureInfo.InvariantCulture)))]),
                ["recorded_env_steps"] = agent.Actions.Steps,
                ["episodes"] = new JsonObject
                {
                    ["total"] = agent.Episodes.Total,
                    ["returns"] = new JsonArray([.. returns.Select(r => JsonValue.Create(r))]),
                    ["lengths"] = new JsonArray([.. lengths.Select(l => JsonValue.Create(l))]),
                },
            },
            ["normalization"] = new JsonObject
            {
                ["observations"] = StatisticsJson(agent.ObservationNormalizer?.Statistics),
                ["rewards"] = StatisticsJson(agent.RewardNormalizer?.Statistics),
            },
            ["files"] = checksums,
        };
        if (agent.SaveAlgorithmState() is { } algorithmState) manifest["algorithm_state"] = algorithmState;
        CheckpointManifest.Seal(manifest);
        return manifest;
    }

    private static JsonNode? StatisticsJson(RunningMeanStd? statistics) => statistics is null ? null : new JsonObject
    {
        ["mean"] = new JsonArray([.. statistics.Mean.Select(v => JsonValue.Create(v))]),
        ["var"] = new JsonArray([.. statistics.Var.Select(v => JsonValue.Create(v))]),
        ["count"] = statistics.Count,
    };

    private static void RestoreStatistics(JsonObject? normalization, string field, RunningMeanStd? statistics, string path)
    {
        if (normalization is null || statistics is null) return;
        string at = $"normalization.{field}";
        var node = CheckpointManifest.OptionalObject(normalization, field, path, at);
        if (node is null) return;
        statistics.Restore(
            CheckpointManifest.Doubles(node, "mean", path, statistics.Mean.Length, double.MinValue, double.MaxValue, at + ".mean"),
            CheckpointManifest.Doubles(node, "var", path, statistics.Var.Length, 0, double.MaxValue, at + ".var"),
            CheckpointManifest.Double(node, "count", path, double.Epsilon, double.MaxValue, at + ".count"));
    }

    private static string HashObservations(ReadOnlySpan<float> observations) =>
        Convert.ToHexStringLower(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(observations)));

    /// <summary>The folder to read: <paramref name="directory"/>, or the copy a save interrupted between its two renames left behind.</summary>
    private static string Resolve(string directory)
    {
        string full = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        if (File.Exists(Path.Combine(full, ManifestFile))) return full;
        string? parent = Path.GetDirectoryName(full);
        if (parent is not null && Directory.Exists(parent))
        {
            var leftover = Directory.GetDirectories(parent, Path.GetFileName(full) + ".old-*")
                .Where(d => File.Exists(Path.Combine(d, ManifestFile)))
                .OrderByDescending(Directory.GetLastWriteTimeUtc)
                .FirstOrDefault();
            if (leftover is not null) return leftover;
        }
        if (!Directory.Exists(full))
            throw new CheckpointFormatException(full, "the checkpoint folder does not exist", "Pass a folder written by Save (a run's final/ or checkpoints/step-N/ folder).");
        throw new CheckpointFormatException(Path.Combine(full, ManifestFile), "the folder has no agent.json, so it is not a checkpoint", "Pass a folder written by Save (a run's final/ or checkpoints/step-N/ folder).");
    }

    private static CheckpointFormatException Missing(string path, string field) =>
        new(path, $"the field '{field}' is missing", "The file is damaged or was edited; pick another checkpoint.");

    private static int Int(JsonObject o, string field, string path) =>
        o[field] is JsonValue v && v.TryGetValue(out int i) ? i : throw Missing(path, field);

    private static long Long(JsonObject o, string field, string path) =>
        o[field] is JsonValue v && v.TryGetValue(out long i) ? i : throw Missing(path, field);

    private static string Str(JsonObject o, string field, string path) =>
        o[field] is JsonValue v && v.TryGetValue(out string? s) ? s : throw Missing(path, field);
}
