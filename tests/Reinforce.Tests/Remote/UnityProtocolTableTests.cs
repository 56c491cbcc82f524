using System.Globalization;
using Google.Protobuf.Reflection;
using Reinforce.Servers.Unity;
using Reinforce.Servers.Unity.Protocol;

namespace Reinforce.Tests.Remote;

/// <summary>
/// Our Unity ML-Agents messages (protos/unity, compiled into Reinforce.Servers) against the field table of ML-Agents'
/// own protos (Data/unity/mlagents-communicator-table.txt, produced by tools/unity_protocol/proto_table.py from
/// ML-Agents' protobuf-definitions): same messages, field numbers, names, types, labels, oneofs, enum values, rpc
/// and communication version, so the bytes on the wire are the same.
/// </summary>
public sealed class UnityProtocolTableTests
{
    private const string Service = "communicator_objects.UnityToExternalProto";

    private static string[] Expected() =>
        File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Data", "unity", "mlagents-communicator-table.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();

    /// <summary>The same lines as proto_table.py prints, from the compiled C# descriptors.</summary>
    internal static List<string> Table(FileDescriptor file)
    {
        var service = file.Services.Single(s => s.FullName == Service);
        var lines = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var todo = new Stack<IDescriptor>();
        foreach (var method in service.Methods)
        {
            lines.Add($"rpc {Service}.{method.Name} {method.InputType.FullName} -> {method.OutputType.FullName}");
            todo.Push(method.InputType);
            todo.Push(method.OutputType);
        }
        while (todo.Count > 0)
        {
            var next = todo.Pop();
            if (!seen.Add(next.FullName)) continue;
            if (next is EnumDescriptor e)
            {
                foreach (var v in e.Values) lines.Add($"enum {e.FullName} {v.Number.ToString(CultureInfo.InvariantCulture)} {v.Name}");
                continue;
            }
            var message = (MessageDescriptor)next;
            foreach (var field in message.Fields.InDeclarationOrder())
            {
                string label = field.IsRepeated ? "repeated" : "single";
                string kind = field.FieldType.ToString().ToLowerInvariant();
                if (field.IsMap)
                {
                    var key = field.MessageType.FindFieldByNumber(1);
                    var value = field.MessageType.FindFieldByNumber(2);
                    string valueType = value.FieldType switch
                    {
                        FieldType.Message => value.MessageType.FullName,
                        FieldType.Enum => value.EnumType.FullName,
                        _ => value.FieldType.ToString().ToLowerInvariant(),
                    };
                    if (value.FieldType == FieldType.Message) todo.Push(value.MessageType);
                    if (value.FieldType == FieldType.Enum) todo.Push(value.EnumType);
                    kind = $"map<{key.FieldType.ToString().ToLowerInvariant()},{valueType}>";
                    label = "map";
                }
                else if (field.FieldType == FieldType.Message)
                {
                    kind += " " + field.MessageType.FullName;
                    todo.Push(field.MessageType);
                }
                else if (field.FieldType == FieldType.Enum)
                {
                    kind += " " + field.EnumType.FullName;
                    todo.Push(field.EnumType);
                }
                string oneof = field.RealContainingOneof is { } o ? $" oneof={o.Name}" : "";
                lines.Add($"field {message.FullName} {field.FieldNumber.ToString(CultureInfo.InvariantCulture)} {field.Name} {label} {kind}{oneof}");
            }
        }
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    [Fact]
    public void Compiled_messages_match_ML_Agents_field_table_line_for_line()
    {
        var expected = Expected().Where(l => !l.StartsWith("communication_version ", StringComparison.Ordinal)).ToList();
        var ours = Table(CommunicatorReflection.Descriptor);
        Assert.True(expected.Count > 60, $"the committed table has only {expected.Count} lines");
        var missing = expected.Except(ours, StringComparer.Ordinal).ToList();
        var extra = ours.Except(expected, StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"Our Unity protos differ from ML-Agents':\nmissing (in theirs, not ours):\n  {string.Join("\n  ", missing)}\ndifferent or extra (ours only):\n  {string.Join("\n  ", extra)}");
    }

    [Fact]
    public void Trainer_announces_ML_Agents_communication_version()
    {
        string line = Assert.Single(Expected(), l => l.StartsWith("communication_version ", StringComparison.Ordinal));
        Assert.Equal(UnityVectorEnv.CommunicationVersion, line["communication_version ".Length..]);
    }

    [Fact]
    public void Table_builder_sees_a_changed_field_number()
    {
        // The comparison can fail: a copy of our descriptor with AgentInfoProto.done renumbered gives a different table.
        var proto = FileDescriptorProto.Parser.ParseFrom(CommunicatorReflection.Descriptor.SerializedData);
        var agentInfo = proto.MessageType.Single(m => m.Name == "AgentInfoProto");
        agentInfo.Field.Single(f => f.Name == "done").Number = 99;
        var changed = FileDescriptor.BuildFromByteStrings([Google.Protobuf.ByteString.CopyFrom(Google.Protobuf.MessageExtensions.ToByteArray(proto))])[0];
        var lines = Table(changed);
        Assert.Contains("field communicator_objects.AgentInfoProto 99 done single bool", lines);
        Assert.DoesNotContain("field communicator_objects.AgentInfoProto 8 done single bool", lines);
    }
}
