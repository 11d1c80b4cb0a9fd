namespace MqttIm.ImExtensions.Storage.Sqlite;

/// <summary>Client id owners in the embedded database.</summary>
internal sealed class SqliteClientIdOwnerStore : IClientIdOwnerStore
{
    private readonly SqliteDatabase _database;

    public SqliteClientIdOwnerStore(SqliteDatabase database)
    {
        _database = database;
        _database.EnsureSchema("CREATE TABLE IF NOT EXISTS client_id_owners (client_id TEXT PRIMARY KEY, user_id TEXT NOT NULL) WITHOUT ROWID;");
    }

    public async Task<string> ClaimAsync(string clientId, string userId, CancellationToken cancellationToken)
    {
        // Read first: an id seen before costs no write transaction (no fsync) on reconnect.
        if (await FindAsync(clientId, cancellationToken).ConfigureAwait(false) is { } owner)
        {
            return owner;
        }

        return await _database.WriteAsync((connection, transaction) =>
        {
            using (var insert = connection.Command(
                "INSERT OR IGNORE INTO client_id_owners (client_id, user_id) VALUES ($c, $u)", transaction, ("$c", clientId), ("$u", userId)))
            {
                insert.ExecuteNonQuery();
            }

            using var select = connection.Command("SELECT user_id FROM client_id_owners WHERE client_id = $c", transaction, ("$c", clientId));
            return (string)select.ExecuteScalar()!;
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<string?> FindAsync(string clientId, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("SELECT user_id FROM client_id_owners WHERE client_id = $c", null, ("$c", clientId));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }
}
