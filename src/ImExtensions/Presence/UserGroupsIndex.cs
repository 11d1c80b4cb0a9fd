using MqttIm.ImExtensions.Groups;
using MqttIm.ImExtensions.Memory;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Presence;

/// <summary>
/// User → the groups they are in, for the presence watch policy: read from the group store's membership index (the
/// user's groups, never their conversation list), then kept (bounded, least recently used dropped) and forgotten
/// whenever <see cref="GroupDirectory"/> sees the user's membership change.
/// </summary>
internal sealed class UserGroupsIndex
{
    private readonly IGroupStore _groupStore;
    private readonly BoundedLruCache<string, string[]> _groupsByUser;

    public UserGroupsIndex(IGroupStore groupStore, GroupDirectory groups, BoundedLruCache<string, string[]> cache)
    {
        _groupStore = groupStore;
        _groupsByUser = cache;
        groups.MembersChanged += Forget;
    }

    public async ValueTask<string[]> GroupsOfAsync(string userId, CancellationToken cancellationToken)
    {
        if (_groupsByUser.TryGetValue(userId, out var known))
        {
            return known;
        }

        var groupIds = (await _groupStore.GetGroupIdsOfUserAsync(userId, cancellationToken).ConfigureAwait(false)).ToArray();
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
