using Reinforce.Envs;
using Reinforce.Envs.Textbook;

namespace Reinforce.Explain;

/// <summary>
/// The two places the fry-shack network chooses between. The numbers are the action indices of the
/// registered <c>FryShack</c> environment: 0 = 'Squatch's ("Place A", small portions),
/// 1 = Norm's Fry Hut ("Place B", large portions).
/// </summary>
public enum FryShackPlace
{
    /// <summary>'Squatch's, the blog series' "Place A": serves a large order only 20% of the time.</summary>
    Squatchs = FryShack.PlaceA,

    /// <summary>Norm's Fry Hut, the blog series' "Place B": serves a large order 80% of the time.</summary>
    NormsFryHut = FryShack.PlaceB,
}

/// <summary>The size of the order a place served.</summary>
public enum OrderSize
{
    /// <summary>A small order: the right thing when not hungry.</summary>
    Small = 0,

    /// <summary>A large order: the right thing when hungry.</summary>
    Large = 1,
}

/// <summary>
/// How the network turns its probability p (of Norm's) and a uniform draw u into a place. Both give
/// Norm's with probability p; they differ only in which draws map to which place, which matters when a
/// script replays given draws.
/// </summary>
public enum SamplingConvention
{
    /// <summary>The StatQuest notebook: Norm's Fry Hut when u &lt; p, otherwise 'Squatch's.</summary>
    StatQuest = 0,

    /// <summary>The blog series: Place A ('Squatch's) when u &lt; 1 − p (its probability), otherwise Place B (Norm's).</summary>
    Series = 1,
}

/// <summary>
/// The fry-shack world's rules, read from the registered <see cref="FryShack"/> environment (the one the general
/// algorithms train on): who serves large orders how often, when the eater is hungry, and the reward. The
/// explanation names them; a scripted replay applies them to given hunger values and orders.
/// </summary>
public static class FryShackWorld
{
    /// <summary>Norm's Fry Hut serves a large order with this probability (0.8).</summary>
    public static double NormsLargeOrderProbability => FryShack.LargeOrderProbability[FryShack.PlaceB];

    /// <summary>'Squatch's serves a large order with this probability (0.2).</summary>
    public static double SquatchsLargeOrderProbability => FryShack.LargeOrderProbability[FryShack.PlaceA];

    /// <summary>Hunger above this is "hungry" (a large order is wanted); at or below it a small order is wanted.</summary>
    public const double HungerThreshold = FryShack.HungryAbove;

    /// <summary>The probability that <paramref name="place"/> serves a large order.</summary>
    public static double LargeOrderProbability(FryShackPlace place) => place switch
    {
        FryShackPlace.NormsFryHut or FryShackPlace.Squatchs => FryShack.LargeOrderProbability[(int)place],
        _ => throw new ArgumentOutOfRangeException(nameof(place), place, "A fry-shack place is 'Squatch's (0) or Norm's Fry Hut (1)."),
    };

    /// <summary>Whether hunger <paramref name="hunger"/> counts as hungry (h &gt; 0.5).</summary>
    public static bool IsHungry(double hunger) => hunger > HungerThreshold;

    /// <summary>+1 when a large order meets a hungry eater or a small order a not-hungry one, otherwise −1.</summary>
    public static int Reward(OrderSize order, bool hungry) => (order == OrderSize.Large) == hungry ? 1 : -1;

    /// <summary>The order <paramref name="place"/> serves, given a uniform draw <paramref name="orderDraw"/> in [0, 1): large when the draw is below the place's large-order probability.</summary>
    public static OrderSize Serve(FryShackPlace place, double orderDraw) =>
        orderDraw < LargeOrderProbability(place) ? OrderSize.Large : OrderSize.Small;

    /// <summary>
    /// The place chosen from p = P(Norm's) and a uniform draw <paramref name="draw"/>, under <paramref name="convention"/>.
    /// </summary>
    public static FryShackPlace Choose(double probabilityNorms, double draw, SamplingConvention convention) => convention switch
    {
        SamplingConvention.StatQuest => draw < probabilityNorms ? FryShackPlace.NormsFryHut : FryShackPlace.Squatchs,
        SamplingConvention.Series => draw < 1.0 - probabilityNorms ? FryShackPlace.Squatchs : FryShackPlace.NormsFryHut,
        _ => throw new ArgumentOutOfRangeException(nameof(convention), convention, "The sampling convention is StatQuest or Series."),
    };

    /// <summary>The place a user reads about: "Norm's Fry Hut (Place B)" or "'Squatch's (Place A)".</summary>
    public static string Describe(FryShackPlace place) => place switch
    {
        FryShackPlace.NormsFryHut => "Norm's Fry Hut (Place B)",
        FryShackPlace.Squatchs => "'Squatch's (Place A)",
        _ => place.ToString(),
    };

    /// <summary>The short name for narrow tables: "Norm's (B)" or "'Squatch's (A)".</summary>
    public static string ShortName(FryShackPlace place) => place switch
    {
        FryShackPlace.NormsFryHut => "Norm's (B)",
        FryShackPlace.Squatchs => "'Squatch's (A)",
        _ => place.ToString(),
    };

    /// <summary>"large" or "small".</summary>
    public static string Describe(OrderSize order) => order == OrderSize.Large ? "large" : "small";
}
