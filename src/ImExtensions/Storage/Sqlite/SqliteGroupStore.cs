using Microsoft.Data.Sqlite;
using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Storage.Sqlite;

/// <summary>Groups and members in the embedded database.</summary>
internal sealed class SqliteGroupStore(SqliteDatabase database) : IGroupStore
{
    public Task<bool> CreateAsync(GroupRecord group, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.Command(
                "INSERT OR IGNORE INTO groups (group_id, name, owner_id, all_muted, dissolved) VALUES ($g, $n, $o, $a, $d)",
                transaction, ("$g", group.GroupId), ("$n", group.Name), ("$o", group.OwnerId), ("$a", group.AllMuted), ("$d", group.Dissolved));
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken);

    public async Task<GroupRecord?> GetAsync(string groupId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("SELECT name, owner_id, all_muted, dissolved FROM groups WHERE group_id = $g", null, ("$g", groupId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new GroupRecord(groupId, reader.GetString(0), reader.GetString(1), reader.GetInt64(2) != 0, reader.GetInt64(3) != 0)
            : null;
    }

    public Task UpdateAsync(GroupRecord group, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.Command(
                "UPDATE groups SET name = $n, owner_id = $o, all_muted = $a, dissolved = $d WHERE group_id = $g",
                transaction, ("$g", group.GroupId), ("$n", group.Name), ("$o", group.OwnerId), ("$a", group.AllMuted), ("$d", group.Dissolved));
            return command.ExecuteNonQuery();
        }, cancellationToken);

    public async Task<IReadOnlyList<GroupMember>> GetMembersPageAsync(string groupId, string? afterUserId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(
            "SELECT user_id, role, joined_seq, muted_until_ms FROM group_members WHERE group_id = $g AND user_id > $a ORDER BY user_id LIMIT $l",
            null, ("$g", groupId), ("$a", afterUserId ?? ""), ("$l", limit));
        return await ReadMembersAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task<GroupMember?> GetMemberAsync(string groupId, string userId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(
            "SELECT user_id, role, joined_seq, muted_until_ms FROM group_members WHERE group_id = $g AND user_id = $u", null, ("$g", groupId), ("$u", userId));
        return (await ReadMembersAsync(command, cancellationToken).ConfigureAwait(false)).SingleOrDefault();
    }

    public async Task<IReadOnlyList<string>> GetGroupIdsOfUserAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("SELECT group_id FROM group_members WHERE user_id = $u ORDER BY group_id", null, ("$u", userId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var groupIds = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            groupIds.Add(reader.GetString(0));
        }

        return groupIds;
    }

    private static async Task<List<GroupMember>> ReadMembersAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var members = new List<GroupMember>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            members.Add(new GroupMember
            {
                UserId = reader.GetString(0),
                Role = (GroupRole)reader.GetInt32(1),
                JoinedSeq = reader.GetInt64(2),
                MutedUntilMs = reader.GetInt64(3),
            });
        }

        return members;
    }

    public Task UpsertMembersAsync(string groupId, IReadOnlyCollection<GroupMember> members, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.Command(
                """
                INSERT INTO group_members (group_id, user_id, role, joined_seq, muted_until_ms) VALUES ($g, $u, $r, $j, $m)
                ON CONFLICT (group_id, user_id) DO UPDATE SET role = excluded.role, joined_seq = excluded.joined_seq, muted_until_ms = excluded.muted_until_ms
                """, transaction, ("$g", groupId), ("$u", ""), ("$r", 0), ("$j", 0L), ("$m", 0L));
            foreach (var member in members)
            {
                command.Parameters[1].Value = member.UserId;
                command.Parameters[2].Value = (int)member.Role;
                command.Parameters[3].Value = member.JoinedSeq;
                command.Parameters[4].Value = member.MutedUntilMs;
                command.ExecuteNonQuery();
            }

            return true;
        }, cancellationToken);

    public Task RemoveMembersAsync(string groupId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.Command("DELETE FROM group_members WHERE group_id = $g AND user_id = $u", transaction, ("$g", groupId), ("$u", ""));
            foreach (var userId in userIds)
            {
                command.Parameters[1].Value = userId;
                command.ExecuteNonQuery();
            }

            return true;
        }, cancellationToken);
}
