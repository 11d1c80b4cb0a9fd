using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Presence;
using MqttIm.ImExtensions.Sessions;
using StackExchange.Redis;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// The connection lifecycle's view of presence in cluster mode: a change of this node's devices of a user is written to
/// the <see cref="RedisPresenceBoard"/>; every node (this one too) then recomputes the user's presence over the whole
/// cluster (<see cref="ClusterPresenceFeed"/>), so a device leaving here never reads "offline" while another node holds one.
/// </summary>
internal sealed class ClusterSessionPresence(
    RedisPresenceBoard board,
    ClusterNode self,
    ConnectedDeviceRegistry registry,
    PresencePublisher publisher,
    PresenceWatchers watchers,
    ILogger<ClusterSessionPresence> logger) : ISessionPresence
{
    private readonly Lock _gate = new();

    public void Refresh(string userId)
    {
        if (string.IsNullOrEmpty(userId))
        {
            return;
        }

        Task write;
        lock (_gate)
        {
            // Read and queued under one lock: two changes of one user reach Redis in the order they were read.
            var devices = registry.DevicesOf(userId).Select(d => d.ClientId).ToArray();
            try
            {
                write = board.WriteAsync(self.NodeId, userId, devices);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                write = Task.FromException(ex);
            }
        }

        _ = ObserveAsync(write, userId);
    }

    public void SessionEnded(string clientId) => watchers.RemoveClient(clientId);

    private async Task ObserveAsync(Task write, string userId)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Redis is away: this node's watchers still hear what this node knows.
            ClusterLog.RedisUnavailable(logger, ex, self.NodeId, "announce presence");
            publisher.Refresh(userId);
        }
    }
}
