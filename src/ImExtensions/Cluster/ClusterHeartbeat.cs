using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// This node's pulse: writes its heartbeat and load, keeps its devices' directory entries alive (re-registering them
/// when Redis lost them), and removes nodes that stopped heartbeating together with their devices' entries.
/// </summary>
internal sealed class ClusterHeartbeat(
    ClusterNodeRegistry nodes,
    RedisDeviceDirectory directory,
    RedisOnlineRouter router,
    ConnectedDeviceRegistry connections,
    RedisKeys keys,
    StackExchange.Redis.IConnectionMultiplexer redis,
    ClusterOptions options,
    TimeProvider clock,
    IEnumerable<IDeadNodeCleanup> cleanups,
    ILogger<ClusterHeartbeat> logger) : BackgroundService
{
    private readonly NodeLoad _load = new();
    private bool _announced;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.HeartbeatInterval, clock);
        do
        {
            try
            {
                await BeatAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                ClusterLog.HeartbeatFailed(logger, ex, nodes.NodeId);
            }
        }
        while (await WaitAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await nodes.LeaveAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ClusterLog.HeartbeatFailed(logger, ex, nodes.NodeId);
        }
    }

    /// <summary>One heartbeat round (also called by tests).</summary>
    public async Task BeatAsync()
    {
        if (!_announced)
        {
            // Back (or new) under this id: a later death of this node must be cleaned up again.
            await redis.GetDatabase().KeyDeleteAsync(keys.NodeCleanup(nodes.NodeId)).ConfigureAwait(false);
            _announced = true;
        }

        var dead = await nodes.HeartbeatAsync(connections.Count, _load.SampleCpu()).ConfigureAwait(false);
        foreach (var nodeId in dead)
        {
            await directory.RemoveNodeAsync(nodeId).ConfigureAwait(false);
            await nodes.RemoveAsync(nodeId).ConfigureAwait(false);
            ClusterLog.NodeRemoved(logger, nodeId);
            await CleanUpAfterAsync(nodeId).ConfigureAwait(false);
        }

        await router.RetryPendingRegistrationsAsync().ConfigureAwait(false);
        var local = router.LocalDevices;
        if (local.Count == 0)
        {
            return;
        }

        if (!await redis.GetDatabase().KeyExistsAsync(keys.NodeUsers(nodes.NodeId)).ConfigureAwait(false))
        {
            // Redis was flushed or restarted without its data: put this node's live devices back into the directory.
            await directory.ReassertAsync(nodes.NodeId, [.. local.Select(d => (d.UserId, d.ClientId, new DeviceDirectoryEntry(nodes.NodeId, d.ConnectionKey, d.Format)))]).ConfigureAwait(false);
            ClusterLog.DirectoryReasserted(logger, nodes.NodeId, local.Count);
            return;
        }

        await directory.RefreshAsync(nodes.NodeId, [.. local.Select(d => (d.UserId, d.ClientId))]).ConfigureAwait(false);
    }

    /// <summary>One survivor (the first to claim the node's cleanup key) takes over what the dead node owned.</summary>
    private async Task CleanUpAfterAsync(string deadNodeId)
    {
        if (!await redis.GetDatabase().StringSetAsync(keys.NodeCleanup(deadNodeId), nodes.NodeId, TimeSpan.FromMinutes(10), StackExchange.Redis.When.NotExists).ConfigureAwait(false))
        {
            return;
        }

        foreach (var cleanup in cleanups)
        {
            try
            {
                await cleanup.NodeDiedAsync(deadNodeId).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                ClusterLog.NodeCleanupFailed(logger, ex, deadNodeId, cleanup.GetType().Name);
            }
        }
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
}
