using Reinforce.Cli;

namespace Reinforce.Tests;

public class CliSmokeTests
{
    [Fact]
    public void Root_command_lists_every_command_under_its_table_name()
    {
        var root = Program.BuildRoot();
        Assert.Equal(Program.Commands.Select(c => c.Name), root.Subcommands.Select(c => c.Name));
        Assert.Contains(root.Subcommands, c => c.Name == "info");
    }

    [Theory]
    [InlineData("train")]
    [InlineData("lm")]
    [InlineData("info")]
    public void A_command_word_builds_that_command_alone_and_parses_as_with_the_whole_tree(string name)
    {
        var alone = Program.BuildRoot(name);
        Assert.Equal([name], alone.Subcommands.Select(c => c.Name));
        string[] args = name switch
        {
            "train" => ["train", "CartPole-v1", "--steps", "1000", "--seed", "3"],
            "lm" => ["lm", "bench", "--threads", "1"],
            _ => [name],
        };
        var fromOne = alone.Parse(args);
        var fromAll = Program.BuildRoot().Parse(args);
        Assert.Empty(fromOne.Errors);
        Assert.Equal(fromAll.CommandResult.Command.Name, fromOne.CommandResult.Command.Name);
        Assert.Equal(fromAll.Tokens.Select(t => t.Value), fromOne.Tokens.Select(t => t.Value));
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("trian")]
    public void Anything_but_a_command_word_gets_the_whole_tree(string first)
    {
        var root = Program.BuildRoot(first);
        Assert.Equal(Program.Commands.Length, root.Subcommands.Count);
        Assert.Equal(Program.Commands.Length, Program.BuildRoot(null).Subcommands.Count);
    }
}
