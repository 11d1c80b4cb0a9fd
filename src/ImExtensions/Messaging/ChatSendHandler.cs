using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>
/// <c>im/c2c/{peer}</c> and <c>im/group/{groupId}</c>: validate the envelope (and group membership and mutes),
/// hand it to the group commit, acknowledge only once it is durable. Returns the verdict Hooks writes into the PUBACK.
/// </summary>
internal sealed class ChatSendHandler(
    SendRequestReader reader,
    MessageCommitQueue commitQueue,
    IGroupSendPolicy groupPolicy,
    UplinkResponder responder,
    IOnlineRouter router)
{
    // Not async: the common case hands SubmitAsync's task straight back (one state machine per send, not two).
    public Task<UplinkVerdict> HandleC2cAsync(UplinkPublish publish, ConnectedDevice device, string peerId)
    {
        if (!reader.TryRead(publish, out var request, out var rejection))
        {
            return responder.RejectAsync(device, publish.Topic, rejection, request.ClientMsgId, publish.CancellationToken).AsTask();
        }

        var draft = Draft(request, device, ConversationIds.C2c(device.UserId, peerId));
        draft.RecipientId = peerId;
        return SubmitAsync(publish, device, draft);
    }

    public async Task<UplinkVerdict> HandleGroupAsync(UplinkPublish publish, ConnectedDevice device, string groupId)
    {
        // Membership first: a non-member learns only that, whatever it sent.
        var standing = await groupPolicy.CheckAsync(groupId, device.UserId, publish.CancellationToken).ConfigureAwait(false);
        if (standing.Refusal is { } refusal)
        {
            // The client message id still helps 3.1.1 clients match the refusal to their send.
            reader.TryRead(publish, out var refused, out _);
            return await responder.RejectAsync(device, publish.Topic, refusal, refused.ClientMsgId, publish.CancellationToken).ConfigureAwait(false);
        }

        if (!reader.TryRead(publish, out var request, out var rejection))
        {
            return await responder.RejectAsync(device, publish.Topic, rejection, request.ClientMsgId, publish.CancellationToken).ConfigureAwait(false);
        }

        if (standing.Muted is { } muted)
        {
            return await responder.RejectAsync(device, publish.Topic, muted, request.ClientMsgId, publish.CancellationToken).ConfigureAwait(false);
        }

        var draft = Draft(request, device, standing.ConversationId);
        draft.GroupId = groupId;
        return await SubmitAsync(publish, device, draft).ConfigureAwait(false);
    }

    private static ChatMessage Draft(SendRequest request, ConnectedDevice device, string conversationId)
    {
        var draft = new ChatMessage
        {
            ConversationId = conversationId,
            ClientMsgId = request.ClientMsgId,
            SenderId = device.UserId,
            SenderDevice = device.ClientId,
            Text = request.Text,
            ContentType = request.ContentType.Length > 0 ? request.ContentType : "text",
            Data = request.Data,
        };
        draft.Ext.Add(request.Ext);
        return draft;
    }

    private async Task<UplinkVerdict> SubmitAsync(UplinkPublish publish, ConnectedDevice device, ChatMessage draft)
    {
        if (device.AckOnReceipt)
        {
            return await AcceptOnReceiptAsync(publish, device, new PendingSend(draft, device.ClientId) { InboxSendAck = device.WantsInboxSendAck })
                .ConfigureAwait(false);
        }

        // Completed inline by the commit loop: what follows (the PUBACK fields, then MQTTnet writing the PUBACK) runs on
        // its thread instead of waking a thread-pool worker per message. Not cancelled with the connection: the commit
        // completes every send it took (stored, or failed after its retries), so this waits at most that long.
        var send = new PendingSend(draft, device.ClientId, CompleteInline: true) { InboxSendAck = device.WantsInboxSendAck };
        SendOutcome outcome;
        try
        {
            await commitQueue.EnqueueAsync(send, publish.CancellationToken).ConfigureAwait(false);
            outcome = await send.Completion.Task.ConfigureAwait(false);
        }
        catch (StoreUnavailableException)
        {
            return await responder.RejectAsync(device, publish.Topic, UplinkRejection.StoreUnavailable(), draft.ClientMsgId, publish.CancellationToken)
                .ConfigureAwait(false);
        }

        if (outcome.Duplicate)
        {
            await AnswerDuplicateAsync(device, outcome, publish.CancellationToken).ConfigureAwait(false);
        }

        return UplinkVerdict.Stored(outcome);
    }

    /// <summary>
    /// Early-ack mode: the PUBACK goes out once the send is queued for the commit, so MQTTnet reads the connection's next
    /// publish while this one commits; "stored" (or the failure) reaches the device on its inbox, by client message id.
    /// </summary>
    private async Task<UplinkVerdict> AcceptOnReceiptAsync(UplinkPublish publish, ConnectedDevice device, PendingSend send)
    {
        // Queued before the PUBACK: a full queue holds the PUBACK back (back-pressure), and a connection's sends keep their order.
        await commitQueue.EnqueueAsync(send, publish.CancellationToken).ConfigureAwait(false);
        _ = ReportStoredAsync(device, send, publish.Topic);
        return UplinkVerdict.Received(send.Draft.ClientMsgId);
    }

    /// <summary>After an early PUBACK: a failure or a duplicate goes to the inbox here; a fresh message's send-ack comes from the fan-out.</summary>
    private async Task ReportStoredAsync(ConnectedDevice device, PendingSend send, string topic)
    {
        try
        {
            SendOutcome outcome;
            try
            {
                outcome = await send.Completion.Task.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Accepted but not stored (store down after retries, or the broker stopping): say so for this client message id.
                // The device still holds the message and resends it with the same id.
                var rejection = ex is StoreUnavailableException ? UplinkRejection.StoreUnavailable() : UplinkRejection.NotStored(ex.Message);
                await responder.ReportNotStoredAsync(device, topic, send.Draft.ClientMsgId, rejection).ConfigureAwait(false);
                return;
            }

            if (outcome.Duplicate)
            {
                await AnswerDuplicateAsync(device, outcome, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // Nothing awaits this task: a failure to route the answer is logged, and the device's resend timer covers it.
            responder.LogReportFailed(device, ex);
        }
    }

    private async Task AnswerDuplicateAsync(ConnectedDevice device, SendOutcome outcome, CancellationToken cancellationToken)
    {
        if (!device.WantsInboxSendAck)
        {
            // The MQTT 5 PUBACK already says duplicate=true with the first send's seq.
            return;
        }

        // A resend: the first send's ack may have been lost with the connection, so answer it again.
        var ack = new OutboundEvent(new InboxEvent { SendAck = SendAcks.From(outcome.Message, duplicate: true) });
        await router.RouteToDeviceAsync(device.UserId, device.ClientId, ack, cancellationToken).ConfigureAwait(false);
    }
}
