using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Cluster;
using MqttIm.ImExtensions.Devices.Storage;
using StackExchange.Redis;
using ClusterNode = MqttIm.ImExtensions.Cluster.ClusterNode;

namespace MqttIm.ImExtensions.Devices.Cluster;

/// <summary>
/// This node's side of the IoT bus: sends the commands queued on another node to a device connected here, completes
/// local waiters and watchers with state changes made on other nodes, mirrors the presence of other nodes' devices, and,
/// as the survivor that cleans up after a dead node, reports that node's devices offline.
/// </summary>
internal sealed class IotClusterRelay(
    IConnectionMultiplexer redis,
    RedisKeys keys,
    ClusterNode node,
    RedisIotBus bus,
    CommandRoutes routes,
    CommandDispatcher dispatcher,
    CommandEvents events,
    CommandWaiters waiters,
    ICommandStore commands,
    DevicePresence presence,
    DeviceKicker kicker,
    ILogger<IotClusterRelay> logger) : IHostedService, IDeadNodeCleanup
{
    private ChannelMessageQueue? _queue;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _queue = await redis.GetSubscriber().SubscribeAsync(keys.IotEvents).ConfigureAwait(false);
        _queue.OnMessage(OnMessageAsync); // sequential: one node's events keep their order
        foreach (var (deviceId, nodeId, online, atMs) in await bus.LoadStatesAsync().ConfigureAwait(false))
        {
            if (nodeId != node.NodeId)
            {
                presence.ApplyRemote(deviceId, online, atMs, nodeId);
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_queue is not null)
        {
            await _queue.UnsubscribeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The dead node's devices went offline with it (their next connect, anywhere, brings them back); every node, this one
    /// included, applies the broadcast. Its entries then leave the shared presence hash.
    /// </summary>
    public Task NodeDiedAsync(string deadNodeId) => bus.ReportNodeDeadAsync(deadNodeId, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    private async Task OnMessageAsync(ChannelMessage message)
    {
        try
        {
            var received = JsonSerializer.Deserialize<IotClusterEvent>((byte[])message.Message!);
            if (received is null || received.Origin == node.NodeId)
            {
                return;
            }

            switch (received.Kind)
            {
                case IotClusterEvent.Queued when routes.TryGet(received.DeviceId, out _):
                    await dispatcher.FlushAsync(received.DeviceId, CancellationToken.None).ConfigureAwait(false);
                    break;
                case IotClusterEvent.Command when received.CommandId is { } commandId:
                    if (received.Payload is { } payload)
                    {
                        events.ForwardLocally(received.DeviceId, commandId, payload);
                    }

                    if (received.Final && waiters.IsWaiting(commandId) && await commands.GetAsync(commandId, CancellationToken.None).ConfigureAwait(false) is { } record)
                    {
                        waiters.Completed(record);
                    }

                    break;
                case IotClusterEvent.State:
                    presence.ApplyRemote(received.DeviceId, received.Online, received.AtMs, received.Origin);
                    break;
                case IotClusterEvent.Deleted:
                    presence.ForgetDeleted(received.DeviceId);
                    await kicker.KickAsync(received.DeviceId, "the device was deleted").ConfigureAwait(false);
                    break;
                case IotClusterEvent.Revoked:
                    await kicker.KickAsync(received.DeviceId, received.Reason ?? "the device's credentials were revoked").ConfigureAwait(false);
                    break;
            }
        }
        catch (Exception ex)
        {
            ClusterLog.NodeMessageFailed(logger, ex, node.NodeId);
        }
    }
}
