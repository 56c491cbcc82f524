using System.CommandLine;
using System.CommandLine.Parsing;
using Reinforce.Cli.Commands;

namespace Reinforce.Cli;

/// <summary>The `reinforce` command: a thin shell over the library (parsing, display, files).</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        StartJitProfile(args);
        // A training command compiles its training step on the second core while it parses and sets up (Precompilation).
        if (args.Length > 0 && args[0] == "train") Reinforce.Training.Precompilation.StartInBackground();
        return Run(args);
    }

    /// <summary>
    /// Multicore JIT (.NET's ProfileOptimization): each command records which methods it compiled, in
    /// ~/.cache/reinforce/jit (or $XDG_CACHE_HOME), and the next run of the same command compiles them on a second core
    /// while the first one starts working, instead of one at a time at first call. A command that trains for a second
    /// spends a quarter of it compiling otherwise (methods are compiled fully optimised at once: no tiered JIT). The
    /// results never depend on it; when the folder cannot be written, nothing happens; REINFORCE_JIT_PROFILE=0 turns it off.
    /// </summary>
    private static void StartJitProfile(string[] args)
    {
        if (Environment.GetEnvironmentVariable("REINFORCE_JIT_PROFILE") == "0") return;
        try
        {
            string? cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (string.IsNullOrEmpty(cache))
            {
                string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
                if (string.IsNullOrEmpty(home)) return;
                cache = Path.Combine(home, ".cache");
            }
            string folder = Path.Combine(cache, "reinforce", "jit");
            Directory.CreateDirectory(folder);
            // One profile per command: its first two words before any option ("lm pretrain", or "train CartPole-v1",
            // whose methods differ per environment), words with other characters (paths, "MinAtar/...") left out. Ranks
            // of one MPI job run the same command at once, so each writes its own profile.
            var words = args.TakeWhile(a => !a.StartsWith('-')).Take(2).Where(a => a.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'));
            string? rank = Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK") ?? Environment.GetEnvironmentVariable("PMI_RANK");
            if (rank is not null && rank.All(char.IsAsciiDigit)) words = words.Append("rank" + rank);
            string name = string.Join('-', words.Prepend("reinforce")) + ".jitprofile";
            System.Runtime.ProfileOptimization.SetProfileRoot(folder);
            System.Runtime.ProfileOptimization.StartProfile(name);
            s_jitProfile = name;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            // No profile: methods are compiled at first call, as without it.
        }
    }

    private static string? s_jitProfile;   // the profile being recorded (null: none)

    /// <summary>
    /// Ends the command's profile and records (and plays back) a second one for what follows, once: a training command
    /// calls this when training ends. The profile of the command is then the methods up to the end of training, so the
    /// next run's background compiler finishes them before or early in training instead of moving on to the end-of-run
    /// code (final checkpoint, evaluation, result and chart) while training runs; that code has its own profile,
    /// compiled while it starts. With CleanRL's settings the first 300 updates' time above the steady state went from
    /// about 50 to about 20 ms.
    /// </summary>
    internal static void SwitchJitProfile(string phase)
    {
        if (Interlocked.Exchange(ref s_jitProfile, null) is not string profile) return;
        try
        {
            System.Runtime.ProfileOptimization.StartProfile(Path.ChangeExtension(profile, phase + ".jitprofile"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            // The rest compiles at first call.
        }
    }

    /// <summary>
    /// Parses and runs <paramref name="args"/>. A command line that does not parse (an unknown option, a value of the
    /// wrong type, a choice not among those allowed) is a usage error like every other validation error: a message in
    /// plain words on standard error and exit code 2.
    /// </summary>
    public static int Run(string[] args)
    {
        WarningListener.Install();
        var parse = BuildRoot(args.Length > 0 ? args[0] : null).Parse(args);
        if (parse.Errors.Count == 0)
        {
            using var heartbeat = Heartbeat.Start(CommandPath(parse));
            return parse.Invoke();
        }
        foreach (var error in parse.Errors) Console.Error.WriteLine($"error: {CommandLineErrors.Friendly(error.Message)}");
        Console.Error.WriteLine($"Run `{("reinforce " + CommandPath(parse)).TrimEnd()} --help` for the options.");
        return 2;
    }

    /// <summary>The words of the command being run, after `reinforce` ("lm pretrain"; empty for the root).</summary>
    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        SymbolResult? result = parse.CommandResult;
        while (result is CommandResult { Command: not RootCommand } command)
        {
            names.Insert(0, command.Command.Name);
            result = command.Parent;
        }
        return string.Join(' ', names);
    }

    /// <summary>The commands by name, each in its own file under Commands/; keep the list sorted by name.</summary>
    internal static readonly (string Name, Func<Command> Create)[] Commands =
    [
        ("bench", BenchCommand.Create),
        ("bench-env", BenchEnvCommand.Create),
        ("check-env", CheckEnvCommand.Create),
        ("dashboard", DashboardCommand.Create),
        ("envs", EnvsCommand.Create),
        ("eval", EvalCommand.Create),
        ("explain", ExplainCommand.Create),
        ("export", ExportCommand.Create),
        ("info", InfoCommand.Create),
        ("list", ListCommand.Create),
        ("lm", LmCommand.Create),
        ("mpi", MpiCommand.Create),
        ("render", RenderCommand.Create),
        ("rlhf", RlhfCommand.Create),
        ("serve-env", ServeEnvCommand.Create),
        ("textbook", TextbookCommand.Create),
        ("train", TrainCommand.Create),
    ];

    /// <summary>Builds the whole command tree.</summary>
    public static RootCommand BuildRoot() => BuildRoot(null);

    /// <summary>
    /// Builds the command tree, or, when <paramref name="commandName"/> names a command, the root with that command alone:
    /// building every command's options compiles their code, for commands it does not run (measured: `reinforce info`
    /// 0.15-0.19 s → 0.11-0.13 s; `reinforce train CartPole-v1` 15 ms less before training). Anything else (no words, an option such as --help, a misspelt command) gets the whole tree, so help
    /// and "did you mean" suggestions list every command.
    /// </summary>
    internal static RootCommand BuildRoot(string? commandName)
    {
        var root = new RootCommand("Reinforce: policy-gradient reinforcement learning for .NET, in pure C#.");
        bool one = commandName is not null && Commands.Any(c => c.Name == commandName);
        foreach (var (name, create) in Commands)
            if (!one || name == commandName) root.Subcommands.Add(create());
        return root;
    }
}
