using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Messaging;
using StackExchange.Redis;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>
/// Cluster router: local devices are served by an <see cref="InProcessOnlineRouter"/>; devices on other nodes are found
/// in the Redis device directory and reached in one hop, one publish per node on that node's own channel (a node
/// subscribes only to its channel, so it receives only what its local devices need).
/// </summary>
/// <remarks>
/// Delivery is at most once per hop, like the local enqueue: a node that dies with the publish in flight loses the live
/// copy, and the device recovers the message by sync after reconnecting (it was stored before any delivery).
/// </remarks>
internal sealed class RedisOnlineRouter : IOnlineRouter, IAsyncDisposable
{
    private readonly InProcessOnlineRouter _local = new();
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly RedisDeviceDirectory _directory;
    private readonly ClusterNodeRegistry _nodes;
    private readonly ILogger _logger;
    private readonly string _nodeId;
    private readonly ChannelMessageQueue _inbox;
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _fences = new(StringComparer.Ordinal);
    private readonly Diagnostics.LogThrottle _redisDownLog = new(TimeProvider.System, TimeSpan.FromSeconds(5));
    private readonly ConcurrentDictionary<string, OnlineDevice> _pendingRegistrations = new(StringComparer.Ordinal);

    private readonly RemoteTakeover _takeover;

    public RedisOnlineRouter(IConnectionMultiplexer redis, RedisKeys keys, RedisDeviceDirectory directory, ClusterNodeRegistry nodes, RemoteTakeover takeover, ILogger<RedisOnlineRouter> logger)
    {
        _takeover = takeover;
        _redis = redis;
        _keys = keys;
        _directory = directory;
        _nodes = nodes;
        _logger = logger;
        _nodeId = nodes.NodeId;
        // Sequential handler: deliveries from one sender node keep their publish order (seq order per conversation).
        _inbox = redis.GetSubscriber().Subscribe(keys.NodeInbox(_nodeId));
        _inbox.OnMessage(OnNodeMessageAsync);
    }

    /// <summary>The devices connected to this node (what the heartbeat keeps alive in the directory).</summary>
    public IReadOnlyList<OnlineDevice> LocalDevices => _local.All();

    public async ValueTask RegisterAsync(OnlineDevice device, CancellationToken cancellationToken)
    {
        await _local.RegisterAsync(device, cancellationToken).ConfigureAwait(false);
        _pendingRegistrations.TryRemove(device.ClientId, out _);
        try
        {
            await PublishRegistrationAsync(device).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            // Redis is away: local delivery works now, the directory entry is written by the next heartbeat that reaches Redis.
            _pendingRegistrations[device.ClientId] = device;
            LogRedisUnavailable(ex, "register");
        }
    }

    /// <summary>Writes the directory entries whose registration failed while Redis was unreachable (heartbeat).</summary>
    public async Task RetryPendingRegistrationsAsync()
    {
        foreach (var (clientId, device) in _pendingRegistrations)
        {
            if (!ReferenceEquals(_local.Find(clientId), device))
            {
                _pendingRegistrations.TryRemove(new KeyValuePair<string, OnlineDevice>(clientId, device));
                continue;
            }

            await PublishRegistrationAsync(device).ConfigureAwait(false);
            _pendingRegistrations.TryRemove(new KeyValuePair<string, OnlineDevice>(clientId, device));
        }
    }

    private async Task PublishRegistrationAsync(OnlineDevice device)
    {
        var previous = await _directory.RegisterAsync(device.UserId, device.ClientId, new DeviceDirectoryEntry(_nodeId, device.ConnectionKey, device.Format)).ConfigureAwait(false);
        if (previous is not null && previous.NodeId != _nodeId)
        {
            // The client id moved here from another node: that node drops its stale routing for it.
            await PublishAsync(previous.NodeId, new NodeEnvelope { Eviction = new NodeEviction { ClientId = device.ClientId, ConnectionKey = previous.ConnectionKey } }).ConfigureAwait(false);
        }
    }

    public async ValueTask UnregisterAsync(string clientId, string connectionKey, CancellationToken cancellationToken)
    {
        var device = _local.Find(clientId);
        if (device is null || device.ConnectionKey != connectionKey)
        {
            return;
        }

        await _local.UnregisterAsync(clientId, connectionKey, cancellationToken).ConfigureAwait(false);
        _pendingRegistrations.TryRemove(clientId, out _);
        try
        {
            await _directory.UnregisterAsync(device.UserId, clientId, _nodeId, connectionKey).ConfigureAwait(false);
            if (!_local.HasUser(device.UserId))
            {
                await _directory.ForgetUserAsync(_nodeId, device.UserId).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            // The stale entry names this node, which has no such device any more: it delivers nothing and expires.
            LogRedisUnavailable(ex, "unregister");
        }
    }

    public async ValueTask<int> RouteAsync(string userId, OutboundEvent outbound, string? exceptClientId, CancellationToken cancellationToken)
    {
        var delivered = await _local.RouteAsync(userId, outbound, exceptClientId, cancellationToken).ConfigureAwait(false);
        try
        {
            var remote = RemoteTargets(await _directory.GetAsync(userId).ConfigureAwait(false), exceptClientId);
            if (remote is null)
            {
                return delivered;
            }

            foreach (var (nodeId, devices) in remote)
            {
                var delivery = new NodeDelivery { ExceptClientId = exceptClientId ?? "", Event = (InboxEvent)outbound.Body };
                delivery.UserIds.Add(userId);
                delivered += await PublishAsync(nodeId, new NodeEnvelope { Delivery = delivery }).ConfigureAwait(false) ? devices : 0;
            }
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            // Remote devices miss the live copy; the message is stored and they get it by sync.
            LogRedisUnavailable(ex, "route");
        }

        return delivered;
    }

    /// <summary>Group fan-out: one pipelined directory read for all users, then one publish per node that holds any of them.</summary>
    public async ValueTask<int> RouteManyAsync(IReadOnlyList<string> userIds, OutboundEvent outbound, string? exceptClientId, CancellationToken cancellationToken)
    {
        var delivered = 0;
        foreach (var userId in userIds)
        {
            delivered += await _local.RouteAsync(userId, outbound, exceptClientId, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return delivered + await RouteManyRemoteAsync(userIds, outbound, exceptClientId).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            LogRedisUnavailable(ex, "route");
            return delivered;
        }
    }

    private async Task<int> RouteManyRemoteAsync(IReadOnlyList<string> userIds, OutboundEvent outbound, string? exceptClientId)
    {
        var delivered = 0;
        var perNode = new Dictionary<string, (NodeDelivery Delivery, int Devices)>(StringComparer.Ordinal);
        var entries = await _directory.GetManyAsync(userIds).ConfigureAwait(false);
        for (var i = 0; i < userIds.Count; i++)
        {
            foreach (var (clientId, entry) in entries[i])
            {
                if (entry.NodeId == _nodeId || clientId == exceptClientId || !_nodes.IsAlive(entry.NodeId))
                {
                    continue;
                }

                if (!perNode.TryGetValue(entry.NodeId, out var target))
                {
                    target = (new NodeDelivery { ExceptClientId = exceptClientId ?? "", Event = (InboxEvent)outbound.Body }, 0);
                }

                if (target.Delivery.UserIds.Count == 0 || target.Delivery.UserIds[^1] != userIds[i])
                {
                    target.Delivery.UserIds.Add(userIds[i]);
                }

                perNode[entry.NodeId] = (target.Delivery, target.Devices + 1);
            }
        }

        foreach (var (nodeId, (delivery, devices)) in perNode)
        {
            delivered += await PublishAsync(nodeId, new NodeEnvelope { Delivery = delivery }).ConfigureAwait(false) ? devices : 0;
        }

        return delivered;
    }

    public async ValueTask<bool> RouteToDeviceAsync(string userId, string clientId, OutboundEvent outbound, CancellationToken cancellationToken)
    {
        if (await _local.RouteToDeviceAsync(userId, clientId, outbound, cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        try
        {
            var entry = await _directory.GetDeviceAsync(userId, clientId).ConfigureAwait(false);
            if (entry is null || entry.NodeId == _nodeId || !_nodes.IsAlive(entry.NodeId))
            {
                return false;
            }

            var delivery = new NodeDelivery { TargetClientId = clientId, Event = (InboxEvent)outbound.Body };
            delivery.UserIds.Add(userId);
            return await PublishAsync(entry.NodeId, new NodeEnvelope { Delivery = delivery }).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            LogRedisUnavailable(ex, "route");
            return false;
        }
    }

    /// <summary>The user's devices on every live node (remote ones deliver through their node).</summary>
    public async ValueTask<IReadOnlyList<OnlineDevice>> GetDevicesAsync(string userId, CancellationToken cancellationToken)
    {
        var devices = new List<OnlineDevice>(await _local.GetDevicesAsync(userId, cancellationToken).ConfigureAwait(false));
        foreach (var (clientId, entry) in await _directory.GetAsync(userId).ConfigureAwait(false))
        {
            if (entry.NodeId != _nodeId && _nodes.IsAlive(entry.NodeId))
            {
                devices.Add(new OnlineDevice(userId, clientId, entry.Format, entry.ConnectionKey, new RemoteDeviceChannel(entry.NodeId)));
            }
        }

        return devices;
    }

    /// <summary>Completes once this node has handled everything published to it before the call (ordering barrier for tests and drains).</summary>
    public async Task FenceAsync(TimeSpan timeout)
    {
        var token = Guid.NewGuid().ToString("N");
        var fence = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fences[token] = fence;
        try
        {
            await PublishAsync(_nodeId, new NodeEnvelope { Fence = token }).ConfigureAwait(false);
            await fence.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        finally
        {
            _fences.TryRemove(token, out _);
        }
    }

    public async ValueTask DisposeAsync() => await _inbox.UnsubscribeAsync().ConfigureAwait(false);

    private Dictionary<string, int>? RemoteTargets(IReadOnlyList<(string ClientId, DeviceDirectoryEntry Entry)> entries, string? exceptClientId)
    {
        Dictionary<string, int>? targets = null;
        foreach (var (clientId, entry) in entries)
        {
            if (entry.NodeId == _nodeId || clientId == exceptClientId || !_nodes.IsAlive(entry.NodeId))
            {
                continue;
            }

            targets ??= new Dictionary<string, int>(StringComparer.Ordinal);
            targets[entry.NodeId] = targets.GetValueOrDefault(entry.NodeId) + 1;
        }

        return targets;
    }

    private void LogRedisUnavailable(Exception ex, string operation)
    {
        if (_redisDownLog.TryEnter(out _))
        {
            ClusterLog.RedisUnavailable(_logger, ex, _nodeId, operation);
        }
    }

    private static bool IsRedisFailure(Exception ex) => ex is RedisException or TimeoutException;

    /// <summary>True when the node's channel had a subscriber (the node is up and took the message).</summary>
    private async Task<bool> PublishAsync(string nodeId, NodeEnvelope envelope) =>
        await _redis.GetSubscriber().PublishAsync(_keys.NodeInbox(nodeId), envelope.ToByteArray()).ConfigureAwait(false) > 0;

    private async Task OnNodeMessageAsync(ChannelMessage message)
    {
        try
        {
            var envelope = NodeEnvelope.Parser.ParseFrom((byte[])message.Message!);
            switch (envelope.BodyCase)
            {
                case NodeEnvelope.BodyOneofCase.Delivery:
                    await DeliverLocallyAsync(envelope.Delivery).ConfigureAwait(false);
                    break;
                case NodeEnvelope.BodyOneofCase.Eviction:
                    await _local.UnregisterAsync(envelope.Eviction.ClientId, envelope.Eviction.ConnectionKey, CancellationToken.None).ConfigureAwait(false);
                    await _takeover.DisconnectIfCurrentAsync(envelope.Eviction.ClientId, envelope.Eviction.ConnectionKey).ConfigureAwait(false);
                    break;
                case NodeEnvelope.BodyOneofCase.Fence:
                    if (_fences.TryGetValue(envelope.Fence, out var fence))
                    {
                        fence.TrySetResult();
                    }

                    break;
            }
        }
        catch (Exception ex)
        {
            // A bad or undeliverable hop must not stop the node's inbox; the devices recover by sync.
            ClusterLog.NodeMessageFailed(_logger, ex, _nodeId);
        }
    }

    private async Task DeliverLocallyAsync(NodeDelivery delivery)
    {
        var outbound = new OutboundEvent(delivery.Event);
        foreach (var userId in delivery.UserIds)
        {
            if (delivery.TargetClientId.Length > 0)
            {
                await _local.RouteToDeviceAsync(userId, delivery.TargetClientId, outbound, CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                await _local.RouteAsync(userId, outbound, delivery.ExceptClientId.Length > 0 ? delivery.ExceptClientId : null, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }
}
