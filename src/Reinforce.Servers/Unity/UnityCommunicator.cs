using System.Collections.Concurrent;
using Grpc.Core;
using Reinforce.Servers.Unity.Protocol;

namespace Reinforce.Servers.Unity;

/// <summary>
/// The trainer side of ML-Agents' gRPC service <c>communicator_objects.UnityToExternalProto</c>: Unity (the client)
/// calls <c>Exchange</c> with its output and waits for the trainer's input. This class turns each call into a
/// rendezvous: <see cref="Receive"/> hands the trainer thread Unity's next message, <see cref="Reply"/> answers it.
/// A Unity that disconnects (Play stopped, player closed) wakes a waiting trainer with an error.
/// </summary>
public sealed class UnityCommunicator : UnityToExternalProto.UnityToExternalProtoBase
{
    private readonly BlockingCollection<(UnityMessageProto Message, TaskCompletionSource<UnityMessageProto> Reply)> _incoming = new();
    private TaskCompletionSource<UnityMessageProto>? _pending;
    private volatile string? _disconnected;

    /// <inheritdoc/>
    public override async Task<UnityMessageProto> Exchange(UnityMessageProto request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var reply = new TaskCompletionSource<UnityMessageProto>(TaskCreationOptions.RunContinuationsAsynchronously);
        _incoming.Add((request, reply));
        using var registration = context.CancellationToken.Register(() =>
        {
            _disconnected = "Unity closed the connection";
            reply.TrySetCanceled();
            _incoming.Add((null!, reply));   // wakes a trainer waiting in Receive
        });
        return await reply.Task.ConfigureAwait(false);
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for Unity's next message; throws an <see cref="IOException"/> naming
    /// <paramref name="what"/> when Unity disconnected or stayed silent.
    /// </summary>
    public UnityMessageProto Receive(TimeSpan timeout, string what)
    {
        if (_pending is not null) throw new InvalidOperationException("Reply to Unity's last message before waiting for the next one.");
        while (true)
        {
            if (!_incoming.TryTake(out var item, timeout))
                throw new IOException($"Unity did not send {what} within {timeout.TotalSeconds:0} s. Is the editor playing (press Play) or the player running and pointed at this port?");
            if (item.Message is null || item.Reply.Task.IsCanceled)
            {
                if (item.Message is null) throw new IOException($"Unity disconnected while the trainer waited for {what} ({_disconnected}). Training stops; the run folder keeps its checkpoints.");
                continue;   // a call whose client went away before the trainer saw it
            }
            _pending = item.Reply;
            return item.Message;
        }
    }

    /// <summary>Answers the message <see cref="Receive"/> returned.</summary>
    public void Reply(UnityMessageProto message)
    {
        var pending = _pending ?? throw new InvalidOperationException("There is no message from Unity to answer.");
        _pending = null;
        if (!pending.TrySetResult(message))
            throw new IOException($"Unity disconnected before the trainer answered ({_disconnected ?? "the call was cancelled"}).");
    }

    /// <summary>Answers the pending message, if any, with a status that tells Unity to stop (as mlagents-learn does on close).</summary>
    public void Quit(string reason)
    {
        var pending = _pending;
        _pending = null;
        pending?.TrySetResult(new UnityMessageProto { Header = new HeaderProto { Status = 400, Message = reason } });
    }
}
