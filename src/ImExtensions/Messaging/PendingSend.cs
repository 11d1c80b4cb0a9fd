using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>A validated conversation event waiting for its seq and its group commit.</summary>
/// <param name="Draft">The message as it will be stored, without seq, server id and time (the commit loop sets them on it: the draft is the send's own).</param>
/// <param name="SenderClientId">The sending device's client id; empty for events the server writes itself.</param>
internal sealed record PendingSend(ChatMessage Draft, string SenderClientId)
{
    public TaskCompletionSource<SendOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Whether the sending device gets the send-ack on its inbox after the commit (not when its MQTT 5 PUBACK carries it).</summary>
    public bool InboxSendAck { get; init; } = true;

    public ClientMsgKey? DedupKey => Draft.ClientMsgId.Length > 0 ? ClientMsgKey.Of(Draft) : null;
}

/// <summary>The stored message a send resulted in; <see cref="Duplicate"/> when it had been stored by an earlier send.</summary>
internal readonly record struct SendOutcome(ChatMessage Message, bool Duplicate);
