using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Diagnostics;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>After a commit: the message to the peer's devices and the sender's other devices, the send-ack to the sending device.</summary>
internal sealed class ChatFanout(IOnlineRouter router)
{
    public async ValueTask DeliverAsync(PendingSend send, ChatMessage message, CancellationToken cancellationToken)
    {
        var outbound = new OutboundEvent(new InboxEvent { Message = message });
        var delivered = 0;
        if (send.RecipientId != send.SenderId)
        {
            delivered += await router.RouteAsync(send.RecipientId, outbound, exceptClientId: null, cancellationToken).ConfigureAwait(false);
        }

        delivered += await router.RouteAsync(send.SenderId, outbound, exceptClientId: send.SenderClientId, cancellationToken).ConfigureAwait(false);
        if (send.SenderClientId.Length > 0)
        {
            var ack = new OutboundEvent(new InboxEvent { SendAck = SendAcks.From(message, duplicate: false) });
            delivered += await router.RouteToDeviceAsync(send.SenderId, send.SenderClientId, ack, cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }

        ImMetrics.InboxDeliveries.Inc(delivered);
    }
}
