using Reinforce.Training;

namespace Reinforce.Tests.Training;

/// <summary>Long commands print a progress line at their milestones and after at most five seconds of silence (a clock the test moves).</summary>
[Collection("Console")]   // RedirectedProgressTests shortens PrintCadence.Every; this test needs the five seconds
public sealed class PrintCadenceTests
{
    [Fact]
    public void A_line_is_due_at_milestones_first_and_after_five_silent_seconds()
    {
        var now = TimeSpan.Zero;
        var cadence = new PrintCadence(() => now);
        Assert.True(cadence.Due(milestone: false));          // the first step always prints
        now = TimeSpan.FromSeconds(4.9);
        Assert.False(cadence.Due(milestone: false));
        Assert.True(cadence.Due(milestone: true));           // a milestone prints at once and restarts the silence
        now = TimeSpan.FromSeconds(9.8);
        Assert.False(cadence.Due(milestone: false));
        now = TimeSpan.FromSeconds(9.9);
        Assert.True(cadence.Due(milestone: false));          // five seconds without a line
        Assert.False(cadence.Due(milestone: false));
    }
}
