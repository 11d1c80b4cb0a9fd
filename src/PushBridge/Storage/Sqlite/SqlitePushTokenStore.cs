using Microsoft.Data.Sqlite;
using MqttIm.ImExtensions.Storage.Sqlite;
using MqttIm.PushBridge.Tokens;

namespace MqttIm.PushBridge.Storage.Sqlite;

/// <summary>The embedded token registry: tables in the broker's SQLite file, the (vendor, token) pair as primary key.</summary>
internal sealed class SqlitePushTokenStore : IPushTokenStore
{
    private readonly SqliteDatabase _database;

    public SqlitePushTokenStore(SqliteDatabase database)
    {
        _database = database;
        database.EnsureSchema("""
            CREATE TABLE IF NOT EXISTS push_tokens (
                vendor TEXT NOT NULL, token TEXT NOT NULL, user_id TEXT NOT NULL, device_id TEXT NOT NULL, app_id TEXT NOT NULL,
                environment TEXT NOT NULL, locale TEXT NOT NULL, privacy INTEGER NOT NULL, preference INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
                PRIMARY KEY (vendor, token)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS ix_push_tokens_user ON push_tokens (user_id, device_id);
            CREATE TABLE IF NOT EXISTS push_preferences (
                user_id TEXT PRIMARY KEY, quiet_start INTEGER NOT NULL, quiet_end INTEGER NOT NULL, time_zone TEXT NOT NULL) WITHOUT ROWID;
            """);
    }

    public Task RegisterAsync(PushToken token, CancellationToken cancellationToken) => _database.WriteAsync((connection, transaction) =>
    {
        using var command = Command(connection, transaction, """
            INSERT INTO push_tokens VALUES ($vendor, $token, $user, $device, $app, $env, $locale, $privacy, $pref, $updated)
            ON CONFLICT (vendor, token) DO UPDATE SET user_id = excluded.user_id, device_id = excluded.device_id, app_id = excluded.app_id,
                environment = excluded.environment, locale = excluded.locale, privacy = excluded.privacy, preference = excluded.preference,
                updated_ms = excluded.updated_ms
            """, ("$vendor", token.Vendor), ("$token", token.Token), ("$user", token.UserId), ("$device", token.DeviceId), ("$app", token.AppId),
            ("$env", token.Environment), ("$locale", token.Locale), ("$privacy", token.Privacy ? 1 : 0), ("$pref", token.Preference), ("$updated", token.UpdatedMs));
        return command.ExecuteNonQuery();
    }, cancellationToken);

    public Task<bool> UnregisterAsync(string userId, string vendor, string token, CancellationToken cancellationToken) => _database.WriteAsync((connection, transaction) =>
    {
        using var command = Command(connection, transaction, "DELETE FROM push_tokens WHERE vendor = $vendor AND token = $token AND user_id = $user",
            ("$vendor", vendor), ("$token", token), ("$user", userId));
        return command.ExecuteNonQuery() > 0;
    }, cancellationToken);

    public Task<int> UnregisterDeviceAsync(string userId, string deviceId, CancellationToken cancellationToken) => _database.WriteAsync((connection, transaction) =>
    {
        using var command = Command(connection, transaction, "DELETE FROM push_tokens WHERE user_id = $user AND device_id = $device", ("$user", userId), ("$device", deviceId));
        return command.ExecuteNonQuery();
    }, cancellationToken);

    public Task<bool> RemoveAsync(string vendor, string token, CancellationToken cancellationToken) => _database.WriteAsync((connection, transaction) =>
    {
        using var command = Command(connection, transaction, "DELETE FROM push_tokens WHERE vendor = $vendor AND token = $token", ("$vendor", vendor), ("$token", token));
        return command.ExecuteNonQuery() > 0;
    }, cancellationToken);

    public async Task<IReadOnlyList<PushToken>> GetForUserAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = Command(connection, null, """
            SELECT user_id, device_id, vendor, app_id, token, environment, locale, privacy, preference, updated_ms
            FROM push_tokens WHERE user_id = $user ORDER BY device_id, preference, updated_ms DESC
            """, ("$user", userId));
        using var reader = command.ExecuteReader();
        var tokens = new List<PushToken>();
        while (reader.Read())
        {
            tokens.Add(new PushToken(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), reader.GetString(6), reader.GetInt64(7) != 0, reader.GetInt32(8), reader.GetInt64(9)));
        }

        return tokens;
    }

    public Task SetPreferencesAsync(PushPreferences preferences, CancellationToken cancellationToken) => _database.WriteAsync((connection, transaction) =>
    {
        using var command = Command(connection, transaction, "INSERT OR REPLACE INTO push_preferences VALUES ($user, $start, $end, $zone)",
            ("$user", preferences.UserId), ("$start", preferences.QuietStartMinute), ("$end", preferences.QuietEndMinute), ("$zone", preferences.TimeZone));
        return command.ExecuteNonQuery();
    }, cancellationToken);

    public async Task<PushPreferences?> GetPreferencesAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = Command(connection, null, "SELECT quiet_start, quiet_end, time_zone FROM push_preferences WHERE user_id = $user", ("$user", userId));
        using var reader = command.ExecuteReader();
        return reader.Read() ? new PushPreferences(userId, reader.GetInt32(0), reader.GetInt32(1), reader.GetString(2)) : null;
    }

    internal static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }
}
