using MqttIm.Contracts.V1;
using MqttIm.DeviceSdk.Wire;

namespace MqttIm.DeviceSdk.Sending;

/// <summary>
/// MQTT 3.1.1 has no PUBACK properties, so a send learns its fate from the <c>SendAck</c> or <c>SendError</c> on the inbox,
/// matched by client message id (a refusal without one goes to the oldest waiting send on that topic).
/// </summary>
internal sealed class InboxAckWaiter
{
    private readonly Lock _lock = new();
    private readonly List<Waiting> _waiting = [];

    public Task<SendAck> Register(string clientMsgId, string topic)
    {
        var waiting = new Waiting(clientMsgId, topic, new TaskCompletionSource<SendAck>(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_lock)
        {
            _waiting.Add(waiting);
        }

        return waiting.Completion.Task;
    }

    public void Forget(string clientMsgId)
    {
        lock (_lock)
        {
            _waiting.RemoveAll(w => w.ClientMsgId == clientMsgId);
        }
    }

    public void OnAck(SendAck ack)
    {
        Take(w => w.ClientMsgId == ack.ClientMsgId)?.Completion.TrySetResult(ack);
    }

    public void OnError(SendError error)
    {
        var waiting = error.ClientMsgId.Length > 0
            ? Take(w => w.ClientMsgId == error.ClientMsgId)
            : Take(w => w.Topic == error.Topic);
        waiting?.Completion.TrySetException(
            new MqttImSendException(SendRefusals.ReasonCodeOf(error.Code), error.Code, error.Message, waiting.ClientMsgId));
    }

    private Waiting? Take(Predicate<Waiting> match)
    {
        lock (_lock)
        {
            var index = _waiting.FindIndex(match);
            if (index < 0)
            {
                return null;
            }

            var waiting = _waiting[index];
            _waiting.RemoveAt(index);
            return waiting;
        }
    }

    private sealed record Waiting(string ClientMsgId, string Topic, TaskCompletionSource<SendAck> Completion);
}
