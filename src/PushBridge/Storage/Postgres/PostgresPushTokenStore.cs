using MqttIm.ImExtensions.Storage.Postgres;
using MqttIm.PushBridge.Tokens;

namespace MqttIm.PushBridge.Storage.Postgres;

/// <summary>The token registry in the cluster's PostgreSQL database: (vendor, token) is the primary key, so a re-registration moves it.</summary>
internal sealed class PostgresPushTokenStore(PostgresDatabase database) : IPushTokenStore
{
    internal const string Schema = """
        CREATE TABLE IF NOT EXISTS push_tokens (
            vendor text NOT NULL, token text NOT NULL, user_id text NOT NULL, device_id text NOT NULL, app_id text NOT NULL,
            environment text NOT NULL, locale text NOT NULL, privacy boolean NOT NULL, preference integer NOT NULL, updated_ms bigint NOT NULL,
            PRIMARY KEY (vendor, token));
        CREATE INDEX IF NOT EXISTS ix_push_tokens_user ON push_tokens (user_id, device_id);
        CREATE TABLE IF NOT EXISTS push_preferences (user_id text PRIMARY KEY, quiet_start integer NOT NULL, quiet_end integer NOT NULL, time_zone text NOT NULL);
        """;

    public Task RegisterAsync(PushToken token, CancellationToken cancellationToken) => ExecuteAsync("""
        INSERT INTO push_tokens VALUES (@vendor, @token, @user, @device, @app, @env, @locale, @privacy, @pref, @updated)
        ON CONFLICT (vendor, token) DO UPDATE SET user_id = excluded.user_id, device_id = excluded.device_id, app_id = excluded.app_id,
            environment = excluded.environment, locale = excluded.locale, privacy = excluded.privacy, preference = excluded.preference, updated_ms = excluded.updated_ms
        """, cancellationToken, ("vendor", token.Vendor), ("token", token.Token), ("user", token.UserId), ("device", token.DeviceId), ("app", token.AppId),
        ("env", token.Environment), ("locale", token.Locale), ("privacy", token.Privacy), ("pref", token.Preference), ("updated", token.UpdatedMs));

    public async Task<bool> UnregisterAsync(string userId, string vendor, string token, CancellationToken cancellationToken) =>
        await ExecuteAsync("DELETE FROM push_tokens WHERE vendor = @vendor AND token = @token AND user_id = @user", cancellationToken,
            ("vendor", vendor), ("token", token), ("user", userId)).ConfigureAwait(false) > 0;

    public Task<int> UnregisterDeviceAsync(string userId, string deviceId, CancellationToken cancellationToken) =>
        ExecuteAsync("DELETE FROM push_tokens WHERE user_id = @user AND device_id = @device", cancellationToken, ("user", userId), ("device", deviceId));

    public async Task<bool> RemoveAsync(string vendor, string token, CancellationToken cancellationToken) =>
        await ExecuteAsync("DELETE FROM push_tokens WHERE vendor = @vendor AND token = @token", cancellationToken, ("vendor", vendor), ("token", token)).ConfigureAwait(false) > 0;

    public async Task<IReadOnlyList<PushToken>> GetForUserAsync(string userId, CancellationToken cancellationToken)
    {
        await database.EnsureSchemaAsync("push_tokens", Schema, cancellationToken).ConfigureAwait(false);
        await using var command = database.DataSource.CreateCommand("""
            SELECT user_id, device_id, vendor, app_id, token, environment, locale, privacy, preference, updated_ms
            FROM push_tokens WHERE user_id = @user ORDER BY device_id, preference, updated_ms DESC
            """);
        command.Parameters.AddWithValue("user", userId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var tokens = new List<PushToken>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            tokens.Add(new PushToken(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), reader.GetString(6), reader.GetBoolean(7), reader.GetInt32(8), reader.GetInt64(9)));
        }

        return tokens;
    }

    public Task SetPreferencesAsync(PushPreferences preferences, CancellationToken cancellationToken) => ExecuteAsync("""
        INSERT INTO push_preferences VALUES (@user, @start, @end, @zone)
        ON CONFLICT (user_id) DO UPDATE SET quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end, time_zone = excluded.time_zone
        """, cancellationToken, ("user", preferences.UserId), ("start", preferences.QuietStartMinute), ("end", preferences.QuietEndMinute), ("zone", preferences.TimeZone));

    public async Task<PushPreferences?> GetPreferencesAsync(string userId, CancellationToken cancellationToken)
    {
        await database.EnsureSchemaAsync("push_tokens", Schema, cancellationToken).ConfigureAwait(false);
        await using var command = database.DataSource.CreateCommand("SELECT quiet_start, quiet_end, time_zone FROM push_preferences WHERE user_id = @user");
        command.Parameters.AddWithValue("user", userId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? new PushPreferences(userId, reader.GetInt32(0), reader.GetInt32(1), reader.GetString(2)) : null;
    }

    private async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await database.EnsureSchemaAsync("push_tokens", Schema, cancellationToken).ConfigureAwait(false);
        await using var command = database.DataSource.CreateCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
