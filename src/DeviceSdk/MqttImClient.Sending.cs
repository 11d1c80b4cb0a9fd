using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
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

        var limit = UsesPipelinedSends ? Options.SendTimeout : Options.RequestTimeout;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping);
        timeout.CancelAfter(limit);
        var acked = _inboxAcks.Register(request.ClientMsgId, topic);
        SendAck ack;
        try
        {
            ack = UsesPipelinedSends
                ? await PublishPipelinedAsync(builder.Build(), request.ClientMsgId, acked, timeout.Token).ConfigureAwait(false)
                : mqtt5
                ? await PublishMqtt5Async(builder.Build(), request.ClientMsgId, acked, timeout.Token).ConfigureAwait(false)
                : await PublishMqtt311Async(builder.Build(), acked, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"send {request.ClientMsgId} was not acknowledged within {limit}");
        }
        finally
        {
            _inboxAcks.Forget(request.ClientMsgId);
        }

        // The broker does not echo a device's own message back to it; the ack says where it sits in the conversation.
        Buffer.Offer(OwnMessage(peerUserId, groupId, request, ack));
        return ack;
    }

    /// <summary>
    /// MQTTnet 5.2's <c>PublishAsync</c> can throw a <see cref="NullReferenceException"/> from inside itself when the
    /// connection is torn down under the call (seen in <c>PipelinedSendTests</c>, whose proxy cuts connections mid-stream).
    /// For the caller that is the connection lost during the PUBLISH, so it is reported as one and the send is retried.
    /// </summary>
    private async Task<MqttClientPublishResult> PublishOnLinkAsync(MqttApplicationMessage message, CancellationToken cancellationToken)
    {
        try
        {
            return await _mqtt.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (NullReferenceException ex)
        {
            throw new MQTTnet.Exceptions.MqttCommunicationException("the connection was lost during the PUBLISH", ex);
        }
    }

    /// <summary>
    /// Pipelined mode: holds a window slot until the inbox says stored (or refused). The PUBACK only says received, so
    /// the send is published again, same client message id, when the connection is lost before the stored-ack or none
    /// came within <see cref="MqttImClientOptions.SendRetryInterval"/>; the broker answers a repeat with the first seq.
    /// </summary>
    private async Task<SendAck> PublishPipelinedAsync(MqttApplicationMessage message, string clientMsgId, Task<SendAck> stored, CancellationToken cancellationToken)
    {
        await _sendWindow!.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                var link = _link;
                await link.Up.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (!stored.IsCompleted)
                {
                    try
                    {
                        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                        attempt.CancelAfter(Options.SendRetryInterval);
                        var result = await PublishOnLinkAsync(message, attempt.Token).ConfigureAwait(false);
                        if (!SendRefusals.IsAccepted(result.ReasonCode))
                        {
                            throw new MqttImSendException(result.ReasonCode, CodeOf(result), result.ReasonString, clientMsgId);
                        }

                        if (PubAckReader.TryRead(result, clientMsgId, out var committed))
                        {
                            // A broker without early acks answered after the commit: that PUBACK is the stored-ack.
                            return committed;
                        }
                    }
                    catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                    {
                        // Lost with the connection, or no PUBACK in time: publish again once connected.
                        await Task.WhenAny(link.Down.Task, Task.Delay(Options.SendRetryInterval / 10, cancellationToken)).ConfigureAwait(false);
                        continue;
                    }
                }

                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var retry = Task.Delay(Options.SendRetryInterval, wait.Token);
                var first = await Task.WhenAny(stored, link.Down.Task, retry).ConfigureAwait(false);
                await wait.CancelAsync().ConfigureAwait(false);
                if (first == stored)
                {
                    return await stored.ConfigureAwait(false);
                }

                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            _sendWindow.Release();
        }
    }

    /// <summary>The stable refusal code from the MQTT 5 PUBACK's <c>code</c> user property, else derived from the reason code.</summary>
    private static string CodeOf(MqttClientPublishResult result)
    {
        foreach (var property in result.UserProperties ?? [])
        {
            if (property.Name == "code")
            {
                return property.ReadValueAsString();
            }
        }

        return SendRefusals.CodeOf(result.ReasonCode);
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
