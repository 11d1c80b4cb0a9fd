using Google.Protobuf;
using MqttIm.Contracts.V1;
using Npgsql;

namespace MqttIm.ImExtensions.Storage.Postgres;

/// <summary>
/// Messages in the shared PostgreSQL database. A batch is one statement (arrays unnested server-side) after the
/// conversations' locks, so one round trip and one commit (default synchronous_commit: durable once acknowledged) whatever its size, atomic as a whole.
/// </summary>
internal sealed class PostgresMessageStore(PostgresDatabase database) : IMessageStore
{
    // One statement: insert the messages (a resend already stored is skipped by its unique index, a taken seq fails the
    // statement), move each conversation's head to its highest new seq, and add the 1:1/notification participants.
    // Heads and participants are written in key order so concurrent batches of several nodes lock rows in the same order.
    // The members' unread totals move in the same statement (PostgresUnreadTotals): every sub-statement reads the snapshot
    // from before the statement, so im_conversations and im_user_conversations below are the old heads and the members
    // from before this batch; heads and participants return what changed.
    private static readonly string AppendSql = """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bytea[], $6::bigint[])
                AS t(conversation_id, seq, sender_id, client_msg_id, body, server_time_ms)),
        inserted AS (
            INSERT INTO im_messages (conversation_id, seq, sender_id, client_msg_id, body)
            SELECT conversation_id, seq, sender_id, client_msg_id, body FROM input
            ON CONFLICT (conversation_id, sender_id, client_msg_id) WHERE client_msg_id <> '' DO NOTHING
            RETURNING conversation_id, seq, sender_id, client_msg_id),
        heads AS (
            INSERT INTO im_conversations (conversation_id, max_seq, last_activity_ms, last_message)
            SELECT DISTINCT ON (i.conversation_id) i.conversation_id, i.seq, input.server_time_ms, input.body
            FROM inserted i JOIN input ON input.conversation_id = i.conversation_id AND input.seq = i.seq
            ORDER BY i.conversation_id, i.seq DESC
            ON CONFLICT (conversation_id) DO UPDATE SET max_seq = excluded.max_seq,
                last_activity_ms = excluded.last_activity_ms, last_message = excluded.last_message
                WHERE excluded.max_seq > im_conversations.max_seq
            RETURNING conversation_id, max_seq),
        participants AS (
            INSERT INTO im_user_conversations (user_id, conversation_id)
            SELECT DISTINCT user_id, conversation_id FROM unnest($7::text[], $8::text[]) AS p(user_id, conversation_id)
            ORDER BY user_id, conversation_id
            ON CONFLICT DO NOTHING
            RETURNING user_id, conversation_id),
        unread AS (
        """ + PostgresUnreadTotals.AddToTotals($"""
            SELECT uc.user_id, {PostgresUnreadTotals.Unread("h.max_seq", "uc")} - {PostgresUnreadTotals.Unread("COALESCE(o.max_seq, 0)", "uc")} AS delta
            FROM heads h JOIN im_user_conversations uc ON uc.conversation_id = h.conversation_id
            LEFT JOIN im_conversations o ON o.conversation_id = h.conversation_id
            UNION ALL
            SELECT p.user_id, COALESCE(h.max_seq, o.max_seq, 0) AS delta
            FROM participants p LEFT JOIN heads h ON h.conversation_id = p.conversation_id
            LEFT JOIN im_conversations o ON o.conversation_id = p.conversation_id
            """) + """
            RETURNING 1)
        SELECT i.conversation_id, i.sender_id, i.client_msg_id FROM inserted i WHERE i.client_msg_id <> ''
        """;

    // The filter names m's column, not k's: only then does the planner see the partial dedup index's predicate implied
    // and look the key up in ux_im_messages_client_msg; filtering on k scanned every message of the conversation.
    private const string FindSql = """
        SELECT m.body FROM im_messages m
        JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(conversation_id, sender_id, client_msg_id)
            ON m.conversation_id = k.conversation_id AND m.sender_id = k.sender_id AND m.client_msg_id = k.client_msg_id
        WHERE m.client_msg_id <> ''
        """;

    public async Task<AppendResult> AppendAsync(IReadOnlyList<ChatMessage> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return AppendResult.AllStored;
        }

        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var conversationIds = new string[batch.Count];
        var seqs = new long[batch.Count];
        var senders = new string[batch.Count];
        var clientMsgIds = new string[batch.Count];
        var bodies = new byte[batch.Count][];
        var times = new long[batch.Count];
        var participants = new HashSet<(string UserId, string ConversationId)>();
        var keyed = new List<ClientMsgKey>();
        for (var i = 0; i < batch.Count; i++)
        {
            var message = batch[i];
            conversationIds[i] = message.ConversationId;
            seqs[i] = message.Seq;
            senders[i] = message.SenderId;
            clientMsgIds[i] = message.ClientMsgId;
            bodies[i] = message.ToByteArray();
            times[i] = message.ServerTimeMs;
            if (message.ConversationId.StartsWith("c2c:", StringComparison.Ordinal))
            {
                participants.Add((message.SenderId, message.ConversationId));
            }

            if (message.RecipientId.Length > 0)
            {
                participants.Add((message.RecipientId, message.ConversationId));
            }

            if (message.ClientMsgId.Length > 0)
            {
                keyed.Add(ClientMsgKey.Of(message));
            }
        }

        var stored = new HashSet<ClientMsgKey>();
        // The conversations are locked first, in the same implicit transaction, so the unread deltas see no concurrent change.
        await using (var locked = PostgresUnreadTotals.LockedBatch(database, conversationIds))
        {
            locked.Add(AppendSql, conversationIds, seqs, senders, clientMsgIds, bodies, times,
                participants.Select(p => p.UserId).ToArray(), participants.Select(p => p.ConversationId).ToArray());
            await using var reader = await locked.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false); // past the lock's row
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                stored.Add(new ClientMsgKey(reader.GetString(0), reader.GetString(1), reader.GetString(2)));
            }
        }

        // Keyed messages the statement skipped were stored before (or by another node in the meantime): report the originals.
        var skipped = keyed.Where(k => !stored.Contains(k)).ToList();
        return skipped.Count == 0
            ? AppendResult.AllStored
            : new AppendResult(await FindByClientMsgIdsAsync(skipped, cancellationToken).ConfigureAwait(false));
    }

    public async Task<long> GetMaxSeqAsync(string conversationId, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var command = database.DataSource.CreateCommand("SELECT max_seq FROM im_conversations WHERE conversation_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = conversationId });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long seq ? seq : 0;
    }

    public async Task<IReadOnlyDictionary<ClientMsgKey, ChatMessage>> FindByClientMsgIdsAsync(
        IReadOnlyCollection<ClientMsgKey> keys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<ClientMsgKey, ChatMessage>();
        if (keys.Count == 0)
        {
            return found;
        }

        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var command = database.DataSource.CreateCommand(FindSql);
        command.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.ConversationId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.SenderId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = keys.Select(k => k.ClientMsgId).ToArray() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var message = ChatMessage.Parser.ParseFrom((byte[])reader.GetValue(0));
            found[ClientMsgKey.Of(message)] = message;
        }

        return found;
    }

    public Task<IReadOnlyList<ChatMessage>> ReadAfterAsync(string conversationId, long afterSeq, int limit, CancellationToken cancellationToken) =>
        ReadAsync("SELECT body FROM im_messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            conversationId, afterSeq, limit, reverse: false, cancellationToken);

    public Task<IReadOnlyList<ChatMessage>> ReadBeforeAsync(string conversationId, long beforeSeq, int limit, CancellationToken cancellationToken) =>
        ReadAsync("SELECT body FROM im_messages WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
            conversationId, beforeSeq, limit, reverse: true, cancellationToken);

    public async Task<ChatMessage?> GetAsync(string conversationId, long seq, CancellationToken cancellationToken)
    {
        var one = await ReadAsync("SELECT body FROM im_messages WHERE conversation_id = $1 AND seq = $2 LIMIT $3",
            conversationId, seq, 1, reverse: false, cancellationToken).ConfigureAwait(false);
        return one.Count == 1 ? one[0] : null;
    }

    private async Task<IReadOnlyList<ChatMessage>> ReadAsync(
        string sql, string conversationId, long seq, int limit, bool reverse, CancellationToken cancellationToken)
    {
        var messages = new List<ChatMessage>();
        if (limit <= 0)
        {
            return messages;
        }

        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var command = database.DataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = conversationId });
        command.Parameters.Add(new NpgsqlParameter { Value = seq });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            messages.Add(ChatMessage.Parser.ParseFrom((byte[])reader.GetValue(0)));
        }

        if (reverse)
        {
            messages.Reverse();
        }

        return messages;
    }

    private Task EnsureSchemaAsync(CancellationToken cancellationToken) =>
        database.EnsureSchemaAsync(PostgresChatSchema.Name, PostgresChatSchema.Ddl, cancellationToken);
}
