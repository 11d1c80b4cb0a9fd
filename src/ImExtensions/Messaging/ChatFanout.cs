using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Diagnostics;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>
/// After a commit, who gets what: the participants' online devices get the message (a group's members: see
/// <see cref="IGroupFanout"/>), except the sending device, which gets a send-ack if its PUBACK did not carry one.
/// </summary>
internal sealed class ChatFanout(IOnlineRouter router, IGroupFanout groupFanout, IOfflineRecipientSink offline)
{
    public async ValueTask DeliverAsync(PendingSend send, ChatMessage message, CancellationToken cancellationToken)
    {
        var outbound = new OutboundEvent(new InboxEvent { Message = message });
        var delivered = 0;
        if (message.GroupId.Length > 0)
        {
            delivered += await groupFanout.DeliverAsync(send, message, outbound, cancellationToken).ConfigureAwait(false);
        }
        else if (!offline.IsActive && message.Kind != MessageKind.Notification
            && message.RecipientId.Length > 0 && message.RecipientId != message.SenderId)
        {
            // Recipient and the sender's other devices in one routing: in a cluster one directory round trip and one
            // publish per node instead of two of each. Client ids are unique, so the exclusion only spares the sending device.
            // (With push on, the recipient's own count decides the offline report: the two routings below.)
            delivered += await router.RouteManyAsync([message.RecipientId, message.SenderId], outbound,
                send.SenderClientId.Length > 0 ? send.SenderClientId : null, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            if (message.RecipientId.Length > 0 && message.RecipientId != message.SenderId)
            {
                var routed = await router.RouteAsync(message.RecipientId, outbound, exceptClientId: null, cancellationToken).ConfigureAwait(false);
                delivered += routed;
                if (routed == 0)
                {
                    offline.RecipientOffline(message.RecipientId, message);
                }
            }

            if (message.Kind != MessageKind.Notification)
            {
                delivered += await router.RouteAsync(message.SenderId, outbound, exceptClientId: send.SenderClientId, cancellationToken).ConfigureAwait(false);
            }
        }

        // Only for devices that need it (3.1.1, early-ack mode, or asked for): an MQTT 5 PUBACK after commit carries the same fields.
        if (send.SenderClientId.Length > 0 && send.InboxSendAck)
        {
            var ack = new OutboundEvent(new InboxEvent { SendAck = SendAcks.From(message, duplicate: false) });
            delivered += await router.RouteToDeviceAsync(message.SenderId, send.SenderClientId, ack, cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }

        ImMetrics.InboxDeliveries.Inc(delivered);
    }
}
