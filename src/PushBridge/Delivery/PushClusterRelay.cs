using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Cluster;
using MqttIm.PushBridge.Scheduling;
using StackExchange.Redis;
using ClusterNode = MqttIm.ImExtensions.Cluster.ClusterNode;

namespace MqttIm.PushBridge.Delivery;

/// <summary>
/// The push bridge in a cluster. Each job has one scheduler, the node that accepted it (<c>PushJob.OwnerNode</c>), so it
/// is sent once cluster-wide; this relay (1) tells the other nodes when a user's device comes online here, so their pending
/// jobs for that user are cancelled as well, and (2) on the one survivor that cleans up after a dead node, adopts that
/// node's pending jobs.
/// </summary>
internal sealed class PushClusterRelay(IConnectionMultiplexer redis, RedisKeys keys, ClusterNode node, OfflinePushSink sink, OfflinePushScheduler scheduler,
    ILogger<PushClusterRelay> logger) : IHostedService, IPushClusterBus, IDeadNodeCleanup
{
    private ChannelMessageQueue? _queue;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _queue = await redis.GetSubscriber().SubscribeAsync(keys.PushEvents).ConfigureAwait(false);
        _queue.OnMessage(message =>
        {
            // "{origin}|{userId}"
            var text = message.Message.ToString();
            var bar = text.IndexOf('|');
            if (bar > 0 && text[..bar] != node.NodeId)
            {
                sink.DeviceOnlineElsewhere(text[(bar + 1)..]);
            }
        });
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_queue is not null)
        {
            await _queue.UnsubscribeAsync().ConfigureAwait(false);
        }
    }

    public async Task DeviceOnlineAsync(string userId)
    {
        try
        {
            await redis.GetSubscriber().PublishAsync(keys.PushEvents, node.NodeId + "|" + userId).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The other nodes' pending pushes for this user are sent after all: a notification the phone did not need.
            logger.LogWarning(ex, "Could not tell the other nodes that user {UserId} came online", userId);
        }
    }

    public Task NodeDiedAsync(string deadNodeId) => scheduler.AdoptAsync(deadNodeId, CancellationToken.None);
}
