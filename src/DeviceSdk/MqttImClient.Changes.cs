using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk;

/// <summary>Recalling and editing sent messages; the change is itself a seq'd message every device receives.</summary>
public sealed partial class MqttImClient
{
    /// <summary>Recalls a message (sender within the change window, or a group owner/admin) and returns the stored <c>MESSAGE_KIND_RECALL</c> event.</summary>
    public Task<ChatMessage> RecallAsync(string conversationId, long seq, string? clientMsgId = null, CancellationToken cancellationToken = default) =>
        ChangeAsync("recall", conversationId, seq, text: "", clientMsgId, cancellationToken);

    /// <summary>Replaces a message's text (sender within the change window) and returns the stored <c>MESSAGE_KIND_EDIT</c> event.</summary>
    public Task<ChatMessage> EditAsync(string conversationId, long seq, string newText, string? clientMsgId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(newText);
        return ChangeAsync("edit", conversationId, seq, newText, clientMsgId, cancellationToken);
    }

    private async Task<ChatMessage> ChangeAsync(string method, string conversationId, long seq, string text, string? clientMsgId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(conversationId);
        EnsureConnected();
        var request = new ChangeMessageRequest
        {
            RequestId = NewRequestId(),
            ConversationId = conversationId,
            TargetSeq = seq,
            Text = text,
            ClientMsgId = clientMsgId ?? Guid.NewGuid().ToString("N"),
        };
        var response = await Rpc.CallAsync(method, request, request.RequestId, RpcResponse.ResultOneofCase.Changed, cancellationToken).ConfigureAwait(false);

        // Like a send, the change is not echoed to the device that made it: it joins this device's stream from the answer.
        Buffer.Offer(response.Changed);
        return response.Changed;
    }
}
