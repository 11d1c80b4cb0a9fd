using System.Collections.Concurrent;
using System.Text.Json;
using MqttIm.ImExtensions.Cluster;
using MqttIm.ImExtensions.Delivery;

namespace MqttIm.ImExtensions.Devices;

/// <summary>A device's online state and last-seen time, as served on <c>device/{id}/state</c> and over HTTP.</summary>
public sealed record DeviceState(string DeviceId, bool Online, long LastSeenMs, long ChangedMs);

/// <summary>
/// Online/offline and last seen per device, published retained-style to the watchers of <c>device/{id}/state</c> (the
/// current state on subscribe, then every change). In a cluster every node keeps the whole picture: changes of its own
/// devices go out on the cluster bus and other nodes' changes come in through <see cref="ApplyRemote"/>.
/// </summary>
/// <remarks>
/// Each online device is attributed to the node that holds it, and an offline report counts only from that node: when a
/// device moves from node A to node B, A's late "offline" (its old connection closing) does not undo B's "online".
/// </remarks>
internal sealed class DevicePresence(DeviceWatchers watchers, IIotClusterBus bus, ClusterNode node, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, DeviceState> _states = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _onlineAt = new(StringComparer.Ordinal);

    // Deleted devices (id → when): their late disconnect must not write a presence entry back. Kept for a while only.
    private readonly ConcurrentDictionary<string, long> _deleted = new(StringComparer.Ordinal);
    private static readonly TimeSpan DeletedMemory = TimeSpan.FromMinutes(10);
    private readonly Lock _gate = new();
    private int _localOnline;

    public DeviceState Get(string deviceId) => _states.TryGetValue(deviceId, out var state) ? state : new DeviceState(deviceId, false, 0, 0);

    /// <summary>Devices online on this node.</summary>
    public int OnlineCount => Volatile.Read(ref _localOnline);

    /// <summary>The node that holds the device now, if it is online.</summary>
    public string? NodeOf(string deviceId) => _onlineAt.TryGetValue(deviceId, out var nodeId) ? nodeId : null;

    /// <summary>The devices this presence shows online at <paramref name="nodeId"/> (a dead node's, for its cleanup).</summary>
    public IReadOnlyList<string> OnlineAt(string nodeId) => [.. _onlineAt.Where(e => e.Value == nodeId).Select(e => e.Key)];

    public void SetOnline(string deviceId, bool online)
    {
        if (_deleted.ContainsKey(deviceId))
        {
            return;
        }

        if (Apply(deviceId, online, Now(), node.NodeId) is { } state)
        {
            DeviceMetrics.ConnectedDevices.Set(OnlineCount);
            _ = bus.DeviceStateChangedAsync(state); // best effort: the bus logs what it cannot send
        }
    }

    /// <summary>A change reported by another node (or found in Redis at start-up): applied under the same node rule, forwarded to local watchers.</summary>
    public void ApplyRemote(string deviceId, bool online, long atMs, string reportingNode)
    {
        if (!_deleted.ContainsKey(deviceId))
        {
            Apply(deviceId, online, atMs, reportingNode);
        }
    }

    /// <summary>The device was deleted here: forgotten on this node, then on every other node and in the shared presence record.</summary>
    public Task DeletedAsync(string deviceId)
    {
        ForgetDeleted(deviceId);
        DeviceMetrics.ConnectedDevices.Set(OnlineCount);
        return bus.DeviceDeletedAsync(deviceId);
    }

    /// <summary>Forgets a deleted device's presence (another node deleted it, or <see cref="DeletedAsync"/>).</summary>
    public void ForgetDeleted(string deviceId)
    {
        var now = Now();
        if (_deleted.Count >= 1024)
        {
            foreach (var (id, at) in _deleted)
            {
                if (now - at > DeletedMemory.TotalMilliseconds)
                {
                    _deleted.TryRemove(id, out _);
                }
            }
        }

        lock (_gate)
        {
            _deleted[deviceId] = now;
            if (_onlineAt.TryRemove(deviceId, out var holder) && holder == node.NodeId)
            {
                _localOnline--;
            }

            _states.TryRemove(deviceId, out _);
        }
    }

    /// <summary>A device id registered (again): its presence counts from now on.</summary>
    public void Registered(string deviceId) => _deleted.TryRemove(deviceId, out _);

    /// <summary>Telemetry and replies count as "seen" without being a state change worth publishing.</summary>
    public void Touch(string deviceId)
    {
        var now = Now();
        _states.AddOrUpdate(deviceId, _ => new DeviceState(deviceId, true, now, now), (_, s) => s with { LastSeenMs = now });
    }

    /// <summary>The state as its watchers receive it: retained, so it reads as the topic's current value.</summary>
    public static Downlink MessageOf(DeviceState state) => new(DeviceTopics.StateOf(state.DeviceId),
        JsonSerializer.SerializeToUtf8Bytes(new { deviceId = state.DeviceId, online = state.Online, lastSeenMs = state.LastSeenMs, changedMs = state.ChangedMs }))
    {
        Retain = true,
    };

    private DeviceState? Apply(string deviceId, bool online, long atMs, string reportingNode)
    {
        DeviceState state;
        lock (_gate)
        {
            var holder = NodeOf(deviceId);
            if (!online && holder is not null && holder != reportingNode)
            {
                return null; // the device is already online elsewhere: this is its old connection closing
            }

            if (online)
            {
                _onlineAt[deviceId] = reportingNode;
            }
            else
            {
                _onlineAt.TryRemove(deviceId, out _);
            }

            _localOnline += (holder == node.NodeId ? -1 : 0) + (online && reportingNode == node.NodeId ? 1 : 0);
            state = new DeviceState(deviceId, online, atMs, atMs);
            _states[deviceId] = state;
        }

        watchers.Forward(deviceId, MessageOf(state));
        return state;
    }

    private long Now() => clock.GetUtcNow().ToUnixTimeMilliseconds();
}
