using System.CommandLine;
using System.Globalization;
using Reinforce.Rlhf.Data;
using Reinforce.Rlhf.Training;

namespace Reinforce.Cli.Commands;

internal static partial class RlhfCommand
{
    /// <summary>`reinforce rlhf reward &lt;preferences.jsonl&gt;`: trains a reward model on preference pairs and reports held-out accuracy.</summary>
    private static Command CreateReward()
    {
        var preferences = new Argument<string>("preferences") { Description = "JSONL preference pairs: {\"prompt\", \"chosen\", \"rejected\"} or TRL's implicit-prompt {\"chosen\", \"rejected\"}." };
        var model = new Option<string>("--model", "-m") { Description = "Language-model checkpoint whose trunk the reward model starts from.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Where to write the reward model.", DefaultValueFactory = _ => Path.Combine("runs", "reward", "reward.safetensors") };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training pairs.", DefaultValueFactory = _ => 4 };
        var batch = new Option<int>("--batch") { Description = "Pairs per step.", DefaultValueFactory = _ => 32 };
        var lr = new Option<float>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => 1e-3f };
        var holdout = new Option<double>("--holdout") { Description = "Share of the pairs held out (by prompt) to measure accuracy.", DefaultValueFactory = _ => 0.2 };
        var noTies = new Option<bool>("--no-ties") { Description = "Leave ties out of training (by default they pull the two rewards together)." };
        var strict = new Option<bool>("--strict") { Description = "Stop at the first broken line of the preference file instead of skipping it." };
        var seed = new Option<int>("--seed") { Description = "Seed of the head, the split and the shuffling.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int?>("--threads") { Description = "Threads (default: the core count)." };
        var command = new Command("reward", "Train a reward model (GPT trunk + scalar head, Bradley-Terry loss) on preference pairs.")
        {
            preferences, model, output, epochs, batch, lr, holdout, noTies, strict, seed, threads,
        };
        command.SetAction(parse => Guard(() =>
        {
            ApplyThreads(parse.GetValue(threads));
            string path = parse.GetValue(preferences)!;
            var data = PreferenceFile.Load(path, parse.GetValue(strict));
            foreach (var problem in data.Problems.Take(20)) Console.WriteLine($"warning: {path} {problem} (skipped)");
            if (data.Problems.Count > 20) Console.WriteLine($"warning: ... and {data.Problems.Count - 20} more broken lines (skipped).");
            Console.WriteLine($"{path}: {data.Pairs.Count - data.TieCount:N0} pairs, {data.TieCount:N0} ties, {data.SkippedCount:N0} skipped items, {data.Problems.Count:N0} broken lines.");

            var (lm, tokenizer, _) = LoadLanguageModel(parse.GetValue(model)!);
            var (usable, leftOut) = data.WithinVocabulary(tokenizer);
            foreach (var problem in leftOut.Take(20)) Console.WriteLine($"note: {path} {problem}");
            if (leftOut.Count > 0)
                Console.WriteLine($"note: {leftOut.Count} pairs use characters outside the model's vocabulary and are left out.");
            var (train, validation) = RewardModelTraining.Split(usable, parse.GetValue(holdout), parse.GetValue(seed));
            if (train.Count == 0) throw new ArgumentException($"{path} holds no usable pairs to train on.");
            var rewardModel = new RewardModel(lm, tokenizer, new Rng(parse.GetValue(seed)));
            var options = new RewardModelOptions
            {
                Epochs = parse.GetValue(epochs), BatchSize = parse.GetValue(batch), LearningRate = parse.GetValue(lr),
                UseTies = !parse.GetValue(noTies), Seed = parse.GetValue(seed),
            };
            Console.WriteLine($"Training on {train.Count:N0} pairs, holding out {validation.Count:N0} (their prompts are never trained on).");
            var cadence = new PrintCadence();
            var history = RewardModelTraining.Train(rewardModel, train, validation, options, st =>
            {
                if (!cadence.Due(st.Validation is not null || st.Step == 1)) return;
                Console.WriteLine(st.Validation is { } v
                    ? string.Create(CultureInfo.InvariantCulture, $"step {st.Step,5}/{st.TotalSteps}  loss {st.Loss:F3}  held-out accuracy {v.Accuracy:P1}  margin {v.MeanMargin:F2}")
                    : string.Create(CultureInfo.InvariantCulture, $"step {st.Step,5}/{st.TotalSteps}  loss {st.Loss:F3}"));
            });
            var final = validation.Count > 0 ? RewardModelTraining.Evaluate(rewardModel, validation) : null;
            string outPath = parse.GetValue(output)!;
            var facts = new Dictionary<string, string> { ["pairs"] = train.Count.ToString(CultureInfo.InvariantCulture) };
            if (final is not null)
            {
                facts["heldout_accuracy"] = LmCheckpoint.Fact(final.Accuracy);
                facts["heldout_margin"] = LmCheckpoint.Fact(final.MeanMargin);
            }
            LmCheckpoint.Save(outPath, rewardModel, facts);
            Console.WriteLine(final is null
                ? $"Saved {outPath} (no pairs held out, so no accuracy to report)."
                : string.Create(CultureInfo.InvariantCulture, $"Held-out accuracy {final.Accuracy:P1} over {final.Pairs} pairs, mean margin {final.MeanMargin:F2}. Saved {outPath}."));
            return 0;
        }));
        return command;
    }
}
