using System.CommandLine;
using System.Globalization;
using Reinforce.Algorithms;
using Reinforce.Envs;
using Reinforce.Training;

namespace Reinforce.Cli.Commands;

/// <summary>`reinforce list`: the registered environments and the presets.</summary>
internal static class ListCommand
{
    public static Command Create()
    {
        var command = new Command("list", "Show the environments and the training presets.");
        command.SetAction(_ =>
        {
            var c = CultureInfo.InvariantCulture;
            Console.WriteLine("Environments:");
            foreach (var spec in Environments.Specs.OrderBy(s => s.Id, StringComparer.OrdinalIgnoreCase))
            {
                string limit = spec.MaxEpisodeSteps is int m ? $"{m} steps" : "no limit";
                string threshold = spec.RewardThreshold is double t ? $"solved at {t.ToString("G", c)}" : "no threshold";
                Console.WriteLine($"  {spec.Id,-26} {limit,-10} {threshold,-18} {spec.Description}");
            }
            Console.WriteLine();
            Console.WriteLine("Presets (presets/<env>.json; `reinforce train <env>` uses them, copy one to write your own --config):");
            foreach (var name in PresetFiles.Names)
            {
                var preset = TrainingConfig.Preset(name);
                var algos = preset.SectionNames;
                Console.WriteLine($"  {name,-26} {string.Join(", ", algos.Select(a => a == preset.Algo ? a + " (default)" : a)),-28} {preset.TotalSteps:N0} steps, {preset.NumEnvs} envs");
            }
            Console.WriteLine();
            Console.WriteLine("Algorithms (--algo, and the section names of presets and configs):");
            foreach (var algorithm in AlgorithmRegistry.All) Console.WriteLine($"  {algorithm.Name,-26} {algorithm.Description}");
            return 0;
        });
        return command;
    }
}
