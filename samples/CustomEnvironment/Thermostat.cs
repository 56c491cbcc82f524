using Reinforce.Envs;
using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace CustomEnvironment;

/// <summary>
/// A room heated through a day in 15-minute steps: keep it near 21 °C while the weather outside drifts.
/// Observation: [room temperature, outside temperature, hour of day / 24]. Actions: 0 heater off, 1 low, 2 high.
/// Reward: minus the distance from 21 °C, minus a little for the energy used. The episode never reaches a terminal
/// state; the registry's time limit (96 steps = one day) truncates it.
/// Deriving from DiscreteEnvironment gives seeding, action checks, Reset/Step order checks and allocation-free
/// stepping inside vector environments; only OnReset and OnStep are ours. [RegisterEnvironment] registers it when the
/// CLI loads this assembly (<c>reinforce train Thermostat-v0 --env-assembly CustomEnvironment.dll</c>); IStatefulEnv
/// (OnSaveState/OnLoadState) lets checkpoints save its state instead of replaying every action.
/// </summary>
[RegisterEnvironment("Thermostat-v0", MaxEpisodeSteps = 96, Description = "Keep a room near 21 °C through a day; Discrete(3); the CustomEnvironment sample.")]
public sealed class Thermostat() : DiscreteEnvironment(
    "Thermostat",
    new Box([-10f, -30f, 0f], [45f, 45f, 1f]),
    new Discrete(3)), IStatefulEnv
{
    private const double Target = 21.0;
    private static readonly double[] HeaterPower = [0.0, 0.6, 1.4]; // °C added per step at each setting

    private double _room, _outside;
    private int _step;

    /// <inheritdoc/>
    protected override void OnReset(Span<float> observation)
    {
        // All randomness comes from Rng, which Reset(seed) seeds: the same seed gives the same day.
        _room = Rng.Uniform(12, 20);
        _outside = Rng.Uniform(-5, 12);
        _step = 0;
        Observe(observation);
    }

    /// <inheritdoc/>
    protected override StepOutcome OnStep(int action, Span<float> observation)
    {
        _outside += Rng.NextGaussian(0, 0.3);
        _room += 0.08 * (_outside - _room) + HeaterPower[action]; // heat leaks out, the heater puts it back
        _step++;
        Observe(observation);
        double reward = -Math.Abs(_room - Target) - 0.05 * action;
        return new StepOutcome(reward, Terminated: false);
    }

    /// <inheritdoc/>
    protected override void OnSaveState(EnvironmentStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_room);
        writer.Write(_outside);
        writer.Write(_step);
    }

    /// <inheritdoc/>
    protected override void OnLoadState(EnvironmentStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        _room = reader.ReadDouble();
        _outside = reader.ReadDouble();
        _step = reader.ReadInt32();
    }

    private void Observe(Span<float> observation)
    {
        observation[0] = (float)Math.Clamp(_room, -10, 45);
        observation[1] = (float)Math.Clamp(_outside, -30, 45);
        observation[2] = _step % 96 / 96f;
    }
}
