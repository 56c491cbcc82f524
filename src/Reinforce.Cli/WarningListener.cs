using System.Diagnostics;
using System.Globalization;

namespace Reinforce.Cli;

/// <summary>
/// Prints the library's warnings (<see cref="Trace.TraceWarning(string)"/>, e.g. an environment returning absurdly large
/// rewards) on standard error as "warning: ...", and nothing else that goes through <see cref="Trace"/>.
/// </summary>
internal sealed class WarningListener : TraceListener
{
    /// <summary>Adds a listener writing to standard error, once per process.</summary>
    public static void Install()
    {
        if (Trace.Listeners.OfType<WarningListener>().Any()) return;
        Trace.Listeners.Add(new WarningListener());
    }

    /// <inheritdoc/>
    public override void Write(string? message) { }

    /// <inheritdoc/>
    public override void WriteLine(string? message) { }

    /// <inheritdoc/>
    public override void TraceEvent(TraceEventCache? eventCache, string source, TraceEventType eventType, int id, string? message)
    {
        if (eventType <= TraceEventType.Warning) Console.Error.WriteLine($"warning: {message}"); // the current standard error (tests redirect it)
    }

    /// <inheritdoc/>
    public override void TraceEvent(TraceEventCache? eventCache, string source, TraceEventType eventType, int id, string? format, params object?[]? args) =>
        TraceEvent(eventCache, source, eventType, id, args is null || args.Length == 0 ? format : string.Format(CultureInfo.InvariantCulture, format ?? "", args));
}
