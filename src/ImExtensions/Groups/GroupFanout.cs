using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Messaging;

namespace MqttIm.ImExtensions.Groups;

/// <summary>
/// A committed group message: small groups send it to every member's online devices (not the sending device); large
/// groups get a merged hint instead. Members with no online device are reported to the push bridge when one listens.
/// </summary>
internal sealed class GroupFanout(IOnlineRouter router, GroupDirectory groups, LargeGroupHints hints, IOptions<GroupOptions> groupOptions, IOfflineRecipientSink offline) : IGroupFanout
{
    private readonly int _smallGroupMaxMembers = groupOptions.Value.SmallGroupMaxMembers;

    public async ValueTask<int> DeliverAsync(PendingSend send, ChatMessage message, OutboundEvent outbound, CancellationToken cancellationToken)
    {
        var snapshot = await groups.GetAsync(message.GroupId, cancellationToken).ConfigureAwait(false);
        if (snapshot is null)
        {
            return 0;
        }

        if (snapshot.Members.Count > _smallGroupMaxMembers)
        {
            hints.Notify(message.GroupId, message.Seq);
            await ReportOfflineMentionsAsync(message, snapshot, cancellationToken).ConfigureAwait(false);
            return 0;
        }

        // Client ids are unique, so excluding the sending device applies to the sender's devices only.
        var delivered = await router.RouteManyAsync([.. snapshot.Members.Keys], outbound, send.SenderClientId.Length > 0 ? send.SenderClientId : null, cancellationToken).ConfigureAwait(false);
        await ReportOfflineMembersAsync(message, snapshot, cancellationToken).ConfigureAwait(false);
        return delivered;
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
