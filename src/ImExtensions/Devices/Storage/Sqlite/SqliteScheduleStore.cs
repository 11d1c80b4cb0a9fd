using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.ImExtensions.Devices.Storage.Sqlite;

/// <summary>Command schedules in the embedded database.</summary>
internal sealed class SqliteScheduleStore : IScheduleStore
{
    private readonly SqliteDatabase _database;

    public SqliteScheduleStore(SqliteDatabase database)
    {
        _database = database;
        database.EnsureSchema("""
            CREATE TABLE IF NOT EXISTS iot_schedules (
                schedule_id TEXT PRIMARY KEY,
                device_ids TEXT NOT NULL,
                command_name TEXT NOT NULL,
                payload TEXT NOT NULL,
                cron TEXT,
                run_at_ms INTEGER NOT NULL,
                expiry_seconds INTEGER NOT NULL,
                created_ms INTEGER NOT NULL) WITHOUT ROWID;
            """);
    }

    public Task UpsertAsync(CommandSchedule schedule, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var upsert = connection.Command("INSERT OR REPLACE INTO iot_schedules VALUES ($i, $d, $n, $p, $c, $r, $e, $cr)", transaction,
                ("$i", schedule.ScheduleId), ("$d", StoredJson.Write(schedule.DeviceIds)), ("$n", schedule.CommandName), ("$p", schedule.Payload),
                ("$c", schedule.Cron), ("$r", schedule.RunAtMs), ("$e", schedule.ExpirySeconds), ("$cr", schedule.CreatedMs));
            return upsert.ExecuteNonQuery();
        }, cancellationToken);

    public async Task<CommandSchedule?> GetAsync(string scheduleId, CancellationToken cancellationToken)
    {
        var found = await ReadAsync("SELECT * FROM iot_schedules WHERE schedule_id = $i", scheduleId, cancellationToken).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    public Task<IReadOnlyList<CommandSchedule>> ListAsync(CancellationToken cancellationToken) =>
        ReadAsync("SELECT * FROM iot_schedules ORDER BY schedule_id", null, cancellationToken);

    public Task<bool> DeleteAsync(string scheduleId, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var delete = connection.Command("DELETE FROM iot_schedules WHERE schedule_id = $i", transaction, ("$i", scheduleId));
            return delete.ExecuteNonQuery() == 1;
        }, cancellationToken);

    private async Task<IReadOnlyList<CommandSchedule>> ReadAsync(string sql, string? id, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(sql, null, ("$i", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var schedules = new List<CommandSchedule>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            schedules.Add(new CommandSchedule(reader.GetString(0), StoredJson.ReadStrings(reader.GetString(1)), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7)));
        }

        return schedules;
    }
}
