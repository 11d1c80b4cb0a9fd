using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Devices;
using StackExchange.Redis;

namespace MqttIm.ImExtensions.Cluster;

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
    // An "offline" only overwrites the stored state while the stored state names the reporting node (see DevicePresence).
    private static readonly LuaScript StoreState = LuaScript.Prepare("""
        if @online == '0' then
          local current = redis.call('HGET', @key, @deviceId)
          if current and string.sub(current, 1, string.len(@nodePrefix)) ~= @nodePrefix then return 0 end
        end
        redis.call('HSET', @key, @deviceId, @value)
        return 1
        """);

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
            var value = reportingNode + "|" + (state.Online ? "1" : "0") + "|" + state.ChangedMs;
            await redis.GetDatabase().ScriptEvaluateAsync(StoreState, new
            {
                key = keys.DeviceStates, deviceId = state.DeviceId, online = state.Online ? "1" : "0", nodePrefix = reportingNode + "|", value,
            }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            ClusterLog.RedisUnavailable(logger, ex, node.NodeId, "device state");
        }

        await PublishAsync(new IotClusterEvent { Kind = IotClusterEvent.State, Origin = reportingNode, DeviceId = state.DeviceId, Online = state.Online, AtMs = state.ChangedMs })
            .ConfigureAwait(false);
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

    [JsonPropertyName("k")] public string Kind { get; set; } = "";

    [JsonPropertyName("o")] public string Origin { get; set; } = "";

    [JsonPropertyName("d")] public string DeviceId { get; set; } = "";

    [JsonPropertyName("c")] public string? CommandId { get; set; }

    [JsonPropertyName("f")] public bool Final { get; set; }

    [JsonPropertyName("p")] public byte[]? Payload { get; set; }

    [JsonPropertyName("on")] public bool Online { get; set; }

    [JsonPropertyName("at")] public long AtMs { get; set; }
}
