using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Presence;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// Who is online across the cluster, for the presence query: this node's own presence joined with the inbox devices the
/// Redis directory lists on the other live nodes. (The retained <c>presence/{userId}</c> topic still reflects this node only.)
/// </summary>
internal sealed class ClusterPresence(RedisDeviceDirectory directory, ClusterNodeRegistry nodes, PresenceTracker tracker)
{
    public async Task<IReadOnlyList<PresenceState>> GetManyAsync(IReadOnlyList<string> userIds)
    {
        var remote = await directory.GetManyAsync(userIds).ConfigureAwait(false);
        var states = new PresenceState[userIds.Count];
        for (var i = 0; i < userIds.Count; i++)
        {
            var local = tracker.Get(userIds[i]);
            var devices = new SortedSet<string>(local.Devices, StringComparer.Ordinal);
            foreach (var (clientId, entry) in remote[i])
            {
                if (entry.NodeId != nodes.NodeId && nodes.IsAlive(entry.NodeId))
                {
                    devices.Add(clientId);
                }
            }

            var state = new PresenceState { UserId = userIds[i], Online = devices.Count > 0, ChangedMs = local.ChangedMs };
            state.Devices.AddRange(devices);
            states[i] = state;
        }

        return states;
    }
}
