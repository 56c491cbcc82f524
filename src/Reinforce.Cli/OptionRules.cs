using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Reinforce.Cli;

/// <summary>
/// Bounds checked while the command line is parsed, so a count of 0 or less is a usage error like any other (one
/// line on standard error, exit code 2) before anything runs, instead of NaN results or an exception from deep inside.
/// </summary>
internal static class OptionRules
{
    /// <summary>The option's value must be at least <paramref name="minimum"/>.</summary>
    public static Option<int> AtLeast(this Option<int> option, int minimum)
    {
        option.Validators.Add(result => Check(result, option.Name, minimum));
        return option;
    }

    /// <summary>The option's value, when given, must be at least <paramref name="minimum"/>.</summary>
    public static Option<int?> AtLeast(this Option<int?> option, int minimum)
    {
        option.Validators.Add(result => Check(result, option.Name, minimum));
        return option;
    }

    /// <summary>Checks the value as typed (a default is within bounds; a value that is not a number is the parser's error already).</summary>
    private static void Check(OptionResult result, string name, long minimum)
    {
        if (result.Tokens.Count != 1 || !long.TryParse(result.Tokens[0].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value)) return;
        if (value < minimum)
            result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name}: is {value}; use {minimum} or more."));
    }
}
