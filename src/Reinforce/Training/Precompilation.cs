using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime;

namespace Reinforce.Training;

/// <summary>
/// Compiles the training step's code on a background thread while a program sets up, so that the first updates run
/// compiled code instead of waiting for the JIT. The step's methods — rollout, update, network passes, kernels,
/// optimizer, environments' stepping — carry <c>[BypassReadyToRun]</c>: the JIT
/// compiles them fully optimised for this processor, never from precompiled (ReadyToRun) code, and this class compiles
/// every one of them (found by that flag, so a method marked later is included without a list to keep) together with the
/// kernels' generic instantiations (<see cref="Tensors.Kernels.WarmUpGenerics"/>).
/// <para>
/// <see cref="TrainingRun"/> starts it while a run is created; the <c>reinforce train</c> command starts it as it starts,
/// before parsing its configuration. With CleanRL's settings on CartPole-v1 (500k steps, 0.9 s of training) that took
/// the first 300 updates' time above the steady state from about 90 ms to about 25 ms. Nothing shared is written and
/// results never depend on it; a method that fails to compile here compiles at its first call, as without it.
/// </para>
/// </summary>
public static class Precompilation
{
    private static int s_started;

    /// <summary>Times the compilation ran in this process (at most once), and set when it finished; for tests.</summary>
    internal static int Runs;

    /// <inheritdoc cref="Runs"/>
    internal static readonly ManualResetEventSlim Done = new();

    /// <summary>Starts the compilation on a background thread, once per process (later calls do nothing).</summary>
    public static void StartInBackground()
    {
        if (Interlocked.Exchange(ref s_started, 1) != 0) return;
        try
        {
            new Thread(Run) { IsBackground = true, Name = "reinforce precompile" }.Start();
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
        {
            // No thread to spare: the code compiles at first use instead.
        }
    }

    private static void Run()
    {
        Interlocked.Increment(ref Runs);
        try
        {
            Tensors.Kernels.WarmUpGenerics();
            foreach (var method in TrainingStepMethods())
            {
                try
                {
                    RuntimeHelpers.PrepareMethod(method.MethodHandle);
                }
                catch (Exception)
                {
                    // Compiles at first call instead.
                }
            }
        }
        finally
        {
            Done.Set();
        }
    }

    /// <summary>The library's methods marked for the JIT (<see cref="System.Runtime.BypassReadyToRunAttribute"/> or <see cref="MethodImplAttributes.AggressiveOptimization"/>), except generic definitions (compiled per instantiation, at first use).</summary>
    internal static List<MethodBase> TrainingStepMethods()
    {
        const BindingFlags all = BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;
        var methods = new List<MethodBase>();
        Type[] types;
        try
        {
            types = typeof(Precompilation).Assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            types = [.. e.Types.OfType<Type>()];
        }
        foreach (var type in types)
        {
            if (type.ContainsGenericParameters) continue;
            foreach (var method in type.GetMethods(all))
                if (IsMarked(method) && !method.IsGenericMethodDefinition && !method.IsAbstract)
                    methods.Add(method);
        }
        return methods;
    }

    /// <summary>Whether <paramref name="method"/> is one of the training step's (compiled by the JIT, never precompiled).</summary>
    internal static bool IsMarked(MethodInfo method) =>
        (method.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0 || method.IsDefined(typeof(System.Runtime.BypassReadyToRunAttribute), inherit: false);
}
