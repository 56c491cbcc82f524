using Reinforce.Cli;

namespace Reinforce.Tests;

/// <summary>
/// Runs the `reinforce` command in process as the executable does (<see cref="Program.Run"/>: parse errors are usage
/// errors too, library warnings printed), with standard input given and standard output and error captured. The
/// console is process-wide, so tests using it share the "Console" collection.
/// </summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Error) Run(string? input, params string[] args)
    {
        var (oldIn, oldOut, oldError) = (Console.In, Console.Out, Console.Error);
        var output = new StringWriter();
        var error = new StringWriter();
        Console.SetIn(new StringReader(input ?? ""));
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            int code = Program.Run(args);
            return (code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetIn(oldIn);
            Console.SetOut(oldOut);
            Console.SetError(oldError);
        }
    }
}
