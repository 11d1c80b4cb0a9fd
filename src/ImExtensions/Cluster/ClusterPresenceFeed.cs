using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Presence;
using MqttIm.ImExtensions.Sessions;
using StackExchange.Redis;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// Feeds this node's presence watchers from the whole cluster: on every announced change (any node's) it recomputes the
/// user's devices over all nodes and hands them to the <see cref="PresencePublisher"/>, which publishes only real changes.
/// Also keeps the board honest: a node's fields go when it dies (one survivor clears them), leaves, or restarts under
/// its id, and are written again after the connection to Redis comes back.
/// </summary>
internal sealed class ClusterPresenceFeed(
    IConnectionMultiplexer redis,
    RedisKeys keys,
    RedisPresenceBoard board,
    ClusterPresence presence,
    ClusterNode self,
    ConnectedDeviceRegistry registry,
    ISessionPresence sessionPresence,
    PresencePublisher publisher,
    ILogger<ClusterPresenceFeed> logger) : IHostedService, IDeadNodeCleanup
{
    private ChannelMessageQueue? _subscription;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            // What an earlier run under this node id left is not connected any more (before any device connects here).
            await board.ClearNodeAsync(self.NodeId).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            ClusterLog.RedisUnavailable(logger, ex, self.NodeId, "clear presence left by an earlier run");
        }

        redis.ConnectionRestored += OnConnectionRestored;
        _subscription = await redis.GetSubscriber().SubscribeAsync(keys.PresenceChanges).ConfigureAwait(false);
        _subscription.OnMessage(OnChangeAsync); // one at a time, in channel order
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        redis.ConnectionRestored -= OnConnectionRestored;
        if (_subscription is not null)
        {
            await _subscription.UnsubscribeAsync().ConfigureAwait(false);
        }

        try
        {
            // Leaving: the other nodes stop counting this node's devices now, not when they time out.
            await board.ClearNodeAsync(self.NodeId).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            ClusterLog.RedisUnavailable(logger, ex, self.NodeId, "clear presence on leaving");
        }
    }

    /// <summary>One survivor per dead node: its devices are offline now, wherever they are watched.</summary>
    public Task NodeDiedAsync(string deadNodeId) => board.ClearNodeAsync(deadNodeId);

    private async Task OnChangeAsync(ChannelMessage message)
    {
        var userId = message.Message.ToString();
        try
        {
            publisher.Announce(userId, await presence.DevicesOnlineAsync(userId).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            ClusterLog.RedisUnavailable(logger, ex, self.NodeId, "read cluster presence");
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs args)
    {
        // Redis may have restarted without its data: write this node's devices again (each write announces itself).
        foreach (var userId in registry.Users())
        {
            if (registry.DevicesOf(userId).Any(d => !d.IsIotDevice && !d.IsAnonymous))
            {
                sessionPresence.Refresh(userId);
            }
        }
    }
}
