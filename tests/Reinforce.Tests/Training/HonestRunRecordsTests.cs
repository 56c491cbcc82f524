using System.Text.Json.Nodes;
using Reinforce.Algorithms;
using Reinforce.Cli;
using Reinforce.Training;

namespace Reinforce.Tests.Training;

/// <summary>Issue 15, "Honest run records": one test per reproduced defect.</summary>
[Collection("Console")]
public sealed class HonestRunRecordsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "reinforce-honest-" + Guid.NewGuid().ToString("N"));

    public HonestRunRecordsTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    /// <summary>Runs the CLI as `reinforce` does (Program.Run: parse errors are usage errors too).</summary>
    private static (int Code, string Out, string Error) Cli(params string[] args) => CliRunner.Run(null, args);

    private static TrainingConfig Small()
    {
        var config = TrainingConfig.Preset("CartPole-v1");
        config.NumEnvs = 4;
        config.TotalSteps = 4096;
        config.CheckpointEverySteps = 1024;
        config.Eval.EverySteps = 2048;
        config.Eval.Episodes = 2;
        config.Eval.FinalEpisodes = 2;
        config.Section<PpoOptions>()!.NumSteps = 64;
        config.Section<PpoOptions>()!.NumEpochs = 1;
        return config;
    }

    private static JsonNode Result(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "result.json")))!;

    private string Write(string name, string json)
    {
        string path = Path.Combine(_root, name);
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void Resuming_a_finished_run_trains_nothing_prints_no_zero_speed_and_keeps_result_json()
    {
        string dir = Path.Combine(_root, "done");
        using (var run = TrainingRun.Create(Small(), dir)) run.Run();
        string before = File.ReadAllText(Path.Combine(dir, "result.json"));
        var (code, output, error) = Cli("train", "--resume", dir);
        Assert.True(code == 0, error);
        Assert.Contains("already finished", output, StringComparison.Ordinal);
        Assert.DoesNotContain("0 steps/s", output, StringComparison.Ordinal);
        Assert.DoesNotContain("0.00 s", output, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(Path.Combine(dir, "result.json")));
    }

    [Fact]
    public void A_resumed_run_reports_the_sum_of_its_segments_and_wall_time_includes_checkpoints()
    {
        string dir = Path.Combine(_root, "killed");
        using (var run = TrainingRun.Create(Small(), dir)) run.Run([new StopAtSteps(2048)]);
        // As if killed after the step-2048 checkpoint: no final checkpoint, no result.
        Directory.Delete(Path.Combine(dir, "final"), recursive: true);
        File.Delete(Path.Combine(dir, "result.json"));
        double firstWall = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, RunFolder.StateFile)))!["segments"]![0]!["wall_seconds"]!.GetValue<double>();
        Assert.True(firstWall > 0);

        TrainingResult result;
        using (var resumed = TrainingRun.Resume(dir)) result = resumed.Run();
        var json = Result(dir);
        var segments = json["segments"]!.AsArray();
        Assert.Equal(2, segments.Count);
        Assert.Equal(2, result.Segments);
        Assert.Equal(firstWall, segments[0]!["wall_seconds"]!.GetValue<double>());
        double wall = segments.Sum(s => s!["wall_seconds"]!.GetValue<double>());
        // Within a tolerance, not to a number of decimals: rounding both sides can split values 1e-18 apart (0.0273605).
        Assert.Equal(wall, json["wall_seconds"]!.GetValue<double>(), tolerance: 1e-9);
        Assert.True(json["wall_seconds"]!.GetValue<double>() > firstWall);   // not just the resumed part
        // Wall time is training + checkpoints + evaluations; checkpoints are counted (and shown separately).
        double parts = json["training_seconds"]!.GetValue<double>() + json["checkpoint_seconds"]!.GetValue<double>() + json["evaluation_seconds"]!.GetValue<double>();
        Assert.Equal(json["wall_seconds"]!.GetValue<double>(), parts, tolerance: 1e-6);
        Assert.True(json["checkpoint_seconds"]!.GetValue<double>() > 0);
        Assert.Equal(4096, json["steps"]!.GetValue<long>());
    }

    [Fact]
    public void The_summary_line_shows_wall_time_and_what_checkpoints_cost()
    {
        var (code, output, error) = Cli("train", "CartPole-v1", "--steps", "2048", "--envs", "4", "--quiet", "--out", Path.Combine(_root, "summary"));
        Assert.True(code == 0, error);
        Assert.Matches(@"Trained 2,048 steps in [0-9.]+ s wall \([0-9,]+ steps/s over [0-9.]+ s of training; evaluation [0-9.]+ s, checkpoints [0-9.]+ s\)", output);
    }

    [Fact]
    public void Resume_and_out_hints_do_not_point_at_each_other()
    {
        // A run killed before its first checkpoint: --resume starts it again in the same folder (no "use --config").
        string dir = Path.Combine(_root, "early");
        using (TrainingRun.Create(Small(), dir)) { }
        var (code, output, error) = Cli("train", "--resume", dir, "--quiet");
        Assert.True(code == 0, error);
        Assert.Contains("no checkpoint yet", output, StringComparison.Ordinal);
        Assert.DoesNotContain("--config", output + error, StringComparison.Ordinal);
        Assert.Equal(4096, Result(dir)["steps"]!.GetValue<long>());

        // --out on an existing run points at --resume (which works, above); on a folder that is not a run it does not.
        (code, _, error) = Cli("train", "CartPole-v1", "--out", dir);
        Assert.Equal(2, code);
        Assert.Contains("--resume", error, StringComparison.Ordinal);
        string plain = Path.Combine(_root, "plain");
        Directory.CreateDirectory(plain);
        File.WriteAllText(Path.Combine(plain, "notes.txt"), "mine");
        (code, _, error) = Cli("train", "CartPole-v1", "--out", plain);
        Assert.Equal(2, code);
        Assert.DoesNotContain("--resume", error, StringComparison.Ordinal);
        (code, _, error) = Cli("train", "--resume", plain);
        Assert.Equal(2, code);
        Assert.Contains("not a run folder", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Resume_with_a_damaged_final_checkpoint_falls_back_to_the_newest_good_periodic_one()
    {
        string dir = Path.Combine(_root, "damaged");
        using (var run = TrainingRun.Create(Small(), dir)) run.Run();
        string model = Path.Combine(dir, "final", "model.safetensors");
        File.WriteAllBytes(model, File.ReadAllBytes(model)[..64]);

        var (code, output, error) = Cli("train", "--resume", dir, "--quiet");
        Assert.True(code == 0, error);
        Assert.Contains("final is damaged", output, StringComparison.Ordinal);
        Assert.Contains("step-0000004096", output, StringComparison.Ordinal);
        using var repaired = OnPolicyAgent.Load(Path.Combine(dir, "final"));   // rewritten, loads again
        Assert.Equal(4096, repaired.StepsDone);
    }

    [Fact]
    public void A_null_algorithm_section_is_an_error_not_silent_defaults()
    {
        string config = Write("null.json", """{ "env": "CartPole-v1", "algo": "ppo", "ppo": null }""");
        var (code, output, error) = Cli("train", "--config", config, "--out", Path.Combine(_root, "null"));
        Assert.Equal(2, code);
        Assert.Contains("ppo: is null", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Training", output, StringComparison.Ordinal);
        // With the registry's sections, a null section of any algorithm is rejected too.
        Assert.Throws<ConfigurationException>(() => TrainingConfig.Parse("""{ "env": "CartPole-v1", "algo": "ppo", "a2c": null }""", "test"));
    }

    [Fact]
    public void Messages_never_show_dotnet_type_names()
    {
        var (code, _, error) = Cli("train", "CartPole-v1", "--steps", "many");
        Assert.Equal(2, code);
        Assert.DoesNotContain("System.", error, StringComparison.Ordinal);
        Assert.DoesNotContain("`1", error, StringComparison.Ordinal);
        Assert.Contains("whole number", error, StringComparison.Ordinal);

        string config = Write("types.json", """{ "env": "CartPole-v1", "total_steps": "lots", "ppo": { "target_kl": "x" } }""");
        (code, _, error) = Cli("train", "--config", config, "--out", Path.Combine(_root, "types"));
        Assert.Equal(2, code);
        Assert.DoesNotContain("System.", error, StringComparison.Ordinal);
        Assert.Contains("whole number", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_validation_error_exits_2()
    {
        Assert.Equal(2, Cli("train", "CartPole-v1", "--algo", "dqn").Code);
        Assert.Equal(2, Cli("train", "CartPole-v1", "--no-such-option").Code);
        Assert.Equal(2, Cli("eval").Code);
        Assert.Equal(2, Cli("train", "CartPole-v1", "--envs", "0", "--out", Path.Combine(_root, "zero")).Code);
    }

    [Fact]
    public void A_learning_rate_too_small_for_a_float_is_reported_as_written()
    {
        string config = Write("tiny.json", """{ "env": "CartPole-v1", "ppo": { "learning_rate": 1e-300 } }""");
        var (code, _, error) = Cli("train", "--config", config, "--out", Path.Combine(_root, "tiny"));
        Assert.Equal(2, code);
        Assert.Contains("ppo.learning_rate", error, StringComparison.Ordinal);
        Assert.Contains("1e-300", error, StringComparison.Ordinal);
        Assert.DoesNotContain("is 0", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_json_keys_are_rejected()
    {
        string config = Write("twice.json", """{ "env": "CartPole-v1", "seed": 1, "ppo": { "n_steps": 32, "n_steps": 64 }, "seed": 2 }""");
        var (code, _, error) = Cli("train", "--config", config, "--out", Path.Combine(_root, "twice"));
        Assert.Equal(2, code);
        Assert.Contains("appears twice", error, StringComparison.Ordinal);
        Assert.Throws<ConfigurationException>(() => TrainingConfig.Parse("""{ "env": "CartPole-v1", "total_steps": 5, "total_steps": 6 }""", "test"));
    }

    [Fact]
    public void Eval_of_a_missing_folder_says_it_does_not_exist()
    {
        var (code, _, error) = Cli("eval", Path.Combine(_root, "nowhere"));
        Assert.Equal(2, code);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
        Assert.DoesNotContain("neither", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Export_into_a_folder_that_does_not_exist_is_an_error()
    {
        string dir = Path.Combine(_root, "exportable");
        var small = Small();
        small.TotalSteps = 256;
        using (var run = TrainingRun.Create(small, dir)) run.Run();
        string missing = Path.Combine(_root, "nonexistent", "dir");   // two levels missing: a typo, not a wish for new folders
        var (code, _, error) = Cli("export", dir, "--format", "onnx", "--out", Path.Combine(missing, "x.onnx"));
        Assert.Equal(2, code);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }

    [Theory]
    [InlineData("""{ "options": { "steps": "lots" } }""", "'options.steps' has the wrong type", "expected a whole number")]
    [InlineData("""{ "options": { "steps": null } }""", "'options.steps' has the wrong type", "expected a whole number")]
    [InlineData("""{ "model": { "layers": 1.5 } }""", "'model.layers' has the wrong type", "expected a whole number")]
    [InlineData("""{ "tokenizer": 5 }""", "'tokenizer' has the wrong type", "expected a string in quotes")]
    [InlineData("""{ "tokenizer": "\uD800" }""", "'tokenizer' holds a string with a lone UTF-16 surrogate", "which is not text")]
    [InlineData("""{ "evaluate_every": 5, "evaluate_every": 6 }""", "a key appears twice", "keep one")]
    [InlineData("""null""", "null where an object", "Re-create")]
    public void Run_config_files_of_the_language_model_runs_name_the_field_in_plain_words(string json, string problem, string fix)
    {
        // lm pretrain, rlhf reward and rlhf train read their config.json through JsonFile (the RL runs through ConfigJson).
        var e = Assert.Throws<Reinforce.IO.CheckpointFormatException>(() => Reinforce.IO.JsonFile.Deserialize<Reinforce.Rlhf.Training.PretrainRunConfig>(json, "run/config.json"));
        Assert.Contains("run/config.json", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.Contains(fix, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("`1", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(nameof(Reinforce.Rlhf.Training.PretrainRunConfig), e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--runs", "textbook", "bandit", "--runs", "0")]
    [InlineData("--episodes", "textbook", "short-corridor", "--episodes", "-1")]   // was an OverflowException with a stack trace
    [InlineData("--seeds", "bench", "--seeds", "0")]                               // was "solved 0 of 0" and exit 0
    [InlineData("--episodes", "bench", "--episodes", "0", "--seeds", "1")]         // was an ArgumentOutOfRangeException with a stack trace
    [InlineData("--steps", "lm", "bench", "--steps", "0")]                         // was "LmBenchmark.Run: ... (Parameter 'options')"
    public void A_count_below_one_is_a_usage_error_naming_the_option_and_the_full_command(string option, params string[] args)
    {
        var (code, output, error) = Cli(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);   // refused before anything ran
        Assert.StartsWith($"error: {option}: is ", error, StringComparison.Ordinal);
        Assert.Contains("use 1 or more", error, StringComparison.Ordinal);
        string command = string.Join(' ', args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)));
        Assert.Contains($"Run `reinforce {command} --help`", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }
}
