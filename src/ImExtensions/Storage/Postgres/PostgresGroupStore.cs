using MqttIm.Contracts.V1;
using Npgsql;

namespace MqttIm.ImExtensions.Storage.Postgres;

/// <summary>Groups and members in the shared PostgreSQL database; member writes are one statement per call (arrays unnested).</summary>
internal sealed class PostgresGroupStore(PostgresDatabase database) : IGroupStore
{
    private const string SchemaName = "im-groups-v1";

    // Members are read by group (primary key prefix), a user's groups by the (user_id) index.
    private const string Ddl = """
        CREATE TABLE IF NOT EXISTS im_groups (
            group_id text COLLATE "C" PRIMARY KEY,
            name text NOT NULL,
            owner_id text NOT NULL,
            all_muted boolean NOT NULL DEFAULT false,
            dissolved boolean NOT NULL DEFAULT false);
        CREATE TABLE IF NOT EXISTS im_group_members (
            group_id text COLLATE "C" NOT NULL,
            user_id text COLLATE "C" NOT NULL,
            role integer NOT NULL,
            joined_seq bigint NOT NULL,
            muted_until_ms bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (group_id, user_id));
        CREATE INDEX IF NOT EXISTS ix_im_group_members_user ON im_group_members (user_id);
        """;

    public async Task<bool> CreateAsync(GroupRecord group, CancellationToken cancellationToken) =>
        await ExecuteAsync(
            "INSERT INTO im_groups (group_id, name, owner_id, all_muted, dissolved) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (group_id) DO NOTHING",
            cancellationToken, group.GroupId, group.Name, group.OwnerId, group.AllMuted, group.Dissolved).ConfigureAwait(false) == 1;

    public async Task<GroupRecord?> GetAsync(string groupId, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command("SELECT name, owner_id, all_muted, dissolved FROM im_groups WHERE group_id = $1", groupId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new GroupRecord(groupId, reader.GetString(0), reader.GetString(1), reader.GetBoolean(2), reader.GetBoolean(3))
            : null;
    }

    public async Task UpdateAsync(GroupRecord group, CancellationToken cancellationToken) =>
        await ExecuteAsync(
            "UPDATE im_groups SET name = $2, owner_id = $3, all_muted = $4, dissolved = $5 WHERE group_id = $1",
            cancellationToken, group.GroupId, group.Name, group.OwnerId, group.AllMuted, group.Dissolved).ConfigureAwait(false);

    public async Task<IReadOnlyList<GroupMember>> GetMembersPageAsync(string groupId, string? afterUserId, int limit, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        // Ids are COLLATE "C" columns: ordinal order like the other stores, served by the primary key.
        await using var command = Command(
            """
            SELECT user_id, role, joined_seq, muted_until_ms FROM im_group_members
            WHERE group_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3
            """, groupId, afterUserId ?? "", limit);
        return await ReadMembersAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task<GroupMember?> GetMemberAsync(string groupId, string userId, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(
            "SELECT user_id, role, joined_seq, muted_until_ms FROM im_group_members WHERE group_id = $1 AND user_id = $2", groupId, userId);
        return (await ReadMembersAsync(command, cancellationToken).ConfigureAwait(false)).SingleOrDefault();
    }

    public async Task UpsertMembersAsync(string groupId, IReadOnlyCollection<GroupMember> members, CancellationToken cancellationToken)
    {
        if (members.Count == 0)
        {
            return;
        }

        // The last entry for a user wins, as a sequence of single upserts would (one statement may not touch a row twice).
        var latest = new Dictionary<string, GroupMember>(StringComparer.Ordinal);
        foreach (var member in members)
        {
            latest[member.UserId] = member;
        }

        var ordered = latest.Values.OrderBy(m => m.UserId, StringComparer.Ordinal).ToList();
        await ExecuteAsync(
            """
            INSERT INTO im_group_members (group_id, user_id, role, joined_seq, muted_until_ms)
            SELECT $1, * FROM unnest($2::text[], $3::integer[], $4::bigint[], $5::bigint[])
            ON CONFLICT (group_id, user_id) DO UPDATE SET role = excluded.role, joined_seq = excluded.joined_seq,
                muted_until_ms = excluded.muted_until_ms
            """,
            cancellationToken, groupId, ordered.Select(m => m.UserId).ToArray(), ordered.Select(m => (int)m.Role).ToArray(),
            ordered.Select(m => m.JoinedSeq).ToArray(), ordered.Select(m => m.MutedUntilMs).ToArray()).ConfigureAwait(false);
    }

    public async Task RemoveMembersAsync(string groupId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken) =>
        await ExecuteAsync("DELETE FROM im_group_members WHERE group_id = $1 AND user_id = ANY($2)", cancellationToken, groupId, userIds.ToArray())
            .ConfigureAwait(false);

    public async Task<IReadOnlyList<string>> GetGroupIdsOfUserAsync(string userId, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command("SELECT group_id FROM im_group_members WHERE user_id = $1 ORDER BY group_id", userId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var groupIds = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            groupIds.Add(reader.GetString(0));
        }

        return groupIds;
    }

    private static async Task<IReadOnlyList<GroupMember>> ReadMembersAsync(NpgsqlCommand command, CancellationToken cancellationToken)
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

    private NpgsqlCommand Command(string sql, params object[] parameters)
    {
        var command = database.DataSource.CreateCommand(sql);
        foreach (var value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    private async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private Task EnsureSchemaAsync(CancellationToken cancellationToken) => database.EnsureSchemaAsync(SchemaName, Ddl, cancellationToken);
}
