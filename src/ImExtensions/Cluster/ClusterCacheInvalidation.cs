using Google.Protobuf;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Groups;
using StackExchange.Redis;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// Keeps per-node caches honest across the cluster: a group changed on one node is announced on the invalidation
/// channel, and every other node drops its cached snapshot (the next read loads it from the shared store).
/// </summary>
internal sealed class ClusterCacheInvalidation(IConnectionMultiplexer redis, RedisKeys keys, ClusterNode self, GroupDirectory groups, ILogger<ClusterCacheInvalidation> logger)
    : IHostedService
{
    public const string GroupKind = "group";

    private ChannelMessageQueue? _subscription;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        groups.Changed += OnLocalGroupChanged;
        // Invalidations sent while this node was cut off from Redis are lost: start from the store again.
        redis.ConnectionRestored += OnConnectionRestored;
        _subscription = await redis.GetSubscriber().SubscribeAsync(keys.CacheInvalidations).ConfigureAwait(false);
        _subscription.OnMessage(message =>
        {
            try
            {
                var invalidation = CacheInvalidation.Parser.ParseFrom((byte[])message.Message!);
                if (invalidation.OriginNodeId != self.NodeId && invalidation.Kind == GroupKind)
                {
                    groups.Evict(invalidation.Id);
                }
            }
            catch (Exception ex)
            {
                ClusterLog.InvalidationFailed(logger, ex);
            }
        });
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        groups.Changed -= OnLocalGroupChanged;
        redis.ConnectionRestored -= OnConnectionRestored;
        if (_subscription is not null)
        {
            await _subscription.UnsubscribeAsync().ConfigureAwait(false);
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs args) => groups.EvictAll();

    private void OnLocalGroupChanged(string groupId)
    {
        var invalidation = new CacheInvalidation { Kind = GroupKind, Id = groupId, OriginNodeId = self.NodeId };
        // Fire and forget: when Redis is unreachable the other nodes miss it, and evict everything once they reconnect.
        _ = redis.GetSubscriber().PublishAsync(keys.CacheInvalidations, invalidation.ToByteArray(), CommandFlags.FireAndForget);
    }
}
