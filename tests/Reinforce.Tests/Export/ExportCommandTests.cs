using Reinforce.Algorithms;
using Reinforce.Cli;
using Reinforce.Export;
using Reinforce.IO.Onnx;
using Reinforce.Tensors;
using Reinforce.Envs.ClassicControl;

namespace Reinforce.Tests.Export;

/// <summary>A short Pendulum run with observation normalisation, trained once by `reinforce train` for the export command tests.</summary>
public sealed class TrainedRunFixture : IDisposable
{
    public TrainedRunFixture()
    {
        Directory.CreateDirectory(Root);
        string config = Path.Combine(Root, "pendulum.json");
        File.WriteAllText(config, """
            {
              "env": "Pendulum-v1", "algo": "ppo", "seed": 3, "n_envs": 2, "total_steps": 512, "checkpoint_every_steps": 256,
              "eval": { "every_steps": 0, "episodes": 1, "final_episodes": 0 },
              "ppo": { "n_steps": 64, "batch_size": 64, "n_epochs": 2, "normalize_observations": true, "policy": { "hidden_sizes": [16, 16] } }
            }
            """);
        var (code, _, error) = ExportCommandTests.Run("train", "--config", config, "--out", RunDirectory, "--quiet");
        if (code != 0) throw new InvalidOperationException($"reinforce train failed ({code}): {error}");
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "reinforce-export-cli-" + Guid.NewGuid().ToString("N"));

    public string RunDirectory => Path.Combine(Root, "run");

    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }
}

[Collection("Console")]
public sealed class ExportCommandTests(TrainedRunFixture run) : IClassFixture<TrainedRunFixture>
{
    internal static (int Code, string Out, string Error) Run(params string[] args) => CliRunner.Run(null, args);

    [Fact]
    public void Export_of_a_trained_run_folder_runs_in_onnx_runtime_with_the_agents_numbers()
    {
        var (code, output, error) = Run("export", run.RunDirectory, "--format", "onnx");
        Assert.True(code == 0, error);
        string model = Path.Combine(run.RunDirectory, "policy.onnx");
        Assert.Contains(model, output, StringComparison.Ordinal);
        Assert.Contains("opset 17, IR version 8", output, StringComparison.Ordinal);
        Assert.Contains("obs [batch, 3] float32", output, StringComparison.Ordinal);
        Assert.Contains("normalises them with the run's statistics", output, StringComparison.Ordinal);

        // The reference: the same checkpoint (final/, step 512) loaded by the library.
        using var agent = PolicyExporter.LoadCheckpoint(run.RunDirectory);
        Assert.Equal(512, agent.StepsDone);
        Assert.NotNull(agent.ObservationNormalizer);
        const int rows = 8;
        var obs = PolicyExporterTests.Observations(new Rng(5), rows, 3, 4f);
        var ort = OnnxRuntime.Session(model, new Dictionary<string, (int[], float[])> { ["obs"] = ([rows, 3], obs) });
        var normalized = new float[obs.Length];
        agent.ObservationNormalizer!.Normalize(obs, normalized);
        var means = PolicyExporterTests.LibraryOutput(agent.Policy, normalized, rows);
        var actions = new float[rows];
        agent.Predict(obs, actions, deterministic: true);
        Assert.Equal([rows, 1L], ort["mean"].Dims);
        for (int i = 0; i < rows; i++)
        {
            Assert.Equal(means[i], ort["mean"].Data[i], 1e-5);
            Assert.Equal(actions[i], ort["action"].Data[i], 1e-5);
        }
        Assert.True(means.Distinct().Count() > 1);
    }

    [Fact]
    public void Unity_export_of_a_checkpoint_folder_has_the_ml_agents_outputs()
    {
        // The run's first periodic checkpoint (checkpoint_every_steps 256).
        string checkpoint = Directory.GetDirectories(Path.Combine(run.RunDirectory, "checkpoints")).OrderBy(Checkpoint.StepsOf).First();
        Assert.Equal(256, Checkpoint.StepsOf(checkpoint));
        var (code, output, error) = Run("export", checkpoint, "--format", "onnx", "--unity");
        Assert.True(code == 0, error);
        string model = checkpoint + ".unity.onnx";
        Assert.True(File.Exists(model), output);
        Assert.Contains("step 256", output, StringComparison.Ordinal);
        Assert.Contains("opset 15", output, StringComparison.Ordinal);

        var obs = PolicyExporterTests.Observations(new Rng(6), 4, 3, 1f);
        var ort = OnnxRuntime.Session(model, new Dictionary<string, (int[], float[])> { ["obs_0"] = ([4, 3], obs) });
        Assert.Equal(["version_number", "memory_size", "continuous_actions", "continuous_action_output_shape", "deterministic_continuous_actions"], ort.OutputNames);
        Assert.Equal([3.0], ort["version_number"].Data);
        Assert.Equal([1.0], ort["continuous_action_output_shape"].Data);
        Assert.All(ort["continuous_actions"].Data, a => Assert.InRange(a, -2.0, 2.0));   // Pendulum's torque bounds

        using var agent = PolicyExporter.LoadCheckpoint(checkpoint);
        var actions = new float[4];
        agent.Predict(obs, actions, deterministic: true);
        for (int i = 0; i < 4; i++) Assert.Equal(actions[i], ort["deterministic_continuous_actions"].Data[i], 1e-5);
    }

    [Fact]
    public void Export_writes_to_the_out_file_and_says_what_it_wrote()
    {
        string file = Path.Combine(run.Root, "out", "pendulum.onnx");
        var (code, output, error) = Run("export", Path.Combine(run.RunDirectory, "final"), "--format", "ONNX", "--out", file, "--opset", "13");
        Assert.True(code == 0, error);
        Assert.Contains("opset 13, IR version 7", output, StringComparison.Ordinal);
        Assert.Contains("mean [batch, 1] float32; action [batch, 1] float32", output, StringComparison.Ordinal);
        Assert.Equal(["pendulum.onnx"], Directory.GetFiles(Path.GetDirectoryName(file)!).Select(Path.GetFileName));
    }

    [Fact]
    public void Bad_input_gives_a_clear_error_and_exit_code_2()
    {
        string missing = Path.Combine(run.Root, "no-such-run");
        var (code, _, error) = Run("export", missing, "--format", "onnx");
        Assert.Equal(2, code);
        Assert.Contains(missing, error, StringComparison.Ordinal);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);

        string empty = Path.Combine(run.Root, "empty");
        Directory.CreateDirectory(empty);
        (code, _, error) = Run("export", empty, "--format", "onnx");
        Assert.Equal(2, code);
        Assert.Contains("neither a checkpoint", error, StringComparison.Ordinal);

        (code, _, error) = Run("export", run.RunDirectory, "--format", "tflite");
        Assert.Equal(2, code);
        Assert.Contains("\"tflite\" is not a supported export format", error, StringComparison.Ordinal);
        Assert.Contains("--format onnx", error, StringComparison.Ordinal);

        (code, _, error) = Run("export", run.RunDirectory, "--format", "onnx", "--opset", "9");
        Assert.Equal(2, code);
        Assert.Contains("--opset: is 9", error, StringComparison.Ordinal);

        (code, _, _) = Run("export", run.RunDirectory);
        Assert.NotEqual(0, code);   // --format is required

        // A damaged checkpoint: the training code's loader verifies each file's checksum.
        string copy = Path.Combine(run.Root, "damaged");
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(Path.Combine(run.RunDirectory, "final"))) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        string weights = Path.Combine(copy, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
        (code, _, error) = Run("export", copy, "--format", "onnx", "--out", Path.Combine(run.Root, "damaged.onnx"));
        Assert.Equal(2, code);
        Assert.Contains("model.safetensors", error, StringComparison.Ordinal);
        Assert.Contains("SHA-256", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(run.Root, "damaged.onnx")));

        File.WriteAllText(Path.Combine(copy, "agent.json"), "{ not json");
        (code, _, error) = Run("export", copy, "--format", "onnx");
        Assert.Equal(2, code);
        Assert.Contains("agent.json", error, StringComparison.Ordinal);
        Assert.Contains("not valid JSON", error, StringComparison.Ordinal);
    }
}
