using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Envs.Rendering;
using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace Reinforce.Envs.ClassicControl;

/// <summary>
/// CartPole-v1 as in Gymnasium 1.x (Barto, Sutton and Anderson's cart-pole): push the cart left (action 0) or
/// right (action 1) with a force of 10 N to keep the pole upright. Explicit Euler steps of 0.02 s in double
/// precision; observation <c>[x, ẋ, θ, θ̇]</c> as float32; reward +1 on every step including the last;
/// terminated when |x| &gt; 2.4 or |θ| &gt; 12°. The start state is uniform on (−0.05, 0.05)⁴.
/// The registry adds the 500-step time limit (truncation) and the reward threshold 475.
/// </summary>
public sealed class CartPole : DiscreteEnvironment, IRenderable, IStatefulEnv
{
    private const double Gravity = 9.8;
    private const double MassCart = 1.0;
    private const double MassPole = 0.1;
    private const double TotalMass = MassPole + MassCart;
    private const double Length = 0.5; // half the pole's length
    private const double PoleMassLength = MassPole * Length;
    private const double ForceMag = 10.0;
    private const double Tau = 0.02;

    /// <summary>The pole angle beyond which the episode terminates: 12° in radians.</summary>
    public const double ThetaThresholdRadians = 12 * 2 * Math.PI / 360;

    /// <summary>The cart position beyond which the episode terminates.</summary>
    public const double XThreshold = 2.4;

    private double _x, _xDot, _theta, _thetaDot;

    /// <summary>Creates the environment; call Reset before stepping.</summary>
    public CartPole() : base("CartPole-v1", CreateObservationSpace(), new Discrete(2)) { }

    private static Box CreateObservationSpace()
    {
        // As Gymnasium: twice the termination thresholds, so the last observation of an episode is still in the space.
        float[] high = [(float)(XThreshold * 2), float.MaxValue, (float)(ThetaThresholdRadians * 2), float.MaxValue];
        return new Box(high.Select(h => -h).ToArray(), high);
    }

    /// <summary>The physical state <c>[x, ẋ, θ, θ̇]</c> in double precision.</summary>
    public double[] State => [_x, _xDot, _theta, _thetaDot];

    /// <summary>Sets the physical state <c>[x, ẋ, θ, θ̇]</c> (as Gymnasium's <c>env.unwrapped.state = …</c>) and allows stepping from it.</summary>
    public void SetState(ReadOnlySpan<double> state)
    {
        if (state.Length != 4) throw new ArgumentException($"{Name}: the state is [x, x_dot, theta, theta_dot], 4 values; got {state.Length}.", nameof(state));
        _x = state[0]; _xDot = state[1]; _theta = state[2]; _thetaDot = state[3];
        MarkStarted();
    }

    /// <inheritdoc/>
    protected override void OnSaveState(EnvironmentStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_x);
        writer.Write(_xDot);
        writer.Write(_theta);
        writer.Write(_thetaDot);
    }

    /// <inheritdoc/>
    protected override void OnLoadState(EnvironmentStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        _x = reader.ReadDouble();
        _xDot = reader.ReadDouble();
        _theta = reader.ReadDouble();
        _thetaDot = reader.ReadDouble();
    }

    /// <inheritdoc/>
    protected override void OnReset(Span<float> observation)
    {
        _x = Rng.Uniform(-0.05, 0.05);
        _xDot = Rng.Uniform(-0.05, 0.05);
        _theta = Rng.Uniform(-0.05, 0.05);
        _thetaDot = Rng.Uniform(-0.05, 0.05);
        WriteObservation(observation);
    }

    /// <inheritdoc/>
    [BypassReadyToRun]
    protected override StepOutcome OnStep(int action, Span<float> observation)
    {
        double force = action == 1 ? ForceMag : -ForceMag;
        (double sinTheta, double cosTheta) = Math.SinCos(_theta);

        // Same operation order as Gymnasium so the doubles agree to the last bit where libm agrees.
        double temp = (force + PoleMassLength * (_thetaDot * _thetaDot) * sinTheta) / TotalMass;
        double thetaAcc = (Gravity * sinTheta - cosTheta * temp) / (Length * (4.0 / 3.0 - MassPole * (cosTheta * cosTheta) / TotalMass));
        double xAcc = temp - PoleMassLength * thetaAcc * cosTheta / TotalMass;

        _x += Tau * _xDot;
        _xDot += Tau * xAcc;
        _theta += Tau * _thetaDot;
        _thetaDot += Tau * thetaAcc;

        bool terminated = _x < -XThreshold || _x > XThreshold || _theta < -ThetaThresholdRadians || _theta > ThetaThresholdRadians;
        WriteObservation(observation);
        return new StepOutcome(1.0, terminated);
    }

    [BypassReadyToRun]
    private void WriteObservation(Span<float> observation)
    {
        observation = observation[..4];
        observation[0] = (float)_x;
        observation[1] = (float)_xDot;
        observation[2] = (float)_theta;
        observation[3] = (float)_thetaDot;
    }

    /// <summary>The current state drawn as Gymnasium draws it (see <see cref="ClassicControlScenes"/>).</summary>
    public Scene Render() => ClassicControlScenes.CartPole([_x, _xDot, _theta, _thetaDot]);
}
