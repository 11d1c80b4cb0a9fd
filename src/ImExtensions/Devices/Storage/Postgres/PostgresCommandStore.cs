using Npgsql;
using MqttIm.ImExtensions.Storage.Postgres;

namespace MqttIm.ImExtensions.Devices.Storage.Postgres;

/// <summary>
/// Commands in PostgreSQL. The per-device counter row is locked (upsert … RETURNING) in the same transaction as the insert,
/// so seqs stay contiguous and the open-queue bound holds with any number of nodes issuing at once.
/// </summary>
internal sealed class PostgresCommandStore(PostgresDatabase database) : ICommandStore
{
    private const string Columns = "command_id, device_id, seq, name, payload, state, created_ms, expires_ms, timeout_ms, attempts, max_retries, issued_by, result, history";
    private const string OpenStates = "('Queued','Sent','Delivered')";
    private const string Schema = $"""
        CREATE TABLE IF NOT EXISTS iot_commands (
            command_id text PRIMARY KEY,
            device_id text NOT NULL,
            seq bigint NOT NULL,
            name text NOT NULL,
            payload text NOT NULL,
            state text NOT NULL,
            created_ms bigint NOT NULL,
            expires_ms bigint NOT NULL,
            timeout_ms bigint NOT NULL,
            attempts int NOT NULL,
            max_retries int NOT NULL,
            issued_by text NOT NULL,
            result text,
            history text NOT NULL,
            UNIQUE (device_id, seq));
        CREATE INDEX IF NOT EXISTS ix_iot_commands_open ON iot_commands (device_id, seq) WHERE state IN {OpenStates};
        CREATE TABLE IF NOT EXISTS iot_command_seq (device_id text PRIMARY KEY, last_seq bigint NOT NULL);
        """;

    public async Task<CommandRecord?> CreateAsync(CommandDraft draft, int maxOpenPerDevice, CancellationToken cancellationToken) =>
        (await ApplyAsync([new CreateCommandWrite(draft, maxOpenPerDevice)], cancellationToken).ConfigureAwait(false))[0];

    public async Task<CommandRecord?> GetAsync(string commandId, CancellationToken cancellationToken)
    {
        var found = await ReadAsync($"SELECT {Columns} FROM iot_commands WHERE command_id = $1", cancellationToken, commandId).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    public async Task<CommandRecord?> TransitionAsync(string commandId, IReadOnlyCollection<CommandState> from, CommandState to, long atMs, string? detail, string? result, CancellationToken cancellationToken) =>
        (await ApplyAsync([new TransitionCommandWrite(commandId, from, to, atMs, detail, result)], cancellationToken).ConfigureAwait(false))[0];

    /// <summary>The whole batch in one transaction (one commit); a write that is refused leaves the others standing.</summary>
    public async Task<IReadOnlyList<CommandRecord?>> ApplyAsync(IReadOnlyList<CommandWrite> writes, CancellationToken cancellationToken)
    {
        await database.EnsureSchemaAsync("iot_commands", Schema, cancellationToken).ConfigureAwait(false);
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var results = new CommandRecord?[writes.Count];
        for (var i = 0; i < writes.Count; i++)
        {
            results[i] = writes[i] switch
            {
                CreateCommandWrite create => await CreateInAsync(connection, create.Draft, create.MaxOpenPerDevice, cancellationToken).ConfigureAwait(false),
                TransitionCommandWrite move => await TransitionInAsync(connection, move, cancellationToken).ConfigureAwait(false),
                var other => throw new ArgumentException($"unknown command write {other.GetType().Name}", nameof(writes)),
            };
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return results;
    }

    public Task<IReadOnlyList<CommandRecord>> ListByDeviceAsync(string deviceId, long afterSeq, int limit, CancellationToken cancellationToken) =>
        ReadAsync($"SELECT {Columns} FROM iot_commands WHERE device_id = $1 AND seq > $2 ORDER BY seq LIMIT $3", cancellationToken, deviceId, afterSeq, limit);

    public Task<IReadOnlyList<CommandRecord>> ListOpenAsync(string? deviceId, int limit, CancellationToken cancellationToken) =>
        deviceId is null
            ? ReadAsync($"SELECT {Columns} FROM iot_commands WHERE state IN {OpenStates} ORDER BY device_id, seq LIMIT $1", cancellationToken, limit)
            : ReadAsync($"SELECT {Columns} FROM iot_commands WHERE device_id = $1 AND state IN {OpenStates} ORDER BY seq LIMIT $2", cancellationToken, deviceId, limit);

    private static async Task<CommandRecord?> CreateInAsync(NpgsqlConnection connection, CommandDraft draft, int maxOpenPerDevice, CancellationToken cancellationToken)
    {
        // Locks the device's counter row first: concurrent issuers for one device queue here.
        await using (var lockRow = Command(connection, "INSERT INTO iot_command_seq VALUES ($1, 0) ON CONFLICT (device_id) DO UPDATE SET last_seq = iot_command_seq.last_seq RETURNING last_seq", draft.DeviceId))
        {
            await lockRow.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var open = Command(connection, $"SELECT count(*) FROM iot_commands WHERE device_id = $1 AND state IN {OpenStates}", draft.DeviceId))
        {
            if ((long)(await open.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! >= maxOpenPerDevice)
            {
                return null;
            }
        }

        long seq;
        await using (var next = Command(connection, "UPDATE iot_command_seq SET last_seq = last_seq + 1 WHERE device_id = $1 RETURNING last_seq", draft.DeviceId))
        {
            seq = (long)(await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        var record = CommandRecord.FromDraft(draft, seq);
        await using (var insert = Command(connection, $"INSERT INTO iot_commands ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            record.CommandId, record.DeviceId, record.Seq, record.Name, record.Payload, record.State.ToString(), record.CreatedMs, record.ExpiresAtMs,
            record.TimeoutMs, record.Attempts, record.MaxRetries, record.IssuedBy, DBNull.Value, StoredJson.WriteHistory(record.History)))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return record;
    }

    private static async Task<CommandRecord?> TransitionInAsync(NpgsqlConnection connection, TransitionCommandWrite move, CancellationToken cancellationToken)
    {
        CommandRecord current;
        await using (var select = Command(connection, $"SELECT {Columns} FROM iot_commands WHERE command_id = $1 FOR UPDATE", move.CommandId))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            current = Read(reader);
        }

        if (!move.From.Contains(current.State))
        {
            return null;
        }

        var updated = current.With(move.To, move.AtMs, move.Detail, move.Result);
        await using (var update = Command(connection, "UPDATE iot_commands SET state = $2, attempts = $3, result = $4, history = $5 WHERE command_id = $1",
            move.CommandId, updated.State.ToString(), updated.Attempts, (object?)updated.Result ?? DBNull.Value, StoredJson.WriteHistory(updated.History)))
        {
            await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return updated;
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params object[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return command;
    }

    private async Task<IReadOnlyList<CommandRecord>> ReadAsync(string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await database.EnsureSchemaAsync("iot_commands", Schema, cancellationToken).ConfigureAwait(false);
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var records = new List<CommandRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            records.Add(Read(reader));
        }

        return records;
    }

    private static CommandRecord Read(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4),
        Enum.Parse<CommandState>(reader.GetString(5)), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8),
        reader.GetInt32(9), reader.GetInt32(10), reader.GetString(11), reader.IsDBNull(12) ? null : reader.GetString(12),
        StoredJson.ReadHistory(reader.GetString(13)));
}
