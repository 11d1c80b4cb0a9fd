using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;
using MqttIm.DeviceSdk.Wire;

namespace MqttIm.DeviceSdk;

/// <summary>Sending 1:1 and group messages with the broker's ack (PUBACK user properties on MQTT 5, inbox send-ack on 3.1.1).</summary>
public sealed partial class MqttImClient
{
    // An MQTT 5 refusal's precise code (not_member, muted …) arrives as a SendError on the inbox, possibly just after the PUBACK.
    private static readonly TimeSpan RefusalDetailWait = TimeSpan.FromSeconds(1);

    /// <summary>Sends a text message to a user and returns the broker's ack once the message is stored.</summary>
    public Task<SendAck> SendTextAsync(string peerUserId, string text, string? clientMsgId = null, CancellationToken cancellationToken = default) =>
        SendAsync(peerUserId, new SendRequest { Text = text, ClientMsgId = clientMsgId ?? "" }, cancellationToken);

    /// <summary>Sends a message to a user (assigning a client message id if it has none, so resending the same request is idempotent).</summary>
    public Task<SendAck> SendAsync(string peerUserId, SendRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(peerUserId);
        return SendCoreAsync(Topics.C2cSend(peerUserId), peerUserId, groupId: "", request, cancellationToken);
    }

    /// <summary>Sends several messages to a user one after another, so they get consecutive seqs in this order.</summary>
    public async Task<IReadOnlyList<SendAck>> SendBatchAsync(string peerUserId, IEnumerable<SendRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var acks = new List<SendAck>();
        foreach (var request in requests)
        {
            acks.Add(await SendAsync(peerUserId, request, cancellationToken).ConfigureAwait(false));
        }

        return acks;
    }

    /// <summary>Sends a text message to a group; a refusal throws <see cref="MqttImSendException"/> with code <c>not_member</c> or <c>muted</c>.</summary>
    public Task<SendAck> SendToGroupAsync(string groupId, string text, string? clientMsgId = null, CancellationToken cancellationToken = default) =>
        SendToGroupAsync(groupId, new SendRequest { Text = text, ClientMsgId = clientMsgId ?? "" }, cancellationToken);

    /// <summary>Sends a message to a group (idempotent per client message id); a refusal throws <see cref="MqttImSendException"/> with code <c>not_member</c> or <c>muted</c>.</summary>
    public Task<SendAck> SendToGroupAsync(string groupId, SendRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        return SendCoreAsync(Topics.GroupSend(groupId), peerUserId: "", groupId, request, cancellationToken);
    }

    private async Task<SendAck> SendCoreAsync(string topic, string peerUserId, string groupId, SendRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnsureConnected();
        if (request.ClientMsgId.Length == 0)
        {
            request.ClientMsgId = Guid.NewGuid().ToString("N");
        }

        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(WireCodec.Encode(request))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        var mqtt5 = Options.ProtocolVersion == MqttProtocolVersion.V500;
        if (mqtt5)
        {
            builder.WithContentType(WireCodec.ProtobufContentType);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.RequestTimeout);
        var acked = _inboxAcks.Register(request.ClientMsgId, topic);
        SendAck ack;
        try
        {
            ack = mqtt5
                ? await PublishMqtt5Async(builder.Build(), request.ClientMsgId, acked, timeout.Token).ConfigureAwait(false)
                : await PublishMqtt311Async(builder.Build(), acked, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"send {request.ClientMsgId} was not acknowledged within {Options.RequestTimeout}");
        }
        finally
        {
            _inboxAcks.Forget(request.ClientMsgId);
        }

        // The broker does not echo a device's own message back to it; the ack says where it sits in the conversation.
        Buffer.Offer(OwnMessage(peerUserId, groupId, request, ack));
        return ack;
    }

    private async Task<SendAck> PublishMqtt5Async(MqttApplicationMessage message, string clientMsgId, Task<SendAck> inboxAnswer, CancellationToken cancellationToken)
    {
        var result = await _mqtt.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        if (SendRefusals.IsAccepted(result.ReasonCode))
        {
            return PubAckReader.TryRead(result, clientMsgId, out var ack)
                ? ack
                : throw new InvalidOperationException("the broker accepted the send but its PUBACK carries no conversation_id/seq");
        }

        var code = SendRefusals.CodeOf(result.ReasonCode);
        var reason = result.ReasonString;
        try
        {
            await inboxAnswer.WaitAsync(RefusalDetailWait, cancellationToken).ConfigureAwait(false);
        }
        catch (MqttImSendException refusal)
        {
            code = refusal.Code;
            reason ??= refusal.ReasonString;
        }
        catch (TimeoutException)
        {
            // No SendError on the inbox: the PUBACK's reason code is all there is.
        }

        throw new MqttImSendException(result.ReasonCode, code, reason, clientMsgId);
    }

    private async Task<SendAck> PublishMqtt311Async(MqttApplicationMessage message, Task<SendAck> inboxAnswer, CancellationToken cancellationToken)
    {
        await _mqtt.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        return await inboxAnswer.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private ChatMessage OwnMessage(string peerUserId, string groupId, SendRequest request, SendAck ack)
    {
        var message = new ChatMessage
        {
            ConversationId = ack.ConversationId,
            Seq = ack.Seq,
            ServerMsgId = ack.ServerMsgId,
            ClientMsgId = request.ClientMsgId,
            SenderId = UserId,
            SenderDevice = DeviceId,
            RecipientId = peerUserId,
            GroupId = groupId,
            ServerTimeMs = ack.ServerTimeMs,
            Text = request.Text,
            ContentType = request.ContentType.Length > 0 ? request.ContentType : "text",
            Data = request.Data,
        };
        message.Ext.Add(request.Ext);
        return message;
    }
}
