using Npgsql;
using NpgsqlTypes;
using MqttIm.ImExtensions.Storage.Postgres;

namespace MqttIm.ImExtensions.Devices.Storage.Postgres;

/// <summary>Telemetry in PostgreSQL; a batch is one binary COPY, so a busy fan-in costs one round trip per batch.</summary>
internal sealed class PostgresTelemetryStore(PostgresDatabase database) : ITelemetryStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS iot_telemetry (
            device_id text NOT NULL,
            id bigint NOT NULL,
            received_ms bigint NOT NULL,
            subtopic text NOT NULL,
            content_type text NOT NULL,
            payload bytea NOT NULL,
            PRIMARY KEY (device_id, id));
        CREATE INDEX IF NOT EXISTS ix_iot_telemetry_received ON iot_telemetry (received_ms);
        """;

    public async Task AppendAsync(IReadOnlyList<TelemetryPoint> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        await database.EnsureSchemaAsync("iot_telemetry", Schema, cancellationToken).ConfigureAwait(false);
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var writer = await connection.BeginBinaryImportAsync(
            "COPY iot_telemetry (device_id, id, received_ms, subtopic, content_type, payload) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
        foreach (var point in batch)
        {
            await writer.StartRowAsync(cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(point.DeviceId, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(point.Id, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(point.ReceivedMs, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(point.Subtopic, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(point.ContentType, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(point.Payload, NpgsqlDbType.Bytea, cancellationToken).ConfigureAwait(false);
        }

        await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<TelemetryPoint?> GetLatestAsync(string deviceId, CancellationToken cancellationToken)
    {
        var found = await ReadAsync("SELECT * FROM iot_telemetry WHERE device_id = $1 ORDER BY id DESC LIMIT 1", cancellationToken, deviceId).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    public Task<IReadOnlyList<TelemetryPoint>> QueryAsync(string deviceId, long fromMs, long toMs, long afterId, int limit, CancellationToken cancellationToken) =>
        ReadAsync("SELECT * FROM iot_telemetry WHERE device_id = $1 AND id > $2 AND received_ms >= $3 AND received_ms < $4 ORDER BY id LIMIT $5",
            cancellationToken, deviceId, afterId, fromMs, toMs, limit);

    public async Task<long> DeleteOlderThanAsync(long cutoffMs, CancellationToken cancellationToken)
    {
        await database.EnsureSchemaAsync("iot_telemetry", Schema, cancellationToken).ConfigureAwait(false);
        await using var command = database.DataSource.CreateCommand("DELETE FROM iot_telemetry WHERE received_ms < $1");
        command.Parameters.Add(new NpgsqlParameter { Value = cutoffMs });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<TelemetryPoint>> ReadAsync(string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await database.EnsureSchemaAsync("iot_telemetry", Schema, cancellationToken).ConfigureAwait(false);
        await using var command = database.DataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var points = new List<TelemetryPoint>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            points.Add(new TelemetryPoint(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4), reader.GetFieldValue<byte[]>(5)));
        }

        return points;
    }
}
