using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>A validated 1:1 send waiting for its seq and its group commit.</summary>
/// <param name="SenderClientId">The sending device's client id; empty for sends that come from the server itself.</param>
internal sealed record PendingSend(string SenderId, string SenderClientId, string RecipientId, string ConversationId, SendRequest Request)
{
    public TaskCompletionSource<SendOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ClientMsgKey? DedupKey => Request.ClientMsgId.Length > 0 ? new ClientMsgKey(SenderId, Request.ClientMsgId) : null;
}

/// <summary>The stored message a send resulted in; <see cref="Duplicate"/> when it had been stored by an earlier send.</summary>
internal readonly record struct SendOutcome(ChatMessage Message, bool Duplicate);
