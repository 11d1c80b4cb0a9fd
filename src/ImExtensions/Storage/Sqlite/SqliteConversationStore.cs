using Microsoft.Data.Sqlite;
using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Storage.Sqlite;

/// <summary>Per-user conversation state in the embedded database (the <c>user_conversations</c> rows joined to each head).</summary>
internal sealed class SqliteConversationStore(SqliteDatabase database, IMessageStore messages) : IConversationStore
{
    private const string StateColumns =
        "SELECT uc.conversation_id, COALESCE(c.max_seq, 0), uc.read_seq, uc.joined_seq, uc.pinned, uc.muted, COALESCE(c.last_activity_ms, 0)";

    private const string FromStates = " FROM user_conversations uc LEFT JOIN conversations c ON c.conversation_id = uc.conversation_id";

    private const string SelectState = StateColumns + FromStates;

    // The last message is the one at max_seq in the message store (the head row keeps no copy, so it stays small);
    // last_message is a copy written by an older version, read until the conversation's next message.
    private const string SelectStateWithLastMessage = StateColumns + ", c.last_message" + FromStates;

    private const string ListOrder = " ORDER BY uc.pinned DESC, COALESCE(c.last_activity_ms, 0) DESC, uc.conversation_id DESC LIMIT $l";

    public async Task<IReadOnlyList<ConversationState>> GetAllAsync(string userId, CancellationToken cancellationToken) =>
        await QueryAsync(SelectState + " WHERE uc.user_id = $u ORDER BY uc.conversation_id", withLastMessage: false, cancellationToken, ("$u", userId)).ConfigureAwait(false);

    public async Task<IReadOnlyList<ConversationState>> GetPageAsync(string userId, string? afterConversationId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await QueryAsync(SelectState + " WHERE uc.user_id = $u AND uc.conversation_id > $a ORDER BY uc.conversation_id LIMIT $l", withLastMessage: false, cancellationToken,
            ("$u", userId), ("$a", afterConversationId ?? ""), ("$l", limit)).ConfigureAwait(false);
    }

    public async Task<ConversationState?> GetAsync(string userId, string conversationId, CancellationToken cancellationToken) =>
        (await QueryAsync(SelectState + " WHERE uc.user_id = $u AND uc.conversation_id = $c", withLastMessage: false, cancellationToken, ("$u", userId), ("$c", conversationId)).ConfigureAwait(false))
        .SingleOrDefault();

    public async Task<ConversationPage> ListAsync(string userId, ConversationListCursor? after, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var rows = after is null
            ? await QueryAsync(SelectStateWithLastMessage + " WHERE uc.user_id = $u" + ListOrder, withLastMessage: true, cancellationToken,
                ("$u", userId), ("$l", limit + 1)).ConfigureAwait(false)
            : await QueryAsync(
                SelectStateWithLastMessage + " WHERE uc.user_id = $u AND (uc.pinned, COALESCE(c.last_activity_ms, 0), uc.conversation_id) < ($p, $a, $c)" + ListOrder,
                withLastMessage: true, cancellationToken,
                ("$u", userId), ("$l", limit + 1), ("$p", after.Pinned ? 1 : 0), ("$a", after.LastActivityMs), ("$c", after.ConversationId)).ConfigureAwait(false);
        if (rows.Count > limit)
        {
            rows.RemoveRange(limit, rows.Count - limit);
            await FillLastMessagesAsync(rows, cancellationToken).ConfigureAwait(false);
            return new ConversationPage(rows, ConversationListCursor.After(rows[limit - 1]));
        }

        await FillLastMessagesAsync(rows, cancellationToken).ConfigureAwait(false);
        return new ConversationPage(rows, null);
    }

    public async Task<UnreadSummary> GetUnreadAsync(string userId, string? conversationId, CancellationToken cancellationToken)
    {
        // One statement, so the total and the conversation come from the same snapshot; the total is kept (SqliteUnreadTotals).
        await using var connection = await database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(
            $"""
            SELECT COALESCE((SELECT total FROM user_unread WHERE user_id = $u), 0), s.*
            FROM (SELECT 1) LEFT JOIN ({SelectState} WHERE uc.user_id = $u AND uc.conversation_id = $c) s
            """, null, ("$u", userId), ("$c", conversationId ?? ""));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var state = reader.IsDBNull(1)
            ? null
            : new ConversationState(reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4),
                reader.GetInt64(5) != 0, reader.GetInt64(6) != 0, reader.GetInt64(7));
        return new UnreadSummary(reader.GetInt64(0), state);
    }

    public async Task<bool> ShareConversationAsync(string userId, string otherUserId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(
            """
            SELECT EXISTS (SELECT 1 FROM user_conversations a
                JOIN user_conversations b ON b.user_id = $o AND b.conversation_id = a.conversation_id WHERE a.user_id = $u)
            """, null, ("$u", userId), ("$o", otherUserId));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long found && found != 0;
    }

    public Task AddParticipantsAsync(string conversationId, IReadOnlyCollection<string> userIds, long joinedSeq, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.Command(
                """
                INSERT INTO user_conversations (user_id, conversation_id, read_seq, joined_seq) VALUES ($u, $c, $r, $j)
                ON CONFLICT (user_id, conversation_id) DO UPDATE SET joined_seq = excluded.joined_seq, read_seq = MAX(read_seq, excluded.read_seq)
                """, transaction, ("$u", ""), ("$c", conversationId), ("$r", joinedSeq - 1), ("$j", joinedSeq));
            using var unread = SqliteUnreadTotals.RowCommand(connection, transaction);
            foreach (var userId in userIds.Distinct(StringComparer.Ordinal))
            {
                SqliteUnreadTotals.ApplyRow(unread, userId, conversationId, sign: -1);
                command.Parameters[0].Value = userId;
                command.ExecuteNonQuery();
                SqliteUnreadTotals.ApplyRow(unread, userId, conversationId, sign: 1);
            }

            return true;
        }, cancellationToken);

    public Task RemoveParticipantsAsync(string conversationId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.Command("DELETE FROM user_conversations WHERE user_id = $u AND conversation_id = $c", transaction, ("$u", ""), ("$c", conversationId));
            using var unread = SqliteUnreadTotals.RowCommand(connection, transaction);
            foreach (var userId in userIds.Distinct(StringComparer.Ordinal))
            {
                SqliteUnreadTotals.ApplyRow(unread, userId, conversationId, sign: -1);
                command.Parameters[0].Value = userId;
                command.ExecuteNonQuery();
            }

            return true;
        }, cancellationToken);

    public Task<long?> MarkReadAsync(string userId, string conversationId, long seq, CancellationToken cancellationToken) =>
        database.WriteAsync<long?>((connection, transaction) =>
        {
            using var unread = SqliteUnreadTotals.RowCommand(connection, transaction);
            SqliteUnreadTotals.ApplyRow(unread, userId, conversationId, sign: -1);
            using var command = connection.Command(
                """
                UPDATE user_conversations
                SET read_seq = MAX(read_seq, MIN($s, COALESCE((SELECT max_seq FROM conversations WHERE conversation_id = $c), 0)))
                WHERE user_id = $u AND conversation_id = $c
                RETURNING read_seq
                """, transaction, ("$u", userId), ("$c", conversationId), ("$s", seq));
            var readSeq = command.ExecuteScalar() is long moved ? moved : (long?)null;
            SqliteUnreadTotals.ApplyRow(unread, userId, conversationId, sign: 1);
            return readSeq;
        }, cancellationToken);

    public Task<bool> SetFlagsAsync(string userId, string conversationId, bool? pinned, bool? muted, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.Command(
                "UPDATE user_conversations SET pinned = COALESCE($p, pinned), muted = COALESCE($m, muted) WHERE user_id = $u AND conversation_id = $c",
                transaction, ("$u", userId), ("$c", conversationId), ("$p", pinned), ("$m", muted));
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken);

    public async Task<IReadOnlyDictionary<string, long>> GetReadPositionsAsync(string conversationId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("SELECT user_id, read_seq FROM user_conversations WHERE conversation_id = $c", null, ("$c", conversationId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var positions = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            positions[reader.GetString(0)] = reader.GetInt64(1);
        }

        return positions;
    }

    private async Task FillLastMessagesAsync(List<ConversationState> rows, CancellationToken cancellationToken)
    {
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].MaxSeq > 0 && await messages.GetAsync(rows[i].ConversationId, rows[i].MaxSeq, cancellationToken).ConfigureAwait(false) is { } last)
            {
                rows[i] = rows[i] with { LastMessage = last };
            }
        }
    }

    private async Task<List<ConversationState>> QueryAsync(string sql, bool withLastMessage, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var connection = await database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(sql, null, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var states = new List<ConversationState>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var last = withLastMessage && !reader.IsDBNull(7) ? ChatMessage.Parser.ParseFrom((byte[])reader.GetValue(7)) : null;
            states.Add(new ConversationState(
                reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
                reader.GetInt64(4) != 0, reader.GetInt64(5) != 0, reader.GetInt64(6), last));
        }

        return states;
    }
}
