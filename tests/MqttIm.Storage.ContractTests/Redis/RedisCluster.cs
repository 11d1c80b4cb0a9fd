using Microsoft.Extensions.Logging.Abstractions;
using MqttIm.ImExtensions.Cluster;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Messaging;
using StackExchange.Redis;

namespace MqttIm.Storage.ContractTests.Redis;

/// <summary>One in-process "node" on a shared Redis: its registry, directory and router, with an isolated key prefix per test.</summary>
internal sealed class RedisTestNode : IAsyncDisposable
{
    public RedisTestNode(IConnectionMultiplexer redis, string prefix, string nodeId, TimeSpan? nodeTimeout = null)
    {
        var keys = new RedisKeys(prefix);
        var timeout = nodeTimeout ?? TimeSpan.FromSeconds(30);
        Keys = keys;
        Registry = new ClusterNodeRegistry(redis, keys, new MqttIm.ImExtensions.Cluster.ClusterNode(new ClusterOptions { NodeId = nodeId, Redis = "test" }), timeout, TimeProvider.System);
        Directory = new RedisDeviceDirectory(redis, keys, timeout * 3);
        // No MQTT server in these tests: a takeover notice finds no local connection and does nothing.
        var takeover = new RemoteTakeover(new MqttIm.ImExtensions.Sessions.ConnectedDeviceRegistry(), new MqttIm.ImExtensions.Delivery.ClientDisconnector(new NoServices()), TimeProvider.System,
            NullLogger<RemoteTakeover>.Instance);
        Router = new RedisOnlineRouter(redis, keys, Directory, Registry, takeover, NullLogger<RedisOnlineRouter>.Instance);
    }

    public RedisKeys Keys { get; }

    public ClusterNodeRegistry Registry { get; }

    public RedisDeviceDirectory Directory { get; }

    public RedisOnlineRouter Router { get; }

    public ValueTask DisposeAsync() => Router.DisposeAsync();

    private sealed class NoServices : IServiceProvider
    {
        public object? GetService(Type serviceType) => null;
    }
}

/// <summary>
/// Two nodes seen as one router, for the contract: devices are registered alternately on node A and node B, sends go
/// through node A, so every contract case crosses nodes. Each call waits until both nodes handled what it published
/// (a fence through each node's channel), since the hop is asynchronous.
/// </summary>
internal sealed class TwoNodeRouter(RedisTestNode a, RedisTestNode b) : IOnlineRouter
{
    private int _registrations;

    public async ValueTask RegisterAsync(OnlineDevice device, CancellationToken cancellationToken)
    {
        var node = Interlocked.Increment(ref _registrations) % 2 == 1 ? a : b;
        await node.Router.RegisterAsync(device, cancellationToken);
        await SettleAsync();
    }

    public async ValueTask UnregisterAsync(string clientId, string connectionKey, CancellationToken cancellationToken)
    {
        await a.Router.UnregisterAsync(clientId, connectionKey, cancellationToken);
        await b.Router.UnregisterAsync(clientId, connectionKey, cancellationToken);
    }

    public async ValueTask<int> RouteAsync(string userId, OutboundEvent outbound, string? exceptClientId, CancellationToken cancellationToken)
    {
        var delivered = await a.Router.RouteAsync(userId, outbound, exceptClientId, cancellationToken);
        await SettleAsync();
        return delivered;
    }

    public async ValueTask<int> RouteManyAsync(IReadOnlyList<string> userIds, OutboundEvent outbound, string? exceptClientId, CancellationToken cancellationToken)
    {
        var delivered = await a.Router.RouteManyAsync(userIds, outbound, exceptClientId, cancellationToken);
        await SettleAsync();
        return delivered;
    }

    public async ValueTask<bool> RouteToDeviceAsync(string userId, string clientId, OutboundEvent outbound, CancellationToken cancellationToken)
    {
        var delivered = await a.Router.RouteToDeviceAsync(userId, clientId, outbound, cancellationToken);
        await SettleAsync();
        return delivered;
    }

    public ValueTask<IReadOnlyList<OnlineDevice>> GetDevicesAsync(string userId, CancellationToken cancellationToken) =>
        a.Router.GetDevicesAsync(userId, cancellationToken);

    private async Task SettleAsync()
    {
        await a.Router.FenceAsync(TimeSpan.FromSeconds(10));
        await b.Router.FenceAsync(TimeSpan.FromSeconds(10));
    }
}
