using Google.Protobuf;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Storage.Sqlite;

namespace MqttIm.ImExtensions.Rooms.Store;

/// <summary>Rooms and their replay window in the embedded database (its own tables, created on first use).</summary>
internal sealed class SqliteRoomStore : IRoomStore
{
    private readonly SqliteDatabase _database;

    public SqliteRoomStore(SqliteDatabase database)
    {
        _database = database;
        database.EnsureSchema("""
            CREATE TABLE IF NOT EXISTS rooms (room_id TEXT PRIMARY KEY, info BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS room_replay (
                room_id TEXT NOT NULL, seq INTEGER NOT NULL, time_ms INTEGER NOT NULL, message BLOB NOT NULL,
                PRIMARY KEY (room_id, seq)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS room_replay_time ON room_replay (time_ms);
            """);
    }

    public Task<bool> CreateRoomAsync(RoomInfo room, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.Command("INSERT OR IGNORE INTO rooms (room_id, info) VALUES ($r, $i)", transaction,
                ("$r", room.RoomId), ("$i", room.ToByteArray()));
            return command.ExecuteNonQuery() == 1;
        }, cancellationToken);

    public Task UpdateRoomAsync(RoomInfo room, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.Command("UPDATE rooms SET info = $i WHERE room_id = $r", transaction,
                ("$r", room.RoomId), ("$i", room.ToByteArray()));
            return command.ExecuteNonQuery();
        }, cancellationToken);

    public async Task<RoomInfo?> GetRoomAsync(string roomId, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("SELECT info FROM rooms WHERE room_id = $r", null, ("$r", roomId));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is byte[] bytes ? RoomInfo.Parser.ParseFrom(bytes) : null;
    }

    public Task AppendReplayAsync(string roomId, RoomMessage message, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.Command(
                "INSERT OR IGNORE INTO room_replay (room_id, seq, time_ms, message) VALUES ($r, $s, $t, $m)", transaction,
                ("$r", roomId), ("$s", message.Seq), ("$t", message.ServerTimeMs), ("$m", message.ToByteArray()));
            return command.ExecuteNonQuery();
        }, cancellationToken);

    public async Task<IReadOnlyList<RoomMessage>> ReadReplayAsync(string roomId, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(
            "SELECT message FROM room_replay WHERE room_id = $r AND seq > $s ORDER BY seq LIMIT $l", null,
            ("$r", roomId), ("$s", afterSeq), ("$l", limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var messages = new List<RoomMessage>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            messages.Add(RoomMessage.Parser.ParseFrom((byte[])reader.GetValue(0)));
        }

        return messages;
    }

    public async Task<long> GetMaxSeqAsync(string roomId, CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("SELECT MAX(seq) FROM room_replay WHERE room_id = $r", null, ("$r", roomId));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long max ? max : 0;
    }

    public Task<int> TrimReplayAsync(long olderThanMs, CancellationToken cancellationToken) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var command = connection.Command(
                """
                DELETE FROM room_replay WHERE time_ms < $t
                  AND seq < (SELECT MAX(seq) FROM room_replay AS newest WHERE newest.room_id = room_replay.room_id)
                """, transaction, ("$t", olderThanMs));
            return command.ExecuteNonQuery();
        }, cancellationToken);
}
