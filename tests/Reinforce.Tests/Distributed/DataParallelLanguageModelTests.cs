using Reinforce.Nn;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Text;
using Reinforce.Rlhf.Training;
using Reinforce.Training;
using Xunit.Abstractions;

namespace Reinforce.Tests.Distributed;

/// <summary>
/// The language-model trainers on two in-process ranks (<see cref="ThreadCommunicatorGroup"/>): pretraining, DPO and the
/// RLOO/GRPO/PPO fine-tuning. After every step the ranks hold the same bits (rank 1 starts from other weights, so the
/// broadcast is tested too), and two ranks train as one process does on the same samples, to float rounding: the models'
/// outputs agree within <see cref="OutputTolerance"/> and their weights within <see cref="WeightTolerance"/>, after steps
/// that moved both by far more than that.
/// </summary>
public sealed class DataParallelLanguageModelTests(ITestOutputHelper output)
{
    /// <summary>Largest difference allowed between the logits of two ranks' model and one process's (sums run in another order).</summary>
    private const double OutputTolerance = 1e-4;

    /// <summary>
    /// Largest weight difference allowed between two ranks and one process. Looser than the outputs': AdamW divides each
    /// gradient by its running magnitude, so a gradient that is zero in exact arithmetic (the attention key bias's: a
    /// constant added to every score of a row cancels in the softmax) is rounding noise of either sign, and its steps of up
    /// to a tenth of the learning rate (1e-2 here) differ between the two runs without changing what the model computes.
    /// </summary>
    private const double WeightTolerance = 1e-3;

    private static float[][] Weights(Module module) => [.. module.Parameters().Select(p => p.Value.Data.AsSpan(0, p.Value.Size).ToArray())];

    private static double MaxDifference(float[][] a, float[][] b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0;
        for (int i = 0; i < a.Length; i++)
            for (int j = 0; j < a[i].Length; j++) max = Math.Max(max, Math.Abs((double)a[i][j] - b[i][j]));
        return max;
    }

    /// <summary>The model's logits on three fixed sequences of 8 tokens (what it computes, as one array).</summary>
    private static float[][] Outputs(Gpt model)
    {
        int vocab = model.Config.VocabSize;
        var tokens = Enumerable.Range(0, 3 * 8).Select(i => (i * 7 + i / 8 * 3) % vocab).ToArray();
        using (Reinforce.Autograd.Graph.NoGrad()) return [model.Logits(tokens, 3, 8).Data.ToArray()];
    }

    /// <summary>
    /// Two ranks' model against one process's: outputs and weights within tolerance, after training that moved them
    /// (from <paramref name="start"/>, the same starting model) by at least 100 and 30 tolerances.
    /// </summary>
    private void AssertSameTraining(string what, Gpt start, Gpt single, Gpt twoRanks)
    {
        double outputs = MaxDifference(Outputs(single), Outputs(twoRanks)), outputsMoved = MaxDifference(Outputs(start), Outputs(single));
        double weights = MaxDifference(Weights(single), Weights(twoRanks)), weightsMoved = MaxDifference(Weights(start), Weights(single));
        output.WriteLine($"{what}: logits moved by up to {outputsMoved:E2}, two ranks differ from one process by {outputs:E2}; weights moved by up to {weightsMoved:E2}, differ by {weights:E2}");
        Assert.True(outputsMoved >= 100 * OutputTolerance, $"{what}: the logits moved by only {outputsMoved:E2}; the comparison needs training that moves them by ≥ {100 * OutputTolerance:E0}");
        Assert.True(weightsMoved >= 30 * WeightTolerance, $"{what}: the weights moved by only {weightsMoved:E2}; the comparison needs training that moves them by ≥ {30 * WeightTolerance:E0}");
        Assert.True(outputs <= OutputTolerance, $"{what}: the logits of two ranks' model differ from one process's by {outputs:E2} (tolerance {OutputTolerance:E0})");
        Assert.True(weights <= WeightTolerance, $"{what}: two ranks' weights differ from one process's by {weights:E2} (tolerance {WeightTolerance:E0})");
    }

    /// <summary>Rank 1 starts from other weights: only <c>Distribute</c>'s broadcast of rank 0's can make the ranks agree.</summary>
    private static void Scramble(Module module, int rank)
    {
        if (rank == 0) return;
        foreach (var p in module.Parameters()) Init.Normal(p.Value, 0.5, new Rng(100 + rank));
    }

    // ---- pretraining -------------------------------------------------------------------------------------------------

    private static readonly CharTokenizer Letters = CharTokenizer.FromText("abcdefghij .");

    private static Pretrainer Pretrainer(bool examples)
    {
        var options = new PretrainOptions { Steps = 6, BatchSize = 5, LearningRate = 1e-2f, MinLearningRate = 1e-2f, WarmupFraction = 0, Seed = 2 };
        if (!examples)
        {
            var tokenizer = CharTokenizer.FromText(DemoCorpus.Stories);
            var model = new Gpt(new GptConfig { VocabSize = tokenizer.VocabSize, ContextLength = 16, Layers = 1, Width = 16, Heads = 2 }, new Rng(3));
            return new Pretrainer(model, tokenizer, DemoCorpus.Stories, options);
        }
        // Prompt–completion examples of different lengths: the ranks' shares hold different numbers of predicted tokens.
        var rng = new Rng(7);
        string Word(int length) => new([.. Enumerable.Range(0, length).Select(_ => "abcdefghij"[rng.NextInt(10)])]);
        var pairs = Enumerable.Range(0, 40).Select(i => (Word(1 + rng.NextInt(4)) + " ", Word(1 + rng.NextInt(8)) + ".")).ToList();
        var tiny = new Gpt(new GptConfig { VocabSize = Letters.VocabSize, ContextLength = 16, Layers = 1, Width = 16, Heads = 2 }, new Rng(3));
        return new Pretrainer(tiny, Letters, pairs, options);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Pretraining_on_two_ranks_keeps_identical_weights_and_trains_as_one_process(bool examples)
    {
        const int steps = 6;
        var single = Pretrainer(examples);
        var start = single.Model.Clone();
        var singleLosses = Enumerable.Range(0, steps).Select(_ => single.Step().Loss).ToArray();

        var (trainers, checksums, losses) = (new Pretrainer[2], new ulong[2, steps], new double[2, steps]);
        new ThreadCommunicatorGroup(2).Run(comm =>
        {
            var trainer = Pretrainer(examples);
            Scramble(trainer.Model, comm.Rank);
            trainer.Distribute(comm);
            for (int s = 0; s < steps; s++)
            {
                losses[comm.Rank, s] = trainer.Step().Loss;
                checksums[comm.Rank, s] = trainer.WeightsChecksum();
            }
            trainers[comm.Rank] = trainer;
        });
        for (int s = 0; s < steps; s++)
        {
            Assert.Equal(checksums[0, s], checksums[1, s]);
            Assert.Equal(losses[0, s], losses[1, s]);
            Assert.Equal(singleLosses[s], losses[0, s], 1e-4);
        }
        AssertSameTraining(examples ? "pretraining on examples" : "pretraining on windows", start, single.Model, trainers[0].Model);
    }

    [Fact]
    public void A_rank_whose_weights_drift_is_an_error_naming_it_at_that_step()
    {
        var group = new ThreadCommunicatorGroup(2);
        var ex = Assert.Throws<AggregateException>(() => group.Run(comm =>
        {
            var trainer = Pretrainer(examples: false);
            trainer.Distribute(comm);
            trainer.Step();
            if (comm.Rank == 1) trainer.Model.Parameters().First().Value.Data[0] += 1f;   // what a rank out of step would hold
            trainer.Step();
        }));
        var inner = Assert.IsType<Reinforce.Distributed.DistributedException>(ex.InnerException);
        Assert.Contains("after step 2 the weights of rank(s) 1 differ from rank 0's", inner.Message);
    }

    /// <summary>Asks to stop (as Ctrl+C does) once <paramref name="step"/> is reached; −1: never.</summary>
    private sealed class StopAt(long step, CancellationTokenSource stop) : IProgress<RunProgress>
    {
        public void Report(RunProgress value)
        {
            if (value.Step == step) stop.Cancel();
        }
    }

    private static PretrainRunConfig SmallRun => new()
    {
        Model = new GptConfig { ContextLength = 16, Layers = 1, Width = 16, Heads = 2 },
        Options = new PretrainOptions { Steps = 10, BatchSize = 5, Seed = 2 }, EvaluateEvery = 5,
    };

    /// <summary>Two ranks of a pretraining run in folders under <paramref name="root"/>: rank 0 owns <c>run</c>, rank 1 a scratch folder.</summary>
    private static RunSummary[] PretrainOnTwoRanks(string root, bool resume, long stopRank1At = -1)
    {
        var summaries = new RunSummary[2];
        string run = Path.Combine(root, "run");
        new ThreadCommunicatorGroup(2).Run(comm =>
        {
            string scratch = Path.Combine(root, $"scratch-{Guid.NewGuid():N}");
            using var pretraining = comm.Rank == 0
                ? resume ? PretrainingRun.Resume(run) : PretrainingRun.Create(run, SmallRun)
                : PretrainingRun.Follower(resume ? PretrainingRun.ReadConfig(run) : SmallRun, scratch, resume ? run : null);
            pretraining.JoinRanks(comm);
            using var stop = new CancellationTokenSource();
            summaries[comm.Rank] = pretraining.Run(new StopAt(comm.Rank == 1 ? stopRank1At : -1, stop), stop.Token);
        });
        return summaries;
    }

    [Fact]
    public void A_stop_on_one_rank_stops_both_at_the_same_step_and_the_resumed_run_ends_on_the_bits_of_a_straight_one()
    {
        string root = Directory.CreateTempSubdirectory("reinforce-dp-lm-").FullName;
        try
        {
            var straight = PretrainOnTwoRanks(Path.Combine(root, "straight"), resume: false);
            Assert.All(straight, s => Assert.Equal(10, s.Steps));

            // Rank 1 alone is asked to stop after step 3 (mpirun passes Ctrl+C to the ranks at different moments): both stop there.
            string stopped = Path.Combine(root, "stopped");
            var first = PretrainOnTwoRanks(stopped, resume: false, stopRank1At: 3);
            Assert.All(first, s => { Assert.True(s.Stopped); Assert.Equal(3, s.Steps); });
            var second = PretrainOnTwoRanks(stopped, resume: true);
            Assert.All(second, s => { Assert.False(s.Stopped); Assert.Equal(10, s.Steps); });

            var (a, _, facts) = LmCheckpoint.LoadLanguageModel(Path.Combine(root, "straight", "run", PretrainingRun.LastModelFile));
            var (b, _, _) = LmCheckpoint.LoadLanguageModel(Path.Combine(stopped, "run", PretrainingRun.LastModelFile));
            Assert.Equal("2", facts["ranks"]);
            Assert.Equal(Weights(a).SelectMany(w => w), Weights(b).SelectMany(w => w));
            // Rank 0 alone wrote run folders; the follower's scratch folders hold no best or published model.
            var scratch = Directory.GetDirectories(Path.Combine(root, "straight"), "scratch-*");
            Assert.Single(scratch);
            Assert.False(File.Exists(Path.Combine(scratch[0], PretrainingRun.BestModelFile)) || File.Exists(Path.Combine(scratch[0], PretrainingRun.LastModelFile)));
            Assert.False(Directory.Exists(Path.Combine(scratch[0], "best")));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void A_batch_smaller_than_the_rank_count_is_a_clear_error_on_every_rank()
    {
        var tokenizer = CharTokenizer.FromText(DemoCorpus.Stories);
        var errors = new Exception?[2];
        new ThreadCommunicatorGroup(2).Run(comm =>
        {
            var model = new Gpt(new GptConfig { VocabSize = tokenizer.VocabSize, ContextLength = 16, Layers = 1, Width = 16, Heads = 2 }, new Rng(3));
            var trainer = new Pretrainer(model, tokenizer, DemoCorpus.Stories, new PretrainOptions { Steps = 2, BatchSize = 1 });
            errors[comm.Rank] = Record.Exception(() => trainer.Distribute(comm));
        });
        Assert.All(errors, e => Assert.Contains("batch_size: is 1, fewer sequences than the 2 ranks", Assert.IsType<Reinforce.Algorithms.ConfigurationException>(e).Message));
    }

    // ---- DPO ---------------------------------------------------------------------------------------------------------

    private static DpoTrainer Dpo(out Gpt model)
    {
        var rng = new Rng(5);
        string Word(int length) => new([.. Enumerable.Range(0, length).Select(_ => "abcdefghij"[rng.NextInt(10)])]);
        // The chosen completions are short and end in a full stop; the rejected are long.
        var pairs = Enumerable.Range(0, 24).Select(_ => new PreferencePair(Word(2) + " ", Word(1 + rng.NextInt(3)) + ".", Word(6 + rng.NextInt(4)), false)).ToList();
        model = new Gpt(new GptConfig { VocabSize = Letters.VocabSize, ContextLength = 16, Layers = 1, Width = 16, Heads = 2 }, new Rng(6));
        return new DpoTrainer(model, Letters, pairs, new DpoOptions { Steps = 5, BatchSize = 7, LearningRate = 1e-2f, Beta = 0.5, Seed = 3 });
    }

    [Fact]
    public void DPO_on_two_ranks_keeps_identical_weights_and_trains_as_one_process()
    {
        const int steps = 5;
        var single = Dpo(out var singleModel);
        var start = singleModel.Clone();
        var singleSteps = Enumerable.Range(0, steps).Select(_ => single.Step()).ToArray();

        var (models, checksums, figures) = (new Gpt[2], new ulong[2, steps], new DpoStepMetrics[2, steps]);
        new ThreadCommunicatorGroup(2).Run(comm =>
        {
            var trainer = Dpo(out var model);
            Scramble(model, comm.Rank);
            trainer.Distribute(comm);
            for (int s = 0; s < steps; s++)
            {
                figures[comm.Rank, s] = trainer.Step();
                checksums[comm.Rank, s] = trainer.WeightsChecksum();
            }
            models[comm.Rank] = model;
        });
        for (int s = 0; s < steps; s++)
        {
            Assert.Equal(checksums[0, s], checksums[1, s]);
            Assert.Equal(figures[0, s], figures[1, s]);
            // The batch's figures, not one rank's: they match one process's (7 pairs split 4 + 3).
            Assert.Equal(singleSteps[s].Loss, figures[0, s].Loss, 1e-4);
            Assert.Equal(singleSteps[s].Accuracy, figures[0, s].Accuracy, 1e-9);
            Assert.Equal(singleSteps[s].ChosenReward, figures[0, s].ChosenReward, 1e-4);
        }
        Assert.True(singleSteps[^1].Loss < singleSteps[0].Loss, $"DPO loss {singleSteps[0].Loss} → {singleSteps[^1].Loss}");
        AssertSameTraining("DPO", start, singleModel, models[0]);
    }

    [Fact]
    public void DPO_cannot_be_distributed_after_it_has_started()
    {
        var trainer = Dpo(out _);
        trainer.Step();
        Assert.Throws<InvalidOperationException>(() => trainer.Distribute(Reinforce.Distributed.SingleProcessCommunicator.Instance));
    }

    // ---- RLOO, GRPO, PPO ---------------------------------------------------------------------------------------------

    private static readonly CharTokenizer Ab = new("\nab");

    private static RlhfTrainer Rlhf(RlAlgorithm algorithm, out Gpt model)
    {
        model = new Gpt(new GptConfig { VocabSize = 3, ContextLength = 16, Layers = 1, Width = 16, Heads = 2 }, new Rng(3));
        var reward = RewardFunction.OfCompletion("share of a", t => t.Length == 0 ? 0 : (double)t.Count(c => c == 'a') / t.Length);
        var options = RlhfOptions.For(algorithm) with { PromptsPerStep = 3, GroupSize = 4, MaxNewTokens = 6, LearningRate = 1e-2f, Seed = 4 };
        // PPO: 2 epochs of 3 minibatches, so minibatches mix the two ranks' rows and some hold more of one rank than the other.
        if (algorithm == RlAlgorithm.Ppo) options = options with { Epochs = 2, MiniBatches = 3 };
        return new RlhfTrainer(model, Ab, reward, r => r.NextInt(2) == 0 ? "a" : "bb", options);
    }

    [Theory]
    [InlineData(RlAlgorithm.Rloo)]
    [InlineData(RlAlgorithm.Grpo)]
    [InlineData(RlAlgorithm.Ppo)]
    public void RL_fine_tuning_on_two_ranks_keeps_identical_weights_and_trains_as_one_process_on_their_samples(RlAlgorithm algorithm)
    {
        const int steps = 4;
        var (models, checksums, samples, figures) = (new Gpt[2], new ulong[2, steps], new RlhfTrainer.StepSamples[2, steps], new RlhfStepMetrics[2, steps]);
        Gpt? start = null;
        new ThreadCommunicatorGroup(2).Run(comm =>
        {
            var trainer = Rlhf(algorithm, out var model);
            if (comm.Rank == 0) start = model.Clone();
            Scramble(model, comm.Rank);
            trainer.Distribute(comm);
            for (int s = 0; s < steps; s++)
            {
                figures[comm.Rank, s] = trainer.Step();
                checksums[comm.Rank, s] = trainer.WeightsChecksum();
                samples[comm.Rank, s] = trainer.LastSamples!;
            }
            models[comm.Rank] = model;
        });
        for (int s = 0; s < steps; s++)
        {
            Assert.Equal(checksums[0, s], checksums[1, s]);
            Assert.Equal(figures[0, s].Loss, figures[1, s].Loss);
            Assert.Equal(figures[0, s].GradNorm, figures[1, s].GradNorm);
        }
        // The ranks sampled different prompts and completions (streams of seed and rank), or the test would be trivial.
        Assert.NotEqual(samples[0, 0].CompletionTexts, samples[1, 0].CompletionTexts);

        // One process trained on both ranks' samples of every step, rank 0's first.
        var single = Rlhf(algorithm, out var singleModel);
        var singleFigures = Enumerable.Range(0, steps).Select(s => single.StepOn(RlhfTrainer.StepSamples.Concat([samples[0, s], samples[1, s]]))).ToArray();
        for (int s = 0; s < steps; s++)
        {
            Assert.Equal(singleFigures[s].Loss, figures[0, s].Loss, 1e-4);
            Assert.Equal(singleFigures[s].GradNorm, figures[0, s].GradNorm, 1e-3 * Math.Max(1, singleFigures[s].GradNorm));
        }
        AssertSameTraining(algorithm.ToString(), start!, singleModel, models[0]);
    }
}
