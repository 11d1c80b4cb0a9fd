using Google.Protobuf;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage.Postgres;
using Npgsql;

namespace MqttIm.ImExtensions.Rooms.Store;

/// <summary>Rooms and their replay window in the cluster's shared PostgreSQL database.</summary>
internal sealed class PostgresRoomStore(PostgresDatabase database) : IRoomStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS rooms (room_id TEXT PRIMARY KEY, info BYTEA NOT NULL);
        CREATE TABLE IF NOT EXISTS room_replay (
            room_id TEXT NOT NULL, seq BIGINT NOT NULL, time_ms BIGINT NOT NULL, message BYTEA NOT NULL,
            PRIMARY KEY (room_id, seq));
        CREATE INDEX IF NOT EXISTS room_replay_time ON room_replay (time_ms);
        """;

    public async Task<bool> CreateRoomAsync(RoomInfo room, CancellationToken cancellationToken)
    {
        await using var command = await CommandAsync("INSERT INTO rooms (room_id, info) VALUES ($1, $2) ON CONFLICT DO NOTHING", cancellationToken,
            room.RoomId, room.ToByteArray()).ConfigureAwait(false);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task UpdateRoomAsync(RoomInfo room, CancellationToken cancellationToken)
    {
        await using var command = await CommandAsync("UPDATE rooms SET info = $2 WHERE room_id = $1", cancellationToken,
            room.RoomId, room.ToByteArray()).ConfigureAwait(false);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<RoomInfo?> GetRoomAsync(string roomId, CancellationToken cancellationToken)
    {
        await using var command = await CommandAsync("SELECT info FROM rooms WHERE room_id = $1", cancellationToken, roomId).ConfigureAwait(false);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is byte[] bytes ? RoomInfo.Parser.ParseFrom(bytes) : null;
    }

    public async Task AppendReplayAsync(string roomId, RoomMessage message, CancellationToken cancellationToken)
    {
        await using var command = await CommandAsync(
            "INSERT INTO room_replay (room_id, seq, time_ms, message) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", cancellationToken,
            roomId, message.Seq, message.ServerTimeMs, message.ToByteArray()).ConfigureAwait(false);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<RoomMessage>> ReadReplayAsync(string roomId, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        await using var command = await CommandAsync(
            "SELECT message FROM room_replay WHERE room_id = $1 AND seq > $2 ORDER BY seq LIMIT $3", cancellationToken,
            roomId, afterSeq, limit).ConfigureAwait(false);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var messages = new List<RoomMessage>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            messages.Add(RoomMessage.Parser.ParseFrom(reader.GetFieldValue<byte[]>(0)));
        }

        return messages;
    }

    public async Task<long> GetMaxSeqAsync(string roomId, CancellationToken cancellationToken)
    {
        await using var command = await CommandAsync("SELECT MAX(seq) FROM room_replay WHERE room_id = $1", cancellationToken, roomId).ConfigureAwait(false);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long max ? max : 0;
    }

    public async Task<int> TrimReplayAsync(long olderThanMs, CancellationToken cancellationToken)
    {
        await using var command = await CommandAsync(
            """
            DELETE FROM room_replay AS r WHERE r.time_ms < $1
              AND r.seq < (SELECT MAX(n.seq) FROM room_replay AS n WHERE n.room_id = r.room_id)
            """, cancellationToken, olderThanMs).ConfigureAwait(false);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<NpgsqlCommand> CommandAsync(string sql, CancellationToken cancellationToken, params object[] values)
    {
        await database.EnsureSchemaAsync("rooms", Schema, cancellationToken).ConfigureAwait(false);
        var command = database.DataSource.CreateCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }
}
