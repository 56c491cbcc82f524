using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Reinforce.Tests.Fuzz;

/// <summary>
/// A seeded mutator and runner for fuzzing the readers of user files.
/// <para>How to fuzz a new reader (model folders, adapter files, protocol messages, ...): add a test class in this
/// folder (its own file, so owners add theirs without touching others') whose test builds one or more valid inputs,
/// then calls <see cref="Run"/> with a bounded number of cases, a function that mutates an input
/// (<see cref="MutateBytes"/> for byte damage, <see cref="MutateJson"/> for structure-aware damage of JSON), the reader,
/// and the exception types the reader documents. Every crash found becomes a named regression test in
/// <c>ReaderRegressionTests.cs</c>.</para>
/// <para>Seeds: every run uses the fixed seed <see cref="FixedSeed"/> and one rotating seed (the day of the year, or
/// REINFORCE_FUZZ_SEED when set); a failure prints the seed and the case number so it can be replayed with
/// REINFORCE_FUZZ_SEED=&lt;seed&gt;. Allowed outcomes: the reader returns, or throws one of the documented exception
/// types with a non-empty message. Never allowed: NullReference, IndexOutOfRange, InvalidCast, KeyNotFound, Format,
/// Overflow, OutOfMemory, a bare runtime InvalidOperation, or a case that takes longer than <see cref="HangLimit"/>.</para>
/// </summary>
internal static class FuzzHarness
{
    public const int FixedSeed = 20_261_204;

    /// <summary>A case that takes longer than this is reported as a hang (generous: the CI machine is shared).</summary>
    public static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(60);

    public static int RotatingSeed =>
        int.TryParse(Environment.GetEnvironmentVariable("REINFORCE_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int s)
            ? s : DateTime.UtcNow.DayOfYear + 1000 * DateTime.UtcNow.Year;

    private static readonly Type[] NeverAllowed =
    [
        typeof(NullReferenceException), typeof(IndexOutOfRangeException), typeof(InvalidCastException), typeof(KeyNotFoundException),
        typeof(FormatException), typeof(OverflowException), typeof(OutOfMemoryException), typeof(ArgumentNullException),
        typeof(DivideByZeroException), typeof(NotSupportedException), typeof(NotImplementedException),
    ];

    /// <summary>
    /// Runs <paramref name="cases"/> mutated inputs per seed (fixed and rotating) through <paramref name="read"/>; fails on
    /// the first outcome outside <paramref name="allowed"/>, naming the reader, the seed and the case.
    /// </summary>
    public static void Run(string reader, int cases, Func<Rng, byte[]> makeInput, Action<byte[]> read, params Type[] allowed)
    {
        foreach (int seed in new[] { FixedSeed, RotatingSeed }.Distinct())
        {
            var rng = new Rng((ulong)seed);
            for (int i = 0; i < cases; i++)
            {
                var input = makeInput(rng);
                Exception? thrown = null;
                var task = Task.Factory.StartNew(() =>
                {
                    try { read(input); }
                    catch (Exception e) { thrown = e; }
                }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                string replay = $"{reader}: case {i} of seed {seed} (replay with REINFORCE_FUZZ_SEED={seed}); input starts {Preview(input)}";
                if (!task.Wait(HangLimit)) Assert.Fail($"{replay}: no answer within {HangLimit.TotalSeconds:F0} s (a hang).");
                if (thrown is null) continue;
                bool documented = allowed.Any(t => t.IsInstanceOfType(thrown)) && !NeverAllowed.Any(t => t.IsInstanceOfType(thrown))
                    && !string.IsNullOrWhiteSpace(thrown.Message);
                if (!documented) Assert.Fail($"{replay}: {thrown.GetType().FullName}: {thrown.Message}\n{thrown.StackTrace}");
            }
        }
    }

    private static string Preview(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input.AsSpan(0, Math.Min(input.Length, 160)));
        return JsonValue.Create(text)!.ToJsonString() + (input.Length > 160 ? $"… ({input.Length} bytes)" : $" ({input.Length} bytes)");
    }

    // ------------------------------------------------------------------ byte mutations

    /// <summary>One to four random byte-level damages: bit flips, overwritten, inserted or deleted bytes, truncation, duplicated chunks.</summary>
    public static byte[] MutateBytes(byte[] original, Rng rng)
    {
        var bytes = new List<byte>(original);
        int damages = 1 + rng.NextInt(4);
        for (int d = 0; d < damages; d++)
        {
            int at = bytes.Count == 0 ? 0 : rng.NextInt(bytes.Count);
            switch (rng.NextInt(7))
            {
                case 0 when bytes.Count > 0: bytes[at] ^= (byte)(1 << rng.NextInt(8)); break;
                case 1 when bytes.Count > 0: bytes[at] = Interesting[rng.NextInt(Interesting.Length)]; break;
                case 2: bytes.InsertRange(at, Enumerable.Range(0, 1 + rng.NextInt(8)).Select(_ => (byte)rng.NextInt(256))); break;
                case 3 when bytes.Count > 0: bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + rng.NextInt(16))); break;
                case 4: bytes.RemoveRange(at, bytes.Count - at); break;
                case 5 when bytes.Count > 0:
                    int length = Math.Min(bytes.Count - at, 1 + rng.NextInt(32));
                    bytes.InsertRange(rng.NextInt(bytes.Count), bytes.GetRange(at, length));
                    break;
                default: bytes.InsertRange(at, "\\uD800"u8.ToArray()); break;
            }
        }
        return [.. bytes];
    }

    private static readonly byte[] Interesting = [0x00, 0xFF, 0x7F, 0x80, 0xC0, 0xED, (byte)'"', (byte)'\\', (byte)'{', (byte)'[', (byte)'-', (byte)'9', (byte)'\n'];

    // ------------------------------------------------------------------ structure-aware JSON mutations

    /// <summary>Raw JSON put in place of a value: wrong types, edge and huge numbers, lone surrogates, deep nesting.</summary>
    public static readonly string[] Replacements =
    [
        "null", "true", "false", "\"\"", "\"x\"", "\"yes\"", "-1", "0", "-0", "0.5", "1e-300", "2147483647", "-2147483648", "2147483648",
        "9223372036854775807", "9223372036854775808", "18446744073709551616", "1e308", "-1e308", "1e999", "\"NaN\"", "\"Infinity\"",
        "\"\\uD800\"", "\"\\uDC00x\"", "\"a\\uD800b\"", "[]", "{}", "[1,2,3]", "[null]", "[\"\\uD800\"]", "{\"a\":1}", "\"18446744073709551615\"", "\"-1\"",
        new string('[', 300) + new string(']', 300), new string('[', 40) + "1" + new string(']', 40),
        "\"" + new string('x', 5000) + "\"", "[" + string.Join(",", Enumerable.Repeat("1e30", 200)) + "]",
    ];

    /// <summary>
    /// A copy of the JSON text with one to three values replaced (by <see cref="Replacements"/>), removed, or given a
    /// duplicate key; when <paramref name="text"/> is not JSON the bytes are mutated instead.
    /// </summary>
    public static string MutateJson(string text, Rng rng)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(text); }
        catch (System.Text.Json.JsonException) { return Encoding.UTF8.GetString(MutateBytes(Encoding.UTF8.GetBytes(text), rng)); }
        if (root is null) return Replacements[rng.NextInt(Replacements.Length)];
        int edits = 1 + rng.NextInt(3);
        var pending = new List<string>();
        for (int e = 0; e < edits; e++)
        {
            var nodes = new List<JsonNode>();
            Collect(root, nodes);
            var target = nodes[rng.NextInt(nodes.Count)];
            if (target == root) return Replacements[rng.NextInt(Replacements.Length)];
            var parent = target.Parent!;
            int kind = rng.NextInt(10);
            string marker = $"@@FUZZ{pending.Count}@@";
            if (kind == 0 && parent is JsonObject o1)
            {
                o1.Remove(target.GetPropertyName());
                continue;
            }
            if (kind == 1 && parent is JsonObject o2)
            {
                // a duplicate key: a sibling named name@@DUP@@, renamed to name after serialisation
                pending.Add(Replacements[rng.NextInt(Replacements.Length)]);
                o2[target.GetPropertyName() + "@@DUP@@"] = marker;
                continue;
            }
            pending.Add(Replacements[rng.NextInt(Replacements.Length)]);
            if (parent is JsonObject obj) obj[target.GetPropertyName()] = marker;
            else if (parent is JsonArray arr) arr[target.GetElementIndex()] = marker;
        }
        string result = root.ToJsonString();
        for (int i = 0; i < pending.Count; i++) result = result.Replace($"\"@@FUZZ{i}@@\"", pending[i], StringComparison.Ordinal);
        result = result.Replace("@@DUP@@", "", StringComparison.Ordinal);
        return result;
    }

    private static void Collect(JsonNode node, List<JsonNode> into)
    {
        into.Add(node);
        if (node is JsonObject o) foreach (var (_, child) in o) { if (child is not null) Collect(child, into); }
        else if (node is JsonArray a) foreach (var child in a) { if (child is not null) Collect(child, into); }
    }
}
