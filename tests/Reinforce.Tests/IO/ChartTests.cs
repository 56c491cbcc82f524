using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Reinforce.IO;
using Reinforce.Envs.ClassicControl;

namespace Reinforce.Tests.IO;

public partial class SvgChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [GeneratedRegex(@"([ML])(-?[\d.]+),(-?[\d.]+)")]
    private static partial Regex PathPoint();

    private static List<(char Command, double X, double Y)> Points(XElement path) =>
        PathPoint().Matches((string)path.Attribute("d")!).Select(m => (m.Groups[1].Value[0],
            double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture))).ToList();

    private static ChartSeries Series(string name, int n, Func<int, double> y) =>
        new(name, Enumerable.Range(0, n).Select(i => (double)i * 1000).ToArray(), Enumerable.Range(0, n).Select(y).ToArray());

    [Fact]
    public void Chart_is_well_formed_svg_with_one_path_per_series_and_one_point_per_value()
    {
        var a = Series("PPO", 40, i => Math.Min(500, i * i));
        var b = Series("A2C", 25, i => 10 + 3 * i);
        string svg = SvgChart.Line("CartPole-v1", "environment steps", "episode return", [a, b], [new ReferenceLine(475, "threshold 475")]);

        var doc = XDocument.Parse(svg);
        Assert.Equal(Svg + "svg", doc.Root!.Name);
        var paths = doc.Descendants(Svg + "path").Where(p => (string?)p.Attribute("class") == "series").ToList();
        Assert.Equal(["PPO", "A2C"], paths.Select(p => (string)p.Attribute("data-series")!));
        Assert.Equal(40, Points(paths[0]).Count);
        Assert.Equal(25, Points(paths[1]).Count);
        Assert.Equal(1, Points(paths[0]).Count(p => p.Command == 'M'));

        var texts = doc.Descendants(Svg + "text").Select(t => t.Value).ToList();
        Assert.Contains("CartPole-v1", texts);
        Assert.Contains("environment steps", texts);
        Assert.Contains("episode return", texts);
        Assert.Contains("threshold 475", texts);
        Assert.Equal(["PPO", "A2C"], doc.Descendants(Svg + "text").Where(t => (string?)t.Attribute("class") == "legend-label").Select(t => t.Value));
        Assert.Single(doc.Descendants(Svg + "line"), l => (string?)l.Attribute("class") == "reference");
    }

    [Fact]
    public void Points_land_where_the_axis_ticks_say()
    {
        // y from 0 to 100 exactly: the scale is 0..100, so the point (0, 0) sits on the "0" tick and (4000, 100) on the "100" tick.
        var s = new ChartSeries("s", [0, 1000, 2000, 3000, 4000], [0, 25, 50, 75, 100]);
        var doc = XDocument.Parse(SvgChart.Line("t", "x", "y", [s]));
        var points = Points(doc.Descendants(Svg + "path").Single(p => (string?)p.Attribute("class") == "series"));

        double TickY(string label) => double.Parse((string)doc.Descendants(Svg + "text")
            .Single(t => (string?)t.Attribute("class") == "y-tick" && t.Value == label).Attribute("y")!, CultureInfo.InvariantCulture);
        double TickX(string label) => double.Parse((string)doc.Descendants(Svg + "text")
            .Single(t => (string?)t.Attribute("class") == "x-tick" && t.Value == label).Attribute("x")!, CultureInfo.InvariantCulture);

        double fontOffset = 12 * 0.35; // tick labels are nudged down to centre on the tick
        Assert.Equal(TickY("0") - fontOffset, points[0].Y, 1);
        Assert.Equal(TickY("100") - fontOffset, points[4].Y, 1);
        Assert.Equal(TickX("0"), points[0].X, 1);
        Assert.Equal(TickX("4000"), points[4].X, 1);
        Assert.True(points.Zip(points.Skip(1)).All(p => p.First.X < p.Second.X && p.First.Y > p.Second.Y));
    }

    [Fact]
    public void NaN_breaks_the_line_and_spread_draws_a_band()
    {
        var s = new ChartSeries("mean ± std", [0, 1, 2, 3, 4, 5], [1, 2, double.NaN, 4, 5, 6]) { Spread = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5] };
        var doc = XDocument.Parse(SvgChart.Line("t", "x", "y", [s]));
        var line = doc.Descendants(Svg + "path").Single(p => (string?)p.Attribute("class") == "series");
        var points = Points(line);
        Assert.Equal(5, points.Count);
        Assert.Equal(2, points.Count(p => p.Command == 'M'));
        var bands = doc.Descendants(Svg + "path").Where(p => (string?)p.Attribute("class") == "band").ToList();
        Assert.Equal(2, bands.Count); // one per unbroken run
        Assert.Equal(2 * 2, Points(bands[0]).Count); // upper edge forward, lower edge back
        Assert.Equal(2 * 3, Points(bands[1]).Count);
    }

    [Fact]
    public void Names_with_markup_characters_are_escaped()
    {
        var s = new ChartSeries("a<b & \"c\"", [0, 1], [0, 1]);
        var doc = XDocument.Parse(SvgChart.Line("<title> & more", "x", "y", [s]));
        Assert.Contains(doc.Descendants(Svg + "text"), t => t.Value == "a<b & \"c\"");
        Assert.Contains(doc.Descendants(Svg + "text"), t => t.Value == "<title> & more");
        var control = XDocument.Parse(SvgChart.Line("bell\u0007 ✓ 🎉", "x", "y", [new ChartSeries("s\u0001", [0, 1], [0, 1])]));
        Assert.Contains(control.Descendants(Svg + "text"), t => t.Value == "bell ✓ 🎉");
        Assert.Contains(control.Descendants(Svg + "text"), t => t.Value == "s");
    }

    [Fact]
    public void Empty_and_constant_data_still_give_a_valid_chart()
    {
        var doc = XDocument.Parse(SvgChart.Line("nothing", "x", "y", []));
        Assert.Contains(doc.Descendants(Svg + "text"), t => t.Value == "no data");
        var flat = XDocument.Parse(SvgChart.Line("flat", "x", "y", [new ChartSeries("c", [5], [3])]));
        Assert.Single(Points(flat.Descendants(Svg + "path").Single()));
    }

    [Fact]
    public void Mismatched_lengths_name_the_series()
    {
        var ex = Assert.Throws<ArgumentException>(() => SvgChart.Line("t", "x", "y", [new ChartSeries("bad", [1, 2, 3], [1, 2])]));
        Assert.Contains("'bad' has 3 X values but 2 Y values", ex.Message);
    }

    [Fact]
    public void Save_writes_the_file()
    {
        using var dir = new TempDir();
        string path = dir.File("returns.svg");
        SvgChart.Save(path, "t", "x", "y", [new ChartSeries("s", [0, 1], [0, 1])]);
        Assert.Equal(Svg + "svg", XDocument.Load(path).Root!.Name);
    }
}

public class NiceScaleTests
{
    [Theory]
    [InlineData(0, 97, 6, 0, 100, 20)]
    [InlineData(0.13, 0.71, 6, 0.1, 0.8, 0.1)]
    [InlineData(-3, 497, 6, -100, 500, 100)]
    [InlineData(0, 1_000_000, 6, 0, 1_000_000, 200_000)]
    [InlineData(5, 5, 5, 4.4, 5.6, 0.2)]
    public void Ranges_and_steps_are_nice(double min, double max, int ticks, double niceMin, double niceMax, double step)
    {
        var s = NiceScale.Create(min, max, ticks);
        Assert.Equal(niceMin, s.Min, 9);
        Assert.Equal(niceMax, s.Max, 9);
        Assert.Equal(step, s.Step, 9);
        Assert.True(s.Min <= min && s.Max >= max);
    }

    [Fact]
    public void Tight_scale_keeps_the_data_range_and_puts_nice_ticks_inside()
    {
        var s = NiceScale.CreateTight(3, 97, 6);
        Assert.Equal((3.0, 97.0, 20.0), (s.Min, s.Max, s.Step));
        Assert.Equal([20.0, 40, 60, 80], s.Ticks());
        var exact = NiceScale.CreateTight(0, 100, 6);
        Assert.Equal([0.0, 20, 40, 60, 80, 100], exact.Ticks());
    }

    [Fact]
    public void Labels_are_short_and_free_of_float_noise()
    {
        var small = NiceScale.Create(0.13, 0.71, 6);
        Assert.Equal(["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8"], small.Ticks().Select(small.Format));
        var flat = NiceScale.Create(5, 5, 5);
        Assert.Equal(["4.4", "4.6", "4.8", "5.0", "5.2", "5.4", "5.6"], flat.Ticks().Select(flat.Format));
        var big = NiceScale.Create(0, 1_000_000, 6);
        Assert.Equal(["0", "0.2M", "0.4M", "0.6M", "0.8M", "1.0M"], big.Ticks().Select(big.Format));
        var medium = NiceScale.Create(0, 48_000, 6);
        Assert.Equal(["0", "10k", "20k", "30k", "40k", "50k"], medium.Ticks().Select(medium.Format));
        var huge = NiceScale.Create(0, 25_000_000, 6);
        Assert.Equal(["0", "5M", "10M", "15M", "20M", "25M"], huge.Ticks().Select(huge.Format));
        var negative = NiceScale.Create(-1, 1, 5);
        Assert.Equal(["-1.0", "-0.5", "0", "0.5", "1.0"], negative.Ticks().Select(negative.Format));
    }
}

public class TerminalChartTests
{
    private static readonly Regex AnsiCode = new("\u001b\\[[0-9;]*m");

    [Theory]
    [InlineData(60, 15, 1)]
    [InlineData(20, 5, 1)]
    [InlineData(100, 30, 3)]
    [InlineData(40, 8, 0)]
    public void Output_has_exactly_the_requested_size(int width, int height, int seriesCount)
    {
        var series = Enumerable.Range(0, seriesCount)
            .Select(k => new ChartSeries($"s{k}", Enumerable.Range(0, 50).Select(i => (double)i).ToArray(),
                Enumerable.Range(0, 50).Select(i => Math.Sin(i / 5.0 + k) * 100).ToArray())).ToList();
        foreach (bool color in new[] { false, true })
        {
            string chart = TerminalChart.Render(series, width, height, [new ReferenceLine(50, "goal")], color);
            var lines = AnsiCode.Replace(chart, "").Split('\n');
            Assert.Equal(height, lines.Length);
            Assert.All(lines, l => Assert.Equal(width, l.Length));
        }
    }

    [Fact]
    public void A_rising_line_goes_from_bottom_left_to_top_right_with_labelled_axes()
    {
        var s = new ChartSeries("return", [0, 100], [0, 100]);
        var lines = TerminalChart.Render([s], 40, 12).Split('\n');
        int rows = 12 - 3;
        Assert.StartsWith("100┤", lines[0]);
        Assert.StartsWith("  0┤", lines[rows - 1]);
        Assert.NotEqual(' ', lines[0][^1]);                 // top right has dots
        Assert.NotEqual(' ', lines[rows - 1][4]);           // bottom left has dots
        Assert.Equal(' ', lines[0][4]);                     // top left is empty
        Assert.Equal(' ', lines[rows - 1][^1]);             // bottom right is empty
        Assert.All(lines.Take(rows), l => Assert.Contains(l[4..], c => c is >= '\u2801' and <= '\u28FF')); // the line crosses every row
        Assert.StartsWith("   └", lines[rows]);
        Assert.StartsWith("    0", lines[rows + 1]);
        Assert.EndsWith("100", lines[rows + 1].TrimEnd());
        Assert.StartsWith("⣿ return", lines[^1]);
    }

    [Fact]
    public void A_reference_line_is_a_dotted_row()
    {
        var s = new ChartSeries("r", [0, 1], [0, 0]);
        var lines = TerminalChart.Render([s], 30, 8, [new ReferenceLine(100, "goal")]).Split('\n');
        Assert.Matches("^100┤[\u2801-\u28FF]{26}$", lines[0]);
    }

    [Fact]
    public void Too_small_a_size_is_refused()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => TerminalChart.Render([], 10, 3));
        Assert.Contains("at least 20 columns and 5 lines", ex.Message);
    }
}
