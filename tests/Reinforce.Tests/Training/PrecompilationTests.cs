using System.Reflection;
using System.Reflection.PortableExecutable;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Reinforce.Algorithms;
using Reinforce.Envs.ClassicControl;
using Reinforce.Nn;
using Reinforce.Optim;
using Reinforce.Tensors;
using Reinforce.Training;

namespace Reinforce.Tests.Training;

/// <summary>
/// The training step's methods are marked for the JIT (never run from precompiled code), Precompilation finds and
/// compiles every one of them, and a Release build of the CLI on linux-x64 is precompiled (ReadyToRun) around them.
/// </summary>
public class PrecompilationTests
{
    [Theory]
    [InlineData(typeof(Ppo), "Update")]
    [InlineData(typeof(OnPolicyAgent), "CollectRollout")]
    [InlineData(typeof(PpoPairedStep), "Step")]
    [InlineData(typeof(RolloutBuffer), "GatherFigures")]
    [InlineData(typeof(FusedMlp), "Forward")]
    [InlineData(typeof(FusedMlp), "BackwardInto")]
    [InlineData(typeof(Adam), "Step")]
    [InlineData(typeof(Optimizer), "StepParameter")]
    [InlineData(typeof(Kernels), "MatMul")]
    [InlineData(typeof(FastTanh), "TryBiasInPlace")]
    [InlineData(typeof(CartPole), "OnStep")]
    [InlineData(typeof(Reinforce.Autograd.Graph), "Backward")]
    public void The_training_steps_methods_are_marked_and_found(Type type, string name)
    {
        var marked = Precompilation.TrainingStepMethods();
        var found = marked.Where(m => m.DeclaringType == type && m.Name == name).ToList();
        Assert.NotEmpty(found);
        Assert.All(found, m => Assert.True(Precompilation.IsMarked((MethodInfo)m)));
    }

    [Fact]
    public void Every_marked_method_compiles_and_nothing_else_is_listed()
    {
        var marked = Precompilation.TrainingStepMethods();
        Assert.True(marked.Count >= 100, $"{marked.Count} methods marked");
        Assert.Equal(marked.Count, marked.Distinct().Count());
        foreach (var method in marked)
        {
            Assert.True(Precompilation.IsMarked((MethodInfo)method), method.Name);
            RuntimeHelpers.PrepareMethod(method.MethodHandle);   // throws when the method cannot be compiled
        }
        // A method without the mark is not listed (the rest of the library runs precompiled in the CLI); the matrix kernels
        // keep their older AggressiveOptimization, the rest carry BypassReadyToRun, which leaves tiered compilation alone.
        Assert.Contains(marked, m => m.IsDefined(typeof(System.Runtime.BypassReadyToRunAttribute), false));
        Assert.Contains(marked, m => (m.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0);
        Assert.DoesNotContain(marked, m => m.DeclaringType == typeof(TrainingConfig));
    }

    [Fact]
    public void It_runs_once_per_process_however_often_it_is_started()
    {
        Precompilation.StartInBackground();
        Precompilation.StartInBackground();
        Assert.True(Precompilation.Done.Wait(TimeSpan.FromSeconds(60)), "the precompile thread did not finish");
        Precompilation.StartInBackground();
        Assert.Equal(1, Precompilation.Runs);
    }

    [Fact]
    public void A_release_build_of_the_cli_on_linux_x64_is_precompiled()
    {
        bool release = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal);
        bool linuxX64 = RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && RuntimeInformation.OSArchitecture == Architecture.X64;
        string output = Path.Combine(ConfigTests.FindRepositoryFolder("src"), "Reinforce.Cli", "bin", release ? "Release" : "Debug", "net10.0");
        foreach (var name in new[] { "Reinforce.dll", "Reinforce.Cli.dll", "System.CommandLine.dll" })
        {
            string path = Path.Combine(output, name);
            Assert.True(File.Exists(path), path);
            Assert.Equal(release && linuxX64, IsReadyToRun(path));
        }
    }

    /// <summary>Whether the assembly carries precompiled code: its CLI header points at a ReadyToRun header.</summary>
    internal static bool IsReadyToRun(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        return pe.PEHeaders.CorHeader is { ManagedNativeHeaderDirectory.Size: > 0 };
    }
}
