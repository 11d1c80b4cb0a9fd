using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Groups;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>
/// After a commit, who gets what: the participants' online devices get the message (small groups: every member;
/// large groups: a merged hint instead), except the sending device, which gets a send-ack.
/// </summary>
internal sealed class ChatFanout(IOnlineRouter router, GroupDirectory groups, LargeGroupHints hints, IOptions<GroupOptions> groupOptions)
{
    private readonly int _smallGroupMaxMembers = groupOptions.Value.SmallGroupMaxMembers;

    public async ValueTask DeliverAsync(PendingSend send, ChatMessage message, CancellationToken cancellationToken)
    {
        var outbound = new OutboundEvent(new InboxEvent { Message = message });
        var delivered = 0;
        if (message.GroupId.Length > 0)
        {
            var snapshot = await groups.GetAsync(message.GroupId, cancellationToken).ConfigureAwait(false);
            if (snapshot is not null && snapshot.Members.Count > _smallGroupMaxMembers)
            {
                hints.Notify(message.GroupId, message.Seq);
            }
            else if (snapshot is not null)
            {
                // Client ids are unique, so excluding the sending device applies to the sender's devices only.
                delivered += await router.RouteManyAsync([.. snapshot.Members.Keys], outbound, send.SenderClientId.Length > 0 ? send.SenderClientId : null, cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            if (message.RecipientId.Length > 0 && message.RecipientId != message.SenderId)
            {
                delivered += await router.RouteAsync(message.RecipientId, outbound, exceptClientId: null, cancellationToken).ConfigureAwait(false);
            }

            if (message.Kind != MessageKind.Notification)
            {
                delivered += await router.RouteAsync(message.SenderId, outbound, exceptClientId: send.SenderClientId, cancellationToken).ConfigureAwait(false);
            }
        }

        if (send.SenderClientId.Length > 0)
        {
            var ack = new OutboundEvent(new InboxEvent { SendAck = SendAcks.From(message, duplicate: false) });
            delivered += await router.RouteToDeviceAsync(message.SenderId, send.SenderClientId, ack, cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }

        ImMetrics.InboxDeliveries.Inc(delivered);
    }
}
