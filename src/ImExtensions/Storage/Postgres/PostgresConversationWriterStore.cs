using Npgsql;

namespace MqttIm.ImExtensions.Storage.Postgres;

/// <summary>Who wrote in which 1:1 conversation, in the shared PostgreSQL database.</summary>
internal sealed class PostgresConversationWriterStore(PostgresDatabase database) : IConversationWriterStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS mqttim_conversation_writers (
            conversation_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            PRIMARY KEY (conversation_id, user_id));
        """;

    public async Task AddAsync(string conversationId, string userId, CancellationToken cancellationToken)
    {
        await database.EnsureSchemaAsync("conversation_writers", Schema, cancellationToken).ConfigureAwait(false);
        await using var command = database.DataSource.CreateCommand(
            "INSERT INTO mqttim_conversation_writers (conversation_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING");
        command.Parameters.AddWithValue(conversationId);
        command.Parameters.AddWithValue(userId);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyCollection<string>> GetWritersAsync(string conversationId, CancellationToken cancellationToken)
    {
        await database.EnsureSchemaAsync("conversation_writers", Schema, cancellationToken).ConfigureAwait(false);
        await using var command = database.DataSource.CreateCommand("SELECT user_id FROM mqttim_conversation_writers WHERE conversation_id = $1");
        command.Parameters.AddWithValue(conversationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var writers = new List<string>(2);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            writers.Add(reader.GetString(0));
        }

        return writers;
    }
}
