using Microsoft.Data.Sqlite;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.ImExtensions.Devices.Storage.Sqlite;

/// <summary>Commands in the embedded database; seq and the open-queue bound are decided inside the single writer's transaction.</summary>
internal sealed class SqliteCommandStore : ICommandStore
{
    private const string Columns = "command_id, device_id, seq, name, payload, state, created_ms, expires_ms, timeout_ms, attempts, max_retries, issued_by, result, history";
    private const string OpenStates = "('Queued','Sent','Delivered')";
    private readonly SqliteDatabase _database;

    public SqliteCommandStore(SqliteDatabase database)
    {
        _database = database;
        database.EnsureSchema($"""
            CREATE TABLE IF NOT EXISTS iot_commands (
                command_id TEXT PRIMARY KEY,
                device_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                name TEXT NOT NULL,
                payload TEXT NOT NULL,
                state TEXT NOT NULL,
                created_ms INTEGER NOT NULL,
                expires_ms INTEGER NOT NULL,
                timeout_ms INTEGER NOT NULL,
                attempts INTEGER NOT NULL,
                max_retries INTEGER NOT NULL,
                issued_by TEXT NOT NULL,
                result TEXT,
                history TEXT NOT NULL) WITHOUT ROWID;
            CREATE UNIQUE INDEX IF NOT EXISTS ux_iot_commands_device_seq ON iot_commands (device_id, seq);
            CREATE INDEX IF NOT EXISTS ix_iot_commands_open ON iot_commands (device_id, seq) WHERE state IN {OpenStates};
            """);
    }

    public Task<CommandRecord?> CreateAsync(CommandDraft draft, int maxOpenPerDevice, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) => Create(connection, transaction, draft, maxOpenPerDevice), cancellationToken);

    public async Task<CommandRecord?> GetAsync(string commandId, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var found = Read(connection, null, $"SELECT {Columns} FROM iot_commands WHERE command_id = $c", ("$c", commandId));
        return found.Count == 0 ? null : found[0];
    }

    public Task<CommandRecord?> TransitionAsync(string commandId, IReadOnlyCollection<CommandState> from, CommandState to, long atMs, string? detail, string? result, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) => Transition(connection, transaction, new TransitionCommandWrite(commandId, from, to, atMs, detail, result)), cancellationToken);

    /// <summary>The whole batch in one write transaction: one commit (and fsync) for all of it.</summary>
    public Task<IReadOnlyList<CommandRecord?>> ApplyAsync(IReadOnlyList<CommandWrite> writes, CancellationToken cancellationToken) =>
        _database.WriteAsync<IReadOnlyList<CommandRecord?>>((connection, transaction) =>
        {
            var results = new CommandRecord?[writes.Count];
            for (var i = 0; i < writes.Count; i++)
            {
                results[i] = writes[i] switch
                {
                    CreateCommandWrite create => Create(connection, transaction, create.Draft, create.MaxOpenPerDevice),
                    TransitionCommandWrite move => Transition(connection, transaction, move),
                    var other => throw new ArgumentException($"unknown command write {other.GetType().Name}", nameof(writes)),
                };
            }

            return results;
        }, cancellationToken);

    public async Task<IReadOnlyList<CommandRecord>> ListByDeviceAsync(string deviceId, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        return Read(connection, null, $"SELECT {Columns} FROM iot_commands WHERE device_id = $d AND seq > $s ORDER BY seq LIMIT $l", ("$d", deviceId), ("$s", afterSeq), ("$l", limit));
    }

    public async Task<IReadOnlyList<CommandRecord>> ListOpenAsync(string? deviceId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        return deviceId is null
            ? Read(connection, null, $"SELECT {Columns} FROM iot_commands WHERE state IN {OpenStates} ORDER BY device_id, seq LIMIT $l", ("$l", limit))
            : Read(connection, null, $"SELECT {Columns} FROM iot_commands WHERE device_id = $d AND state IN {OpenStates} ORDER BY seq LIMIT $l", ("$d", deviceId), ("$l", limit));
    }

    private static CommandRecord? Create(SqliteConnection connection, SqliteTransaction transaction, CommandDraft draft, int maxOpenPerDevice)
    {
        using var open = connection.Command($"SELECT count(*) FROM iot_commands WHERE device_id = $d AND state IN {OpenStates}", transaction, ("$d", draft.DeviceId));
        if ((long)open.ExecuteScalar()! >= maxOpenPerDevice)
        {
            return null;
        }

        using var max = connection.Command("SELECT coalesce(max(seq), 0) FROM iot_commands WHERE device_id = $d", transaction, ("$d", draft.DeviceId));
        var record = CommandRecord.FromDraft(draft, (long)max.ExecuteScalar()! + 1);
        using var insert = connection.Command($"INSERT INTO iot_commands ({Columns}) VALUES ($c, $d, $s, $n, $p, $st, $cr, $e, $t, $a, $m, $i, $r, $h)", transaction,
            ("$c", record.CommandId), ("$d", record.DeviceId), ("$s", record.Seq), ("$n", record.Name), ("$p", record.Payload), ("$st", record.State.ToString()),
            ("$cr", record.CreatedMs), ("$e", record.ExpiresAtMs), ("$t", record.TimeoutMs), ("$a", record.Attempts), ("$m", record.MaxRetries),
            ("$i", record.IssuedBy), ("$r", record.Result), ("$h", StoredJson.Write(record.History)));
        insert.ExecuteNonQuery();
        return record;
    }

    private static CommandRecord? Transition(SqliteConnection connection, SqliteTransaction transaction, TransitionCommandWrite move)
    {
        var found = Read(connection, transaction, $"SELECT {Columns} FROM iot_commands WHERE command_id = $c", ("$c", move.CommandId));
        if (found.Count == 0 || !move.From.Contains(found[0].State))
        {
            return null;
        }

        var updated = found[0].With(move.To, move.AtMs, move.Detail, move.Result);
        using var update = connection.Command("UPDATE iot_commands SET state = $s, attempts = $a, result = $r, history = $h WHERE command_id = $c", transaction,
            ("$c", move.CommandId), ("$s", updated.State.ToString()), ("$a", updated.Attempts), ("$r", updated.Result), ("$h", StoredJson.Write(updated.History)));
        update.ExecuteNonQuery();
        return updated;
    }

    private static List<CommandRecord> Read(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string, object?)[] parameters)
    {
        using var command = connection.Command(sql, transaction, parameters);
        using var reader = command.ExecuteReader();
        var records = new List<CommandRecord>();
        while (reader.Read())
        {
            records.Add(new CommandRecord(
                reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4),
                Enum.Parse<CommandState>(reader.GetString(5)), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8),
                reader.GetInt32(9), reader.GetInt32(10), reader.GetString(11), reader.IsDBNull(12) ? null : reader.GetString(12),
                StoredJson.ReadHistory(reader.GetString(13))));
        }

        return records;
    }
}
