using Reinforce.IO;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;
using Reinforce.Training;

namespace Reinforce.Tests.Rlhf;

/// <summary>RL fine-tuning driven by the run folder: the folder's files, and a stop-and-resume that lands on the same bits.</summary>
public sealed class RlhfRunTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("reinforce-rlhf-run-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly CharTokenizer Ab = new("\nab");

    private static double ShareOfA(string completion) => completion.Length == 0 ? 0 : (double)completion.Count(c => c == 'a') / completion.Length;

    private static RlhfTrainer Trainer(RlAlgorithm algorithm)
    {
        var model = new Gpt(new GptConfig { VocabSize = 3, ContextLength = 16, Layers = 1, Width = 16, Heads = 2 }, new Rng(7));
        var options = RlhfOptions.For(algorithm) with { PromptsPerStep = 4, GroupSize = 2, MaxNewTokens = 6, LearningRate = 1e-2f, Seed = 5 };
        return new RlhfTrainer(model, Ab, RewardFunction.OfCompletion("share of a", ShareOfA), _ => "b", options);
    }

    private sealed class StopAt(long step, CancellationTokenSource source) : IProgress<RunProgress>
    {
        public void Report(RunProgress value)
        {
            if (value.Step == step) source.Cancel();
        }
    }

    [Theory]
    [InlineData(RlAlgorithm.Rloo)]
    [InlineData(RlAlgorithm.Ppo)]
    public void A_run_stopped_and_resumed_ends_with_the_same_policy_as_one_straight_run(RlAlgorithm algorithm)
    {
        string straight = Path.Combine(_root, $"straight-{algorithm}"), interrupted = Path.Combine(_root, $"interrupted-{algorithm}");
        using (var folder = RunFolder.Create(straight, "{}"))
            Assert.Equal(6, RlhfRun.Train(folder, Trainer(algorithm), steps: 6, saveEvery: 2).Steps);
        Assert.Equal(6 * 4, File.ReadAllLines(Path.Combine(straight, RlhfRun.SamplesFile)).Length);
        Assert.Equal("6", LmCheckpoint.LoadLanguageModel(Path.Combine(straight, RlhfRun.ModelFile)).Facts["rl_step"]);

        using (var cancel = new CancellationTokenSource())
        using (var folder = RunFolder.Create(interrupted, "{}"))
            Assert.True(RlhfRun.Train(folder, Trainer(algorithm), 6, 2, new StopAt(3, cancel), cancel.Token).Stopped);
        using (var folder = RunFolder.Open(interrupted))
        {
            var trainer = Trainer(algorithm);
            Assert.NotNull(folder.ResumeTrainer(trainer));
            Assert.Equal(3, trainer.StepCount);
            Assert.Equal(6, RlhfRun.Train(folder, trainer, 6, 2).Steps);
        }

        var a = LmCheckpoint.LoadLanguageModel(Path.Combine(straight, RlhfRun.ModelFile)).Model.StateDict();
        var b = LmCheckpoint.LoadLanguageModel(Path.Combine(interrupted, RlhfRun.ModelFile)).Model.StateDict();
        foreach (var (name, tensor) in a) Assert.Equal(tensor.Data, b[name].Data);
        Assert.Equal(CsvLogger.Read(Path.Combine(straight, RunFolder.MetricsFile)).Column("reward_mean"),
            CsvLogger.Read(Path.Combine(interrupted, RunFolder.MetricsFile)).Column("reward_mean"));
    }
}
