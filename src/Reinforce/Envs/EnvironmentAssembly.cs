using System.Reflection;
using System.Runtime.Loader;

namespace Reinforce.Envs;

/// <summary>
/// Registers a user's environment the moment its assembly is loaded by <see cref="EnvironmentAssembly.Load"/>
/// (<c>reinforce train MyEnv-v0 --env-assembly MyEnvs.dll</c>). Put it on a public, non-abstract environment class
/// (an <see cref="IEnvironment{TObservation, TAction}"/>, typically a <see cref="DiscreteEnvironment"/> or
/// <see cref="ContinuousEnvironment"/>) that has a public parameterless constructor.
/// For factories that take options, implement <see cref="IEnvironmentRegistration"/> instead.
/// </summary>
/// <param name="id">The id to register, e.g. "Thermostat-v0".</param>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class RegisterEnvironmentAttribute(string id) : Attribute
{
    /// <summary>The registered id.</summary>
    public string Id { get; } = id;

    /// <summary>The time limit in steps (0: none).</summary>
    public int MaxEpisodeSteps { get; set; }

    /// <summary>The mean return that counts as solved (NaN: none).</summary>
    public double RewardThreshold { get; set; } = double.NaN;

    /// <summary>One line for listings.</summary>
    public string? Description { get; set; }
}

/// <summary>
/// Registers environments from an assembly loaded by <see cref="EnvironmentAssembly.Load"/>: every public,
/// non-abstract class implementing it with a public parameterless constructor is created and its
/// <see cref="Register"/> called once. Call <see cref="Environments.Register{TObservation, TAction}(string, Func{EnvironmentOptions, IEnvironment{TObservation, TAction}}, int?, double?, string?)"/> in it.
/// </summary>
public interface IEnvironmentRegistration
{
    /// <summary>Registers the assembly's environments with <see cref="Environments"/>.</summary>
    void Register();
}

/// <summary>
/// Loads a user's assembly of environments (a .dll built against Reinforce) and registers what it declares: classes
/// marked <see cref="RegisterEnvironmentAttribute"/> and <see cref="IEnvironmentRegistration"/> implementations.
/// Loading the same assembly again registers nothing new and returns the same ids. A missing or unreadable file,
/// or an assembly that registers nothing, is an <see cref="ArgumentException"/> that says what to do.
/// </summary>
public static class EnvironmentAssembly
{
    private static readonly Dictionary<string, IReadOnlyList<string>> s_loaded = new(StringComparer.Ordinal);
    private static readonly Lock s_gate = new();

    /// <summary>Loads <paramref name="path"/> and registers its environments; returns their ids.</summary>
    public static IReadOnlyList<string> Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new ArgumentException(Directory.Exists(full)
                ? $"--env-assembly '{path}' is a folder; pass the .dll built from your environment project (e.g. bin/Release/net10.0/MyEnvs.dll)."
                : $"--env-assembly '{path}' does not exist. Build your environment project (dotnet build -c Release) and pass its .dll, e.g. bin/Release/net10.0/MyEnvs.dll.");
        }
        AssemblyName name;
        try
        {
            name = AssemblyName.GetAssemblyName(full);
        }
        catch (BadImageFormatException)
        {
            throw new ArgumentException($"--env-assembly '{path}' is not a .NET assembly. Pass the .dll your environment project builds (not a native library or another file).");
        }
        lock (s_gate)
        {
            if (s_loaded.TryGetValue(name.Name ?? full, out var known)) return known;
            var assembly = LoadInto(full, name);
            var before = Environments.Specs.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var type in PublicTypes(assembly, path)) RegisterType(type, path);
            var added = Environments.Specs.Select(s => s.Id).Where(id => !before.Contains(id)).ToArray();
            if (added.Length == 0)
            {
                throw new ArgumentException($"--env-assembly '{path}' registers no environment. Mark a public environment class with [RegisterEnvironment(\"MyEnv-v0\")] " +
                    "(it needs a public parameterless constructor), or add a public class implementing IEnvironmentRegistration whose Register() calls Environments.Register.");
            }
            s_loaded[name.Name ?? full] = added;
            return added;
        }
    }

    private static Assembly LoadInto(string full, AssemblyName name)
    {
        // An assembly of that name already in the process (referenced by the host, or loaded before) is used as it is.
        var existing = AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => AssemblyName.ReferenceMatchesDefinition(a.GetName(), name) && a.GetName().Name == name.Name);
        if (existing is not null) return existing;
        var resolver = new AssemblyDependencyResolver(full);
        var context = AssemblyLoadContext.Default;
        // The user's dependencies come from beside the dll, except those the host already has (Reinforce itself above all,
        // so that the user's environment types implement the host's interfaces).
        context.Resolving += (ctx, dependency) =>
        {
            string? resolved = resolver.ResolveAssemblyToPath(dependency);
            return resolved is null ? null : ctx.LoadFromAssemblyPath(resolved);
        };
        try
        {
            return context.LoadFromAssemblyPath(full);
        }
        catch (FileLoadException ex)
        {
            throw new ArgumentException($"--env-assembly '{full}' could not be loaded: {ex.Message}");
        }
    }

    private static Type[] PublicTypes(Assembly assembly, string path)
    {
        try
        {
            return assembly.GetExportedTypes();
        }
        catch (Exception ex) when (ex is ReflectionTypeLoadException or FileNotFoundException or FileLoadException or TypeLoadException)
        {
            string detail = ex is ReflectionTypeLoadException r && r.LoaderExceptions.FirstOrDefault(e => e is not null) is { } first ? first.Message : ex.Message;
            throw new ArgumentException($"--env-assembly '{path}': its types could not be loaded ({detail}). Build it against this version of Reinforce (net10.0) and keep its dependencies beside it.", ex);
        }
    }

    private static void RegisterType(Type type, string path)
    {
        if (type.IsAbstract || !type.IsClass) return;
        var attributes = type.GetCustomAttributes<RegisterEnvironmentAttribute>().ToArray();
        bool isRegistration = typeof(IEnvironmentRegistration).IsAssignableFrom(type);
        if (attributes.Length == 0 && !isRegistration) return;
        var constructor = type.GetConstructor(Type.EmptyTypes)
            ?? throw new ArgumentException($"--env-assembly '{path}': {type.FullName} needs a public parameterless constructor to be registered.");
        if (isRegistration) Invoke(() => ((IEnvironmentRegistration)constructor.Invoke(null)).Register(), type, path);
        if (attributes.Length == 0) return;
        var contract = type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnvironment<,>))
            ?? throw new ArgumentException($"--env-assembly '{path}': {type.FullName} has [RegisterEnvironment] but is not an environment (it implements no IEnvironment<TObservation, TAction>).");
        var register = typeof(EnvironmentAssembly).GetMethod(nameof(RegisterGeneric), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(contract.GetGenericArguments());
        foreach (var a in attributes)
        {
            Invoke(() => register.Invoke(null, [a, constructor]), type, path);
        }
    }

    private static void RegisterGeneric<TObservation, TAction>(RegisterEnvironmentAttribute attribute, ConstructorInfo constructor) =>
        Environments.Register<TObservation, TAction>(attribute.Id, () => (IEnvironment<TObservation, TAction>)constructor.Invoke(null),
            attribute.MaxEpisodeSteps > 0 ? attribute.MaxEpisodeSteps : null, double.IsNaN(attribute.RewardThreshold) ? null : attribute.RewardThreshold, attribute.Description);

    private static void Invoke(Action action, Type type, string path)
    {
        try
        {
            action();
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw new ArgumentException($"--env-assembly '{path}': registering {type.FullName} failed: {ex.InnerException.Message}", ex.InnerException);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            throw new ArgumentException($"--env-assembly '{path}': registering {type.FullName} failed: {ex.Message}", ex);
        }
    }
}
