using MqttIm.Contracts.V1;

namespace MqttIm.DeviceSdk;

/// <summary>
/// Group management through <c>im/rpc/group/{action}</c>. Every change also arrives in the group conversation as a
/// <c>MESSAGE_KIND_GROUP_EVENT</c> message; failures throw <see cref="MqttImRpcException"/> with the broker's code
/// (<c>not_found</c>, <c>not_authorized</c>, <c>invalid_request</c>, <c>already_exists</c>).
/// </summary>
public sealed class MqttImGroups
{
    private readonly MqttImClient _client;

    internal MqttImGroups(MqttImClient client) => _client = client;

    /// <summary>Creates a group with this user as owner and the given members (optionally with a chosen group id).</summary>
    public Task<GroupInfo> CreateAsync(string name, IEnumerable<string> memberIds, string? groupId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return CallAsync("create", groupId ?? "", WithUsers(new GroupRequest { Name = name }, memberIds), cancellationToken, allowEmptyId: true);
    }

    /// <summary>Renames a group (owner or admin).</summary>
    public Task<GroupInfo> RenameAsync(string groupId, string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return CallAsync("rename", groupId, new GroupRequest { Name = name }, cancellationToken);
    }

    /// <summary>Adds members (owner or admin); they read the group's history from this point on.</summary>
    public Task<GroupInfo> AddMembersAsync(string groupId, IEnumerable<string> userIds, CancellationToken cancellationToken = default) =>
        CallAsync("add_members", groupId, WithUsers(new GroupRequest(), userIds), cancellationToken);

    /// <summary>Removes members (owner; admins only plain members).</summary>
    public Task<GroupInfo> RemoveMembersAsync(string groupId, IEnumerable<string> userIds, CancellationToken cancellationToken = default) =>
        CallAsync("remove_members", groupId, WithUsers(new GroupRequest(), userIds), cancellationToken);

    /// <summary>Leaves a group (not possible for its owner).</summary>
    public Task<GroupInfo> LeaveAsync(string groupId, CancellationToken cancellationToken = default) =>
        RemoveMembersAsync(groupId, [_client.UserId], cancellationToken);

    /// <summary>Makes members admins or plain members again (owner only).</summary>
    public Task<GroupInfo> SetRoleAsync(string groupId, IEnumerable<string> userIds, GroupRole role, CancellationToken cancellationToken = default) =>
        CallAsync("set_role", groupId, WithUsers(new GroupRequest { Role = role }, userIds), cancellationToken);

    /// <summary>Mutes members for a while (<see cref="TimeSpan.Zero"/> unmutes them); owner or admin.</summary>
    public Task<GroupInfo> MuteMembersAsync(string groupId, IEnumerable<string> userIds, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.Zero);
        var request = WithUsers(new GroupRequest { MuteSeconds = (long)Math.Ceiling(duration.TotalSeconds) }, userIds);
        return request.UserIds.Count == 0
            ? throw new ArgumentException("name at least one member to mute", nameof(userIds))
            : CallAsync("mute", groupId, request, cancellationToken);
    }

    /// <summary>Mutes or unmutes the whole group: only the owner and admins may send while it is muted.</summary>
    public Task<GroupInfo> MuteAllAsync(string groupId, bool muted, CancellationToken cancellationToken = default) =>
        CallAsync("mute", groupId, new GroupRequest { AllMuted = muted }, cancellationToken);

    /// <summary>Dissolves a group (owner only); nobody can send to it afterwards.</summary>
    public Task<GroupInfo> DissolveAsync(string groupId, CancellationToken cancellationToken = default) =>
        CallAsync("dissolve", groupId, new GroupRequest(), cancellationToken);

    /// <summary>The group's details, with the member list when the group is small (members only).</summary>
    public Task<GroupInfo> GetInfoAsync(string groupId, CancellationToken cancellationToken = default) =>
        CallAsync("info", groupId, new GroupRequest(), cancellationToken);

    private static GroupRequest WithUsers(GroupRequest request, IEnumerable<string> userIds)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        request.UserIds.AddRange(userIds);
        return request;
    }

    private Task<GroupInfo> CallAsync(string action, string groupId, GroupRequest request, CancellationToken cancellationToken, bool allowEmptyId = false)
    {
        if (!allowEmptyId)
        {
            ArgumentException.ThrowIfNullOrEmpty(groupId);
        }

        request.GroupId = groupId;
        return _client.CallGroupAsync(action, request, cancellationToken);
    }
}
