namespace Reinforce.Tests.Distributed;

/// <summary>
/// A test that starts ranks with Open MPI's mpirun. Skipped (with the reason) when mpirun is not installed, unless
/// REINFORCE_REQUIRE_MPI=1 (set by .ci/run, which installs openmpi-bin), in which case a missing mpirun fails it.
/// </summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public static string? MpirunPath =>
        new[] { "/usr/bin/mpirun", "/usr/local/bin/mpirun" }.FirstOrDefault(File.Exists);

    public MpiFactAttribute()
    {
        if (MpirunPath is null && Environment.GetEnvironmentVariable("REINFORCE_REQUIRE_MPI") != "1")
            Skip = "Open MPI's mpirun is not installed (apt-get install openmpi-bin); .ci/run installs it and runs this test.";
    }
}
