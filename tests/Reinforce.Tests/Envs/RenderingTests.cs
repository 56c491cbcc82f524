using System.Xml.Linq;
using Reinforce.Cli.Commands;
using Reinforce.Envs;
using Reinforce.Envs.Rendering;
using Reinforce.Envs.ClassicControl;
using Reinforce.Envs.Textbook;

namespace Reinforce.Tests.Envs;

public class RenderingTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    public static TheoryData<string> Drawable => new() { "CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1", "ShortCorridor" };

    private static Scene RenderAfterReset(string id)
    {
        var env = Environments.MakeUnwrapped(id);
        switch (env)
        {
            case IEnvironment<float[], int> d: d.Reset(3); break;
            case IEnvironment<float[], float[]> c: c.Reset(3); break;
        }
        return ((IRenderable)env).Render();
    }

    [Theory]
    [MemberData(nameof(Drawable))]
    public void Every_drawable_environment_gives_a_well_formed_svg_frame(string id)
    {
        var scene = RenderAfterReset(id);
        var doc = XDocument.Parse(SvgRenderer.Frame(scene));
        Assert.Equal(Svg + "svg", doc.Root!.Name);
        Assert.Equal(scene.Shapes.Count, doc.Root.Elements().Count(e => e.Name.LocalName is "polygon" or "polyline" or "circle"));
        Assert.Equal(scene.Caption, doc.Root.Element(Svg + "text")!.Value);
    }

    [Theory]
    [MemberData(nameof(Drawable))]
    public void Every_drawable_environment_draws_in_the_terminal(string id)
    {
        var scene = RenderAfterReset(id);
        string text = TerminalRenderer.Render(scene, columns: 40, color: false);
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(scene.Caption, lines[^1]);
        Assert.All(lines[..^1], l => Assert.Equal(40, l.Length));
        Assert.Contains(lines[..^1], l => l.Any(c => c >= '\u2801' && c <= '\u28FF'));
        Assert.DoesNotContain('\u001b', text);
        Assert.Contains('\u001b', TerminalRenderer.Render(scene, 40, color: true));
    }

    [Fact]
    public void CartPole_pole_leans_the_way_theta_says()
    {
        foreach (double theta in new[] { 0.15, -0.15 })
        {
            var scene = ClassicControlScenes.CartPole([0, 0, theta, 0]);
            var pole = (PolygonShape)scene.Shapes[2];
            double baseX = (pole.Points[0].X + pole.Points[3].X) / 2, topX = (pole.Points[1].X + pole.Points[2].X) / 2;
            Assert.Equal(Math.Sign(theta), Math.Sign(topX - baseX)); // theta > 0: the pole leans right, towards +x
        }
    }

    [Fact]
    public void Acrobot_hangs_down_at_rest_and_its_tip_reaches_the_line_when_upright()
    {
        var down = ClassicControlScenes.Acrobot([0, 0, 0, 0]);
        var joint = (CircleShape)down.Shapes[4]; // the second link's joint, one link below the pivot
        Assert.Equal(250 - 500 / 4.4, joint.Center.Y, 6);
        var up = ClassicControlScenes.Acrobot([Math.PI, 0, 0, 0]);
        Assert.Equal(250 + 500 / 4.4, ((CircleShape)up.Shapes[4]).Center.Y, 6);
    }

    [Fact]
    public void Animated_svg_shows_each_frame_once_per_loop()
    {
        var env = new CartPole();
        env.Reset(0);
        var frames = new List<Scene> { env.Render() };
        for (int t = 0; t < 9; t++) { env.Step(t % 2); frames.Add(env.Render()); }
        var doc = XDocument.Parse(SvgRenderer.Animation(frames, framesPerSecond: 20));
        var groups = doc.Root!.Elements(Svg + "g").ToArray();
        Assert.Equal(10, groups.Length);
        for (int i = 0; i < groups.Length; i++)
        {
            var animate = groups[i].Element(Svg + "animate")!;
            Assert.Equal("0.5s", animate.Attribute("dur")!.Value);
            var keys = animate.Attribute("keyTimes")!.Value.Split(';').Select(double.Parse).ToArray();
            var values = animate.Attribute("values")!.Value.Split(';');
            Assert.Equal(values.Length, keys.Length);
            Assert.Equal(0.0, keys[0]);
            Assert.True(keys.Zip(keys.Skip(1)).All(p => p.First <= p.Second));
            int visible = Array.IndexOf(values, "visible");
            Assert.Equal(i / 10.0, keys[visible], 9); // frame i appears at i/n of the loop
        }
        var mismatched = Assert.Throws<ArgumentException>(() => SvgRenderer.Animation([frames[0], ClassicControlScenes.Pendulum([0, 0], null)]));
        Assert.StartsWith("Frame 1 is 500 x 500 but frame 0 is 600 x 400", mismatched.Message);
    }

    [Fact]
    public void Render_command_writes_a_frame_and_an_animation()
    {
        string dir = Path.Combine(Path.GetTempPath(), "reinforce-render-" + Guid.NewGuid().ToString("N"));
        try
        {
            var output = new StringWriter();
            var errors = new StringWriter();
            var settings = new RenderCommand.Settings("CartPole-v1", 0, 50, Path.Combine(dir, "frame.svg"), Path.Combine(dir, "episode.svg"), 30, 40, Live: false, Color: false);
            Assert.Equal(0, RenderCommand.Run(settings, output, errors));
            Assert.Contains("CartPole-v1: ", output.ToString());
            Assert.Equal(Svg + "svg", XDocument.Load(Path.Combine(dir, "frame.svg")).Root!.Name);
            Assert.True(XDocument.Load(Path.Combine(dir, "episode.svg")).Root!.Elements(Svg + "g").Count() > 1);
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
            Assert.Equal(2, RenderCommand.Run(settings with { Env = "FryShack" }, output, errors));
            Assert.Contains("FryShack cannot be drawn", errors.ToString());
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Envs_and_check_env_commands_report_the_registry()
    {
        var output = new StringWriter();
        Assert.Equal(0, EnvsCommand.Run(output));
        Assert.Contains("CartPole-v1", output.ToString());
        Assert.Contains("475", output.ToString());
        var check = new StringWriter();
        Assert.Equal(0, CheckEnvCommand.Run("Acrobot-v1", 0, 300, check, TextWriter.Null));
        Assert.Equal("Acrobot-v1: no problems found.", check.ToString().Trim());
        Assert.Equal(2, CheckEnvCommand.Run("Nope-v0", 0, 10, TextWriter.Null, TextWriter.Null));
        var root = Reinforce.Cli.Program.BuildRoot();
        Assert.Contains(root.Subcommands, c => c.Name == "render");
        Assert.Contains(root.Subcommands, c => c.Name == "envs");
        Assert.Contains(root.Subcommands, c => c.Name == "check-env");
    }
}
