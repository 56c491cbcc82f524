using Reinforce.Envs.Rendering;
using Reinforce.Spaces;
using Reinforce.Envs.Vector;

namespace Reinforce.Envs.ClassicControl;

/// <summary>
/// Acrobot-v1 as in Gymnasium 1.x: two links hanging from a fixed pivot, a torque of −1, 0 or +1 (actions 0, 1, 2)
/// on the joint between them; swing the tip above the line one link-length above the pivot. The dynamics are
/// Sutton and Barto's book equations, integrated by one fourth-order Runge–Kutta step of 0.2 s in double
/// precision; angles are wrapped to [−π, π] and velocities bounded to ±4π and ±9π.
/// Observation <c>[cos θ₁, sin θ₁, cos θ₂, sin θ₂, θ̇₁, θ̇₂]</c> as float32; reward −1 per step and 0 on the
/// terminating step; terminated when <c>−cos θ₁ − cos(θ₁ + θ₂) &gt; 1</c>. The start state is uniform on
/// (−0.1, 0.1)⁴ rounded to float32 (as Gymnasium does). The registry adds the 500-step limit and threshold −100.
/// </summary>
public sealed class Acrobot : DiscreteEnvironment, IRenderable, IStatefulEnv
{
    private const double Dt = 0.2;
    private const double LinkLength1 = 1.0;
    private const double LinkMass1 = 1.0;
    private const double LinkMass2 = 1.0;
    private const double LinkComPos1 = 0.5;
    private const double LinkComPos2 = 0.5;
    private const double LinkMoi = 1.0;
    private const double G = 9.8;

    /// <summary>The bound on |θ̇₁|: 4π.</summary>
    public const double MaxVel1 = 4 * Math.PI;

    /// <summary>The bound on |θ̇₂|: 9π.</summary>
    public const double MaxVel2 = 9 * Math.PI;

    private double _theta1, _theta2, _dtheta1, _dtheta2;

    /// <summary>Creates the environment; call Reset before stepping.</summary>
    public Acrobot() : base("Acrobot-v1", CreateObservationSpace(), new Discrete(3)) { }

    private static Box CreateObservationSpace()
    {
        float[] high = [1f, 1f, 1f, 1f, (float)MaxVel1, (float)MaxVel2];
        return new Box(high.Select(h => -h).ToArray(), high);
    }

    /// <summary>The physical state <c>[θ₁, θ₂, θ̇₁, θ̇₂]</c> (θ₂ relative to the first link).</summary>
    public double[] State => [_theta1, _theta2, _dtheta1, _dtheta2];

    /// <summary>Sets the physical state <c>[θ₁, θ₂, θ̇₁, θ̇₂]</c> and allows stepping from it.</summary>
    public void SetState(ReadOnlySpan<double> state)
    {
        if (state.Length != 4) throw new ArgumentException($"{Name}: the state is [theta1, theta2, dtheta1, dtheta2], 4 values; got {state.Length}.", nameof(state));
        _theta1 = state[0]; _theta2 = state[1]; _dtheta1 = state[2]; _dtheta2 = state[3];
        MarkStarted();
    }

    /// <inheritdoc/>
    protected override void OnSaveState(EnvironmentStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_theta1);
        writer.Write(_theta2);
        writer.Write(_dtheta1);
        writer.Write(_dtheta2);
    }

    /// <inheritdoc/>
    protected override void OnLoadState(EnvironmentStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        _theta1 = reader.ReadDouble();
        _theta2 = reader.ReadDouble();
        _dtheta1 = reader.ReadDouble();
        _dtheta2 = reader.ReadDouble();
    }

    /// <inheritdoc/>
    protected override void OnReset(Span<float> observation)
    {
        // Gymnasium draws in double and stores float32 (`.astype(np.float32)`).
        _theta1 = (float)Rng.Uniform(-0.1, 0.1);
        _theta2 = (float)Rng.Uniform(-0.1, 0.1);
        _dtheta1 = (float)Rng.Uniform(-0.1, 0.1);
        _dtheta2 = (float)Rng.Uniform(-0.1, 0.1);
        WriteObservation(observation);
    }

    /// <inheritdoc/>
    protected override StepOutcome OnStep(int action, Span<float> observation)
    {
        double torque = action - 1; // AVAIL_TORQUE = [-1, 0, +1]

        // One classical Runge-Kutta step over [0, dt], written as Gymnasium's rk4 so rounding matches.
        const double dt2 = Dt / 2.0;
        double y0 = _theta1, y1 = _theta2, y2 = _dtheta1, y3 = _dtheta2;
        Derivatives(y0, y1, y2, y3, torque, out double k1a, out double k1b, out double k1c, out double k1d);
        Derivatives(y0 + dt2 * k1a, y1 + dt2 * k1b, y2 + dt2 * k1c, y3 + dt2 * k1d, torque, out double k2a, out double k2b, out double k2c, out double k2d);
        Derivatives(y0 + dt2 * k2a, y1 + dt2 * k2b, y2 + dt2 * k2c, y3 + dt2 * k2d, torque, out double k3a, out double k3b, out double k3c, out double k3d);
        Derivatives(y0 + Dt * k3a, y1 + Dt * k3b, y2 + Dt * k3c, y3 + Dt * k3d, torque, out double k4a, out double k4b, out double k4c, out double k4d);
        const double sixth = Dt / 6.0;
        double n0 = y0 + sixth * (k1a + 2 * k2a + 2 * k3a + k4a);
        double n1 = y1 + sixth * (k1b + 2 * k2b + 2 * k3b + k4b);
        double n2 = y2 + sixth * (k1c + 2 * k2c + 2 * k3c + k4c);
        double n3 = y3 + sixth * (k1d + 2 * k2d + 2 * k3d + k4d);

        _theta1 = Wrap(n0, -Math.PI, Math.PI);
        _theta2 = Wrap(n1, -Math.PI, Math.PI);
        _dtheta1 = Math.Min(Math.Max(n2, -MaxVel1), MaxVel1);
        _dtheta2 = Math.Min(Math.Max(n3, -MaxVel2), MaxVel2);

        bool terminated = -Math.Cos(_theta1) - Math.Cos(_theta2 + _theta1) > 1.0;
        WriteObservation(observation);
        return new StepOutcome(terminated ? 0.0 : -1.0, terminated);
    }

    /// <summary>The book's equations of motion (Sutton and Barto; Gymnasium's <c>_dsdt</c> with <c>book_or_nips = "book"</c>).</summary>
    private static void Derivatives(double theta1, double theta2, double dtheta1, double dtheta2, double a,
        out double d0, out double d1Out, out double d2Out, out double d3Out)
    {
        const double m1 = LinkMass1, m2 = LinkMass2, l1 = LinkLength1, lc1 = LinkComPos1, lc2 = LinkComPos2, I1 = LinkMoi, I2 = LinkMoi, g = G;
        double cosTheta2 = Math.Cos(theta2);
        double sinTheta2 = Math.Sin(theta2);
        double d1 = m1 * (lc1 * lc1) + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * cosTheta2) + I1 + I2;
        double d2 = m2 * (lc2 * lc2 + l1 * lc2 * cosTheta2) + I2;
        double phi2 = m2 * lc2 * g * Math.Cos(theta1 + theta2 - Math.PI / 2.0);
        double phi1 = -m2 * l1 * lc2 * (dtheta2 * dtheta2) * sinTheta2
                      - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sinTheta2
                      + (m1 * lc1 + m2 * l1) * g * Math.Cos(theta1 - Math.PI / 2)
                      + phi2;
        double ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * sinTheta2 - phi2) / (m2 * (lc2 * lc2) + I2 - d2 * d2 / d1);
        double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
        d0 = dtheta1;
        d1Out = dtheta2;
        d2Out = ddtheta1;
        d3Out = ddtheta2;
    }

    private static double Wrap(double x, double m, double big)
    {
        double diff = big - m;
        while (x > big) x -= diff;
        while (x < m) x += diff;
        return x;
    }

    private void WriteObservation(Span<float> observation)
    {
        observation = observation[..6];
        (double s1, double c1) = Math.SinCos(_theta1);
        (double s2, double c2) = Math.SinCos(_theta2);
        observation[0] = (float)c1;
        observation[1] = (float)s1;
        observation[2] = (float)c2;
        observation[3] = (float)s2;
        observation[4] = (float)_dtheta1;
        observation[5] = (float)_dtheta2;
    }

    /// <summary>The current state drawn as Gymnasium draws it (see <see cref="ClassicControlScenes"/>).</summary>
    public Scene Render() => ClassicControlScenes.Acrobot([_theta1, _theta2, _dtheta1, _dtheta2]);
}
