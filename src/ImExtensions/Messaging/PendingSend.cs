using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>A validated conversation event waiting for its seq and its group commit.</summary>
/// <param name="Draft">The message as it will be stored, without seq, server id and time (the commit loop sets them on it: the draft is the send's own).</param>
/// <param name="SenderClientId">The sending device's client id; empty for events the server writes itself.</param>
/// <param name="CompleteInline">
/// Run the waiter's continuation on the commit loop's thread when the commit completes it: for a device's send, that
/// continuation is MQTTnet writing the PUBACK, and running it there saves a thread-pool hop (a wake-up) per message.
/// Only for waiters whose continuation is short and never blocks; everything else stays asynchronous.
/// </param>
internal sealed record PendingSend(ChatMessage Draft, string SenderClientId, bool CompleteInline = false)
{
    public TaskCompletionSource<SendOutcome> Completion { get; } =
        new(CompleteInline ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Whether the sending device gets the send-ack on its inbox after the commit (not when its MQTT 5 PUBACK carries it).</summary>
    public bool InboxSendAck { get; init; } = true;

    public ClientMsgKey? DedupKey => Draft.ClientMsgId.Length > 0 ? ClientMsgKey.Of(Draft) : null;
}

/// <summary>The stored message a send resulted in; <see cref="Duplicate"/> when it had been stored by an earlier send.</summary>
internal readonly record struct SendOutcome(ChatMessage Message, bool Duplicate);
