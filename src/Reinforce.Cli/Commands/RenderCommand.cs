using System.CommandLine;
using System.Runtime.CompilerServices;
using System.Globalization;
using Reinforce.Envs;
using Reinforce.Envs.Wrappers;
using Reinforce.Envs.Rendering;
using Reinforce.Spaces;
using Reinforce.Envs.ClassicControl;
using Reinforce.Envs.Textbook;

// The tests call the commands' Run methods directly (main's project file grants the same; duplicates are harmless).
[assembly: InternalsVisibleTo("Reinforce.Tests")]

namespace Reinforce.Cli.Commands;

/// <summary>`reinforce render &lt;env&gt;`: play an episode with random actions and show it in the terminal, as SVG or as an animated SVG.</summary>
internal static class RenderCommand
{
    public static Command Create()
    {
        var env = new Argument<string>("env") { Description = "A registered environment id, e.g. CartPole-v1 (see `reinforce envs`)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the reset and of the random actions.", DefaultValueFactory = _ => 0 };
        var steps = new Option<int>("--steps") { Description = "Most steps to play (the episode may end sooner).", DefaultValueFactory = _ => 200 };
        var svg = new Option<string?>("--svg") { Description = "Write the last frame as an SVG picture to this file." };
        var animate = new Option<string?>("--animate") { Description = "Write the whole episode as an animated SVG to this file." };
        var fps = new Option<double>("--fps") { Description = "Frames per second of --live and --animate.", DefaultValueFactory = _ => 30 };
        var width = new Option<int>("--width") { Description = "Width of the terminal picture in characters.", DefaultValueFactory = _ => 60 };
        var live = new Option<bool>("--live") { Description = "Animate the episode in the terminal (otherwise only the last frame is printed)." };
        var noColor = new Option<bool>("--no-color") { Description = "Plain text, no ANSI colours." };
        var command = new Command("render", "Play an episode with random actions and draw it: in the terminal, as an SVG frame or as an animated SVG.")
        {
            env, seed, steps, svg, animate, fps, width, live, noColor,
        };
        command.SetAction(parse => Run(new Settings(parse.GetValue(env)!, parse.GetValue(seed), parse.GetValue(steps), parse.GetValue(svg), parse.GetValue(animate),
            parse.GetValue(fps), parse.GetValue(width), parse.GetValue(live), !parse.GetValue(noColor) && !Console.IsOutputRedirected), Console.Out, Console.Error));
        return command;
    }

    internal sealed record Settings(string Env, int Seed, int Steps, string? Svg, string? Animate, double Fps, int Width, bool Live, bool Color);

    internal static int Run(Settings settings, TextWriter output, TextWriter errors)
    {
        if (settings.Steps <= 0 || settings.Width < 4 || !(settings.Fps > 0))
        {
            errors.WriteLine("error: --steps must be positive, --width at least 4 and --fps positive.");
            return 2;
        }
        IEnvironment env;
        try
        {
            env = Environments.Make(settings.Env);
        }
        catch (KeyNotFoundException e)
        {
            errors.WriteLine(e.Message);
            return 2;
        }
        if (env.Unwrapped() is not IRenderable renderable)
        {
            errors.WriteLine($"{settings.Env} cannot be drawn: {env.Unwrapped().GetType().Name} does not implement IRenderable. Drawable: CartPole-v1, Acrobot-v1, MountainCar-v0, MountainCarContinuous-v0, Pendulum-v1, ShortCorridor.");
            return 2;
        }

        var rng = new Rng(settings.Seed);
        Func<Step<float[]>> step = env switch
        {
            IEnvironment<float[], int> d when d.ActionSpace is Discrete space => () => d.Step(space.Sample(rng)),
            IEnvironment<float[], float[]> c when c.ActionSpace is Box space => () => c.Step(space.Sample(rng)),
            _ => throw new InvalidOperationException($"{settings.Env}: render plays Discrete or Box actions only."),
        };
        switch (env)
        {
            case IEnvironment<float[], int> d: d.Reset(settings.Seed); break;
            case IEnvironment<float[], float[]> c: c.Reset(settings.Seed); break;
        }

        var frames = new List<Scene> { renderable.Render() };
        double episodeReturn = 0;
        string ending = "step limit of this command";
        int t = 0;
        if (settings.Live) Show(frames[0], settings, output, clear: true);
        while (t < settings.Steps)
        {
            var s = step();
            t++;
            episodeReturn += s.Reward;
            frames.Add(renderable.Render());
            if (settings.Live)
            {
                Thread.Sleep(TimeSpan.FromSeconds(1 / settings.Fps));
                Show(frames[^1], settings, output, clear: true);
            }
            if (s.Terminated) { ending = "terminated"; break; }
            if (s.Truncated) { ending = "truncated by the time limit"; break; }
        }
        if (!settings.Live) Show(frames[^1], settings, output, clear: false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{settings.Env}: {t} steps with random actions (seed {settings.Seed}), return {episodeReturn:0.###}, {ending}."));

        if (settings.Svg is string svgPath)
        {
            SvgRenderer.Save(svgPath, SvgRenderer.Frame(frames[^1]));
            output.WriteLine($"Wrote the last frame to {Path.GetFullPath(svgPath)}");
        }
        if (settings.Animate is string animationPath)
        {
            SvgRenderer.Save(animationPath, SvgRenderer.Animation(frames, settings.Fps));
            output.WriteLine($"Wrote {frames.Count} frames to {Path.GetFullPath(animationPath)}");
        }
        return 0;
    }

    private static void Show(Scene scene, Settings settings, TextWriter output, bool clear)
    {
        if (clear && settings.Color) output.Write("\u001b[H\u001b[J");
        output.Write(TerminalRenderer.Render(scene, settings.Width, settings.Color));
    }
}
