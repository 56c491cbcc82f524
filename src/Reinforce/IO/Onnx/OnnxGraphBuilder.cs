using System.Runtime.InteropServices;

namespace Reinforce.IO.Onnx;

/// <summary>
/// Builds an ONNX model (onnx.proto's ModelProto) node by node and serialises it, with no dependency on the ONNX
/// libraries. Weights become initializers stored as raw little-endian float32; inputs and outputs are float32
/// (or int64) tensors whose first dimension may be symbolic (a dynamic batch).
/// </summary>
public sealed class OnnxGraphBuilder
{
    // TensorProto.DataType values.
    public const int Float32 = 1;
    public const int UInt8 = 2;
    public const int Int64 = 7;
    public const int Bool = 9;

    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<ProtoWriter> _initializers = [];
    private readonly List<ProtoWriter> _inputs = [];
    private readonly List<ProtoWriter> _outputs = [];
    private readonly List<(string Key, string Value)> _metadata = [];
    private int _counter;

    /// <summary>Creates a builder for the given opset (default 17, with IR version 8: ONNX 1.12, run by ONNX Runtime 1.12 and later).</summary>
    public OnnxGraphBuilder(string graphName, int opset = 17, int irVersion = 8)
    {
        GraphName = graphName;
        Opset = opset;
        IrVersion = irVersion;
    }

    public string GraphName { get; }
    public int Opset { get; }
    public int IrVersion { get; }

    /// <summary>A fresh intermediate value name with the given prefix.</summary>
    public string Fresh(string prefix) => $"{prefix}_{_counter++}";

    /// <summary>Declares a graph input; dimensions given as null become the symbolic "batch".</summary>
    public void AddInput(string name, int elementType, params int?[] shape) => _inputs.Add(ValueInfo(name, elementType, shape));

    /// <summary>Declares a graph output.</summary>
    public void AddOutput(string name, int elementType, params int?[] shape) => _outputs.Add(ValueInfo(name, elementType, shape));

    /// <summary>Adds a float32 constant (weights, normalisation statistics) and returns its name.</summary>
    public string AddInitializer(string name, ReadOnlySpan<float> values, params int[] shape)
    {
        var t = new ProtoWriter();
        foreach (var d in shape) t.Int(1, d);
        t.Int(2, Float32);
        t.String(8, name);
        t.Bytes(9, BitConverter.IsLittleEndian ? MemoryMarshal.AsBytes(values) : ToLittleEndian(values));
        _initializers.Add(t);
        return name;
    }

    /// <summary>Adds an int64 constant and returns its name.</summary>
    public string AddInitializer(string name, ReadOnlySpan<long> values, params int[] shape)
    {
        var t = new ProtoWriter();
        foreach (var d in shape) t.Int(1, d);
        t.Int(2, Int64);
        t.String(8, name);
        t.PackedInts(7, values.ToArray());
        _initializers.Add(t);
        return name;
    }

    /// <summary>Adds a node; attributes are ints, floats, int arrays or strings.</summary>
    public void AddNode(string opType, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = new ProtoWriter();
        foreach (var i in inputs) node.String(1, i);
        foreach (var o in outputs) node.String(2, o);
        node.String(3, Fresh(opType));
        node.String(4, opType);
        foreach (var (name, value) in attributes)
        {
            var a = new ProtoWriter().String(1, name);
            switch (value)
            {
                case int i: a.Int(3, i).Int(20, 2); break;
                case long l: a.Int(3, l).Int(20, 2); break;
                case float f: a.Float(2, f).Int(20, 1); break;
                case string s: a.String(4, s).Int(20, 3); break;
                case long[] ints: foreach (var v in ints) a.Int(8, v); a.Int(20, 7); break;
                default: throw new ArgumentException($"ONNX attribute {name}: unsupported value type {value.GetType().Name}.");
            }
            node.Message(5, a);
        }
        _nodes.Add(node);
    }

    /// <summary>Adds a model metadata entry (ModelProto.metadata_props).</summary>
    public void AddMetadata(string key, string value) => _metadata.Add((key, value));

    /// <summary>The serialised ModelProto.</summary>
    public byte[] Build(string producer = "Reinforce", string producerVersion = "0.1.0")
    {
        var graph = new ProtoWriter();
        foreach (var n in _nodes) graph.Message(1, n);
        graph.String(2, GraphName);
        foreach (var t in _initializers) graph.Message(5, t);
        foreach (var i in _inputs) graph.Message(11, i);
        foreach (var o in _outputs) graph.Message(12, o);

        var model = new ProtoWriter();
        model.Int(1, IrVersion);
        model.String(2, producer);
        model.String(3, producerVersion);
        model.Message(7, graph);
        model.Message(8, new ProtoWriter().String(1, "").Int(2, Opset));
        foreach (var (k, v) in _metadata) model.Message(14, new ProtoWriter().String(1, k).String(2, v));
        return model.ToArray();
    }

    private static ProtoWriter ValueInfo(string name, int elementType, int?[] shape)
    {
        var dims = new ProtoWriter();
        foreach (var d in shape)
            dims.Message(1, d is int v ? new ProtoWriter().Int(1, v) : new ProtoWriter().String(2, "batch"));
        var tensorType = new ProtoWriter().Int(1, elementType).Message(2, dims);
        var type = new ProtoWriter().Message(1, tensorType);
        return new ProtoWriter().String(1, name).Message(2, type);
    }

    private static byte[] ToLittleEndian(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return bytes;
    }
}
