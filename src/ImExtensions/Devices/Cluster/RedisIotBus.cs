using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Cluster;
using StackExchange.Redis;
using ClusterNode = MqttIm.ImExtensions.Cluster.ClusterNode;

namespace MqttIm.ImExtensions.Devices.Cluster;

/// <summary>
/// The IoT hub's cluster bus on Redis: one broadcast channel (<see cref="RedisKeys.IotEvents"/>) every node subscribes to
/// (<see cref="IotClusterRelay"/>), and the device presence hash (<see cref="RedisKeys.DeviceStates"/>) a node reads when it starts.
/// </summary>
/// <remarks>
/// A broadcast rather than one hop to the device's node: command events are few next to telemetry, and the issuer's node,
/// the device's node and the watchers' nodes all need them. Like cross-node chat delivery, an event is at most once: the
/// state itself is in the shared store (HTTP, RPC, a device's <c>sync</c>), and a device gets its queued commands on connect.
/// </remarks>
internal sealed class RedisIotBus(IConnectionMultiplexer redis, RedisKeys keys, ClusterNode node, ILogger<RedisIotBus> logger) : IIotClusterBus
{
    // Deletes, in one step on the server, every entry whose value starts with ARGV[1] (a node's "nodeId|"): a device that
    // moved on to a live node has that node's entry by then and keeps it.
    private const string PruneReportedBy = """
        local all = redis.call('HGETALL', KEYS[1])
        local removed = 0
        for i = 1, #all, 2 do
          if string.sub(all[i + 1], 1, string.len(ARGV[1])) == ARGV[1] then
            redis.call('HDEL', KEYS[1], all[i])
            removed = removed + 1
          end
        end
        return removed
        """;

    public Task CommandsQueuedAsync(string deviceId) => PublishAsync(new IotClusterEvent { Kind = IotClusterEvent.Queued, Origin = node.NodeId, DeviceId = deviceId });

    public Task CommandChangedAsync(string deviceId, string commandId, bool final, byte[] stateEvent) => PublishAsync(new IotClusterEvent
    {
        Kind = IotClusterEvent.Command, Origin = node.NodeId, DeviceId = deviceId, CommandId = commandId, Final = final, Payload = stateEvent,
    });

    public Task DeviceStateChangedAsync(DeviceState state) => DeviceStateChangedAsyncFor(node.NodeId, state);

    /// <summary>Stores and broadcasts a state as reported by <paramref name="reportingNode"/> (a survivor reports a dead node's devices offline in its name).</summary>
    public async Task DeviceStateChangedAsyncFor(string reportingNode, DeviceState state)
    {
        try
        {
            var database = redis.GetDatabase();
            var value = reportingNode + "|" + (state.Online ? "1" : "0") + "|" + state.ChangedMs;
            // An "offline" overwrites only a state its own node reported (see DevicePresence); the check-then-set race
            // with a concurrent move is harmless: the moved device's node reports "online" again on its next change.
            var current = state.Online ? RedisValue.Null : await database.HashGetAsync(keys.DeviceStates, state.DeviceId).ConfigureAwait(false);
            if (current.IsNull || current.ToString().StartsWith(reportingNode + "|", StringComparison.Ordinal))
            {
                await database.HashSetAsync(keys.DeviceStates, state.DeviceId, value).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            ClusterLog.RedisUnavailable(logger, ex, node.NodeId, "device state");
        }

        await PublishAsync(new IotClusterEvent { Kind = IotClusterEvent.State, Origin = reportingNode, DeviceId = state.DeviceId, Online = state.Online, AtMs = state.ChangedMs })
            .ConfigureAwait(false);
    }

    public async Task DeviceDeletedAsync(string deviceId)
    {
        try
        {
            await redis.GetDatabase().HashDeleteAsync(keys.DeviceStates, deviceId).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            ClusterLog.RedisUnavailable(logger, ex, node.NodeId, "device state");
        }

        await PublishAsync(new IotClusterEvent { Kind = IotClusterEvent.Deleted, Origin = node.NodeId, DeviceId = deviceId }).ConfigureAwait(false);
    }

    /// <summary>
    /// A broadcast, not one hop to the device's node: admin calls are rare, and a connection that is still being accepted
    /// on some node is not in the directory yet. Lost only when Redis is away; the store refuses the old credentials anyway.
    /// </summary>
    public Task DeviceRevokedAsync(string deviceId, string reason) =>
        PublishAsync(new IotClusterEvent { Kind = IotClusterEvent.Revoked, Origin = node.NodeId, DeviceId = deviceId, Reason = reason });

    /// <summary>
    /// A dead node's devices: each one it showed online is reported offline in its name (every node applies that broadcast),
    /// then every entry it reported is removed, so the hash does not keep dead nodes' devices (a node that starts later
    /// shows such a device offline with no last-seen until it connects again). The number of entries removed.
    /// </summary>
    public async Task<long> ReportNodeDeadAsync(string deadNodeId, long nowMs)
    {
        foreach (var (deviceId, nodeId, online, _) in await LoadStatesAsync().ConfigureAwait(false))
        {
            if (online && nodeId == deadNodeId)
            {
                await DeviceStateChangedAsyncFor(deadNodeId, new DeviceState(deviceId, false, nowMs, nowMs)).ConfigureAwait(false);
            }
        }

        return (long)await redis.GetDatabase().ScriptEvaluateAsync(PruneReportedBy, new RedisKey[] { keys.DeviceStates }, new RedisValue[] { deadNodeId + "|" }).ConfigureAwait(false);
    }

    /// <summary>The stored presence of every device: (device, node, online, changed at).</summary>
    public async Task<IReadOnlyList<(string DeviceId, string NodeId, bool Online, long AtMs)>> LoadStatesAsync()
    {
        var entries = await redis.GetDatabase().HashGetAllAsync(keys.DeviceStates).ConfigureAwait(false);
        var states = new List<(string, string, bool, long)>(entries.Length);
        foreach (var entry in entries)
        {
            var parts = entry.Value.ToString().Split('|');
            if (parts.Length == 3 && long.TryParse(parts[2], out var atMs))
            {
                states.Add((entry.Name.ToString(), parts[0], parts[1] == "1", atMs));
            }
        }

        return states;
    }

    private async Task PublishAsync(IotClusterEvent clusterEvent)
    {
        try
        {
            await redis.GetSubscriber().PublishAsync(keys.IotEvents, JsonSerializer.SerializeToUtf8Bytes(clusterEvent)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Other nodes miss the live event; the command/state is in the shared store and is read or sent from there.
            ClusterLog.RedisUnavailable(logger, ex, node.NodeId, "iot event");
        }
    }
}

/// <summary>One message on the IoT channel.</summary>
internal sealed class IotClusterEvent
{
    public const string Queued = "queued";
    public const string Command = "command";
    public const string State = "state";
    public const string Deleted = "deleted";
    public const string Revoked = "revoked";

    [JsonPropertyName("k")] public string Kind { get; set; } = "";

    [JsonPropertyName("o")] public string Origin { get; set; } = "";

    [JsonPropertyName("d")] public string DeviceId { get; set; } = "";

    [JsonPropertyName("c")] public string? CommandId { get; set; }

    [JsonPropertyName("f")] public bool Final { get; set; }

    [JsonPropertyName("p")] public byte[]? Payload { get; set; }

    [JsonPropertyName("on")] public bool Online { get; set; }

    [JsonPropertyName("at")] public long AtMs { get; set; }

    [JsonPropertyName("r")] public string? Reason { get; set; }
}
