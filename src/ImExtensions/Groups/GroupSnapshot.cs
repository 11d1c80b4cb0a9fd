using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage;

namespace MqttIm.ImExtensions.Groups;

/// <summary>An immutable view of one group and its members, swapped whole on every change.</summary>
internal sealed record GroupSnapshot(GroupRecord Group, IReadOnlyDictionary<string, GroupMember> Members)
{
    public string ConversationId => GroupConversations.IdOf(Group.GroupId);

    public GroupMember? Find(string userId) => Members.TryGetValue(userId, out var member) ? member : null;

    public GroupRole? RoleOf(string userId) => Find(userId)?.Role;

    public bool IsManager(string userId) => RoleOf(userId) is GroupRole.Owner or GroupRole.Admin;
}

/// <summary>Group conversation ids: <c>group:{groupId}</c>.</summary>
internal static class GroupConversations
{
    public const string Prefix = "group:";

    public static string IdOf(string groupId) => Prefix + groupId;

    public static string? GroupIdOf(string conversationId) =>
        conversationId.StartsWith(Prefix, StringComparison.Ordinal) ? conversationId[Prefix.Length..] : null;
}
