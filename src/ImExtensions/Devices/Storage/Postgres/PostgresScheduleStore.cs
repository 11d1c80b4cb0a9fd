using Npgsql;
using MqttIm.ImExtensions.Storage.Postgres;

namespace MqttIm.ImExtensions.Devices.Storage.Postgres;

/// <summary>Command schedules in PostgreSQL.</summary>
internal sealed class PostgresScheduleStore(PostgresDatabase database) : IScheduleStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS iot_schedules (
            schedule_id text PRIMARY KEY,
            device_ids text[] NOT NULL,
            command_name text NOT NULL,
            payload text NOT NULL,
            cron text,
            run_at_ms bigint NOT NULL,
            expiry_seconds bigint NOT NULL,
            created_ms bigint NOT NULL);
        """;

    public async Task UpsertAsync(CommandSchedule schedule, CancellationToken cancellationToken)
    {
        await using var command = await CommandAsync("""
            INSERT INTO iot_schedules VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (schedule_id) DO UPDATE SET device_ids = $2, command_name = $3, payload = $4, cron = $5, run_at_ms = $6, expiry_seconds = $7, created_ms = $8
            """, cancellationToken, schedule.ScheduleId, schedule.DeviceIds.ToArray(), schedule.CommandName, schedule.Payload,
            (object?)schedule.Cron ?? DBNull.Value, schedule.RunAtMs, schedule.ExpirySeconds, schedule.CreatedMs).ConfigureAwait(false);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<CommandSchedule?> GetAsync(string scheduleId, CancellationToken cancellationToken)
    {
        var found = await ReadAsync("SELECT * FROM iot_schedules WHERE schedule_id = $1", cancellationToken, scheduleId).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    public Task<IReadOnlyList<CommandSchedule>> ListAsync(CancellationToken cancellationToken) =>
        ReadAsync("SELECT * FROM iot_schedules ORDER BY schedule_id", cancellationToken);

    public async Task<bool> DeleteAsync(string scheduleId, CancellationToken cancellationToken)
    {
        await using var command = await CommandAsync("DELETE FROM iot_schedules WHERE schedule_id = $1", cancellationToken, scheduleId).ConfigureAwait(false);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    private async Task<NpgsqlCommand> CommandAsync(string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await database.EnsureSchemaAsync("iot_schedules", Schema, cancellationToken).ConfigureAwait(false);
        var command = database.DataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return command;
    }

    private async Task<IReadOnlyList<CommandSchedule>> ReadAsync(string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = await CommandAsync(sql, cancellationToken, parameters).ConfigureAwait(false);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var schedules = new List<CommandSchedule>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            schedules.Add(new CommandSchedule(reader.GetString(0), reader.GetFieldValue<string[]>(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7)));
        }

        return schedules;
    }
}
