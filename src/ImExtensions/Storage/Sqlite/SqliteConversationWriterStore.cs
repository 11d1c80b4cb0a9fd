namespace MqttIm.ImExtensions.Storage.Sqlite;

/// <summary>Who wrote in which 1:1 conversation, in the embedded database.</summary>
internal sealed class SqliteConversationWriterStore : IConversationWriterStore
{
    private readonly SqliteDatabase _database;

    public SqliteConversationWriterStore(SqliteDatabase database)
    {
        _database = database;
        _database.EnsureSchema("""
            CREATE TABLE IF NOT EXISTS conversation_writers (
                conversation_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                PRIMARY KEY (conversation_id, user_id)) WITHOUT ROWID;
            """);
    }

    public Task AddAsync(string conversationId, string userId, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.Command(
                "INSERT OR IGNORE INTO conversation_writers (conversation_id, user_id) VALUES ($c, $u)", transaction, ("$c", conversationId), ("$u", userId));
            return command.ExecuteNonQuery();
        }, cancellationToken);

    public async Task<IReadOnlyCollection<string>> GetWritersAsync(string conversationId, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("SELECT user_id FROM conversation_writers WHERE conversation_id = $c", null, ("$c", conversationId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var writers = new List<string>(2);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            writers.Add(reader.GetString(0));
        }

        return writers;
    }
}
