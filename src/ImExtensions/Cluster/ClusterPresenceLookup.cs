using Microsoft.Extensions.Logging;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Presence;
using StackExchange.Redis;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// The first state a new watcher gets in cluster mode: computed over all nodes now (this node may not have heard of the
/// user yet), recorded as the announced state so later changes compare against what the watcher saw.
/// </summary>
internal sealed class ClusterPresenceLookup(ClusterPresence presence, PresencePublisher publisher, PresenceTracker tracker, ClusterNode self, ILogger<ClusterPresenceLookup> logger)
    : IPresenceLookup
{
    public async ValueTask<PresenceState> CurrentAsync(string userId)
    {
        try
        {
            publisher.Announce(userId, await presence.DevicesOnlineAsync(userId).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            ClusterLog.RedisUnavailable(logger, ex, self.NodeId, "read cluster presence");
        }

        return tracker.Get(userId);
    }
}
