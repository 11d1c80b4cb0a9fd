using Microsoft.Data.Sqlite;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.ImExtensions.Devices.Storage.Sqlite;

/// <summary>Commands in the embedded database; seq and the open-queue bound are decided inside the single writer's transaction.</summary>
internal sealed class SqliteCommandStore : ICommandStore
{
    private const string Columns = "command_id, device_id, seq, name, payload, state, created_ms, expires_ms, timeout_ms, attempts, max_retries, issued_by, result, history";
    private const string OpenStates = "('Queued','Sent','Delivered')";
    private readonly SqliteDatabase _database;
    private WriterCommands? _writer;

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

    private CommandRecord? Create(SqliteConnection connection, SqliteTransaction transaction, CommandDraft draft, int maxOpenPerDevice)
    {
        var prepared = Writer(connection, transaction);
        prepared.OpenCount.Parameters[0].Value = draft.DeviceId;
        if ((long)prepared.OpenCount.ExecuteScalar()! >= maxOpenPerDevice)
        {
            return null;
        }

        prepared.MaxSeq.Parameters[0].Value = draft.DeviceId;
        var record = CommandRecord.FromDraft(draft, (long)prepared.MaxSeq.ExecuteScalar()! + 1);
        var values = prepared.Insert.Parameters;
        values[0].Value = record.CommandId;
        values[1].Value = record.DeviceId;
        values[2].Value = record.Seq;
        values[3].Value = record.Name;
        values[4].Value = record.Payload;
        values[5].Value = record.State.ToString();
        values[6].Value = record.CreatedMs;
        values[7].Value = record.ExpiresAtMs;
        values[8].Value = record.TimeoutMs;
        values[9].Value = record.Attempts;
        values[10].Value = record.MaxRetries;
        values[11].Value = record.IssuedBy;
        values[12].Value = (object?)record.Result ?? DBNull.Value;
        values[13].Value = StoredJson.WriteHistory(record.History);
        prepared.Insert.ExecuteNonQuery();
        return record;
    }

    private CommandRecord? Transition(SqliteConnection connection, SqliteTransaction transaction, TransitionCommandWrite move)
    {
        var prepared = Writer(connection, transaction);
        prepared.ById.Parameters[0].Value = move.CommandId;
        var found = Read(prepared.ById);
        if (found.Count == 0 || !move.From.Contains(found[0].State))
        {
            return null;
        }

        var updated = found[0].With(move.To, move.AtMs, move.Detail, move.Result);
        var values = prepared.Update.Parameters;
        values[0].Value = move.CommandId;
        values[1].Value = updated.State.ToString();
        values[2].Value = updated.Attempts;
        values[3].Value = (object?)updated.Result ?? DBNull.Value;
        values[4].Value = StoredJson.WriteHistory(updated.History);
        prepared.Update.ExecuteNonQuery();
        return updated;
    }

    /// <summary>
    /// The writer's statements, prepared once on the writer connection and reused by every write (WriteAsync runs one at a
    /// time): a command is written 4-5 times, and parsing the SQL each time was a visible part of its cost.
    /// </summary>
    private WriterCommands Writer(SqliteConnection connection, SqliteTransaction transaction)
    {
        if (_writer is not { } prepared || !ReferenceEquals(prepared.Connection, connection))
        {
            _writer = prepared = new WriterCommands(
                connection,
                connection.Command($"SELECT count(*) FROM iot_commands WHERE device_id = $d AND state IN {OpenStates}", null, ("$d", "")),
                connection.Command("SELECT coalesce(max(seq), 0) FROM iot_commands WHERE device_id = $d", null, ("$d", "")),
                connection.Command($"INSERT INTO iot_commands ({Columns}) VALUES ($c, $d, $s, $n, $p, $st, $cr, $e, $t, $a, $m, $i, $r, $h)", null,
                    ("$c", ""), ("$d", ""), ("$s", 0L), ("$n", ""), ("$p", ""), ("$st", ""), ("$cr", 0L), ("$e", 0L), ("$t", 0L), ("$a", 0), ("$m", 0),
                    ("$i", ""), ("$r", null), ("$h", "")),
                connection.Command($"SELECT {Columns} FROM iot_commands WHERE command_id = $c", null, ("$c", "")),
                connection.Command("UPDATE iot_commands SET state = $s, attempts = $a, result = $r, history = $h WHERE command_id = $c", null,
                    ("$c", ""), ("$s", ""), ("$a", 0), ("$r", null), ("$h", "")));
        }

        prepared.OpenCount.Transaction = prepared.MaxSeq.Transaction = prepared.Insert.Transaction = transaction;
        prepared.ById.Transaction = prepared.Update.Transaction = transaction;
        return prepared;
    }

    private sealed record WriterCommands(SqliteConnection Connection, SqliteCommand OpenCount, SqliteCommand MaxSeq, SqliteCommand Insert, SqliteCommand ById, SqliteCommand Update);

    private static List<CommandRecord> Read(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string, object?)[] parameters)
    {
        using var command = connection.Command(sql, transaction, parameters);
        return Read(command);
    }

    private static List<CommandRecord> Read(SqliteCommand command)
    {
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
