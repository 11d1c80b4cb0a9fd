namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// Every Redis key and pub/sub channel name the cluster uses, built in this one place (prefix from
/// <see cref="ClusterOptions.KeyPrefix"/>) so names never drift between writers and readers.
/// </summary>
public sealed class RedisKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    /// <summary>Pub/sub channel of a live room: subscribed by the nodes that have viewers of it.</summary>
    public string RoomChannel(string roomId) => $"{Prefix}room:{{{roomId}}}:bus";

    /// <summary>The room's seq counter (gifts and system messages).</summary>
    public string RoomSeq(string roomId) => $"{Prefix}room:{{{roomId}}}:seq";

    /// <summary>The room's like total.</summary>
    public string RoomLikes(string roomId) => $"{Prefix}room:{{{roomId}}}:likes";

    /// <summary>Hash node id → "count:unixMs" of the room's viewers per node (stale fields are ignored and removed).</summary>
    public string RoomViewers(string roomId) => $"{Prefix}room:{{{roomId}}}:viewers";
}
