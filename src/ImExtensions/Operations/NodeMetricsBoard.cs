using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.ImExtensions.Cluster;
using StackExchange.Redis;
using ClusterNode = MqttIm.ImExtensions.Cluster.ClusterNode;

namespace MqttIm.ImExtensions.Operations;

/// <summary>
/// In a cluster, every node writes its metrics snapshot to one Redis hash once per heartbeat interval, so the console of
/// any node can show every node's counters and the whole cluster's totals. Single node: idle, and reads answer nothing.
/// </summary>
internal sealed partial class NodeMetricsBoard(IServiceProvider services, ClusterNode node, MetricsSnapshots snapshots, IOptions<ClusterOptions> options,
    TimeProvider clock, ILogger<NodeMetricsBoard> logger) : BackgroundService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!node.IsClustered)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.HeartbeatInterval, clock);
        do
        {
            try
            {
                await PublishAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                PublishFailed(logger, ex, node.NodeId);
            }
        }
        while (await WaitAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (node.IsClustered)
        {
            try
            {
                await Redis.HashDeleteAsync(Keys.NodeMetrics, node.NodeId).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                PublishFailed(logger, ex, node.NodeId);
            }
        }
    }

    private IDatabase Redis => services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();

    private RedisKeys Keys => services.GetRequiredService<RedisKeys>();

    private Task PublishAsync() => Redis.HashSetAsync(Keys.NodeMetrics, node.NodeId, JsonSerializer.Serialize(snapshots.Take(), Json));

    /// <summary>
    /// The last snapshot of every node in <paramref name="liveNodes"/> (others are dead or gone: their entries are
    /// ignored); this node's is taken fresh. Single node: this node's alone.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, BrokerMetricsSnapshot>> ReadAsync(IEnumerable<string> liveNodes)
    {
        var result = new Dictionary<string, BrokerMetricsSnapshot>(StringComparer.Ordinal) { [node.NodeId] = snapshots.Take() };
        if (!node.IsClustered)
        {
            return result;
        }

        var live = liveNodes.Where(n => n != node.NodeId).Select(n => (RedisValue)n).ToArray();
        if (live.Length == 0)
        {
            return result;
        }

        var values = await Redis.HashGetAsync(Keys.NodeMetrics, live).ConfigureAwait(false);
        for (var i = 0; i < live.Length; i++)
        {
            if (values[i].HasValue && JsonSerializer.Deserialize<BrokerMetricsSnapshot>(values[i].ToString(), Json) is { } snapshot)
            {
                result[live[i].ToString()] = snapshot;
            }
        }

        return result;
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(1301, LogLevel.Warning, "Could not publish the metrics of node {NodeId} for the console")]
    private static partial void PublishFailed(ILogger logger, Exception exception, string nodeId);
}
