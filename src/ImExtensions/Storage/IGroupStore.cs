using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Storage;

/// <summary>Groups and their members with roles, join seq and mutes.</summary>
/// <remarks>
/// Implementations: <c>SqliteGroupStore</c> (embedded), <c>PostgresGroupStore</c>, <c>MongoGroupStore</c>; all pass the same
/// contract tests. Members are read in pages (a group may have 100,000), never all in one call.
/// </remarks>
public interface IGroupStore
{
    /// <summary>Creates the group; false when the id is taken.</summary>
    Task<bool> CreateAsync(GroupRecord group, CancellationToken cancellationToken);

    Task<GroupRecord?> GetAsync(string groupId, CancellationToken cancellationToken);

    /// <summary>Saves name, all-muted and dissolved.</summary>
    Task UpdateAsync(GroupRecord group, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> members with user id after <paramref name="afterUserId"/> (null: from the start), by user id (ordinal).</summary>
    Task<IReadOnlyList<GroupMember>> GetMembersPageAsync(string groupId, string? afterUserId, int limit, CancellationToken cancellationToken);

    /// <summary>One member, or null when the user is not in the group.</summary>
    Task<GroupMember?> GetMemberAsync(string groupId, string userId, CancellationToken cancellationToken);

    /// <summary>Adds members or replaces their role, join seq and mute.</summary>
    Task UpsertMembersAsync(string groupId, IReadOnlyCollection<GroupMember> members, CancellationToken cancellationToken);

    Task RemoveMembersAsync(string groupId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken);

    /// <summary>
    /// The ids of the groups the user is a member of, in ordinal order, read from a (user_id) membership index: costs
    /// the user's groups, never a walk over all their conversations.
    /// </summary>
    Task<IReadOnlyList<string>> GetGroupIdsOfUserAsync(string userId, CancellationToken cancellationToken);
}

/// <summary>A group's own settings (members are separate).</summary>
public sealed record GroupRecord(string GroupId, string Name, string OwnerId, bool AllMuted, bool Dissolved);
