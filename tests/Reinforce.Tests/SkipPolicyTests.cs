using System.Reflection;
using Reinforce.Tests.Dashboard;

namespace Reinforce.Tests;

/// <summary>
/// No test may skip silently. The only test attribute allowed to skip is <see cref="BrowserFactAttribute"/>, and
/// only outside CI (where REINFORCE_REQUIRE_BROWSER=1 turns a missing browser into a failure); its skip message says
/// why and how to install the browser. `.ci/run` also counts any skipped test as a failure.
/// </summary>
public class SkipPolicyTests
{
    [Fact]
    public void Only_the_browser_tests_can_skip_and_each_skip_says_why()
    {
        var tests = typeof(SkipPolicyTests).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .SelectMany(m => m.GetCustomAttributes<FactAttribute>(inherit: false).Select(a => (Method: m, Attribute: a)))
            .ToList();
        Assert.True(tests.Count > 400, $"found only {tests.Count} tests by reflection");
        foreach (var (method, attribute) in tests)
        {
            string name = $"{method.DeclaringType!.Name}.{method.Name}";
            if (attribute.Skip is null) continue;
            Assert.True(attribute is BrowserFactAttribute, $"{name} is skipped unconditionally ({attribute.Skip}); delete it or make it run.");
            Assert.Contains("apt-get install chromium", attribute.Skip, StringComparison.Ordinal);
            Assert.NotEqual("1", Environment.GetEnvironmentVariable("REINFORCE_REQUIRE_BROWSER"));
        }
    }

    [Fact]
    public void Browser_tests_never_skip_when_CI_requires_the_browser()
    {
        string? before = Environment.GetEnvironmentVariable("REINFORCE_REQUIRE_BROWSER");
        try
        {
            Environment.SetEnvironmentVariable("REINFORCE_REQUIRE_BROWSER", "1");
            Assert.Null(new BrowserFactAttribute().Skip);
        }
        finally
        {
            Environment.SetEnvironmentVariable("REINFORCE_REQUIRE_BROWSER", before);
        }
    }
}
