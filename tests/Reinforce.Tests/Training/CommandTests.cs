using Reinforce.Cli;
using Reinforce.Envs.ClassicControl;

namespace Reinforce.Tests.Training;

[Collection("Console")]
public sealed class CommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "reinforce-cli-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static (int Code, string Out, string Error) Run(params string[] args) => CliRunner.Run(null, args);

    [Fact]
    public void Train_then_eval_a_small_run()
    {
        string dir = Path.Combine(_root, "cartpole");
        var (code, output, error) = Run("train", "CartPole-v1", "--steps", "2048", "--envs", "4", "--seed", "3", "--out", dir);
        Assert.True(code == 0, error);
        Assert.Contains("Final evaluation over 100 episodes (deterministic)", output, StringComparison.Ordinal);
        Assert.Contains("steps/s", output, StringComparison.Ordinal);   // plain progress lines: output is not a terminal
        Assert.True(File.Exists(Path.Combine(dir, "config.json")));
        Assert.Contains("\"seed\": 3", File.ReadAllText(Path.Combine(dir, "config.json")), StringComparison.Ordinal);

        (code, output, error) = Run("eval", dir, "--episodes", "5");
        Assert.True(code == 0, error);
        Assert.Contains("5 episodes (deterministic): mean return", output, StringComparison.Ordinal);
        Assert.Contains("threshold 475", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_input_gives_a_clear_error_and_a_nonzero_exit_code()
    {
        var (code, _, error) = Run("train", "NoSuchEnv-v9", "--out", Path.Combine(_root, "x"));
        Assert.Equal(2, code);
        Assert.Contains("NoSuchEnv-v9", error, StringComparison.Ordinal);

        string config = Path.Combine(_root, "bad.json");
        Directory.CreateDirectory(_root);
        File.WriteAllText(config, """{ "env": "CartPole-v1", "ppo": { "batch_sise": 64 } }""");
        (code, _, error) = Run("train", "--config", config, "--out", Path.Combine(_root, "y"));
        Assert.Equal(2, code);
        Assert.Contains("ppo.batch_sise", error, StringComparison.Ordinal);
        Assert.Contains("batch_size", error, StringComparison.Ordinal);

        (code, _, error) = Run("eval", Path.Combine(_root, "missing"));
        Assert.Equal(2, code);
        Assert.Contains("missing", error, StringComparison.Ordinal);

        // --algo takes the registered algorithms; another name is a configuration error that lists them.
        (code, _, error) = Run("train", "CartPole-v1", "--algo", "sac", "--out", Path.Combine(_root, "z"));
        Assert.Equal(2, code);
        Assert.Contains("\"sac\"", error, StringComparison.Ordinal);
        Assert.Contains("ppo, a2c, vpg, ppo_kl", error, StringComparison.Ordinal);
        (code, _, error) = Run("bench", "--algo", "sac", "--seeds", "1");
        Assert.Equal(2, code);
        Assert.Contains("ppo, a2c, vpg, ppo_kl", error, StringComparison.Ordinal);
    }

    [Fact]
    public void List_shows_environments_and_presets()
    {
        var (code, output, _) = Run("list");
        Assert.Equal(0, code);
        Assert.Contains("CartPole-v1", output, StringComparison.Ordinal);
        Assert.Contains("ppo (default)", output, StringComparison.Ordinal);
        Assert.Contains("Presets", output, StringComparison.Ordinal);
    }
}
