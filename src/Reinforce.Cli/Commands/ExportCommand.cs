using System.CommandLine;
using Reinforce.Algorithms;
using Reinforce.IO;
using Reinforce.Export;
using Reinforce.IO.Onnx;

namespace Reinforce.Cli.Commands;

/// <summary>
/// `reinforce export &lt;run-dir|checkpoint&gt; --format onnx [--out FILE] [--unity] [--opset N]`: writes the trained
/// policy as an ONNX model (observation normalisation included), optionally in Unity ML-Agents' layout.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("run-dir|checkpoint") { Description = "A run folder (its final/ or newest checkpoint is used) or a checkpoint folder." };
        var format = new Option<string>("--format") { Description = "The model format: onnx.", Required = true };
        var output = new Option<string?>("--out") { Description = "The file to write (default: <run>/policy.onnx, or <checkpoint>.onnx next to a checkpoint folder; policy.unity.onnx with --unity)." };
        var unity = new Option<bool>("--unity") { Description = "Name and shape inputs and outputs as Unity ML-Agents expects (obs_0, action_masks, discrete_actions, continuous_actions, ...)." };
        var opset = new Option<int?>("--opset")
        {
            Description = $"ONNX opset, {OnnxExportOptions.MinOpset} to {OnnxExportOptions.MaxOpset} (default {OnnxExportOptions.DefaultOpset} with IR version 8; {OnnxExportOptions.DefaultUnityOpset} with --unity).",
        };
        var command = new Command("export", "Export a trained policy as an ONNX model (for ONNX Runtime, Unity ML-Agents / Sentis, ...).") { path, format, output, unity, opset };
        command.SetAction(parse =>
        {
            try
            {
                string requested = parse.GetValue(format)!;
                if (!string.Equals(requested.Trim(), "onnx", StringComparison.OrdinalIgnoreCase))
                    throw new ConfigurationException("--format", $"\"{requested}\" is not a supported export format; the only format is onnx (use --format onnx).");
                var options = new OnnxExportOptions { Unity = parse.GetValue(unity), Opset = parse.GetValue(opset) };
                int resolvedOpset = options.ResolvedOpset;
                if (resolvedOpset is < OnnxExportOptions.MinOpset or > OnnxExportOptions.MaxOpset)
                    throw new ConfigurationException("--opset", $"is {resolvedOpset}; the exporter writes opsets {OnnxExportOptions.MinOpset} to {OnnxExportOptions.MaxOpset} (default {OnnxExportOptions.DefaultOpset}; {OnnxExportOptions.DefaultUnityOpset} for Unity).");

                string target = parse.GetValue(path)!;
                string checkpoint = PolicyExporter.ResolveCheckpoint(target);
                string file = parse.GetValue(output) ?? DefaultOutput(target, checkpoint, options.Unity);
                using var agent = Checkpoint.Load(checkpoint);
                var export = PolicyExporter.Save(file, agent, options);

                Console.WriteLine($"Exported the {agent.AlgorithmName.ToUpperInvariant()} policy of {agent.EnvironmentId ?? "an unnamed environment"} (checkpoint {checkpoint}, step {agent.StepsDone:N0}) to {file}");
                Console.WriteLine($"  ONNX opset {export.Opset}, IR version {export.IrVersion}{(options.Unity ? ", Unity ML-Agents layout (model API version 3)" : "")}; {export.Model.Length:N0} bytes");
                Console.WriteLine($"  inputs:  {string.Join("; ", export.Inputs)}");
                Console.WriteLine($"  outputs: {string.Join("; ", export.Outputs)}");
                Console.WriteLine(agent.ObservationNormalizer is null
                    ? "  observations: raw (the run did not normalise them)"
                    : $"  observations: raw; the model normalises them with the run's statistics (clip ±{agent.ObservationNormalizer.Clip?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"})");
                return 0;
            }
            catch (Exception ex) when (ex is ConfigurationException or CheckpointFormatException or ArgumentException or IOException or NotSupportedException or KeyNotFoundException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return 2;
            }
        });
        return command;
    }

    private static string DefaultOutput(string target, string checkpoint, bool unity)
    {
        static string Trim(string p) => p.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        // A run folder gets policy.onnx inside; a checkpoint folder a sibling file (a checkpoint folder is replaced whole on save).
        if (Directory.Exists(target) && !string.Equals(Path.GetFullPath(Trim(target)), Path.GetFullPath(Trim(checkpoint)), StringComparison.Ordinal))
            return Path.Combine(target, unity ? "policy.unity.onnx" : "policy.onnx");
        return Trim(checkpoint) + (unity ? ".unity.onnx" : ".onnx");
    }
}
