using System.Globalization;
using System.Text.Json;
using Reinforce.Tensors;

namespace Reinforce.Tests.Golden;

/// <summary>A tensor read from the golden file: its shape and its float64 values, row-major.</summary>
public sealed record GoldenTensor(int[] Shape, double[] Data)
{
    /// <summary>The values as a float32 tensor of the same shape (a fresh copy; [] stays a scalar).</summary>
    public Tensor ToTensor(bool requiresGrad = false)
    {
        var t = Shape.Length == 0 ? Tensor.Scalar((float)Data[0]) : Tensor.FromArray(Data, Shape);
        if (requiresGrad) t.RequireGrad();
        return t;
    }

    public int Size => Data.Length;
}

/// <summary>
/// One case of Data/pytorch-golden.jsonl. Operation cases hold <c>inputs</c>, <c>outputs</c>, <c>upstream</c> and
/// <c>grads</c> (the gradient of sum(y * upstream) with respect to each input); any other field is reachable
/// through <see cref="Root"/> or the typed readers.
/// </summary>
public sealed class GoldenCase(string name, JsonElement root)
{
    public string Name { get; } = name;

    /// <summary>The whole JSON object of the case.</summary>
    public JsonElement Root { get; } = root;

    public GoldenTensor Input(string name) => Section("inputs", name);
    public GoldenTensor Output(string name = "y") => Section("outputs", name);
    public GoldenTensor Grad(string name) => Section("grads", name);
    public GoldenTensor Upstream => GoldenData.ReadTensor(Field("upstream"), $"{Name}.upstream");

    /// <summary>Whether the case has a gradient for <paramref name="name"/> (some cases omit inputs with no gradient).</summary>
    public bool HasGrad(string name) => Root.TryGetProperty("grads", out var g) && g.TryGetProperty(name, out _);

    /// <summary>The names of the inputs, in file order.</summary>
    public IReadOnlyList<string> InputNames => [.. Field("inputs").EnumerateObject().Select(p => p.Name)];

    /// <summary>A top-level field (throws naming the case and the field when absent).</summary>
    public JsonElement Field(string field) =>
        Root.TryGetProperty(field, out var v) ? v : throw new KeyNotFoundException($"Golden case '{Name}' has no field '{field}'.");

    /// <summary>A field holding a tensor object ({"shape", "data"}).</summary>
    public GoldenTensor TensorField(string field) => GoldenData.ReadTensor(Field(field), $"{Name}.{field}");

    /// <summary>A field holding numbers (nested lists are flattened row-major).</summary>
    public double[] Doubles(string field) => GoldenData.Flatten(Field(field)).ToArray();

    /// <summary>A field holding integers (nested lists are flattened row-major).</summary>
    public int[] Ints(string field) => [.. GoldenData.Flatten(Field(field)).Select(v => checked((int)v))];

    /// <summary>A field holding one number.</summary>
    public double Number(string field) => Field(field).GetDouble();

    /// <summary>A list of tensor objects (for example the clipping case's gradients).</summary>
    public GoldenTensor[] TensorList(string field) =>
        [.. Field(field).EnumerateArray().Select((e, i) => GoldenData.ReadTensor(e, $"{Name}.{field}[{i}]"))];

    private GoldenTensor Section(string section, string name)
    {
        var s = Field(section);
        if (!s.TryGetProperty(name, out var t))
            throw new KeyNotFoundException($"Golden case '{Name}' has no {section}.{name}; it has: {string.Join(", ", s.EnumerateObject().Select(p => p.Name))}.");
        return GoldenData.ReadTensor(t, $"{Name}.{section}.{name}");
    }

    public override string ToString() => Name;
}

/// <summary>Loads the PyTorch golden cases (Data/pytorch-golden.jsonl, see Data/REFERENCE.md) and compares against them.</summary>
public static class GoldenData
{
    private static readonly Lazy<IReadOnlyDictionary<string, GoldenCase>> s_cases = new(() => Load(PathOf("pytorch-golden.jsonl")));

    /// <summary>The full path of a file in the test output's Data folder.</summary>
    public static string PathOf(string fileName) => System.IO.Path.Combine(AppContext.BaseDirectory, "Data", fileName);

    /// <summary>Every case, by name, in file order.</summary>
    public static IReadOnlyDictionary<string, GoldenCase> All => s_cases.Value;

    /// <summary>The case called <paramref name="name"/>.</summary>
    public static GoldenCase Case(string name) =>
        All.TryGetValue(name, out var c) ? c : throw new KeyNotFoundException($"No golden case '{name}' in pytorch-golden.jsonl; cases: {string.Join(", ", All.Keys)}.");

    /// <summary>Parses a JSONL file of cases that each have a "name".</summary>
    public static IReadOnlyDictionary<string, GoldenCase> Load(string path)
    {
        var cases = new Dictionary<string, GoldenCase>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var root = JsonDocument.Parse(line).RootElement.Clone();
            if (!root.TryGetProperty("name", out var n) || n.GetString() is not { } name)
                throw new InvalidDataException($"{path}:{lineNumber}: a golden case needs a \"name\".");
            cases.Add(name, new GoldenCase(name, root));
        }
        return cases;
    }

    /// <summary>Reads {"shape": [...], "data": [...]}; checks that the data fills the shape.</summary>
    public static GoldenTensor ReadTensor(JsonElement e, string what)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("shape", out var s) || !e.TryGetProperty("data", out var d))
            throw new InvalidDataException($"{what} is not a tensor object with \"shape\" and \"data\".");
        int[] shape = [.. s.EnumerateArray().Select(x => x.GetInt32())];
        double[] data = Flatten(d).ToArray();
        long size = 1;
        foreach (var dim in shape) size *= dim;
        if (size != data.Length) throw new InvalidDataException($"{what}: shape [{string.Join(", ", shape)}] needs {size} values, has {data.Length}.");
        return new GoldenTensor(shape, data);
    }

    internal static IEnumerable<double> Flatten(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in e.EnumerateArray())
                foreach (var v in Flatten(item)) yield return v;
        }
        else if (e.ValueKind == JsonValueKind.Number) yield return e.GetDouble();
        else if (e.ValueKind == JsonValueKind.True) yield return 1;
        else if (e.ValueKind == JsonValueKind.False) yield return 0;
        else throw new InvalidDataException($"Expected numbers, found {e.ValueKind}.");
    }

    /// <summary>
    /// Asserts |actual - expected| ≤ atol + rtol·|expected| element by element (shapes must match), naming the first
    /// element that fails, its index, both values and the tolerance.
    /// </summary>
    public static void AssertClose(GoldenTensor expected, Tensor actual, double rtol = 1e-5, double atol = 1e-6, string what = "")
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        int[] expectedShape = expected.Shape;
        // PyTorch reports a loss as shape [1] in this file; the engine's losses are scalars [].
        bool bothOne = expected.Size == 1 && actual.Size == 1;
        if (!bothOne && !Tensor.SameShape(expectedShape, actual.Shape))
            Assert.Fail($"{what}: shape {Tensor.ShapeString(actual.Shape)} but PyTorch has {Tensor.ShapeString(expectedShape)}.");
        AssertClose(expected.Data, actual.Data, rtol, atol, what);
    }

    /// <summary>Element-wise closeness of two sequences (see the tensor overload).</summary>
    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double rtol = 1e-5, double atol = 1e-6, string what = "")
    {
        // An empty golden output compares nothing, so it could never fail: refuse it.
        if (expected.Length == 0) Assert.Fail($"{what}: the golden output is empty, so the comparison would check nothing; regenerate the reference data.");
        if (expected.Length != actual.Length) Assert.Fail($"{what}: {actual.Length} values but expected {expected.Length}.");
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            double tol = atol + rtol * Math.Abs(e);
            if (!(Math.Abs(a - e) <= tol))
                Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                    $"{what}[{i}]: got {a:R}, PyTorch {e:R}, |diff| {Math.Abs(a - e):E3} > tolerance {tol:E3} (rtol {rtol}, atol {atol})."));
        }
    }
}
