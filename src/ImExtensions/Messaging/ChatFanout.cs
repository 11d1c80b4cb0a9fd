using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Groups;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>
/// After a commit, who gets what: the participants' online devices get the message (small groups: every member;
/// large groups: a merged hint instead), except the sending device, which gets a send-ack if its PUBACK did not carry one.
/// </summary>
internal sealed class ChatFanout(IOnlineRouter router, GroupDirectory groups, LargeGroupHints hints, IOptions<GroupOptions> groupOptions, IOfflineRecipientSink offline)
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
                await ReportOfflineMentionsAsync(message, snapshot, cancellationToken).ConfigureAwait(false);
            }
            else if (snapshot is not null)
            {
                // Client ids are unique, so excluding the sending device applies to the sender's devices only.
                delivered += await router.RouteManyAsync([.. snapshot.Members.Keys], outbound, send.SenderClientId.Length > 0 ? send.SenderClientId : null, cancellationToken).ConfigureAwait(false);
                await ReportOfflineMembersAsync(message, snapshot, cancellationToken).ConfigureAwait(false);
            }
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

    /// <summary>Small groups: members (not the sender) with no online device, for the push bridge; only looked up when a sink listens.</summary>
    private async ValueTask ReportOfflineMembersAsync(ChatMessage message, GroupSnapshot snapshot, CancellationToken cancellationToken)
    {
        if (!offline.IsActive)
        {
            return;
        }

        foreach (var userId in snapshot.Members.Keys)
        {
            if (userId != message.SenderId && (await router.GetDevicesAsync(userId, cancellationToken).ConfigureAwait(false)).Count == 0)
            {
                offline.RecipientOffline(userId, message);
            }
        }
    }

    /// <summary>Large groups get hints, not messages, so only members named in ext <c>mentions</c> (comma-separated, at most 50) who are offline are reported.</summary>
    private async ValueTask ReportOfflineMentionsAsync(ChatMessage message, GroupSnapshot snapshot, CancellationToken cancellationToken)
    {
        if (!offline.IsActive || !message.Ext.TryGetValue("mentions", out var mentions))
        {
            return;
        }

        foreach (var userId in mentions.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().Take(50))
        {
            if (userId != message.SenderId && snapshot.Members.ContainsKey(userId) && (await router.GetDevicesAsync(userId, cancellationToken).ConfigureAwait(false)).Count == 0)
            {
                offline.RecipientOffline(userId, message);
            }
        }
    }
}
