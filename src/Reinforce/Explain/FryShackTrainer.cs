using Reinforce.Envs;
using Reinforce.Envs.Textbook;

namespace Reinforce.Explain;

/// <summary>
/// Trains the fry-shack network's bias with rewards, one sample per update:
/// see hunger h, compute p = σ(w·h + b), pick a place with a uniform draw, get an order and a reward of ±1,
/// then b ← b − lr · reward · dCE/db with CE the cross-entropy of the place taken against an ideal probability of 1.
/// Every step records its numbers (<see cref="FryShackStep"/>), worked by hand in double precision and checked
/// against the engine's float32 autograd.
/// </summary>
public static class FryShackTrainer
{
    /// <summary>
    /// A run on the registered <see cref="FryShack"/> environment: each update is one episode, reset (seeded with
    /// <see cref="FryShackOptions.Seed"/> the first time) to give the hunger, stepped with the chosen place to give the
    /// order and the reward. The network's draws come from their own generator, derived from the same seed.
    /// </summary>
    public static FryShackRun Train(FryShackOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var env = new FryShack();
        // The network's draws have their own stream, so changing how it samples never changes what the world does.
        var agent = new Rng(Rng.DeriveSeed(unchecked((ulong)options.Seed), 1));
        var optimizer = BiasOptimizer.Create(options.Optimizer, options.InitialBias, options.LearningRate);
        var steps = new List<FryShackStep>(options.Updates);
        var trajectory = new List<double>(options.Updates + 1) { optimizer.Bias };
        for (int t = 1; t <= options.Updates; t++)
        {
            var (observation, _) = env.Reset(t == 1 ? options.Seed : null);
            double hunger = observation[0];
            double draw = agent.NextDouble();
            var step = Learn(t, options, optimizer, hunger, draw, place =>
            {
                var outcome = env.Step((int)place);
                var order = env.LastOrderWasLarge ? OrderSize.Large : OrderSize.Small;
                // The explanation states the reward rule; make sure it is the environment's.
                if (outcome.Reward != FryShackWorld.Reward(order, FryShackWorld.IsHungry(hunger)))
                    throw new InvalidOperationException($"The FryShack environment paid {outcome.Reward} for a {FryShackWorld.Describe(order)} order at hunger {hunger}, which the explanation's reward rule does not give.");
                return order;
            });
            steps.Add(step);
            trajectory.Add(step.BiasAfter);
        }
        return new FryShackRun { Options = options, Steps = steps, BiasTrajectory = trajectory };
    }

    /// <summary>
    /// Replays <paramref name="script"/>: its hunger values, draws and orders instead of random ones. Without
    /// <paramref name="options"/>, the script's own settings apply over the defaults; with them, they are used
    /// as given. The number of updates is always the number of scripted steps.
    /// </summary>
    public static FryShackRun Replay(FryShackScript script, FryShackOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(script);
        var settings = (options ?? script.ApplyTo(new FryShackOptions())) with { Updates = script.Steps.Count };
        settings.Validate();
        var optimizer = BiasOptimizer.Create(settings.Optimizer, settings.InitialBias, settings.LearningRate);
        var steps = new List<FryShackStep>(script.Steps.Count);
        var trajectory = new List<double>(script.Steps.Count + 1) { optimizer.Bias };
        for (int t = 1; t <= script.Steps.Count; t++)
        {
            var scripted = script.Steps[t - 1];
            var step = Learn(t, settings, optimizer, scripted.Hunger, scripted.Draw, _ => scripted.Order);
            steps.Add(step);
            trajectory.Add(step.BiasAfter);
        }
        return new FryShackRun { Options = settings, Script = script, Steps = steps, BiasTrajectory = trajectory };
    }

    /// <summary>One step of the learning rule, with every number kept.</summary>
    private static FryShackStep Learn(int update, FryShackOptions options, BiasOptimizer optimizer, double hunger, double draw, Func<FryShackPlace, OrderSize> serve)
    {
        double weight = options.Weight;
        double bias = optimizer.Bias;
        double p = FryShackNeuron.ProbabilityOfNorms(weight, bias, hunger);
        var place = FryShackWorld.Choose(p, draw, options.Convention);
        var order = serve(place);
        bool hungry = FryShackWorld.IsHungry(hunger);
        int reward = FryShackWorld.Reward(order, hungry);
        var hand = FryShackNeuron.HandChainRule(weight, bias, hunger, place);
        var engine = FryShackNeuron.EngineStep(weight, bias, hunger, place, reward);
        double biasAfter = optimizer.Step(reward * hand.DCeDb);
        return new FryShackStep
        {
            Update = update,
            Weight = weight,
            Hunger = hunger,
            BiasBefore = bias,
            Hand = hand,
            Draw = draw,
            Convention = options.Convention,
            Place = place,
            Order = order,
            Hungry = hungry,
            Reward = reward,
            Engine = engine,
            LearningRate = options.LearningRate,
            Optimizer = options.Optimizer,
            BiasAfter = biasAfter,
        };
    }
}
