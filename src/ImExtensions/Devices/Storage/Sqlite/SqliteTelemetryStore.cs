using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.ImExtensions.Devices.Storage.Sqlite;

/// <summary>Telemetry in the embedded database, keyed (device, id) so a device's points are stored in time order.</summary>
internal sealed class SqliteTelemetryStore : ITelemetryStore
{
    private readonly SqliteDatabase _database;

    public SqliteTelemetryStore(SqliteDatabase database)
    {
        _database = database;
        database.EnsureSchema("""
            CREATE TABLE IF NOT EXISTS iot_telemetry (
                device_id TEXT NOT NULL,
                id INTEGER NOT NULL,
                received_ms INTEGER NOT NULL,
                subtopic TEXT NOT NULL,
                content_type TEXT NOT NULL,
                payload BLOB NOT NULL,
                PRIMARY KEY (device_id, id)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS ix_iot_telemetry_received ON iot_telemetry (received_ms);
            """);
    }

    public Task AppendAsync(IReadOnlyList<TelemetryPoint> batch, CancellationToken cancellationToken) =>
        batch.Count == 0 ? Task.CompletedTask : _database.WriteAsync((connection, transaction) =>
        {
            using var insert = connection.Command("INSERT OR IGNORE INTO iot_telemetry VALUES ($d, $i, $r, $s, $c, $p)", transaction,
                ("$d", ""), ("$i", 0L), ("$r", 0L), ("$s", ""), ("$c", ""), ("$p", Array.Empty<byte>()));
            foreach (var point in batch)
            {
                insert.Parameters[0].Value = point.DeviceId;
                insert.Parameters[1].Value = point.Id;
                insert.Parameters[2].Value = point.ReceivedMs;
                insert.Parameters[3].Value = point.Subtopic;
                insert.Parameters[4].Value = point.ContentType;
                insert.Parameters[5].Value = point.Payload;
                insert.ExecuteNonQuery();
            }

            return batch.Count;
        }, cancellationToken);

    public async Task<TelemetryPoint?> GetLatestAsync(string deviceId, CancellationToken cancellationToken)
    {
        var points = await ReadAsync("SELECT * FROM iot_telemetry WHERE device_id = $d ORDER BY id DESC LIMIT 1", cancellationToken, ("$d", deviceId)).ConfigureAwait(false);
        return points.Count == 0 ? null : points[0];
    }

    public Task<IReadOnlyList<TelemetryPoint>> QueryAsync(string deviceId, long fromMs, long toMs, long afterId, int limit, CancellationToken cancellationToken) =>
        ReadAsync("SELECT * FROM iot_telemetry WHERE device_id = $d AND id > $a AND received_ms >= $f AND received_ms < $t ORDER BY id LIMIT $l",
            cancellationToken, ("$d", deviceId), ("$a", afterId), ("$f", fromMs), ("$t", toMs), ("$l", limit));

    public Task<long> DeleteOlderThanAsync(long cutoffMs, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var delete = connection.Command("DELETE FROM iot_telemetry WHERE received_ms < $c", transaction, ("$c", cutoffMs));
            return (long)delete.ExecuteNonQuery();
        }, cancellationToken);

    private async Task<IReadOnlyList<TelemetryPoint>> ReadAsync(string sql, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(sql, null, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var points = new List<TelemetryPoint>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            points.Add(new TelemetryPoint(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4), (byte[])reader.GetValue(5)));
        }

        return points;
    }
}
