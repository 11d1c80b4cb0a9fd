using StackExchange.Redis;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// Every Redis key and pub/sub channel name the cluster uses, built in this one place (prefix from
/// <see cref="ClusterOptions.KeyPrefix"/>) so names never drift between writers and readers.
/// </summary>
public sealed class RedisKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    /// <summary>String: the last seq handed out in a conversation (INCR).</summary>
    public RedisKey Seq(string conversationId) => Prefix + "seq:" + conversationId;

    /// <summary>Hash clientId → serialised <c>DeviceDirectoryEntry</c>: where each of the user's inbox devices is connected.</summary>
    public RedisKey UserDevices(string userId) => Prefix + "devices:" + userId;

    /// <summary>String: the user id a client id is registered under (so a client id moving to another user leaves no stale entry).</summary>
    public RedisKey ClientOwner(string clientId) => Prefix + "client:" + clientId;

    /// <summary>String <c>node|connectionKey</c>: where a client id (any client: chat, plain MQTT, IoT) is connected now.</summary>
    public RedisKey ClientConnection(string clientId) => Prefix + "conn:" + clientId;

    /// <summary>String with a TTL: the node that won the right to clean up after a dead node (one survivor per death).</summary>
    public RedisKey NodeCleanup(string nodeId) => Prefix + "cleanup:" + nodeId;

    /// <summary>Channel every node subscribes to for the IoT hub's cross-node events (commands queued, command states, device presence).</summary>
    public RedisChannel IotEvents => RedisChannel.Literal(Prefix + "iot");

    /// <summary>Hash deviceId → JSON of the device's presence (online, last seen, node), readable from every node.</summary>
    public RedisKey DeviceStates => Prefix + "device-states";

    /// <summary>Channel of push-bridge events between nodes (a user's device came online: pending pushes are cancelled everywhere).</summary>
    public RedisChannel PushEvents => RedisChannel.Literal(Prefix + "push");

    /// <summary>Hash nodeId → serialised <c>NodeInfo</c>: every registered node with its advertised address and load.</summary>
    public RedisKey Nodes => Prefix + "nodes";

    /// <summary>Hash node id → that node's metrics snapshot (JSON) for the operations console, rewritten every second.</summary>
    public RedisKey NodeMetrics => Prefix + "node-metrics";

    /// <summary>String with a TTL: present while the node heartbeats.</summary>
    public RedisKey NodeAlive(string nodeId) => Prefix + "node-alive:" + nodeId;

    /// <summary>Set of the user ids with inbox devices on a node (what its heartbeat keeps alive).</summary>
    public RedisKey NodeUsers(string nodeId) => Prefix + "node-users:" + nodeId;

    /// <summary>Hash nodeId → JSON array of the client ids the user has connected on that node (cluster-wide presence).</summary>
    public RedisKey UserPresence(string userId) => Prefix + "presence:" + userId;

    /// <summary>Set of the user ids a node has fields for in <see cref="UserPresence"/> (what is cleared when the node dies or leaves).</summary>
    public RedisKey NodePresenceUsers(string nodeId) => Prefix + "node-presence:" + nodeId;

    /// <summary>Channel of presence changes: the message is a user id whose <see cref="UserPresence"/> just changed.</summary>
    public RedisChannel PresenceChanges => RedisChannel.Literal(Prefix + "presence-changes");

    /// <summary>Hash <c>t</c> (tokens), <c>ts</c> (last refill, unix ms): one user's publish token bucket, shared by every node.</summary>
    public RedisKey UserRate(string userId) => Prefix + "rate:" + userId;

    /// <summary>Channel a node subscribes to for deliveries to its local devices (one hop from the sending node).</summary>
    public RedisChannel NodeInbox(string nodeId) => RedisChannel.Literal(Prefix + "node:" + nodeId);

    /// <summary>Channel a node subscribes to for the operations console's questions from other nodes (clients, subscriptions, disconnect).</summary>
    public RedisChannel ConsoleQueries(string nodeId) => RedisChannel.Literal(Prefix + "console:" + nodeId);

    /// <summary>Channel the answers to a node's console questions come back on.</summary>
    public RedisChannel ConsoleAnswers(string nodeId) => RedisChannel.Literal(Prefix + "console-answers:" + nodeId);

    /// <summary>Channel of cache invalidations (group changes …) every node subscribes to.</summary>
    public RedisChannel CacheInvalidations => RedisChannel.Literal(Prefix + "invalidate");

    /// <summary>Pub/sub channel of a live room: subscribed by the nodes that have viewers of it.</summary>
    public string RoomChannel(string roomId) => $"{Prefix}room:{{{roomId}}}:bus";

    /// <summary>The room's seq counter (gifts and system messages).</summary>
    public string RoomSeq(string roomId) => $"{Prefix}room:{{{roomId}}}:seq";

    /// <summary>The room's like total.</summary>
    public string RoomLikes(string roomId) => $"{Prefix}room:{{{roomId}}}:likes";

    /// <summary>Hash node id → "count:unixMs" of the room's viewers per node (stale fields are ignored and removed).</summary>
    public string RoomViewers(string roomId) => $"{Prefix}room:{{{roomId}}}:viewers";
}
