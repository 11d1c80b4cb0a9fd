using MqttIm.Contracts.V1;
using Npgsql;

namespace MqttIm.ImExtensions.Storage.Postgres;

/// <summary>Per-user conversation state in the shared PostgreSQL database (each user's rows joined to the conversation heads).</summary>
internal sealed class PostgresConversationStore(PostgresDatabase database) : IConversationStore
{
    private const string StateColumns =
        "SELECT uc.conversation_id, COALESCE(c.max_seq, 0), uc.read_seq, uc.joined_seq, uc.pinned, uc.muted, COALESCE(c.last_activity_ms, 0)";

    private const string FromStates = " FROM im_user_conversations uc LEFT JOIN im_conversations c ON c.conversation_id = uc.conversation_id";

    private const string SelectState = StateColumns + FromStates;

    private const string SelectStateWithLastMessage = StateColumns + ", c.last_message" + FromStates;

    private const string ListOrder = """
         ORDER BY uc.pinned DESC, COALESCE(c.last_activity_ms, 0) DESC, uc.conversation_id DESC LIMIT $2
        """;

    // Each writer of a user's rows moves the user's kept total by the exact change, under the conversation's lock
    // (PostgresUnreadTotals); every sub-statement reads the snapshot from before the statement ("old" rows, the head).
    private static readonly string AddParticipantsSql = $"""
        WITH head AS (SELECT COALESCE((SELECT max_seq FROM im_conversations WHERE conversation_id = $2), 0) AS max_seq),
        old AS (
            SELECT uc.user_id, {PostgresUnreadTotals.Unread("head.max_seq", "uc")} AS unread
            FROM im_user_conversations uc CROSS JOIN head WHERE uc.conversation_id = $2 AND uc.user_id = ANY($1)),
        upserted AS (
            INSERT INTO im_user_conversations (user_id, conversation_id, read_seq, joined_seq)
            SELECT DISTINCT u, $2, $3, $4 FROM unnest($1::text[]) AS u ORDER BY 1
            ON CONFLICT (user_id, conversation_id) DO UPDATE SET joined_seq = excluded.joined_seq,
                read_seq = GREATEST(im_user_conversations.read_seq, excluded.read_seq)
            RETURNING user_id, read_seq, joined_seq),
        unread AS (
        """ + PostgresUnreadTotals.AddToTotals($"""
            SELECT p.user_id, {PostgresUnreadTotals.Unread("head.max_seq", "p")} - COALESCE(o.unread, 0) AS delta
            FROM upserted p CROSS JOIN head LEFT JOIN old o ON o.user_id = p.user_id
            """) + """
             RETURNING 1)
        SELECT 1
        """;

    private static readonly string RemoveParticipantsSql = """
        WITH head AS (SELECT COALESCE((SELECT max_seq FROM im_conversations WHERE conversation_id = $1), 0) AS max_seq),
        removed AS (
            DELETE FROM im_user_conversations WHERE conversation_id = $1 AND user_id = ANY($2)
            RETURNING user_id, read_seq, joined_seq),
        unread AS (
        """ + PostgresUnreadTotals.AddToTotals($"""
            SELECT r.user_id, -{PostgresUnreadTotals.Unread("head.max_seq", "r")} AS delta FROM removed r CROSS JOIN head
            """) + """
             RETURNING 1)
        SELECT 1
        """;

    private static readonly string MarkReadSql = """
        WITH head AS (SELECT COALESCE((SELECT max_seq FROM im_conversations WHERE conversation_id = $2), 0) AS max_seq),
        old AS (SELECT uc.read_seq, uc.joined_seq FROM im_user_conversations uc WHERE uc.user_id = $1 AND uc.conversation_id = $2),
        moved AS (
            UPDATE im_user_conversations uc SET read_seq = GREATEST(uc.read_seq, LEAST($3, head.max_seq))
            FROM head WHERE uc.user_id = $1 AND uc.conversation_id = $2
            RETURNING uc.user_id, uc.read_seq, uc.joined_seq),
        unread AS (
        """ + PostgresUnreadTotals.AddToTotals($"""
            SELECT m.user_id, {PostgresUnreadTotals.Unread("head.max_seq", "m")} - {PostgresUnreadTotals.Unread("head.max_seq", "o")} AS delta
            FROM moved m CROSS JOIN head CROSS JOIN old o
            """) + """
             RETURNING 1)
        SELECT read_seq FROM moved
        """;

    public async Task<IReadOnlyList<ConversationState>> GetAllAsync(string userId, CancellationToken cancellationToken) =>
        await QueryAsync(SelectState + " WHERE uc.user_id = $1 ORDER BY uc.conversation_id", withLastMessage: false, cancellationToken, userId).ConfigureAwait(false);

    public async Task<IReadOnlyList<ConversationState>> GetPageAsync(string userId, string? afterConversationId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await QueryAsync(SelectState + " WHERE uc.user_id = $1 AND uc.conversation_id > $2 ORDER BY uc.conversation_id LIMIT $3", withLastMessage: false, cancellationToken,
            userId, afterConversationId ?? "", limit).ConfigureAwait(false);
    }

    public async Task<ConversationState?> GetAsync(string userId, string conversationId, CancellationToken cancellationToken) =>
        (await QueryAsync(SelectState + " WHERE uc.user_id = $1 AND uc.conversation_id = $2", withLastMessage: false, cancellationToken, userId, conversationId).ConfigureAwait(false))
        .SingleOrDefault();

    public async Task<ConversationPage> ListAsync(string userId, ConversationListCursor? after, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var rows = after is null
            ? await QueryAsync(SelectStateWithLastMessage + " WHERE uc.user_id = $1" + ListOrder, withLastMessage: true, cancellationToken,
                userId, limit + 1).ConfigureAwait(false)
            : await QueryAsync(
                SelectStateWithLastMessage + """
                     WHERE uc.user_id = $1 AND (uc.pinned, COALESCE(c.last_activity_ms, 0), uc.conversation_id) < ($3, $4, $5)
                    """ + ListOrder,
                withLastMessage: true, cancellationToken, userId, limit + 1, after.Pinned, after.LastActivityMs, after.ConversationId).ConfigureAwait(false);
        return rows.Count > limit
            ? new ConversationPage(rows.GetRange(0, limit), ConversationListCursor.After(rows[limit - 1]))
            : new ConversationPage(rows, null);
    }

    public async Task<UnreadSummary> GetUnreadAsync(string userId, string? conversationId, CancellationToken cancellationToken)
    {
        // One statement, so the total and the conversation come from the same snapshot; the total is kept (PostgresUnreadTotals).
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(
            $"""
            SELECT COALESCE((SELECT total FROM im_user_unread WHERE user_id = $1), 0::bigint), s.*
            FROM (SELECT 1) one LEFT JOIN ({SelectState} WHERE uc.user_id = $1 AND uc.conversation_id = $2) s ON true
            """, userId, conversationId ?? "");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var state = reader.IsDBNull(1)
            ? null
            : new ConversationState(reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4),
                reader.GetBoolean(5), reader.GetBoolean(6), reader.GetInt64(7));
        return new UnreadSummary(reader.GetInt64(0), state);
    }

    public async Task<bool> ShareConversationAsync(string userId, string otherUserId, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(
            """
            SELECT EXISTS (SELECT 1 FROM im_user_conversations a
                JOIN im_user_conversations b ON b.user_id = $2 AND b.conversation_id = a.conversation_id WHERE a.user_id = $1)
            """, userId, otherUserId);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true;
    }

    public async Task AddParticipantsAsync(string conversationId, IReadOnlyCollection<string> userIds, long joinedSeq, CancellationToken cancellationToken)
    {
        // The users' totals change by each row's unread after minus before (none before for a new row), under the conversation's lock.
        await ExecuteLockedAsync(conversationId, AddParticipantsSql,
            cancellationToken, userIds.ToArray(), conversationId, joinedSeq - 1, joinedSeq).ConfigureAwait(false);
    }

    public async Task RemoveParticipantsAsync(string conversationId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
    {
        await ExecuteLockedAsync(conversationId, RemoveParticipantsSql,
            cancellationToken, conversationId, userIds.ToArray()).ConfigureAwait(false);
    }

    public async Task<long?> MarkReadAsync(string userId, string conversationId, long seq, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var locked = PostgresUnreadTotals.LockedBatch(database, [conversationId]);
        locked.Add(MarkReadSql, userId, conversationId, seq);
        await using var reader = await locked.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false); // past the lock's row
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? reader.GetInt64(0) : null;
    }

    public async Task<bool> SetFlagsAsync(string userId, string conversationId, bool? pinned, bool? muted, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(
            "UPDATE im_user_conversations SET pinned = COALESCE($3, pinned), muted = COALESCE($4, muted) WHERE user_id = $1 AND conversation_id = $2",
            userId, conversationId);
        command.Parameters.Add(new NpgsqlParameter<bool?> { TypedValue = pinned, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Boolean });
        command.Parameters.Add(new NpgsqlParameter<bool?> { TypedValue = muted, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Boolean });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<IReadOnlyDictionary<string, long>> GetReadPositionsAsync(string conversationId, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command("SELECT user_id, read_seq FROM im_user_conversations WHERE conversation_id = $1", conversationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var positions = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            positions[reader.GetString(0)] = reader.GetInt64(1);
        }

        return positions;
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

    /// <summary>Runs <paramref name="sql"/> after taking the conversation's lock, in one implicit transaction (PostgresUnreadTotals).</summary>
    private async Task ExecuteLockedAsync(string conversationId, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var locked = PostgresUnreadTotals.LockedBatch(database, [conversationId]);
        locked.Add(sql, parameters);
        await locked.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<List<ConversationState>> QueryAsync(string sql, bool withLastMessage, CancellationToken cancellationToken, params object[] parameters)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var states = new List<ConversationState>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var last = withLastMessage && !reader.IsDBNull(7) ? ChatMessage.Parser.ParseFrom((byte[])reader.GetValue(7)) : null;
            states.Add(new ConversationState(
                reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
                reader.GetBoolean(4), reader.GetBoolean(5), reader.GetInt64(6), last));
        }

        return states;
    }

    private Task EnsureSchemaAsync(CancellationToken cancellationToken) =>
        database.EnsureSchemaAsync(PostgresChatSchema.Name, PostgresChatSchema.Ddl, cancellationToken);
}
