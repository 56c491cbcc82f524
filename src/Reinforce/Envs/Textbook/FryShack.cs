using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace Reinforce.Envs.Textbook;

/// <summary>
/// The fry-shack problem, the project's one-step teaching example (used by <c>reinforce explain fry-shack</c>).
/// You observe your hunger h ~ U[0, 1) (a <see cref="Box"/> [0, 1] of shape [1]) and pick a place to eat:
/// action 1 is <b>Norm's Fry Hut</b> ("Place B", which serves a large order with probability 0.8), action 0 is
/// <b>'Squatch's</b> ("Place A", a large order with probability 0.2). You are hungry when h &gt; 0.5. The reward is
/// +1 when the order fits (large and hungry, or small and not hungry) and −1 otherwise. Every episode is one step
/// (terminated after it). The best policy (B when hungry, A otherwise) earns 0.6 per episode on average; always
/// choosing one place earns 0.
/// </summary>
public sealed class FryShack : DiscreteEnvironment, IStatefulEnv
{
    /// <summary>The action for 'Squatch's, "Place A" (large order with probability 0.2).</summary>
    public const int PlaceA = 0;

    /// <summary>The action for Norm's Fry Hut, "Place B" (large order with probability 0.8).</summary>
    public const int PlaceB = 1;

    /// <summary>Probability of a large order at each place, indexed by action.</summary>
    public static ReadOnlySpan<double> LargeOrderProbability => [0.2, 0.8];

    /// <summary>Hunger above this is "hungry".</summary>
    public const double HungryAbove = 0.5;

    private float _hunger;

    /// <summary>Creates the environment; call Reset before stepping.</summary>
    public FryShack() : base("FryShack", new Box(0f, 1f, [1]), new Discrete(2)) { }

    /// <summary>The hunger of the current episode.</summary>
    public float Hunger => _hunger;

    /// <summary>Whether the last step served a large order.</summary>
    public bool LastOrderWasLarge { get; private set; }

    /// <summary>Sets the hunger (for teaching and tests) and allows stepping.</summary>
    public void SetHunger(float hunger)
    {
        if (!(hunger >= 0f && hunger <= 1f)) throw new ArgumentOutOfRangeException(nameof(hunger), hunger, $"{Name}: hunger is in [0, 1].");
        _hunger = hunger;
        MarkStarted();
    }

    /// <inheritdoc/>
    protected override void OnSaveState(EnvironmentStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_hunger);
        writer.Write(LastOrderWasLarge);
    }

    /// <inheritdoc/>
    protected override void OnLoadState(EnvironmentStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        _hunger = reader.ReadSingle();
        LastOrderWasLarge = reader.ReadBoolean();
    }

    /// <inheritdoc/>
    protected override void OnReset(Span<float> observation)
    {
        _hunger = Rng.NextFloat();
        observation[0] = _hunger;
    }

    /// <inheritdoc/>
    protected override StepOutcome OnStep(int action, Span<float> observation)
    {
        bool large = Rng.NextDouble() < LargeOrderProbability[action];
        bool hungry = _hunger > HungryAbove;
        LastOrderWasLarge = large;
        observation[0] = _hunger;
        return new StepOutcome(large == hungry ? 1.0 : -1.0, Terminated: true);
    }
}
