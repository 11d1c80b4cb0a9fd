using Npgsql;

namespace MqttIm.ImExtensions.Storage.Postgres;

/// <summary>Client id owners in the shared PostgreSQL database: one binding for the whole cluster.</summary>
internal sealed class PostgresClientIdOwnerStore(PostgresDatabase database) : IClientIdOwnerStore
{
    private const string Schema = "CREATE TABLE IF NOT EXISTS mqttim_client_id_owners (client_id TEXT PRIMARY KEY, user_id TEXT NOT NULL);";

    public async Task<string> ClaimAsync(string clientId, string userId, CancellationToken cancellationToken)
    {
        await database.EnsureSchemaAsync("client_id_owners", Schema, cancellationToken).ConfigureAwait(false);
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // The insert is a no-op when the id is bound; the select then returns whoever holds it (also a racing node's winner).
        await using (var insert = new NpgsqlCommand("INSERT INTO mqttim_client_id_owners (client_id, user_id) VALUES ($1, $2) ON CONFLICT (client_id) DO NOTHING", connection))
        {
            insert.Parameters.AddWithValue(clientId);
            insert.Parameters.AddWithValue(userId);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var select = new NpgsqlCommand("SELECT user_id FROM mqttim_client_id_owners WHERE client_id = $1", connection);
        select.Parameters.AddWithValue(clientId);
        return (string)(await select.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}
