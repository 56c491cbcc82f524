using System.Net;
using Reinforce.Cli.Dashboard;

namespace Reinforce.Tests.Dashboard;

/// <summary>
/// The dashboard serves only what lies inside its runs folder. Metrics holding a marker value are planted just
/// outside it — in a sibling folder whose name extends the root's ("runs-other" beside "runs"), in the parent
/// folder (reached as ".."), and behind symbolic links (a linked folder and a linked metrics file) — and each
/// must be unreadable through the library reader and through both HTTP endpoints, while a run inside stays readable.
/// </summary>
public sealed class RunFolderBoundaryTests : IDisposable
{
    private const string Secret = "424242.5";
    private readonly DirectoryInfo _base = Directory.CreateTempSubdirectory("reinforce-boundary-");
    private readonly string _root;

    public RunFolderBoundaryTests()
    {
        _root = Path.Combine(_base.FullName, "runs");
        Plant(Path.Combine(_root, "good"), "1,7.5");
        Plant(Path.Combine(_base.FullName, "runs-other", "x"), "1," + Secret);
        Plant(_base.FullName, "1," + Secret);
        Plant(Path.Combine(_base.FullName, "outside"), "1," + Secret);
        Directory.CreateSymbolicLink(Path.Combine(_root, "linked"), Path.Combine(_base.FullName, "outside"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "relative-link"), Path.Combine("..", "runs-other", "x"));
        Directory.CreateDirectory(Path.Combine(_root, "filelink"));
        File.CreateSymbolicLink(Path.Combine(_root, "filelink", "metrics.csv"), Path.Combine(_base.FullName, "outside", "metrics.csv"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "alias"), Path.Combine(_root, "good"));
    }

    private static void Plant(string folder, string row)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "metrics.csv"), "step,mean_return\n" + row + "\n");
        File.WriteAllText(Path.Combine(folder, "config.json"), $$"""{"marker": "{{row}}"}""");
    }

    private static readonly string[] EscapeNames =
    [
        "../runs-other/x", "..", "../outside", "linked", "relative-link", "filelink", "linked/../good/../../runs-other/x",
        "good/../../runs-other/x", "/etc", "",
    ];

    public static TheoryData<string> Escapes() => new(EscapeNames);

    [Theory]
    [MemberData(nameof(Escapes))]
    public void Reader_refuses_names_that_leave_the_runs_folder(string name)
    {
        var folders = new RunFolders(_root);
        Assert.Null(folders.Metrics(name, 0));
        var absolute = new RunFolders(_root).Metrics(Path.Combine(_base.FullName, "runs-other", "x"), 0);
        Assert.Null(absolute);
    }

    [Fact]
    public void Reader_lists_and_reads_only_runs_inside_the_root()
    {
        var folders = new RunFolders(_root);
        Assert.Equal(7.5, folders.Metrics("good", 0)!.Rows.Single()[1]);
        Assert.Equal(7.5, folders.Metrics("alias", 0)!.Rows.Single()[1]); // a link that stays inside is fine
        var names = folders.List().Select(r => r.Name).ToArray();
        Assert.Contains("good", names);
        Assert.DoesNotContain("linked", names);
        Assert.DoesNotContain("relative-link", names);
        Assert.DoesNotContain("filelink", names);
        Assert.DoesNotContain(folders.List(), r => r.Config?.ToJsonString().Contains("424242", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void Segment_comparison_does_not_take_a_longer_sibling_for_the_root()
    {
        Assert.True(RunFolders.IsInside("/a/runs", "/a/runs"));
        Assert.True(RunFolders.IsInside("/a/runs/", "/a/runs/x"));
        Assert.False(RunFolders.IsInside("/a/runs", "/a/runs-other/x"));
        Assert.False(RunFolders.IsInside("/a/runs", "/a/runsx"));
        Assert.False(RunFolders.IsInside("/a/runs", "/a"));
    }

    [Fact]
    public async Task No_endpoint_serves_metrics_or_configuration_from_outside_the_root()
    {
        await using var server = await DashboardServer.StartAsync(_root, port: 0);
        using var http = new HttpClient { BaseAddress = server.Address };
        var list = await http.GetStringAsync(new Uri("api/runs", UriKind.Relative));
        Assert.Contains("\"good\"", list, StringComparison.Ordinal);
        Assert.DoesNotContain("424242", list, StringComparison.Ordinal);
        var good = await http.GetAsync(new Uri("api/metrics?run=good", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        Assert.Contains("7.5", await good.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        foreach (var name in EscapeNames.Append(Path.Combine(_base.FullName, "runs-other", "x")))
        {
            var response = await http.GetAsync(new Uri("api/metrics?run=" + Uri.EscapeDataString(name), UriKind.Relative));
            var body = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("424242", body, StringComparison.Ordinal);
            Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        }
    }

    public void Dispose() => _base.Delete(recursive: true);
}
