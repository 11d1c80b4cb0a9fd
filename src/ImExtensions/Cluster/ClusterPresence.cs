using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Presence;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// Who is online across the cluster: this node's connected devices joined with what the other nodes put on the
/// <see cref="RedisPresenceBoard"/>. The retained <c>presence/{userId}</c> topic (via <see cref="ClusterPresenceFeed"/>)
/// and the HTTP query both read it.
/// </summary>
internal sealed class ClusterPresence(RedisPresenceBoard board, RedisDeviceDirectory directory, ClusterNodeRegistry nodes, ConnectedDeviceRegistry registry, PresenceTracker tracker)
{
    /// <summary>The client ids the user has connected on any node now.</summary>
    public async Task<string[]> DevicesOnlineAsync(string userId)
    {
        var remote = (await board.ReadManyAsync([userId]).ConfigureAwait(false))[0];
        var devices = new SortedSet<string>(StringComparer.Ordinal);
        AddLocalAndRemote(userId, remote, devices);
        return [.. devices];
    }

    /// <summary>
    /// The HTTP query: the same, plus the inbox devices the directory lists on other live nodes (registered before their
    /// SUBACK, so a device that has subscribed its inbox is always seen), with this node's last change time.
    /// </summary>
    public async Task<IReadOnlyList<PresenceState>> GetManyAsync(IReadOnlyList<string> userIds)
    {
        var boardTask = board.ReadManyAsync(userIds);
        var inboxes = await directory.GetManyAsync(userIds).ConfigureAwait(false);
        var remote = await boardTask.ConfigureAwait(false);
        var states = new PresenceState[userIds.Count];
        for (var i = 0; i < userIds.Count; i++)
        {
            var devices = new SortedSet<string>(StringComparer.Ordinal);
            AddLocalAndRemote(userIds[i], remote[i], devices);
            foreach (var (clientId, entry) in inboxes[i])
            {
                if (entry.NodeId != nodes.NodeId && nodes.IsAlive(entry.NodeId))
                {
                    devices.Add(clientId);
                }
            }

            var state = new PresenceState { UserId = userIds[i], Online = devices.Count > 0, ChangedMs = tracker.Get(userIds[i]).ChangedMs };
            state.Devices.AddRange(devices);
            states[i] = state;
        }

        return states;
    }

    private void AddLocalAndRemote(string userId, IReadOnlyList<(string NodeId, string[] ClientIds)> remote, SortedSet<string> devices)
    {
        foreach (var device in registry.DevicesOf(userId))
        {
            devices.Add(device.ClientId);
        }

        // This node's own field may lag its registry: the registry is the truth here. A dead node's field is removed by
        // the survivor that cleans up after it (until then its devices count, as its directory entries do).
        foreach (var (nodeId, clientIds) in remote)
        {
            if (nodeId != nodes.NodeId)
            {
                devices.UnionWith(clientIds);
            }
        }
    }
}
