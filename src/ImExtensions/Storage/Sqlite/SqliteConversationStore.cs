using Microsoft.Data.Sqlite;
using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Storage.Sqlite;

/// <summary>Per-user conversation state in the embedded database (the <c>user_conversations</c> rows joined to each head).</summary>
internal sealed class SqliteConversationStore(SqliteDatabase database) : IConversationStore
{
    private const string StateColumns =
        "SELECT uc.conversation_id, COALESCE(c.max_seq, 0), uc.read_seq, uc.joined_seq, uc.pinned, uc.muted, COALESCE(c.last_activity_ms, 0)";

    private const string FromStates = " FROM user_conversations uc LEFT JOIN conversations c ON c.conversation_id = uc.conversation_id";

    private const string SelectState = StateColumns + FromStates;

    private const string SelectStateWithLastMessage = StateColumns + ", c.last_message" + FromStates;

    public async Task<IReadOnlyList<ConversationState>> GetAllAsync(string userId, CancellationToken cancellationToken) =>
        await QueryAsync(SelectState + " WHERE uc.user_id = $u ORDER BY uc.conversation_id", withLastMessage: false, cancellationToken, ("$u", userId)).ConfigureAwait(false);

    public async Task<ConversationState?> GetAsync(string userId, string conversationId, CancellationToken cancellationToken) =>
        (await QueryAsync(SelectState + " WHERE uc.user_id = $u AND uc.conversation_id = $c", withLastMessage: false, cancellationToken, ("$u", userId), ("$c", conversationId)).ConfigureAwait(false))
        .SingleOrDefault();

    public async Task<IReadOnlyList<ConversationState>> ListAsync(string userId, int offset, int limit, CancellationToken cancellationToken) =>
        await QueryAsync(
            SelectStateWithLastMessage + " WHERE uc.user_id = $u ORDER BY uc.pinned DESC, COALESCE(c.last_activity_ms, 0) DESC, uc.conversation_id LIMIT $l OFFSET $o",
            withLastMessage: true, cancellationToken, ("$u", userId), ("$l", limit), ("$o", offset)).ConfigureAwait(false);

    public Task AddParticipantsAsync(string conversationId, IReadOnlyCollection<string> userIds, long joinedSeq, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.Command(
                """
                INSERT INTO user_conversations (user_id, conversation_id, read_seq, joined_seq) VALUES ($u, $c, $r, $j)
                ON CONFLICT (user_id, conversation_id) DO UPDATE SET joined_seq = excluded.joined_seq, read_seq = MAX(read_seq, excluded.read_seq)
                """, transaction, ("$u", ""), ("$c", conversationId), ("$r", joinedSeq - 1), ("$j", joinedSeq));
            foreach (var userId in userIds)
            {
                command.Parameters[0].Value = userId;
                command.ExecuteNonQuery();
            }

            return true;
        }, cancellationToken);

    public Task RemoveParticipantsAsync(string conversationId, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.Command("DELETE FROM user_conversations WHERE user_id = $u AND conversation_id = $c", transaction, ("$u", ""), ("$c", conversationId));
            foreach (var userId in userIds)
            {
                command.Parameters[0].Value = userId;
                command.ExecuteNonQuery();
            }

            return true;
        }, cancellationToken);

    public Task<long?> MarkReadAsync(string userId, string conversationId, long seq, CancellationToken cancellationToken) =>
        database.WriteAsync<long?>((connection, transaction) =>
        {
            using var command = connection.Command(
                """
                UPDATE user_conversations
                SET read_seq = MAX(read_seq, MIN($s, COALESCE((SELECT max_seq FROM conversations WHERE conversation_id = $c), 0)))
                WHERE user_id = $u AND conversation_id = $c
                RETURNING read_seq
                """, transaction, ("$u", userId), ("$c", conversationId), ("$s", seq));
            return command.ExecuteScalar() is long readSeq ? readSeq : null;
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
