using System.Text.RegularExpressions;

namespace Reinforce.Cli;

/// <summary>Turns the parser's messages into plain words (no .NET type names such as System.Nullable`1[System.Int64]).</summary>
internal static partial class CommandLineErrors
{
    /// <summary>The message with every .NET type name replaced by what a user would type.</summary>
    public static string Friendly(string message) => TypeName().Replace(message, m => Describe(m.Value));

    private static string Describe(string typeName)
    {
        string inner = typeName.Contains('[', StringComparison.Ordinal) ? typeName[(typeName.IndexOf('[', StringComparison.Ordinal) + 1)..].TrimEnd(']') : typeName;
        return inner switch
        {
            "System.Int32" or "System.Int64" => "a whole number",
            "System.Single" or "System.Double" => "a number",
            "System.Boolean" => "true or false",
            "System.String" => "a text",
            _ => "a value of the right kind",
        };
    }

    [GeneratedRegex(@"System\.[\w`.]+(\[[^\]]*\])?")]
    private static partial Regex TypeName();
}
