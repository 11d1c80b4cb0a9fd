using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Messaging;

namespace MqttIm.ImExtensions.Groups;

/// <summary>Group sends: the group must exist and not be dissolved, the sender must be a member, and not muted (alone, or all members).</summary>
internal sealed class GroupSendPolicy(GroupDirectory groups, TimeProvider clock) : IGroupSendPolicy
{
    public async ValueTask<GroupSendStanding> CheckAsync(string groupId, string userId, CancellationToken cancellationToken)
    {
        var snapshot = await groups.GetAsync(groupId, cancellationToken).ConfigureAwait(false);
        var member = snapshot?.Find(userId);
        if (snapshot is null || snapshot.Group.Dissolved || member is null)
        {
            var why = snapshot is null ? "no such group" : snapshot.Group.Dissolved ? "the group is dissolved" : "you are not a member of this group";
            return new GroupSendStanding("", UplinkRejection.NotMember(why), Muted: null);
        }

        var muted = member.MutedUntilMs > clock.GetUtcNow().ToUnixTimeMilliseconds() || (snapshot.Group.AllMuted && member.Role == GroupRole.Member);
        return new GroupSendStanding(snapshot.ConversationId, Refusal: null, muted ? UplinkRejection.Muted("you are muted in this group") : null);
    }
}
