using Npgsql;
using MqttIm.ImExtensions.Storage.Postgres;

namespace MqttIm.ImExtensions.Devices.Storage.Postgres;

/// <summary>The device registry in the cluster's PostgreSQL database; owners as a text[] with a GIN index.</summary>
internal sealed class PostgresDeviceStore(PostgresDatabase database) : IDeviceStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS iot_devices (
            device_id text PRIMARY KEY,
            secret_hash text NOT NULL,
            disabled boolean NOT NULL,
            owners text[] NOT NULL,
            created_ms bigint NOT NULL,
            secret_changed_ms bigint NOT NULL);
        CREATE INDEX IF NOT EXISTS ix_iot_devices_owners ON iot_devices USING gin (owners);
        """;

    public async Task<bool> CreateAsync(DeviceRecord device, CancellationToken cancellationToken)
    {
        await using var command = await CommandAsync(
            "INSERT INTO iot_devices VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING", cancellationToken,
            device.DeviceId, device.SecretHash, device.Disabled, device.Owners.ToArray(), device.CreatedMs, device.SecretChangedMs).ConfigureAwait(false);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<DeviceRecord?> GetAsync(string deviceId, CancellationToken cancellationToken)
    {
        var found = await ReadAsync("SELECT * FROM iot_devices WHERE device_id = $1", cancellationToken, deviceId).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    public async Task<bool> UpdateAsync(DeviceRecord device, CancellationToken cancellationToken)
    {
        await using var command = await CommandAsync(
            "UPDATE iot_devices SET secret_hash = $2, disabled = $3, owners = $4, secret_changed_ms = $5 WHERE device_id = $1", cancellationToken,
            device.DeviceId, device.SecretHash, device.Disabled, device.Owners.ToArray(), device.SecretChangedMs).ConfigureAwait(false);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> DeleteAsync(string deviceId, CancellationToken cancellationToken)
    {
        await using var command = await CommandAsync("DELETE FROM iot_devices WHERE device_id = $1", cancellationToken, deviceId).ConfigureAwait(false);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public Task<IReadOnlyList<DeviceRecord>> ListAsync(IReadOnlyCollection<string>? principals, string afterId, int limit, CancellationToken cancellationToken) =>
        principals is null
            ? ReadAsync("SELECT * FROM iot_devices WHERE device_id > $1 ORDER BY device_id LIMIT $2", cancellationToken, afterId, limit)
            : ReadAsync("SELECT * FROM iot_devices WHERE device_id > $1 AND owners && $3 ORDER BY device_id LIMIT $2", cancellationToken, afterId, limit, principals.ToArray());

    private async Task<NpgsqlCommand> CommandAsync(string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await database.EnsureSchemaAsync("iot_devices", Schema, cancellationToken).ConfigureAwait(false);
        var command = database.DataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return command;
    }

    private async Task<IReadOnlyList<DeviceRecord>> ReadAsync(string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = await CommandAsync(sql, cancellationToken, parameters).ConfigureAwait(false);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var devices = new List<DeviceRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            devices.Add(new DeviceRecord(reader.GetString(0), reader.GetString(1), reader.GetBoolean(2), reader.GetFieldValue<string[]>(3), reader.GetInt64(4), reader.GetInt64(5)));
        }

        return devices;
    }
}
