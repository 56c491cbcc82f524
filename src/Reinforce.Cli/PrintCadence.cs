using System.Diagnostics;

namespace Reinforce.Cli;

/// <summary>
/// When a long command prints its next progress line: at its own milestones (the first step, every tenth, an
/// evaluation), and whenever <see cref="Every"/> has passed since the last line, so that output redirected to a file or
/// a CI log shows the run is alive however slow each step is.
/// </summary>
internal sealed class PrintCadence(Func<TimeSpan>? clock = null)
{
    /// <summary>The longest silence between two progress lines.</summary>
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(5);

    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private TimeSpan? _last;

    /// <summary>Whether to print now: at a <paramref name="milestone"/>, for the first line, or after <see cref="Every"/> of silence. Records the line when true.</summary>
    public bool Due(bool milestone)
    {
        var now = clock?.Invoke() ?? _watch.Elapsed;
        if (!milestone && _last is TimeSpan last && now - last < Every) return false;
        _last = now;
        return true;
    }
}
