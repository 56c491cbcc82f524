using System.Globalization;
using Reinforce.Spaces;

namespace Reinforce.Envs;

/// <summary>
/// Checks that an environment keeps the contract, like Stable-Baselines3's <c>check_env</c>, and says exactly
/// what is wrong: observations outside their space or of the wrong shape, NaN or infinite values, rewards that are
/// not finite, a seed that does not make <c>Reset</c> reproducible, invalid actions that are silently accepted,
/// and <c>Step</c> after the end of an episode without <c>Reset</c> that does not throw. It plays random actions
/// (seeded) for up to <c>maxSteps</c> steps; the environment is left in an arbitrary state, so Reset it afterwards.
/// </summary>
public static class EnvChecker
{
    /// <summary>Checks <paramref name="env"/> and returns its problems (empty when none were found).</summary>
    public static IReadOnlyList<string> Check<TObservation, TAction>(IEnvironment<TObservation, TAction> env, int seed = 0, int maxSteps = 1000)
    {
        ArgumentNullException.ThrowIfNull(env);
        if (maxSteps <= 0) throw new ArgumentOutOfRangeException(nameof(maxSteps), maxSteps, "Check at least one step.");
        return new Run<TObservation, TAction>(env, seed, maxSteps).Execute();
    }

    /// <summary>
    /// Checks an environment known only as <see cref="IEnvironment"/> (for example from <see cref="Environments.Make(string, EnvironmentOptions?)"/>)
    /// when it observes <c>float[]</c> and acts with <c>int</c>, <c>float[]</c> or <c>int[]</c>.
    /// </summary>
    public static IReadOnlyList<string> Check(IEnvironment env, int seed = 0, int maxSteps = 1000) => env switch
    {
        IEnvironment<float[], int> e => Check(e, seed, maxSteps),
        IEnvironment<float[], float[]> e => Check(e, seed, maxSteps),
        IEnvironment<float[], int[]> e => Check(e, seed, maxSteps),
        IEnvironment<byte[], int> e => Check(e, seed, maxSteps),
        IEnvironment<byte[], float[]> e => Check(e, seed, maxSteps),
        IEnvironment<IReadOnlyDictionary<string, object>, int> e => Check(e, seed, maxSteps),
        IEnvironment<IReadOnlyDictionary<string, object>, float[]> e => Check(e, seed, maxSteps),
        null => throw new ArgumentNullException(nameof(env)),
        _ => throw new ArgumentException($"{env.Name} is a {env.GetType().Name}; call the generic EnvChecker.Check<TObservation, TAction> for its types.", nameof(env)),
    };

    /// <summary>Checks <paramref name="env"/> and throws <see cref="EnvCheckException"/> listing every problem.</summary>
    public static void CheckOrThrow<TObservation, TAction>(IEnvironment<TObservation, TAction> env, int seed = 0, int maxSteps = 1000)
    {
        var problems = Check(env, seed, maxSteps);
        if (problems.Count > 0) throw new EnvCheckException(env.Name, problems);
    }

    /// <summary>Checks <paramref name="env"/> (float-vector observations) and throws <see cref="EnvCheckException"/> listing every problem.</summary>
    public static void CheckOrThrow(IEnvironment env, int seed = 0, int maxSteps = 1000)
    {
        var problems = Check(env, seed, maxSteps);
        if (problems.Count > 0) throw new EnvCheckException(env.Name, problems);
    }

    private sealed class Run<TObservation, TAction>(IEnvironment<TObservation, TAction> env, int seed, int maxSteps)
    {
        private readonly List<string> _problems = [];
        private readonly HashSet<string> _reported = [];
        private Space<TObservation>? _observationSpace;
        private Space<TAction>? _actionSpace;

        public IReadOnlyList<string> Execute()
        {
            if (!CheckSpaces()) return _problems;
            if (!TryReset(seed, out _)) return _problems;
            CheckReproducible();
            CheckInvalidActions();
            Rollout();
            return _problems;
        }

        private void Add(string category, string message)
        {
            if (_reported.Add(category)) _problems.Add(message);
        }

        private bool CheckSpaces()
        {
            if (env.ObservationSpace is null) _problems.Add("ObservationSpace is null; return the set of valid observations (for example a Box).");
            if (env.ActionSpace is null) _problems.Add("ActionSpace is null; return the set of valid actions (for example a Discrete).");
            if (_problems.Count > 0) return false;
            _observationSpace = env.ObservationSpace as Space<TObservation>;
            if (_observationSpace is null)
            {
                _problems.Add($"ObservationSpace {env.ObservationSpace} holds {ValueTypeName(env.ObservationSpace!)} values, but the environment observes {Environments.TypeName(typeof(TObservation))}; use a space of {Environments.TypeName(typeof(TObservation))} (Box for float[], Discrete for int, MultiDiscrete for int[]).");
            }
            _actionSpace = env.ActionSpace as Space<TAction>;
            if (_actionSpace is null)
            {
                _problems.Add($"ActionSpace {env.ActionSpace} holds {ValueTypeName(env.ActionSpace!)} values, but the environment acts with {Environments.TypeName(typeof(TAction))}; use a space of {Environments.TypeName(typeof(TAction))} (Discrete for int, Box for float[], MultiDiscrete for int[]).");
                return false;
            }
            return true;
        }

        private static string ValueTypeName(Space space)
        {
            for (var t = space.GetType(); t is not null; t = t.BaseType)
            {
                if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Space<>)) return Environments.TypeName(t.GetGenericArguments()[0]);
            }
            return "untyped";
        }

        private bool TryReset(int resetSeed, out TObservation observation)
        {
            try
            {
                (observation, _) = env.Reset(resetSeed);
            }
            catch (Exception e)
            {
                _problems.Add($"Reset(seed: {resetSeed}) threw {e.GetType().Name}: {e.Message}");
                observation = default!;
                return false;
            }
            CheckObservation(observation, $"Reset(seed: {resetSeed})");
            return true;
        }

        private void CheckObservation(TObservation observation, string where)
        {
            var space = env.ObservationSpace;
            if (observation is null)
            {
                Add("obs-null", $"The observation after {where} is null; return a member of ObservationSpace {space}.");
                return;
            }
            if (observation is float[] values && space is Box box)
            {
                if (values.Length != box.ElementCount)
                {
                    Add("obs-shape", $"The observation after {where} has {values.Length} values, but ObservationSpace {box} has shape {Space.FormatShape(box.Shape)} ({box.ElementCount} values).");
                    return;
                }
                for (int i = 0; i < values.Length; i++)
                {
                    float v = values[i];
                    if (float.IsNaN(v)) { Add("obs-nan", $"The observation after {where} contains NaN at element {i}."); return; }
                    if (float.IsInfinity(v)) { Add("obs-inf", $"The observation after {where} contains {(v > 0 ? "+" : "-")}infinity at element {i}."); return; }
                    if (v < box.LowSpan[i] || v > box.HighSpan[i])
                    {
                        Add("obs-bounds", $"The observation after {where} is outside ObservationSpace {box}: element {i} = {F(v)} is not in [{F(box.LowSpan[i])}, {F(box.HighSpan[i])}].");
                        return;
                    }
                }
                return;
            }
            if (_observationSpace is not null && space.DescribeMismatch(observation) is string mismatch)
            {
                // Byte images, dictionaries and tuples say what is wrong: the shape, the key, the value out of bounds.
                Add("obs-space", $"The observation after {where} {mismatch}; return a member of ObservationSpace {space}.");
            }
        }

        private List<TAction> SampleActions(int count, ulong actionSeed)
        {
            var rng = new Rng(actionSeed);
            var actions = new List<TAction>(count);
            for (int i = 0; i < count; i++) actions.Add(_actionSpace!.Sample(rng));
            return actions;
        }

        private sealed record Transition(string Observation, double Reward, bool Terminated, bool Truncated);

        private List<Transition>? Play(IReadOnlyList<TAction> actions, out string first)
        {
            first = "";
            var trace = new List<Transition>();
            try
            {
                var (obs, _) = env.Reset(seed);
                first = EnvironmentErrors.FormatValue(obs);
                foreach (var action in actions)
                {
                    var step = env.Step(action);
                    trace.Add(new Transition(EnvironmentErrors.FormatValue(step.Observation), step.Reward, step.Terminated, step.Truncated));
                    if (step.Terminated || step.Truncated) break;
                }
            }
            catch (Exception)
            {
                return null; // the rollout reports exceptions with their step
            }
            return trace;
        }

        private void CheckReproducible()
        {
            var actions = SampleActions(Math.Min(maxSteps, 50), unchecked((ulong)seed + 12345));
            var a = Play(actions, out string firstA);
            var b = Play(actions, out string firstB);
            if (firstA != firstB)
            {
                Add("seed", $"Reset(seed: {seed}) twice gave different observations ({firstA} then {firstB}); seed the environment's random generator from the seed given to Reset.");
                return;
            }
            if (a is null || b is null) return;
            int n = Math.Min(a.Count, b.Count);
            for (int t = 0; t < n; t++)
            {
                if (a[t] != b[t])
                {
                    Add("seed", $"After Reset(seed: {seed}) the same actions gave a different step {t + 1} the second time ({Describe(a[t])} then {Describe(b[t])}); draw all randomness from the generator seeded in Reset.");
                    return;
                }
            }
            if (a.Count != b.Count) Add("seed", $"After Reset(seed: {seed}) the same actions ended the episode after {a.Count} steps the first time and {b.Count} the second; draw all randomness from the generator seeded in Reset.");
        }

        private static string Describe(Transition t) =>
            $"observation {t.Observation}, reward {t.Reward.ToString(CultureInfo.InvariantCulture)}, terminated {t.Terminated}, truncated {t.Truncated}";

        private void CheckInvalidActions()
        {
            object? invalid = env.ActionSpace switch
            {
                Discrete d when typeof(TAction) == typeof(int) => d.Start + d.N,
                Box b when typeof(TAction) == typeof(float[]) => new float[b.ElementCount + 1],
                MultiDiscrete m when typeof(TAction) == typeof(int[]) => m.Nvec,
                _ => null,
            };
            if (invalid is null) return;
            try
            {
                env.Reset(seed);
            }
            catch (Exception)
            {
                return;
            }
            string shown = EnvironmentErrors.FormatValue(invalid);
            string what = env.ActionSpace is Box ? $"an action of the wrong length ({shown}) for ActionSpace {env.ActionSpace}" : $"an action outside ActionSpace {env.ActionSpace} ({shown})";
            try
            {
                env.Step((TAction)invalid);
                Add("invalid-action", $"Step with {what} did not throw; reject invalid actions with an ArgumentException that names the action and the space.");
            }
            catch (ArgumentException)
            {
                // The contract: invalid input is refused with an ArgumentException.
            }
            catch (Exception e)
            {
                Add("invalid-action", $"Step with {what} threw {e.GetType().Name} instead of an ArgumentException: {e.Message}");
            }
        }

        private void Rollout()
        {
            if (!TryReset(seed, out _)) return;
            var rng = new Rng(unchecked((ulong)seed + 777));
            var masks = ActionMasks.Find(env);
            bool[]? mask = masks is not null && env.ActionSpace is Discrete ? new bool[ActionMasks.MaskSize(env.ActionSpace)] : null;
            for (int t = 1; t <= maxSteps; t++)
            {
                TAction action = _actionSpace!.Sample(rng);
                if (mask is not null && !TryLegalAction(masks!, mask, t, rng, ref action)) return;
                Step<TObservation> step;
                try
                {
                    step = env.Step(action);
                }
                catch (Exception e)
                {
                    _problems.Add($"Step({EnvironmentErrors.FormatValue(action)}) at step {t} threw {e.GetType().Name}: {e.Message}");
                    return;
                }
                CheckObservation(step.Observation, $"step {t}");
                if (!double.IsFinite(step.Reward)) Add("reward", $"The reward at step {t} is {F(step.Reward)}; rewards must be finite numbers.");
                if (step.Terminated || step.Truncated)
                {
                    CheckStepAfterEnd(t, step.Terminated ? "terminated" : "truncated", rng);
                    return;
                }
            }
        }

        /// <summary>With action masks: checks that the state has a legal action and plays a random legal one (as masked PPO would).</summary>
        private bool TryLegalAction(IActionMaskEnv masks, bool[] mask, int t, Rng rng, ref TAction action)
        {
            Array.Clear(mask);
            try
            {
                masks.WriteActionMask(mask);
            }
            catch (Exception e)
            {
                _problems.Add($"WriteActionMask before step {t} threw {e.GetType().Name}: {e.Message}");
                return false;
            }
            int legal = mask.Count(m => m);
            if (legal == 0)
            {
                _problems.Add($"The action mask before step {t} allows no action; every state an episode can reach needs a legal action (end the episode when no move is left).");
                return false;
            }
            int pick = rng.NextInt(legal);
            for (int a = 0; a < mask.Length; a++)
            {
                if (mask[a] && pick-- == 0)
                {
                    action = (TAction)(object)(a + ((Discrete)env.ActionSpace).Start);
                    break;
                }
            }
            return true;
        }

        private void CheckStepAfterEnd(int t, string how, Rng rng)
        {
            TAction action = _actionSpace!.Sample(rng);
            try
            {
                env.Step(action);
                Add("after-end", $"Step after the episode ended ({how} at step {t}) without Reset did not throw; throw InvalidOperationException so a missing Reset is caught (the Environment base classes do this).");
            }
            catch (InvalidOperationException)
            {
                // The contract.
            }
            catch (Exception e)
            {
                Add("after-end", $"Step after the episode ended ({how} at step {t}) without Reset threw {e.GetType().Name} instead of InvalidOperationException: {e.Message}");
            }
        }

        private static string F(double v) => v.ToString(CultureInfo.InvariantCulture);
    }
}

/// <summary>The problems <see cref="EnvChecker"/> found in an environment.</summary>
public sealed class EnvCheckException : Exception
{
    /// <summary>Creates the exception listing <paramref name="problems"/> of <paramref name="environmentName"/>.</summary>
    public EnvCheckException(string environmentName, IReadOnlyList<string> problems)
        : base($"{environmentName} has {problems.Count} problem{(problems.Count == 1 ? "" : "s")}:{Environment.NewLine}" + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)))
    {
        EnvironmentName = environmentName;
        Problems = problems;
    }

    /// <summary>Creates an exception without details.</summary>
    public EnvCheckException() : this("environment", []) { }

    /// <summary>Creates an exception with a message.</summary>
    public EnvCheckException(string message) : base(message)
    {
        EnvironmentName = "environment";
        Problems = [message];
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public EnvCheckException(string message, Exception innerException) : base(message, innerException)
    {
        EnvironmentName = "environment";
        Problems = [message];
    }

    /// <summary>The checked environment's name.</summary>
    public string EnvironmentName { get; }

    /// <summary>The problems, one sentence each.</summary>
    public IReadOnlyList<string> Problems { get; }
}
