using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// PUBLISH on <c>room/{roomId}</c>: never dispatched by MQTTnet; decoded and handed to <see cref="RoomSender"/>. The PUBACK
/// (QoS 1) comes once a gift is stored, and carries its room seq (MQTT 5 user property <c>seq</c>): the verdict says so.
/// </summary>
internal sealed class RoomSendHandler(RoomSender sender, UplinkResponder responder)
{
    public async Task<UplinkVerdict> HandleAsync(UplinkPublish publish, ConnectedDevice device, string roomId)
    {
        var format = PayloadCodec.Detect(publish.Payload, publish.ContentType);
        if (!PayloadCodec.TryDecode(RoomSend.Parser, publish.Payload, format, out var send, out var error))
        {
            return await responder.RejectAsync(device, publish.Topic, UplinkRejection.InvalidPayload(error!), "", publish.CancellationToken).ConfigureAwait(false);
        }

        var result = await sender.SendAsync(roomId, device.UserId, send!, fromBackend: false, publish.CancellationToken).ConfigureAwait(false);
        if (result.Rejection is { } rejection)
        {
            return await responder.RejectAsync(device, publish.Topic, rejection, send!.ClientMsgId, publish.CancellationToken).ConfigureAwait(false);
        }

        return UplinkVerdict.Accepted(result.Seq);
    }
}
