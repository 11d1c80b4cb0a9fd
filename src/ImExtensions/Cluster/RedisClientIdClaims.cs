using Microsoft.Extensions.Logging;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Sessions;
using StackExchange.Redis;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// Cluster-wide client-id takeover: every connection records <c>node|connection</c> under its client id; a connection
/// that replaces one on another live node tells that node (on its own channel) to close the old connection with
/// DISCONNECT 0x8E Session taken over. One round trip per connect and per disconnect.
/// </summary>
/// <remarks>
/// The key has no TTL: a clean disconnect deletes it, and an entry left by a dead node is harmless (the node it names
/// has no such connection) and is overwritten by the client id's next connect.
/// </remarks>
internal sealed class RedisClientIdClaims(IConnectionMultiplexer redis, RedisKeys keys, ClusterNodeRegistry nodes, RemoteTakeover takeover, ILogger<RedisClientIdClaims> logger) : IClientIdClaims
{
    private static readonly LuaScript DeleteIfCurrent = LuaScript.Prepare("""
        if redis.call('GET', @key) == @value then return redis.call('DEL', @key) end
        return 0
        """);

    public async ValueTask ClaimAsync(string clientId, string connectionKey)
    {
        try
        {
            var previous = await redis.GetDatabase().StringSetAndGetAsync(keys.ClientConnection(clientId), Value(nodes.NodeId, connectionKey)).ConfigureAwait(false);
            if (previous.IsNullOrEmpty || Parse(previous!) is not { } old || old.NodeId == nodes.NodeId || !nodes.IsAlive(old.NodeId))
            {
                return;
            }

            var eviction = new NodeEnvelope { Eviction = new NodeEviction { ClientId = clientId, ConnectionKey = old.ConnectionKey } };
            await redis.GetSubscriber().PublishAsync(keys.NodeInbox(old.NodeId), Google.Protobuf.MessageExtensions.ToByteArray(eviction)).ConfigureAwait(false);
            ClusterLog.ClientIdTakenOver(logger, clientId, old.NodeId, nodes.NodeId);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Redis is away: the old connection (if any) lives on until it drops by itself; nothing is lost either way.
            ClusterLog.RedisUnavailable(logger, ex, nodes.NodeId, "claim client id");
        }
    }

    public async ValueTask ConnectedAsync(ConnectedDevice device) =>
        await takeover.CarryOutPendingAsync(device.ClientId, device.ConnectionKey).ConfigureAwait(false);

    public async ValueTask DisconnectedAsync(string clientId, string connectionKey)
    {
        try
        {
            await redis.GetDatabase().ScriptEvaluateAsync(DeleteIfCurrent, new { key = keys.ClientConnection(clientId), value = Value(nodes.NodeId, connectionKey) }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            ClusterLog.RedisUnavailable(logger, ex, nodes.NodeId, "release client id");
        }
    }

    private static string Value(string nodeId, string connectionKey) => nodeId + "|" + connectionKey;

    private static (string NodeId, string ConnectionKey)? Parse(string value)
    {
        var bar = value.IndexOf('|');
        return bar <= 0 ? null : (value[..bar], value[(bar + 1)..]);
    }
}
