using System.CommandLine;
using System.Globalization;
using Reinforce.Algorithms.Textbook;
using Reinforce.IO;
using Reinforce.Envs.Textbook;

namespace Reinforce.Cli.Commands;

/// <summary>`reinforce textbook short-corridor|bandit`: reproduce Sutton &amp; Barto's policy-gradient figures and chart them.</summary>
internal static class TextbookCommand
{
    public static Command Create()
    {
        var command = new Command("textbook", "Reproduce Sutton & Barto's policy-gradient figures (13.1, 13.2, 2.5) with the library's learners and environments.");
        command.Subcommands.Add(ShortCorridor());
        command.Subcommands.Add(Bandit());
        return command;
    }

    private static Option<string> OutOption(string file) => new("--out") { Description = "Where to write the SVG chart.", DefaultValueFactory = _ => file };
    private static Option<ulong> SeedOption() => new("--seed") { Description = "Seed of the first run (each run derives its own).", DefaultValueFactory = _ => 1UL };

    private static Command ShortCorridor()
    {
        var runs = new Option<int>("--runs") { Description = "Independent runs to average.", DefaultValueFactory = _ => 100 }.AtLeast(1);
        var episodes = new Option<int>("--episodes") { Description = "Episodes per run.", DefaultValueFactory = _ => 1000 }.AtLeast(1);
        var seed = SeedOption();
        var output = OutOption("short-corridor.svg");
        var command = new Command("short-corridor", "REINFORCE on the short corridor (Figures 13.1 and 13.2): α = 2⁻¹², 2⁻¹³, 2⁻¹⁴, and with a learned baseline.") { runs, episodes, seed, output };
        command.SetAction(parse =>
        {
            int r = parse.GetValue(runs), e = parse.GetValue(episodes);
            ulong s = parse.GetValue(seed);
            var settings = new (string Name, double Alpha, double? BaselineAlpha)[]
            {
                ("REINFORCE α=2^-12", Math.Pow(2, -12), null),
                ("REINFORCE α=2^-13", Math.Pow(2, -13), null),
                ("REINFORCE α=2^-14", Math.Pow(2, -14), null),
                ("with baseline α_θ=2^-9, α_w=2^-6", Math.Pow(2, -9), Math.Pow(2, -6)),
            };
            var series = new List<ChartSeries>();
            Console.WriteLine($"Short corridor (Sutton & Barto Example 13.1), θ₀ = [−1.47, 1.47] (p(right) ≈ 0.05), {r} runs × {e} episodes");
            Console.WriteLine($"{"setting",-36} {"ep 1-10",9} {"ep 91-100",10} {"last 100",9} {"p(right)",9}");
            foreach (var (name, alpha, baseline) in settings)
            {
                var curve = TextbookExperiments.ShortCorridorReinforce(alpha, baseline, r, e, s);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-36} {curve.MeanOver(1, Math.Min(10, e)),9:F2} {(e >= 100 ? curve.MeanOver(91, 100) : double.NaN),10:F2} {curve.MeanOver(Math.Max(1, e - 99), e),9:F2} {curve.FinalValue,9:F3}"));
                series.Add(new ChartSeries(name, Enumerable.Range(1, e).Select(i => (double)i).ToArray(), curve.MeanPerEpisode));
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"optimum: p(right) = 2 − √2 = {2 - Math.Sqrt(2):F3}, value {Envs.Textbook.ShortCorridor.StartValue(2 - Math.Sqrt(2)):F2}"));
            var path = parse.GetValue(output)!;
            SvgChart.Save(path, "REINFORCE on the short corridor", "episode", "total reward (mean over runs)", series,
                [new ReferenceLine(Envs.Textbook.ShortCorridor.StartValue(2 - Math.Sqrt(2)), "v*(s₀) ≈ −11.6")]);
            Console.WriteLine($"chart: {Path.GetFullPath(path)}");
            return 0;
        });
        return command;
    }

    private static Command Bandit()
    {
        var runs = new Option<int>("--runs") { Description = "Independent bandit problems to average.", DefaultValueFactory = _ => 2000 }.AtLeast(1);
        var steps = new Option<int>("--steps") { Description = "Steps per run.", DefaultValueFactory = _ => 1000 }.AtLeast(1);
        var mean = new Option<double>("--mean") { Description = "Mean of the true action values q*(a).", DefaultValueFactory = _ => 4.0 };
        var seed = SeedOption();
        var output = OutOption("gradient-bandit.svg");
        var command = new Command("bandit", "The gradient bandit on the 10-armed testbed (Figure 2.5): α = 0.1, 0.4, with and without baseline.") { runs, steps, mean, seed, output };
        command.SetAction(parse =>
        {
            int r = parse.GetValue(runs), t = parse.GetValue(steps);
            var series = new List<ChartSeries>();
            Console.WriteLine($"Gradient bandit, 10 arms, q*(a) ~ N({parse.GetValue(mean)}, 1), {r} runs × {t} steps");
            Console.WriteLine($"{"setting",-28} {"% optimal at last step",22} {"mean reward, last 100",22}");
            foreach (var baseline in new[] { true, false })
                foreach (var alpha in new[] { 0.1, 0.4 })
                {
                    var curve = TextbookExperiments.GradientBandit(alpha, baseline, r, t, parse.GetValue(mean), seed: parse.GetValue(seed));
                    var name = string.Create(CultureInfo.InvariantCulture, $"α={alpha} {(baseline ? "with" : "without")} baseline");
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-28} {100 * curve.FinalValue,21:F1}% {curve.MeanOver(Math.Max(1, t - 99), t),22:F3}"));
                    series.Add(new ChartSeries(name, Enumerable.Range(1, t).Select(i => (double)i).ToArray(), curve.OptimalActionFraction!.Select(f => 100 * f).ToArray()));
                }
            var path = parse.GetValue(output)!;
            SvgChart.Save(path, "Gradient bandit (Sutton & Barto Figure 2.5)", "step", "% optimal action", series);
            Console.WriteLine($"chart: {Path.GetFullPath(path)}");
            return 0;
        });
        return command;
    }
}
