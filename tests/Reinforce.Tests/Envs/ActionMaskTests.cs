using Reinforce.Envs;
using Reinforce.Envs.Vector;
using Reinforce.Envs.Wrappers;
using Reinforce.Spaces;

namespace Reinforce.Tests.Envs;

/// <summary>A line of 4 cells: action a moves to cell a, but only cells right of the current one are legal; at the last cell nothing is (unless the episode ends there).</summary>
internal sealed class RightOnly(bool endAtLastCell = true) : DiscreteEnvironment("RightOnly", new Box(0f, 3f, [1]), new Discrete(4)), IActionMaskEnv
{
    private int _cell;

    public void WriteActionMask(Span<bool> mask)
    {
        for (int a = 0; a < 4; a++) mask[a] = a > _cell;
    }

    protected override void OnReset(Span<float> observation)
    {
        _cell = 0;
        observation[0] = 0;
    }

    protected override StepOutcome OnStep(int action, Span<float> observation)
    {
        _cell = action;
        observation[0] = action;
        return new StepOutcome(1, endAtLastCell && _cell == 3);
    }
}

/// <summary>The same spaces as <see cref="RightOnly"/> without masks.</summary>
internal sealed class LineWithoutMasks() : DiscreteEnvironment("RightOnly", new Box(0f, 3f, [1]), new Discrete(4))
{
    protected override void OnReset(Span<float> observation) => observation[0] = 0;

    protected override StepOutcome OnStep(int action, Span<float> observation) => new(0, true);
}

public class ActionMaskTests
{
    [Fact]
    public void An_environment_exposes_its_legal_actions_through_wrappers()
    {
        var env = new TimeLimit<float[], int>(new RightOnly(), 10);
        env.Reset(0);
        Assert.True(ActionMasks.Supports(env));
        Assert.Equal([false, true, true, true], env.ActionMask());
        env.Step(2);
        Assert.Equal([false, false, false, true], env.ActionMask());
        Assert.False(ActionMasks.Supports(new TimeLimit<float[], int>(new Reinforce.Envs.ClassicControl.CartPole(), 10)));
        Assert.Throws<InvalidOperationException>(() => new Reinforce.Envs.ClassicControl.CartPole().ActionMask());
    }

    [Fact]
    public void A_vector_environment_batches_masks_for_the_current_observations_including_after_auto_reset()
    {
        using var vector = new SyncVectorEnv([new RightOnly(), new RightOnly()]);
        Assert.Equal(4, vector.ActionMaskSize);
        vector.Reset(0);
        Assert.Equal([false, true, true, true, false, true, true, true], vector.ActionMasks.ToArray());
        vector.Step([3, 1]); // copy 0 ends (auto-reset: the mask is the new episode's first state)
        Assert.True(vector.Terminated[0]);
        Assert.Equal([false, true, true, true, false, false, true, true], vector.ActionMasks.ToArray());
        IVectorEnv plain = new SyncVectorEnv([new Reinforce.Envs.ClassicControl.CartPole()]);
        Assert.Equal(0, plain.ActionMaskSize);
        Assert.True(plain.ActionMasks.IsEmpty);
        plain.Dispose();
    }

    [Fact]
    public void A_state_with_no_legal_action_is_an_error_naming_the_environment_and_the_step()
    {
        using var vector = new SyncVectorEnv([new RightOnly(), new RightOnly(endAtLastCell: false)]);
        vector.Reset(0);
        vector.Step([1, 2]);
        var e = Assert.Throws<InvalidOperationException>(() => vector.Step([2, 3]));
        Assert.StartsWith("RightOnly x2: environment 1 (RightOnly): the action mask allows no action at step 2 of its episode.", e.Message);
        Assert.Contains("end the episode (terminated) when the player has no move", e.Message);
    }

    [Fact]
    public void Mixing_copies_with_and_without_masks_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new SyncVectorEnv([new RightOnly(), new LineWithoutMasks()]));
        Assert.Contains("provides no action masks but others do", e.Message);
    }
}
