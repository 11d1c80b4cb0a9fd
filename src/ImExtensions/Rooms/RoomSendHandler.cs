using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// PUBLISH on <c>room/{roomId}</c>: never dispatched by MQTTnet; decoded and handed to <see cref="RoomSender"/>. The PUBACK
/// (QoS 1) comes once a gift is stored, and carries its room seq (MQTT 5 user property <c>seq</c>).
/// </summary>
internal sealed class RoomSendHandler(RoomSender sender, UplinkResponder responder)
{
    public async Task HandleAsync(InterceptingPublishEventArgs args, ConnectedDevice device, string roomId)
    {
        args.ProcessPublish = false;
        var message = args.ApplicationMessage;
        var format = PayloadCodec.Detect(message.Payload, message.ContentType);
        if (!PayloadCodec.TryDecode(RoomSend.Parser, message.Payload, format, out var send, out var error))
        {
            await responder.RejectAsync(args, device, UplinkRejection.InvalidPayload(error!)).ConfigureAwait(false);
            return;
        }

        var result = await sender.SendAsync(roomId, device.UserId, send!, fromBackend: false, args.CancellationToken).ConfigureAwait(false);
        if (result.Rejection is { } rejection)
        {
            await responder.RejectAsync(args, device, rejection, send!.ClientMsgId).ConfigureAwait(false);
            return;
        }

        args.Response.ReasonCode = MqttPubAckReasonCode.Success;
        if (result.Seq > 0)
        {
            args.Response.UserProperties = [new MqttUserProperty("seq", System.Text.Encoding.UTF8.GetBytes(result.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture)))];
        }
    }
}
