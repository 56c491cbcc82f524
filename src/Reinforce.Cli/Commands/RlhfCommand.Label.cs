using System.CommandLine;
using Reinforce.Nn.Transformers;
using Reinforce.Rlhf.Data;

namespace Reinforce.Cli.Commands;

internal static partial class RlhfCommand
{
    /// <summary>
    /// `reinforce rlhf label`: a person compares completions side by side; every answer is appended to the preference file
    /// at once, and running the command again resumes after the last answer.
    /// </summary>
    private static Command CreateLabel()
    {
        var output = new Option<string>("--out", "-o") { Description = "Preference file (JSONL) every answer is appended to; labelling resumes from it.", DefaultValueFactory = _ => "preferences.jsonl" };
        var model = new Option<string?>("--model", "-m") { Description = "Language-model checkpoint that writes the completions to compare." };
        var prompts = new Option<string?>("--prompts") { Description = "Text file of prompts, one per line (default: the openings of the shipped stories)." };
        var candidates = new Option<string?>("--candidates") { Description = "Instead of a model: a JSONL file of {\"prompt\", \"completions\": [...]} items to label." };
        var choices = new Option<int>("--choices") { Description = "Completions shown per prompt (2 to 4); picking one of k records k - 1 pairs.", DefaultValueFactory = _ => 2 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Length of each completion in characters.", DefaultValueFactory = _ => 48 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature of the completions.", DefaultValueFactory = _ => 1f };
        var seed = new Option<int>("--seed") { Description = "Seed of the completions (keep it to resume with the same items).", DefaultValueFactory = _ => 1 };
        var count = new Option<int>("--count", "-n") { Description = "Stop after this many answers.", DefaultValueFactory = _ => int.MaxValue };
        var width = new Option<int>("--width") { Description = "Display width in characters (default: the terminal's)." };
        var rater = new Option<string?>("--rater") { Description = "Instead of a person: a simulated rater who judges by code (simple: shorter words; cheerful: cheerful minus gloomy words; spelling: share of real words). Use --count to bound it." };
        rater.AcceptOnlyFromAmong("simple", "cheerful", "spelling");
        var tieMargin = new Option<double>("--tie-margin") { Description = "With --rater: two completions whose scores differ by less than this are a tie.", DefaultValueFactory = _ => 0.3 };
        var command = new Command("label", "Show a prompt with completions side by side and record which is better (1..k, t = tie, s = skip, q = quit), or let a simulated rater judge them (--rater).")
        {
            output, model, prompts, candidates, choices, maxTokens, temperature, seed, count, width, rater, tieMargin,
        };
        command.SetAction(parse => Guard(() =>
        {
            IEnumerable<LabelItem> items;
            string? candidatesPath = parse.GetValue(candidates), modelPath = parse.GetValue(model);
            if (candidatesPath is not null && modelPath is not null) throw new ArgumentException("give either --model (to write completions) or --candidates (completions written elsewhere), not both.");
            if (candidatesPath is not null) items = LabelItems.ReadCandidates(candidatesPath);
            else if (modelPath is not null)
            {
                var (lm, tokenizer, _) = LoadLanguageModel(modelPath);
                int k = parse.GetValue(choices);
                if (k is < 2 or > 4) throw new ArgumentException($"--choices is {k}; show 2, 3 or 4 completions.");
                var sampling = new SamplingOptions { Temperature = parse.GetValue(temperature) };
                sampling.Validate();
                items = LabelItems.FromModel(lm, tokenizer, ReadPrompts(parse.GetValue(prompts), tokenizer), k, parse.GetValue(maxTokens), sampling, parse.GetValue(seed));
            }
            else throw new ArgumentException("give --model <checkpoint> to write completions to compare (or --candidates <file.jsonl>).");
            if (parse.GetValue(rater) is string raterName)
            {
                int limit = parse.GetValue(count);
                if (limit == int.MaxValue) throw new ArgumentException("--rater labels without end; give --count (for example --count 500).");
                var simulated = new SimulatedRater(Reinforce.Rlhf.Demos.PreferenceDemo.Rater(raterName, DemoCorpus.Stories), parse.GetValue(tieMargin));
                string path = parse.GetValue(output)!;
                if (File.Exists(path))
                {
                    // As a person's session does: say what is resumed, and which lines are passed over.
                    var existing = PreferenceFile.Load(path);
                    Console.WriteLine($"Resuming {path}: {existing.LabelledItems.Count:N0} items already labelled.");
                    PrintLineProblems("warning", path, existing.Problems, " (this line is ignored)");
                }
                var summary = PreferenceLabelling.Run(items, simulated, path, limit);
                Console.WriteLine($"The {raterName} rater judged {summary.Preferred + summary.Ties + summary.Skipped} items ({summary.Preferred} preferences, {summary.Ties} ties) into {parse.GetValue(output)}.");
                return 0;
            }
            new TerminalLabeller(Console.In, Console.Out, DisplayWidth(parse.GetValue(width))).Run(items, parse.GetValue(output)!, parse.GetValue(count));
            return 0;
        }));
        return command;
    }

    /// <summary>The width asked for, or the terminal's, or 100 when output is redirected.</summary>
    internal static int DisplayWidth(int requested)
    {
        if (requested > 0) return Math.Max(40, requested);
        try { return Console.IsOutputRedirected ? 100 : Math.Clamp(Console.WindowWidth - 1, 40, 200); }
        catch (IOException) { return 100; }
    }
}
