using Microsoft.Extensions.Options;
using MQTTnet.Server;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Messaging;

/// <summary><c>im/c2c/{peer}</c>: validate the envelope, hand it to the group commit, acknowledge only once it is durable.</summary>
internal sealed class C2cSendHandler(
    MessageCommitQueue commitQueue,
    UplinkResponder responder,
    IOnlineRouter router,
    IOptions<ChatOptions> options)
{
    private readonly ChatOptions _options = options.Value;

    public async Task HandleAsync(InterceptingPublishEventArgs args, ConnectedDevice device, string peerId)
    {
        args.ProcessPublish = false;
        var mqttMessage = args.ApplicationMessage;
        if (mqttMessage.Payload.Length > _options.MaxPayloadBytes)
        {
            await responder.RejectAsync(args, device, UplinkRejection.TooLarge(_options.MaxPayloadBytes)).ConfigureAwait(false);
            return;
        }

        var payload = mqttMessage.Payload;
        var format = PayloadCodec.Detect(payload, mqttMessage.ContentType);
        if (!PayloadCodec.TryDecode(SendRequest.Parser, payload, format, out var request, out var error))
        {
            await responder.RejectAsync(args, device, UplinkRejection.InvalidPayload(error!)).ConfigureAwait(false);
            return;
        }

        if (request!.Text.Length == 0 && request.Data.IsEmpty)
        {
            await responder.RejectAsync(args, device, UplinkRejection.InvalidPayload("a message needs text or data"), request.ClientMsgId).ConfigureAwait(false);
            return;
        }

        if (request.ClientMsgId.Length > _options.MaxClientMsgIdLength)
        {
            await responder.RejectAsync(args, device, UplinkRejection.InvalidPayload($"client_msg_id is longer than {_options.MaxClientMsgIdLength}"), "").ConfigureAwait(false);
            return;
        }

        var send = new PendingSend(device.UserId, device.ClientId, peerId, ConversationIds.C2c(device.UserId, peerId), request);
        SendOutcome outcome;
        try
        {
            outcome = await commitQueue.SubmitAsync(send, args.CancellationToken).ConfigureAwait(false);
        }
        catch (StoreUnavailableException)
        {
            await responder.RejectAsync(args, device, UplinkRejection.StoreUnavailable(), request.ClientMsgId).ConfigureAwait(false);
            return;
        }

        UplinkResponder.Accept(args, outcome);
        if (outcome.Duplicate)
        {
            // A resend: the first send's ack may have been lost with the connection, so answer it again.
            var ack = new OutboundEvent(new InboxEvent { SendAck = SendAcks.From(outcome.Message, duplicate: true) });
            await router.RouteToDeviceAsync(device.UserId, device.ClientId, ack, args.CancellationToken).ConfigureAwait(false);
        }
    }
}
