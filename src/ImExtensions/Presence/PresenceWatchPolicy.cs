using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Groups;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Presence;

/// <summary>Decides whether one user may watch another's presence (<c>Presence:WatchPolicy</c>).</summary>
internal sealed class PresenceWatchPolicy(IOptions<PresenceOptions> options, IConversationStore conversationStore, GroupDirectory groups)
{
    public async ValueTask<bool> MayWatchAsync(string watcherId, string targetId, CancellationToken cancellationToken)
    {
        if (string.Equals(watcherId, targetId, StringComparison.Ordinal))
        {
            return true;
        }

        switch (options.Value.WatchPolicy)
        {
            case PresenceWatchRule.Anyone:
                return true;
            case PresenceWatchRule.SelfOnly:
                return false;
            default:
                var conversations = await conversationStore.GetAllAsync(watcherId, cancellationToken).ConfigureAwait(false);
                if (conversations.Any(c => ConversationIds.IsParticipant(c.ConversationId, targetId)))
                {
                    return true;
                }

                // Members of a common group share a conversation too.
                foreach (var conversation in conversations)
                {
                    if (GroupConversations.GroupIdOf(conversation.ConversationId) is { } groupId
                        && (await groups.GetAsync(groupId, cancellationToken).ConfigureAwait(false))?.Find(targetId) is not null)
                    {
                        return true;
                    }
                }

                return false;
        }
    }
}
