using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Reinforce.Tests.Export;

/// <summary>
/// Runs ONNX models in the real ONNX Runtime, in process (NuGet Microsoft.ML.OnnxRuntime, referenced by the test
/// project only, with the linux-x64 native runtime; the library itself stays free of native code). Nothing is
/// installed at test time, so these tests cannot be skipped: a missing runtime is a build or load failure.
/// </summary>
internal static class OnnxRuntime
{
    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Reinforce.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Reinforce.slnx not found above the test output folder.");
    }

    /// <summary>Runs the model on float32 inputs; returns each output's dims and values.</summary>
    public static Dictionary<string, (long[] Dims, double[] Data)> Run(string modelPath, IReadOnlyDictionary<string, (int[] Dims, float[] Data)> inputs) =>
        Session(modelPath, inputs).Outputs.ToDictionary(o => o.Key, o => (o.Value.Dims, o.Value.Data));

    /// <summary>Runs a model file on float32 inputs.</summary>
    public static OrtResult Session(string modelPath, IReadOnlyDictionary<string, (int[] Dims, float[] Data)> inputs) =>
        Session(File.ReadAllBytes(modelPath), inputs);

    /// <summary>Runs serialised model bytes on float32 inputs; returns the session's input and output names (in the model's order) and every output's dims, element type and values.</summary>
    public static OrtResult Session(byte[] model, IReadOnlyDictionary<string, (int[] Dims, float[] Data)> inputs) =>
        Session(model, [.. inputs.Select(i => NamedOnnxValue.CreateFromTensor(i.Key, new DenseTensor<float>(i.Value.Data, i.Value.Dims)))]);

    /// <summary>A uint8 input (byte images).</summary>
    public static NamedOnnxValue Bytes(string name, byte[] data, params int[] dims) => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<byte>(data, dims));

    /// <summary>A bool input (action masks).</summary>
    public static NamedOnnxValue Bools(string name, bool[] data, params int[] dims) => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<bool>(data, dims));

    /// <summary>A float32 input.</summary>
    public static NamedOnnxValue Floats(string name, float[] data, params int[] dims) => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(data, dims));

    /// <summary>Runs serialised model bytes on inputs of any element type.</summary>
    public static OrtResult Session(byte[] model, IReadOnlyList<NamedOnnxValue> feeds)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(model, options);
        using var results = session.Run(feeds);
        var outputs = new Dictionary<string, OrtOutput>(StringComparer.Ordinal);
        foreach (var value in results)
        {
            outputs[value.Name] = value.ElementType switch
            {
                TensorElementType.Float => Output(value.AsTensor<float>(), "float32", v => v),
                TensorElementType.Double => Output(value.AsTensor<double>(), "float64", v => v),
                TensorElementType.Int64 => Output(value.AsTensor<long>(), "int64", v => v),
                TensorElementType.Int32 => Output(value.AsTensor<int>(), "int32", v => v),
                TensorElementType.Bool => Output(value.AsTensor<bool>(), "bool", v => v ? 1 : 0),
                var other => throw new NotSupportedException($"Output '{value.Name}' has element type {other}, which these tests do not read."),
            };
        }
        return new OrtResult([.. session.InputNames], [.. session.OutputNames], outputs);
    }

    private static OrtOutput Output<T>(Tensor<T> tensor, string type, Func<T, double> convert) =>
        new(tensor.Dimensions.ToArray().Select(d => (long)d).ToArray(), type, tensor.ToArray().Select(convert).ToArray());
}

/// <summary>One output of an ONNX Runtime session: its dims, element type ("float32", "int64", ...) and values.</summary>
internal sealed record OrtOutput(long[] Dims, string Type, double[] Data);

/// <summary>What an ONNX Runtime session reported: input and output names in the model's order, and the outputs.</summary>
internal sealed record OrtResult(string[] InputNames, string[] OutputNames, Dictionary<string, OrtOutput> Outputs)
{
    public OrtOutput this[string name] => Outputs.TryGetValue(name, out var o) ? o : throw new KeyNotFoundException($"The model has no output '{name}'; it has {string.Join(", ", OutputNames)}.");
}
