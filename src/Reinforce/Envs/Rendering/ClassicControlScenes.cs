using System.Globalization;
using Reinforce.Envs.ClassicControl;
using Reinforce.Envs.Textbook;

namespace Reinforce.Envs.Rendering;

/// <summary>
/// The drawings of the classic control environments, laid out as Gymnasium's pygame renderers lay them out
/// (same canvas sizes, scales and colours), from a physical state.
/// </summary>
public static class ClassicControlScenes
{
    private static readonly Rgb PoleColor = new(202, 152, 101);
    private static readonly Rgb AxleColor = new(129, 132, 203);
    private static readonly Rgb LinkColor = new(0, 204, 204);
    private static readonly Rgb JointColor = new(204, 204, 0);
    private static readonly Rgb WheelColor = new(128, 128, 128);
    private static readonly Rgb PendulumColor = new(204, 77, 77);

    /// <summary>CartPole from <c>[x, ẋ, θ, θ̇]</c>: a 600 × 400 canvas, the track at height 100, the cart 50 × 30, the pole 10 wide.</summary>
    public static Scene CartPole(ReadOnlySpan<double> state)
    {
        const double width = 600, height = 400, worldWidth = Envs.ClassicControl.CartPole.XThreshold * 2, scale = width / worldWidth;
        const double poleWidth = 10, poleLength = scale * 1.0, cartWidth = 50, cartHeight = 30, cartY = 100, axleOffset = cartHeight / 4.0;
        double cartX = state[0] * scale + width / 2.0;
        var shapes = new List<Shape>
        {
            new PolylineShape([new(0, cartY), new(width, cartY)], 1, Rgb.Black),
            new PolygonShape(Rect(cartX - cartWidth / 2, cartY - cartHeight / 2, cartX + cartWidth / 2, cartY + cartHeight / 2), Rgb.Black),
        };
        // The pole: a rectangle from the axle, rotated clockwise by θ (pygame's rotate_rad(-θ) in a y-up frame).
        double theta = state[2];
        var pole = new List<Point2>();
        foreach (var (px, py) in new[] { (-poleWidth / 2, -poleWidth / 2), (-poleWidth / 2, poleLength - poleWidth / 2), (poleWidth / 2, poleLength - poleWidth / 2), (poleWidth / 2, -poleWidth / 2) })
        {
            var r = Rotate(px, py, -theta);
            pole.Add(new Point2(r.X + cartX, r.Y + cartY + axleOffset));
        }
        shapes.Add(new PolygonShape(pole, PoleColor));
        shapes.Add(new CircleShape(new Point2(cartX, cartY + axleOffset), poleWidth / 2, AxleColor));
        return new Scene(width, height, shapes, Caption(("x", state[0]), ("x_dot", state[1]), ("theta", state[2]), ("theta_dot", state[3])));
    }

    /// <summary>Acrobot from <c>[θ₁, θ₂, θ̇₁, θ̇₂]</c>: a 500 × 500 canvas centred on the pivot, links 0.2 wide, the target line one link above the pivot.</summary>
    public static Scene Acrobot(ReadOnlySpan<double> state)
    {
        const double size = 500, bound = 2.2, scale = size / (bound * 2), offset = size / 2;
        double t1 = state[0], t2 = state[1];
        var p0 = new Point2(0, 0);
        var p1 = new Point2(Math.Sin(t1), -Math.Cos(t1));
        var p2 = new Point2(p1.X + Math.Sin(t1 + t2), p1.Y - Math.Cos(t1 + t2));
        Point2 Px(Point2 p) => new(p.X * scale + offset, p.Y * scale + offset);
        var shapes = new List<Shape> { new PolylineShape([Px(new(-bound, 1)), Px(new(bound, 1))], 1, Rgb.Black) };
        foreach (var (from, angle) in new[] { (p0, t1 - Math.PI / 2), (p1, t1 + t2 - Math.PI / 2) })
        {
            var link = new List<Point2>();
            foreach (var (lx, ly) in new[] { (0.0, -0.1), (0.0, 0.1), (1.0, 0.1), (1.0, -0.1) })
            {
                var r = Rotate(lx, ly, angle);
                link.Add(Px(new Point2(from.X + r.X, from.Y + r.Y)));
            }
            shapes.Add(new PolygonShape(link, LinkColor));
            shapes.Add(new CircleShape(Px(from), 0.1 * scale, JointColor));
        }
        return new Scene(size, size, shapes, Caption(("theta1", t1), ("theta2", t2), ("dtheta1", state[2]), ("dtheta2", state[3])));
    }

    /// <summary>A mountain car from <c>[position, velocity]</c>: a 600 × 400 canvas, the hill y = 0.45 sin 3x + 0.55, the flag at <paramref name="goalPosition"/>.</summary>
    public static Scene MountainCar(ReadOnlySpan<double> state, double goalPosition)
    {
        const double width = 600, height = 400, min = Envs.ClassicControl.MountainCar.MinPosition, max = Envs.ClassicControl.MountainCar.MaxPosition;
        const double scale = width / (max - min), carWidth = 40, carHeight = 20, clearance = 10;
        static double HeightAt(double x) => Math.Sin(3 * x) * 0.45 + 0.55;
        var hill = new List<Point2>();
        for (int i = 0; i < 100; i++)
        {
            double x = min + (max - min) * i / 99.0;
            hill.Add(new Point2((x - min) * scale, HeightAt(x) * scale));
        }
        double pos = state[0];
        double angle = Math.Cos(3 * pos);
        double baseX = (pos - min) * scale, baseY = clearance + HeightAt(pos) * scale;
        var car = new List<Point2>();
        foreach (var (cx, cy) in new[] { (-carWidth / 2, 0.0), (-carWidth / 2, carHeight), (carWidth / 2, carHeight), (carWidth / 2, 0.0) })
        {
            var r = Rotate(cx, cy, angle);
            car.Add(new Point2(r.X + baseX, r.Y + baseY));
        }
        var shapes = new List<Shape> { new PolylineShape(hill, 1.5, Rgb.Black), new PolygonShape(car, Rgb.Black) };
        foreach (double wx in new[] { carWidth / 4, -carWidth / 4 })
        {
            var r = Rotate(wx, 0, angle);
            shapes.Add(new CircleShape(new Point2(r.X + baseX, r.Y + baseY), carHeight / 2.5, WheelColor));
        }
        double flagX = (goalPosition - min) * scale, flagY1 = HeightAt(goalPosition) * scale, flagY2 = flagY1 + 50;
        shapes.Add(new PolylineShape([new(flagX, flagY1), new(flagX, flagY2)], 1.5, Rgb.Black));
        shapes.Add(new PolygonShape([new(flagX, flagY2), new(flagX, flagY2 - 10), new(flagX + 25, flagY2 - 5)], JointColor));
        return new Scene(width, height, shapes, Caption(("position", state[0]), ("velocity", state[1])));
    }

    /// <summary>Pendulum from <c>[θ, θ̇]</c> (θ = 0 upright): a 500 × 500 canvas, the rod 0.2 wide, an arc showing the last torque.</summary>
    public static Scene Pendulum(ReadOnlySpan<double> state, double? torque)
    {
        const double size = 500, bound = 2.2, scale = size / (bound * 2), offset = size / 2;
        const double rodLength = scale, rodWidth = 0.2 * scale;
        double angle = state[0] + Math.PI / 2;
        var rod = new List<Point2>();
        foreach (var (rx, ry) in new[] { (0.0, -rodWidth / 2), (0.0, rodWidth / 2), (rodLength, rodWidth / 2), (rodLength, -rodWidth / 2) })
        {
            var r = Rotate(rx, ry, angle);
            rod.Add(new Point2(r.X + offset, r.Y + offset));
        }
        var end = Rotate(rodLength, 0, angle);
        var shapes = new List<Shape>
        {
            new PolygonShape(rod, PendulumColor),
            new CircleShape(new Point2(offset, offset), rodWidth / 2, PendulumColor),
            new CircleShape(new Point2(end.X + offset, end.Y + offset), rodWidth / 2, PendulumColor),
        };
        if (torque is double u && u != 0)
        {
            // An arc around the axle, longer for a stronger torque, counter-clockwise for a positive one.
            double radius = 0.35 * scale, sweep = Math.Abs(u) / Envs.ClassicControl.Pendulum.MaxTorque * Math.PI * 0.75;
            var arc = new List<Point2>();
            for (int i = 0; i <= 24; i++)
            {
                double a = Math.PI / 2 + Math.Sign(u) * sweep * i / 24;
                arc.Add(new Point2(offset + radius * Math.Cos(a), offset + radius * Math.Sin(a)));
            }
            shapes.Add(new PolylineShape(arc, 4, Rgb.Black));
        }
        shapes.Add(new CircleShape(new Point2(offset, offset), 0.05 * scale, Rgb.Black));
        var caption = Caption(("theta", state[0]), ("theta_dot", state[1]));
        if (torque is double t) caption += string.Create(CultureInfo.InvariantCulture, $"  torque {t:0.000}");
        return new Scene(size, size, shapes, caption);
    }

    /// <summary>The short corridor: four cells in a row (the second marked as reversed), the agent in its cell, the goal on the right.</summary>
    public static Scene ShortCorridor(int state)
    {
        const double cell = 100, width = 4 * cell + 20, height = 140;
        var shapes = new List<Shape>();
        for (int i = 0; i < 4; i++)
        {
            double x0 = 10 + i * cell;
            Rgb fill = i == Envs.Textbook.ShortCorridor.TerminalState ? new Rgb(120, 200, 120) : i == 1 ? new Rgb(230, 190, 120) : new Rgb(220, 220, 220);
            shapes.Add(new PolygonShape(Rect(x0 + 15, 30, x0 + cell - 15, 110), fill));
        }
        shapes.Add(new CircleShape(new Point2(10 + state * cell + cell / 2, 70), 25, new Rgb(40, 80, 200)));
        string where = state == Envs.Textbook.ShortCorridor.TerminalState ? "goal" : state == 1 ? "state 1 (actions reversed)" : $"state {state}";
        return new Scene(width, height, shapes, $"short corridor: {where}");
    }

    private static List<Point2> Rect(double x0, double y0, double x1, double y1) => [new(x0, y0), new(x0, y1), new(x1, y1), new(x1, y0)];

    private static (double X, double Y) Rotate(double x, double y, double radians)
    {
        (double s, double c) = Math.SinCos(radians);
        return (x * c - y * s, x * s + y * c);
    }

    private static string Caption(params (string Name, double Value)[] values) =>
        string.Join("  ", values.Select(v => string.Create(CultureInfo.InvariantCulture, $"{v.Name} {v.Value:0.0000}")));
}
