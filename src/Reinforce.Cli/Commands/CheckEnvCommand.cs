using System.CommandLine;
using Reinforce.Envs;

namespace Reinforce.Cli.Commands;

/// <summary>`reinforce check-env &lt;env&gt;`: run the environment checker on a registered environment.</summary>
internal static class CheckEnvCommand
{
    public static Command Create()
    {
        var env = new Argument<string>("env") { Description = "A registered environment id (see `reinforce envs`)." };
        var seed = new Option<int>("--seed") { Description = "Seed for the resets and random actions of the check.", DefaultValueFactory = _ => 0 };
        var steps = new Option<int>("--steps") { Description = "Most random steps to play.", DefaultValueFactory = _ => 1000 };
        var envAssembly = EnvironmentAssemblyOption.Create();
        var command = new Command("check-env", "Check that an environment keeps the contract (spaces, finite values, seeding, Reset/Step order), like Stable-Baselines3's check_env.")
        {
            env, seed, steps, envAssembly,
        };
        command.SetAction(parse =>
        {
            try
            {
                EnvironmentAssemblyOption.Apply(parse.GetValue(envAssembly));
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            return Run(parse.GetValue(env)!, parse.GetValue(seed), parse.GetValue(steps), Console.Out, Console.Error);
        });
        return command;
    }

    internal static int Run(string id, int seed, int steps, TextWriter output, TextWriter errors)
    {
        IEnvironment env;
        try
        {
            env = Environments.Make(id);
        }
        catch (KeyNotFoundException e)
        {
            errors.WriteLine(e.Message);
            return 2;
        }
        var problems = EnvChecker.Check(env, seed, steps);
        if (problems.Count == 0)
        {
            output.WriteLine($"{id}: no problems found.");
            return 0;
        }
        output.WriteLine($"{id}: {problems.Count} problem{(problems.Count == 1 ? "" : "s")}:");
        foreach (var p in problems) output.WriteLine("  - " + p);
        return 1;
    }
}
