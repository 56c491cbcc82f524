namespace Reinforce.Envs;

/// <summary>
/// An environment returned something a learner cannot use: a NaN or infinite reward or observation. The message names
/// the environment, the copy and the step; <see cref="Copy"/> and <see cref="VectorStep"/> give them to code.
/// </summary>
public sealed class EnvironmentOutputException : Exception
{
    /// <summary>An exception about copy <paramref name="copy"/> of <paramref name="environment"/> at vector step <paramref name="vectorStep"/>.</summary>
    public EnvironmentOutputException(string environment, int copy, long vectorStep, string message) : base(message)
    {
        Environment = environment;
        Copy = copy;
        VectorStep = vectorStep;
    }

    /// <summary>An exception with a message only.</summary>
    public EnvironmentOutputException(string message) : base(message) => Environment = "";

    /// <summary>An exception with a message and its cause.</summary>
    public EnvironmentOutputException(string message, Exception innerException) : base(message, innerException) => Environment = "";

    /// <summary>An exception with the default message.</summary>
    public EnvironmentOutputException() => Environment = "";

    /// <summary>The environment's name.</summary>
    public string Environment { get; }

    /// <summary>The copy (index in the vector environment) that returned the value.</summary>
    public int Copy { get; }

    /// <summary>The vector step (counted from the last seeded reset) at which it did.</summary>
    public long VectorStep { get; }
}
