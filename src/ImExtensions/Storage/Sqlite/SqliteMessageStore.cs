using Google.Protobuf;
using Microsoft.Data.Sqlite;
using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Storage.Sqlite;

/// <summary>Messages in the embedded database; a batch is one transaction (one fsync) however many messages it holds.</summary>
internal sealed class SqliteMessageStore(SqliteDatabase database) : IMessageStore
{
    private const int KnownParticipantsLimit = 1_000_000;

    // ~100 bytes a conversation (entry plus its id string): 100,000 busy conversations cost ~10 MB; past that the cache
    // starts over (a dictionary lookup saved per head move is not worth more memory than that).
    private const int HeadSeqsLimit = 100_000;

    // 1:1 and notification participants are never removed, so a pair written once need not be written again.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string UserId, string ConversationId), bool> _knownParticipants = new();

    // The append statements, prepared once on the writer connection and reused by every batch (WriteAsync runs one at a time).
    private AppendCommands? _commands;

    // Each conversation's committed max_seq. This store is the only writer of conversation heads, so the head read
    // before every move is a dictionary lookup; a miss, or another connection's commit to the file (PRAGMA
    // data_version, read inside the write transaction), reads the row. Published only after the commit.
    private readonly Dictionary<string, long> _headSeqs = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _appendLock = new(1, 1);
    private long _dataVersion = -1;
    private readonly List<(string, long)> _movedHeads = [];

    // The dedup lookup, prepared once on the writer connection (ReadOnWriterAsync runs one at a time, like WriteAsync).
    private SqliteCommand? _findByClientMsgId;

    public async Task<AppendResult> AppendAsync(IReadOnlyList<ChatMessage> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return AppendResult.AllStored;
        }

        // One append at a time (the commit loop is the only caller in practice), so no append reads the head cache
        // between another one's commit and its publish below.
        await _appendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var appended = await AppendLockedAsync(batch, cancellationToken).ConfigureAwait(false);
            if (_headSeqs.Count > HeadSeqsLimit)
            {
                _headSeqs.Clear();
            }

            foreach (var (conversationId, seq) in appended.Heads)
            {
                _headSeqs[conversationId] = seq;
            }

            return appended.Result;
        }
        catch
        {
            _headSeqs.Clear(); // a failed commit may or may not have moved its heads: read them again
            throw;
        }
        finally
        {
            _appendLock.Release();
        }
    }

    private async Task<(AppendResult Result, List<(string, long)> Heads)> AppendLockedAsync(IReadOnlyList<ChatMessage> batch, CancellationToken cancellationToken)
    {
        var written = await database.WriteAsync((connection, transaction) =>
        {
            var (insert, original, head, participant, maxSeq, headMoved, unreadRow, dataVersion) = _commands ??= AppendCommands.Create(connection);
            insert.Transaction = original.Transaction = head.Transaction = participant.Transaction = transaction;
            maxSeq.Transaction = headMoved.Transaction = unreadRow.Transaction = dataVersion.Transaction = transaction;
            if ((long)dataVersion.ExecuteScalar()! is var version && version != _dataVersion)
            {
                _headSeqs.Clear(); // another connection committed to this file since our last batch
                _dataVersion = version;
            }

            var movedHeads = _movedHeads; // reused: appends run one at a time (_appendLock)
            movedHeads.Clear();
            var duplicates = new Dictionary<ClientMsgKey, ChatMessage>();
            // Heads and participants repeat heavily within a batch (the same conversations are busy): write each once.
            var heads = new Dictionary<string, ChatMessage>(StringComparer.Ordinal);
            var participants = new HashSet<(string, string)>();
            foreach (var message in batch)
            {
                var body = message.ToByteArray();
                insert.Parameters[0].Value = message.ConversationId;
                insert.Parameters[1].Value = message.Seq;
                insert.Parameters[2].Value = message.SenderId;
                insert.Parameters[3].Value = message.ClientMsgId;
                insert.Parameters[4].Value = body;
                if (insert.ExecuteNonQuery() == 0)
                {
                    original.Parameters[0].Value = message.ConversationId;
                    original.Parameters[1].Value = message.SenderId;
                    original.Parameters[2].Value = message.ClientMsgId;
                    duplicates[ClientMsgKey.Of(message)] = ChatMessage.Parser.ParseFrom((byte[])original.ExecuteScalar()!);
                    continue;
                }

                heads[message.ConversationId] = message; // the batch's last message of each conversation is its new head
                if (message.ConversationId.StartsWith("c2c:", StringComparison.Ordinal))
                {
                    participants.Add((message.SenderId, message.ConversationId));
                }

                if (message.RecipientId.Length > 0)
                {
                    participants.Add((message.RecipientId, message.ConversationId));
                }
            }

            foreach (var message in heads.Values)
            {
                // The members' unread totals move with the head, in this transaction (SqliteUnreadTotals).
                if (!_headSeqs.TryGetValue(message.ConversationId, out var oldMaxSeq))
                {
                    maxSeq.Parameters[0].Value = message.ConversationId;
                    oldMaxSeq = maxSeq.ExecuteScalar() is long stored ? stored : 0;
                }

                movedHeads.Add((message.ConversationId, Math.Max(oldMaxSeq, message.Seq)));
                head.Parameters[0].Value = message.ConversationId;
                head.Parameters[1].Value = message.Seq;
                head.Parameters[2].Value = message.ServerTimeMs;
                head.ExecuteNonQuery();
                if (message.Seq > oldMaxSeq)
                {
                    SqliteUnreadTotals.ApplyHeadMoved(headMoved, message.ConversationId, oldMaxSeq, message.Seq);
                }
            }

            participants.RemoveWhere(_knownParticipants.ContainsKey);
            foreach (var (userId, conversationId) in participants)
            {
                participant.Parameters[0].Value = userId;
                participant.Parameters[1].Value = conversationId;
                if (participant.ExecuteNonQuery() == 1)
                {
                    SqliteUnreadTotals.ApplyRow(unreadRow, userId, conversationId, sign: 1);
                }
            }

            return (participants, duplicates, movedHeads);
        }, cancellationToken).ConfigureAwait(false);

        // Remembered only once committed: a failed batch writes its pairs again.
        if (_knownParticipants.Count > KnownParticipantsLimit)
        {
            _knownParticipants.Clear();
        }

        foreach (var pair in written.participants)
        {
            _knownParticipants[pair] = true;
        }

        return (written.duplicates.Count == 0 ? AppendResult.AllStored : new AppendResult(written.duplicates), written.movedHeads);
    }

    public async Task<long> GetMaxSeqAsync(string conversationId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("SELECT max_seq FROM conversations WHERE conversation_id = $c", null, ("$c", conversationId));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long seq ? seq : 0;
    }

    public async Task<IReadOnlyDictionary<ClientMsgKey, ChatMessage>> FindByClientMsgIdsAsync(
        IReadOnlyCollection<ClientMsgKey> keys, CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            return new Dictionary<ClientMsgKey, ChatMessage>();
        }

        // The commit loop asks before every batch. On the writer connection (warm page cache, no pooled connection to
        // open) with one statement prepared once and run per key: an index probe each, no SQL text built per batch.
        return await database.ReadOnWriterAsync((connection, transaction) =>
        {
            var find = _findByClientMsgId ??= connection.Command(
                "SELECT body FROM messages WHERE conversation_id = $c AND sender_id = $u AND client_msg_id = $m AND client_msg_id <> ''", null,
                ("$c", ""), ("$u", ""), ("$m", ""));
            find.Transaction = transaction;
            var found = new Dictionary<ClientMsgKey, ChatMessage>();
            foreach (var key in keys)
            {
                find.Parameters[0].Value = key.ConversationId;
                find.Parameters[1].Value = key.SenderId;
                find.Parameters[2].Value = key.ClientMsgId;
                if (find.ExecuteScalar() is byte[] body)
                {
                    found[key] = ChatMessage.Parser.ParseFrom(body);
                }
            }

            return found;
        }, cancellationToken).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<ChatMessage>> ReadAfterAsync(string conversationId, long afterSeq, int limit, CancellationToken cancellationToken) =>
        ReadAsync("SELECT body FROM messages WHERE conversation_id = $c AND seq > $s ORDER BY seq LIMIT $l",
            conversationId, afterSeq, limit, reverse: false, cancellationToken);

    public Task<IReadOnlyList<ChatMessage>> ReadBeforeAsync(string conversationId, long beforeSeq, int limit, CancellationToken cancellationToken) =>
        ReadAsync("SELECT body FROM messages WHERE conversation_id = $c AND seq < $s ORDER BY seq DESC LIMIT $l",
            conversationId, beforeSeq, limit, reverse: true, cancellationToken);

    public async Task<ChatMessage?> GetAsync(string conversationId, long seq, CancellationToken cancellationToken)
    {
        var one = await ReadAsync("SELECT body FROM messages WHERE conversation_id = $c AND seq = $s LIMIT $l",
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

        await using var connection = await database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(sql, null, ("$c", conversationId), ("$s", seq), ("$l", limit));
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

    private sealed record AppendCommands(
        SqliteCommand Insert, SqliteCommand Original, SqliteCommand Head, SqliteCommand Participant,
        SqliteCommand MaxSeq, SqliteCommand HeadMoved, SqliteCommand UnreadRow, SqliteCommand DataVersion)
    {
        public static AppendCommands Create(SqliteConnection writer) => new(
            // A resend already stored is skipped (and reported), a taken seq fails the whole transaction.
            writer.Command(
                """
                INSERT INTO messages (conversation_id, seq, sender_id, client_msg_id, body) VALUES ($c, $s, $u, $m, $b)
                ON CONFLICT (conversation_id, sender_id, client_msg_id) WHERE client_msg_id <> '' DO NOTHING
                """, null,
                ("$c", ""), ("$s", 0L), ("$u", ""), ("$m", ""), ("$b", Array.Empty<byte>())),
            writer.Command(
                "SELECT body FROM messages WHERE conversation_id = $c AND sender_id = $u AND client_msg_id = $m", null,
                ("$c", ""), ("$u", ""), ("$m", "")),
            // The head row stays small (no copy of the last message: readers take it from messages at max_seq), so the
            // busy conversations' heads share few pages and a commit writes fewer WAL frames.
            writer.Command(
                """
                INSERT INTO conversations (conversation_id, max_seq, last_activity_ms, last_message) VALUES ($c, $s, $t, NULL)
                ON CONFLICT (conversation_id) DO UPDATE SET max_seq = excluded.max_seq, last_activity_ms = excluded.last_activity_ms,
                    last_message = NULL WHERE excluded.max_seq > conversations.max_seq
                """, null, ("$c", ""), ("$s", 0L), ("$t", 0L)),
            writer.Command("INSERT OR IGNORE INTO user_conversations (user_id, conversation_id) VALUES ($u, $c)", null, ("$u", ""), ("$c", "")),
            writer.Command("SELECT max_seq FROM conversations WHERE conversation_id = $c", null, ("$c", "")),
            SqliteUnreadTotals.HeadMovedCommand(writer, null),
            SqliteUnreadTotals.RowCommand(writer, null),
            writer.Command("PRAGMA data_version"));
    }
}
