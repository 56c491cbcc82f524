using System.Runtime.CompilerServices;
using System.Runtime;
using Reinforce.Envs.Rendering;
using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace Reinforce.Envs.ClassicControl;

/// <summary>
/// Pendulum-v1 as in Gymnasium 1.x: swing a pendulum up and hold it with a torque u ∈ [−2, 2] (clipped).
/// <c>θ̇ ← clip(θ̇ + (3g/2l·sin θ + 3/(ml²)·u)·dt, ±8)</c>, <c>θ ← θ + θ̇·dt</c> with g = 10, dt = 0.05, in double
/// precision. The reward is <c>−(norm(θ)² + 0.1·θ̇² + 0.001·u²)</c> computed from the state <em>before</em> the step
/// (norm wraps to [−π, π), 0 upright) and the clipped torque. Observation <c>[cos θ, sin θ, θ̇]</c> as float32;
/// never terminates. The start state is uniform on [−π, π) × [−1, 1). The registry adds the 200-step limit (no
/// reward threshold).
/// </summary>
public sealed class Pendulum : ContinuousEnvironment, IRenderable, IStatefulEnv
{
    /// <summary>The speed limit.</summary>
    public const double MaxSpeed = 8;

    /// <summary>The torque limit.</summary>
    public const double MaxTorque = 2.0;

    private const double Dt = 0.05;
    private const double M = 1.0;
    private const double L = 1.0;

    private readonly double _g;
    private double _theta, _thetaDot;

    /// <summary>Creates the environment with gravity <paramref name="g"/> (Gymnasium's default 10); call Reset before stepping.</summary>
    public Pendulum(double g = 10.0)
        : base("Pendulum-v1", new Box([-1f, -1f, (float)-MaxSpeed], [1f, 1f, (float)MaxSpeed]), new Box((float)-MaxTorque, (float)MaxTorque, [1]))
    {
        if (!double.IsFinite(g)) throw new ArgumentOutOfRangeException(nameof(g), g, "Pendulum gravity must be a finite number.");
        _g = g;
    }

    /// <summary>The physical state <c>[θ, θ̇]</c> (θ unwrapped; 0 is upright).</summary>
    public double[] State => [_theta, _thetaDot];

    /// <summary>The torque applied by the last step after clipping (null after Reset), for rendering.</summary>
    public double? LastTorque { get; private set; }

    /// <summary>Sets the physical state <c>[θ, θ̇]</c> and allows stepping from it.</summary>
    public void SetState(ReadOnlySpan<double> state)
    {
        if (state.Length != 2) throw new ArgumentException($"{Name}: the state is [theta, theta_dot], 2 values; got {state.Length}.", nameof(state));
        _theta = state[0];
        _thetaDot = state[1];
        LastTorque = null;
        MarkStarted();
    }

    /// <inheritdoc/>
    protected override void OnSaveState(EnvironmentStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_theta);
        writer.Write(_thetaDot);
        writer.Write(LastTorque is double t);
        writer.Write(LastTorque ?? 0.0);
    }

    /// <inheritdoc/>
    protected override void OnLoadState(EnvironmentStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        _theta = reader.ReadDouble();
        _thetaDot = reader.ReadDouble();
        bool hasTorque = reader.ReadBoolean();
        double torque = reader.ReadDouble();
        LastTorque = hasTorque ? torque : null;
    }

    /// <inheritdoc/>
    protected override void OnReset(Span<float> observation)
    {
        _theta = Rng.Uniform(-Math.PI, Math.PI);
        _thetaDot = Rng.Uniform(-1.0, 1.0);
        LastTorque = null;
        WriteObservation(observation);
    }

    /// <inheritdoc/>
    protected override StepOutcome OnStep(ReadOnlySpan<float> action, Span<float> observation)
    {
        double th = _theta, thDot = _thetaDot;
        double u = Math.Min(Math.Max(action[0], (float)-MaxTorque), (float)MaxTorque);
        LastTorque = u;
        double normalized = AngleNormalize(th);
        double costs = normalized * normalized + 0.1 * (thDot * thDot) + 0.001 * (u * u);

        double newThDot = thDot + (3 * _g / (2 * L) * Math.Sin(th) + 3.0 / (M * (L * L)) * u) * Dt;
        newThDot = Math.Min(Math.Max(newThDot, -MaxSpeed), MaxSpeed);
        double newTh = th + newThDot * Dt;

        _theta = newTh;
        _thetaDot = newThDot;
        WriteObservation(observation);
        return new StepOutcome(-costs, false);
    }

    /// <summary>Gymnasium's <c>((x + π) mod 2π) − π</c> with Python's floored modulo (the result takes the divisor's sign).</summary>
    internal static double AngleNormalize(double x)
    {
        const double twoPi = 2 * Math.PI;
        double a = x + Math.PI;
        double mod = a % twoPi; // C fmod
        if (mod != 0)
        {
            if (mod < 0) mod += twoPi;
        }
        else
        {
            mod = 0.0; // copysign(0, +2π)
        }
        return mod - Math.PI;
    }

    [BypassReadyToRun]
    private void WriteObservation(Span<float> observation)
    {
        observation = observation[..3];
        (double s, double c) = Math.SinCos(_theta);
        observation[0] = (float)c;
        observation[1] = (float)s;
        observation[2] = (float)_thetaDot;
    }

    /// <summary>The current state drawn as Gymnasium draws it (see <see cref="ClassicControlScenes"/>).</summary>
    public Scene Render() => ClassicControlScenes.Pendulum([_theta, _thetaDot], LastTorque);
}
