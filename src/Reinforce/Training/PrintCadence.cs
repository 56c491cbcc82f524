using System.Diagnostics;

namespace Reinforce.Training;

/// <summary>
/// When a long job prints its next progress line: at its own milestones (the first step, every tenth, an
/// evaluation), and whenever <see cref="Every"/> has passed since the last line, so that output redirected to a file or
/// a CI log shows the run is alive however slow each step is. The one rule for every progress printer (training
/// lines, the language-model and RLHF runs, and the command line's heartbeat for steps that report nothing).
/// Thread-safe: a timer may ask while the job's own loop prints.
/// </summary>
public sealed class PrintCadence(Func<TimeSpan>? clock = null)
{
    /// <summary>The longest silence between two progress lines (five seconds; tests shorten it).</summary>
    public static TimeSpan Every { get; internal set; } = TimeSpan.FromSeconds(5);

    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly Lock _lock = new();
    private TimeSpan? _last;

    /// <summary>The time on this cadence's clock (since it was made, unless a clock was given).</summary>
    public TimeSpan Now => clock?.Invoke() ?? _watch.Elapsed;

    /// <summary>Whether to print now: at a <paramref name="milestone"/>, for the first line, or after <see cref="Every"/> of silence. Records the line when true.</summary>
    public bool Due(bool milestone)
    {
        lock (_lock)
        {
            var now = Now;
            if (!milestone && _last is TimeSpan last && now - last < Every) return false;
            _last = now;
            return true;
        }
    }

    /// <summary>Records a line printed by someone else, so the silence counts from now.</summary>
    public void Printed() => Due(milestone: true);
}
