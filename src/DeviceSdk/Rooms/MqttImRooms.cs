namespace MqttIm.DeviceSdk;

/// <summary>Live rooms: join (subscribe to <c>room/{roomId}</c>), then read, send and replay through the <see cref="MqttImRoom"/>.</summary>
public sealed class MqttImRooms
{
    private readonly MqttImClient _client;

    internal MqttImRooms(MqttImClient client) => _client = client;

    /// <summary>
    /// Joins a room. With <paramref name="afterSeq"/> (a <see cref="MqttImRoom.LastSeq"/> saved earlier) the gifts and system
    /// messages missed since then are replayed first. After a reconnect the client rejoins and replays by itself.
    /// </summary>
    public Task<MqttImRoom> JoinAsync(string roomId, long afterSeq = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(roomId);
        return _client.JoinRoomAsync(roomId, afterSeq, cancellationToken);
    }
}
