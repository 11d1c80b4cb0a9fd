using Google.Protobuf;
using Microsoft.Data.Sqlite;
using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Storage.Sqlite;

/// <summary>The embedded message store: one SQLite file in WAL mode, one writer connection, pooled readers.</summary>
internal sealed class SqliteMessageStore : IMessageStore, IDisposable
{
    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    // One writer at a time: SQLite serialises writers anyway, and the commit queue is the only hot caller.
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SqliteCommand _insertMessage;
    private readonly SqliteCommand _insertMembership;

    public SqliteMessageStore(string databasePath, bool fullSync)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
        }.ToString();

        _writer = new SqliteConnection(_connectionString);
        _writer.Open();
        Execute(_writer, $"""
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous={(fullSync ? "FULL" : "NORMAL")};
            CREATE TABLE IF NOT EXISTS messages (
                conversation_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                sender_id TEXT NOT NULL,
                client_msg_id TEXT NOT NULL,
                body BLOB NOT NULL,
                PRIMARY KEY (conversation_id, seq)) WITHOUT ROWID;
            CREATE UNIQUE INDEX IF NOT EXISTS ux_messages_client_msg
                ON messages (sender_id, client_msg_id) WHERE client_msg_id <> '';
            CREATE TABLE IF NOT EXISTS user_conversations (
                user_id TEXT NOT NULL,
                conversation_id TEXT NOT NULL,
                PRIMARY KEY (user_id, conversation_id)) WITHOUT ROWID;
            """);

        _insertMessage = _writer.CreateCommand();
        _insertMessage.CommandText =
            "INSERT INTO messages (conversation_id, seq, sender_id, client_msg_id, body) VALUES ($c, $s, $u, $m, $b)";
        _insertMessage.Parameters.Add("$c", SqliteType.Text);
        _insertMessage.Parameters.Add("$s", SqliteType.Integer);
        _insertMessage.Parameters.Add("$u", SqliteType.Text);
        _insertMessage.Parameters.Add("$m", SqliteType.Text);
        _insertMessage.Parameters.Add("$b", SqliteType.Blob);

        _insertMembership = _writer.CreateCommand();
        _insertMembership.CommandText =
            "INSERT OR IGNORE INTO user_conversations (user_id, conversation_id) VALUES ($u, $c)";
        _insertMembership.Parameters.Add("$u", SqliteType.Text);
        _insertMembership.Parameters.Add("$c", SqliteType.Text);
    }

    public async Task AppendAsync(IReadOnlyList<ChatMessage> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var transaction = _writer.BeginTransaction();
            _insertMessage.Transaction = transaction;
            _insertMembership.Transaction = transaction;
            // Memberships repeat heavily within a batch (the same pairs chat); insert each once.
            var memberships = new HashSet<(string, string)>();
            foreach (var message in batch)
            {
                _insertMessage.Parameters[0].Value = message.ConversationId;
                _insertMessage.Parameters[1].Value = message.Seq;
                _insertMessage.Parameters[2].Value = message.SenderId;
                _insertMessage.Parameters[3].Value = message.ClientMsgId;
                _insertMessage.Parameters[4].Value = message.ToByteArray();
                _insertMessage.ExecuteNonQuery();
                memberships.Add((message.SenderId, message.ConversationId));
                if (message.RecipientId.Length > 0)
                {
                    memberships.Add((message.RecipientId, message.ConversationId));
                }
            }

            foreach (var (userId, conversationId) in memberships)
            {
                _insertMembership.Parameters[0].Value = userId;
                _insertMembership.Parameters[1].Value = conversationId;
                _insertMembership.ExecuteNonQuery();
            }

            transaction.Commit();
        }
        finally
        {
            _insertMessage.Transaction = null;
            _insertMembership.Transaction = null;
            _writeLock.Release();
        }
    }

    public async Task<long> GetMaxSeqAsync(string conversationId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation_id = $c";
        command.Parameters.AddWithValue("$c", conversationId);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public async Task<IReadOnlyDictionary<ClientMsgKey, ChatMessage>> FindByClientMsgIdsAsync(
        IReadOnlyCollection<ClientMsgKey> keys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<ClientMsgKey, ChatMessage>();
        if (keys.Count == 0)
        {
            return found;
        }

        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        // One query per chunk instead of one per message: the commit queue asks for a whole batch at once.
        foreach (var chunk in keys.Chunk(400))
        {
            await using var command = connection.CreateCommand();
            var values = new System.Text.StringBuilder();
            for (var i = 0; i < chunk.Length; i++)
            {
                values.Append(i == 0 ? "" : ",").Append("($u").Append(i).Append(",$m").Append(i).Append(')');
                command.Parameters.AddWithValue("$u" + i, chunk[i].SenderId);
                command.Parameters.AddWithValue("$m" + i, chunk[i].ClientMsgId);
            }

            command.CommandText =
                $"SELECT body FROM messages WHERE client_msg_id <> '' AND (sender_id, client_msg_id) IN (VALUES {values})";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var message = ChatMessage.Parser.ParseFrom((byte[])reader.GetValue(0));
                found[new ClientMsgKey(message.SenderId, message.ClientMsgId)] = message;
            }
        }

        return found;
    }

    public Task<IReadOnlyList<ChatMessage>> ReadAfterAsync(string conversationId, long afterSeq, int limit, CancellationToken cancellationToken) =>
        ReadAsync("SELECT body FROM messages WHERE conversation_id = $c AND seq > $s ORDER BY seq LIMIT $l",
            conversationId, afterSeq, limit, reverse: false, cancellationToken);

    public Task<IReadOnlyList<ChatMessage>> ReadBeforeAsync(string conversationId, long beforeSeq, int limit, CancellationToken cancellationToken) =>
        ReadAsync("SELECT body FROM messages WHERE conversation_id = $c AND seq < $s ORDER BY seq DESC LIMIT $l",
            conversationId, beforeSeq, limit, reverse: true, cancellationToken);

    public async Task<IReadOnlyList<ConversationHead>> GetConversationsAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT uc.conversation_id,
                   (SELECT COALESCE(MAX(m.seq), 0) FROM messages m WHERE m.conversation_id = uc.conversation_id)
            FROM user_conversations uc WHERE uc.user_id = $u ORDER BY uc.conversation_id
            """;
        command.Parameters.AddWithValue("$u", userId);
        var heads = new List<ConversationHead>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            heads.Add(new ConversationHead(reader.GetString(0), reader.GetInt64(1)));
        }

        return heads;
    }

    public void Dispose()
    {
        _insertMessage.Dispose();
        _insertMembership.Dispose();
        _writer.Dispose();
        _writeLock.Dispose();
    }

    private async Task<IReadOnlyList<ChatMessage>> ReadAsync(
        string sql, string conversationId, long seq, int limit, bool reverse, CancellationToken cancellationToken)
    {
        var messages = new List<ChatMessage>();
        if (limit <= 0)
        {
            return messages;
        }

        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$c", conversationId);
        command.Parameters.AddWithValue("$s", seq);
        command.Parameters.AddWithValue("$l", limit);
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

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
