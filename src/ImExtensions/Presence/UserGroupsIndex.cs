using MqttIm.ImExtensions.Groups;
using MqttIm.ImExtensions.Memory;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Presence;

/// <summary>
/// User → the groups they are in, for the presence watch policy: loaded from the user's conversation list once, then
/// kept (bounded, least recently used dropped) and forgotten whenever <see cref="GroupDirectory"/> sees the user's
/// membership change, so a watch check never lists a user's conversations again.
/// </summary>
internal sealed class UserGroupsIndex
{
    private readonly IConversationStore _conversations;
    private readonly BoundedLruCache<string, string[]> _groupsByUser;

    public UserGroupsIndex(IConversationStore conversations, GroupDirectory groups, BoundedLruCache<string, string[]> cache)
    {
        _conversations = conversations;
        _groupsByUser = cache;
        groups.MembersChanged += Forget;
    }

    public async ValueTask<string[]> GroupsOfAsync(string userId, CancellationToken cancellationToken)
    {
        if (_groupsByUser.TryGetValue(userId, out var known))
        {
            return known;
        }

        var all = await _conversations.GetAllAsync(userId, cancellationToken).ConfigureAwait(false);
        var groupIds = all.Select(c => GroupConversations.GroupIdOf(c.ConversationId)).OfType<string>().ToArray();
        _groupsByUser.Set(userId, groupIds);
        return groupIds;
    }

    private void Forget(IEnumerable<string>? userIds)
    {
        if (userIds is null)
        {
            _groupsByUser.Clear();
            return;
        }

        foreach (var userId in userIds)
        {
            _groupsByUser.Remove(userId);
        }
    }
}
