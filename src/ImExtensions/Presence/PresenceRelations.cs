using Microsoft.Extensions.Logging;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Groups;
using MqttIm.ImExtensions.Memory;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Presence;

/// <summary>
/// Relations both sides made, which the <c>SharedConversation</c> watch policy requires: both wrote in their 1:1
/// conversation, or both are members of one group. Writers are recorded after commit, once per (conversation, sender)
/// thanks to a bounded cache, so the send path pays one cache lookup.
/// </summary>
internal sealed class PresenceRelations(
    IConversationWriterStore writers,
    UserGroupsIndex userGroups,
    GroupDirectory groups,
    BoundedLruCache<string, string[]> writersByConversation,
    ILogger<PresenceRelations> logger) : ICommittedMessageObserver
{
    /// <summary>Records the sender of a committed 1:1 message as a writer of its conversation. Never throws.</summary>
    public async ValueTask NoteCommittedAsync(ChatMessage message, CancellationToken cancellationToken)
    {
        if (message.GroupId.Length > 0 || message.Kind is not (MessageKind.Normal or MessageKind.Recall or MessageKind.Edit)
            || message.RecipientId.Length == 0 || message.RecipientId == message.SenderId)
        {
            return;
        }

        if (writersByConversation.TryGetValue(message.ConversationId, out var known) && known.Contains(message.SenderId, StringComparer.Ordinal))
        {
            return;
        }

        try
        {
            await writers.AddAsync(message.ConversationId, message.SenderId, cancellationToken).ConfigureAwait(false);
            // Cached whole (the check trusts the entry as complete), so the sender's next message costs a lookup, not a
            // write transaction: read back once per (conversation, sender) instead of dropping the entry.
            string[] all = [.. await writers.GetWritersAsync(message.ConversationId, cancellationToken).ConfigureAwait(false)];
            writersByConversation.Set(message.ConversationId, all);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The message is stored; only the relation is missing until the sender's next message records it.
            logger.LogWarning(ex, "Recording {SenderId} as a writer of {ConversationId} failed", message.SenderId, message.ConversationId);
        }
    }

    public async ValueTask<bool> BothWroteAsync(string userA, string userB, CancellationToken cancellationToken)
    {
        var conversationId = ConversationIds.C2c(userA, userB);
        if (!writersByConversation.TryGetValue(conversationId, out var known))
        {
            known = [.. await writers.GetWritersAsync(conversationId, cancellationToken).ConfigureAwait(false)];
            writersByConversation.Set(conversationId, known);
        }

        return known.Contains(userA, StringComparer.Ordinal) && known.Contains(userB, StringComparer.Ordinal);
    }

    public async ValueTask<bool> ShareGroupAsync(string userA, string userB, CancellationToken cancellationToken)
    {
        foreach (var groupId in await userGroups.GroupsOfAsync(userA, cancellationToken).ConfigureAwait(false))
        {
            // The index may be a moment behind: the group snapshot decides.
            if (await groups.GetAsync(groupId, cancellationToken).ConfigureAwait(false) is { Group.Dissolved: false } group
                && group.Find(userA) is not null && group.Find(userB) is not null)
            {
                return true;
            }
        }

        return false;
    }
}
