using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace Reinforce.Envs.Textbook;

/// <summary>
/// Sutton and Barto's k-armed bandit testbed (§2.3, §2.7–2.8): each problem draws true values
/// q*(a) ~ N(<see cref="Mean"/>, 1) for its k arms; pulling arm a pays a reward ~ N(q*(a), 1). Figure 2.5 uses
/// k = 10 and mean +4. One pull is one episode (terminated after the step), so episodic learners see the
/// bandit as a repeated one-step problem; the observation is the constant <c>[1]</c>. The problem (the q* values)
/// is drawn anew by every <em>seeded</em> Reset (and by the first Reset); an unseeded Reset keeps it, so a run is
/// "one seed, many pulls", and a vector environment seeded once holds one independent problem per environment.
/// <see cref="OptimalAction"/> lets training report the % optimal action of Figure 2.5.
/// </summary>
public sealed class KArmedBandit : DiscreteEnvironment, IStatefulEnv
{
    private readonly double[] _trueValues;
    private bool _hasProblem;

    /// <summary>Creates a testbed bandit with <paramref name="arms"/> arms whose true values are drawn around <paramref name="mean"/>.</summary>
    public KArmedBandit(int arms = 10, double mean = 0.0)
        : base($"Bandit-{arms}arm", new Box(1f, 1f, [1]), new Discrete(CheckArms(arms)))
    {
        if (!double.IsFinite(mean)) throw new ArgumentOutOfRangeException(nameof(mean), mean, "The bandit's mean true value must be a finite number.");
        Mean = mean;
        _trueValues = new double[arms];
    }

    private static int CheckArms(int arms) => arms >= 2 ? arms : throw new ArgumentOutOfRangeException(nameof(arms), arms, "A bandit needs at least 2 arms.");

    /// <summary>The number of arms k.</summary>
    public int Arms => _trueValues.Length;

    /// <summary>The mean of the true-value distribution (0 in Figure 2.2, +4 in Figure 2.5).</summary>
    public double Mean { get; }

    /// <summary>The current problem's true values q*(a) (a copy).</summary>
    public double[] TrueValues => (double[])_trueValues.Clone();

    /// <summary>The arm with the highest true value (the lowest index on a tie).</summary>
    public int OptimalAction { get; private set; }

    /// <summary>Whether the last step pulled the optimal arm.</summary>
    public bool LastActionWasOptimal { get; private set; }

    /// <inheritdoc/>
    protected override void OnSaveState(EnvironmentStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_trueValues);
        writer.Write(_hasProblem);
        writer.Write(OptimalAction);
        writer.Write(LastActionWasOptimal);
    }

    /// <inheritdoc/>
    protected override void OnLoadState(EnvironmentStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.ReadInto(_trueValues);
        _hasProblem = reader.ReadBoolean();
        OptimalAction = reader.ReadInt32();
        LastActionWasOptimal = reader.ReadBoolean();
    }

    /// <inheritdoc/>
    protected override void OnReseeded() => _hasProblem = false;

    /// <inheritdoc/>
    protected override void OnReset(Span<float> observation)
    {
        if (!_hasProblem) DrawProblem();
        observation[0] = 1f;
    }

    /// <summary>Draws a new problem (new true values) from the environment's generator, without reseeding.</summary>
    public void NewProblem() => DrawProblem();

    private void DrawProblem()
    {
        int best = 0;
        for (int a = 0; a < _trueValues.Length; a++)
        {
            _trueValues[a] = Rng.NextGaussian(Mean, 1.0);
            if (_trueValues[a] > _trueValues[best]) best = a;
        }
        OptimalAction = best;
        _hasProblem = true;
    }

    /// <inheritdoc/>
    protected override StepOutcome OnStep(int action, Span<float> observation)
    {
        LastActionWasOptimal = action == OptimalAction;
        double reward = Rng.NextGaussian(_trueValues[action], 1.0);
        observation[0] = 1f;
        return new StepOutcome(reward, Terminated: true);
    }
}
