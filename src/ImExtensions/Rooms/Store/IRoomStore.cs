using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Rooms.Store;

/// <summary>
/// Durable room state: each room's settings and moderation (<see cref="RoomInfo"/>) and the replay window of its
/// gifts and system messages by room seq. Implementations: SQLite (embedded), PostgreSQL and MongoDB (shared by a cluster).
/// </summary>
internal interface IRoomStore
{
    /// <summary>Inserts the room; false when a room with that id exists already.</summary>
    Task<bool> CreateRoomAsync(RoomInfo room, CancellationToken cancellationToken);

    /// <summary>Replaces the stored settings of an existing room.</summary>
    Task UpdateRoomAsync(RoomInfo room, CancellationToken cancellationToken);

    Task<RoomInfo?> GetRoomAsync(string roomId, CancellationToken cancellationToken);

    /// <summary>Keeps a gift/system message for replay; storing the same (room, seq) twice keeps the first.</summary>
    Task AppendReplayAsync(string roomId, RoomMessage message, CancellationToken cancellationToken);

    /// <summary>Replayable messages with seq above <paramref name="afterSeq"/>, in seq order, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<RoomMessage>> ReadReplayAsync(string roomId, long afterSeq, int limit, CancellationToken cancellationToken);

    /// <summary>The highest room seq stored for the room (0 if none): where a restarted sequencer continues.</summary>
    Task<long> GetMaxSeqAsync(string roomId, CancellationToken cancellationToken);

    /// <summary>Forgets replay entries older than the unix-ms time, except each room's newest (it carries the room's max seq).</summary>
    Task<int> TrimReplayAsync(long olderThanMs, CancellationToken cancellationToken);
}
