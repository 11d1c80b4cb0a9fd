using Microsoft.Data.Sqlite;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.ImExtensions.Devices.Storage.Sqlite;

/// <summary>The device registry in the embedded database; owners in their own table so "devices of these users" is an index lookup.</summary>
internal sealed class SqliteDeviceStore : IDeviceStore
{
    private readonly SqliteDatabase _database;

    public SqliteDeviceStore(SqliteDatabase database)
    {
        _database = database;
        database.EnsureSchema("""
            CREATE TABLE IF NOT EXISTS iot_devices (
                device_id TEXT PRIMARY KEY,
                secret_hash TEXT NOT NULL,
                disabled INTEGER NOT NULL,
                owners TEXT NOT NULL,
                created_ms INTEGER NOT NULL,
                secret_changed_ms INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS iot_device_owners (
                principal TEXT NOT NULL,
                device_id TEXT NOT NULL,
                PRIMARY KEY (principal, device_id)) WITHOUT ROWID;
            """);
    }

    public Task<bool> CreateAsync(DeviceRecord device, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var insert = connection.Command(
                "INSERT OR IGNORE INTO iot_devices VALUES ($d, $h, $x, $o, $c, $s)", transaction,
                ("$d", device.DeviceId), ("$h", device.SecretHash), ("$x", device.Disabled), ("$o", StoredJson.Write(device.Owners)),
                ("$c", device.CreatedMs), ("$s", device.SecretChangedMs));
            if (insert.ExecuteNonQuery() != 1)
            {
                return false;
            }

            WriteOwners(connection, transaction, device);
            return true;
        }, cancellationToken);

    public async Task<DeviceRecord?> GetAsync(string deviceId, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("SELECT * FROM iot_devices WHERE device_id = $d", null, ("$d", deviceId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Read(reader) : null;
    }

    public Task<bool> UpdateAsync(DeviceRecord device, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var update = connection.Command(
                "UPDATE iot_devices SET secret_hash = $h, disabled = $x, owners = $o, secret_changed_ms = $s WHERE device_id = $d", transaction,
                ("$d", device.DeviceId), ("$h", device.SecretHash), ("$x", device.Disabled), ("$o", StoredJson.Write(device.Owners)), ("$s", device.SecretChangedMs));
            if (update.ExecuteNonQuery() != 1)
            {
                return false;
            }

            WriteOwners(connection, transaction, device);
            return true;
        }, cancellationToken);

    public Task<bool> DeleteAsync(string deviceId, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var owners = connection.Command("DELETE FROM iot_device_owners WHERE device_id = $d", transaction, ("$d", deviceId));
            owners.ExecuteNonQuery();
            using var delete = connection.Command("DELETE FROM iot_devices WHERE device_id = $d", transaction, ("$d", deviceId));
            return delete.ExecuteNonQuery() == 1;
        }, cancellationToken);

    public async Task<IReadOnlyList<DeviceRecord>> ListAsync(IReadOnlyCollection<string>? principals, string afterId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        if (principals is null)
        {
            command.CommandText = "SELECT * FROM iot_devices WHERE device_id > $a ORDER BY device_id LIMIT $l";
        }
        else
        {
            var names = principals.Select((p, i) => "$p" + i).ToList();
            command.CommandText = $"SELECT * FROM iot_devices WHERE device_id > $a AND device_id IN (SELECT device_id FROM iot_device_owners WHERE principal IN ({(names.Count == 0 ? "NULL" : string.Join(',', names))})) ORDER BY device_id LIMIT $l";
            var i = 0;
            foreach (var principal in principals)
            {
                command.Parameters.AddWithValue("$p" + i++, principal);
            }
        }

        command.Parameters.AddWithValue("$a", afterId);
        command.Parameters.AddWithValue("$l", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var devices = new List<DeviceRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            devices.Add(Read(reader));
        }

        return devices;
    }

    private static void WriteOwners(SqliteConnection connection, SqliteTransaction transaction, DeviceRecord device)
    {
        using var clear = connection.Command("DELETE FROM iot_device_owners WHERE device_id = $d", transaction, ("$d", device.DeviceId));
        clear.ExecuteNonQuery();
        using var insert = connection.Command("INSERT OR IGNORE INTO iot_device_owners VALUES ($p, $d)", transaction, ("$p", ""), ("$d", device.DeviceId));
        foreach (var owner in device.Owners)
        {
            insert.Parameters[0].Value = owner;
            insert.ExecuteNonQuery();
        }
    }

    private static DeviceRecord Read(SqliteDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetInt64(2) != 0, StoredJson.ReadStrings(reader.GetString(3)), reader.GetInt64(4), reader.GetInt64(5));
}
