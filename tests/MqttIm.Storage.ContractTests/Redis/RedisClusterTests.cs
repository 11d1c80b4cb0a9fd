using MQTTnet;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Cluster;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;
using MqttIm.Testing;
using StackExchange.Redis;

namespace MqttIm.Storage.ContractTests.Redis;

/// <summary>What only the cluster backends do: survive Redis losing its keys, batch group fan-out per node, forget dead nodes.</summary>
/// <remarks>Its own Redis: the flush and restart cases must not disturb other classes.</remarks>
public sealed class RedisClusterTests : IAsyncLifetime
{
    private readonly RedisServer _redis = new();
    private ConnectionMultiplexer _connection = null!;
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..8] + ":";
    private readonly CancellationToken _ct = CancellationToken.None;

    public async Task InitializeAsync()
    {
        await _redis.InitializeAsync();
        _connection = await ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Next_AfterFlush_NeverRepeatsOrGoesBack()
    {
        // The "store" holds every seq handed out so far, as the commit loop would have stored them.
        long stored = 0;
        var nodeA = new RedisSeqAllocator(_connection, new RedisKeys(_prefix), (_, _) => Task.FromResult(Interlocked.Read(ref stored)));
        for (var i = 0; i < 20; i++)
        {
            Interlocked.Exchange(ref stored, await nodeA.NextAsync("c", _ct));
        }

        await _redis.FlushAllAsync();
        var nodeB = new RedisSeqAllocator(_connection, new RedisKeys(_prefix), (_, _) => Task.FromResult(Interlocked.Read(ref stored)));

        Assert.Equal(21, await nodeB.NextAsync("c", _ct));
        Assert.Equal(22, await nodeA.NextAsync("c", _ct));
    }

    [Fact]
    public async Task Next_AfterRedisKilledAndRestarted_NeverGoesBackOnThisNode()
    {
        // Nothing stored: only this node's own floor keeps it from going back if the append-only file lost the last writes.
        var allocator = new RedisSeqAllocator(_connection, new RedisKeys(_prefix), (_, _) => Task.FromResult(0L));
        long last = 0;
        for (var i = 0; i < 200; i++)
        {
            last = await allocator.NextAsync("c", _ct);
        }

        await _redis.KillAsync();
        await _redis.StartAsync();

        var next = await WithRetryAsync(() => allocator.NextAsync("c", _ct).AsTask());
        Assert.True(next > last, $"seq went back: {next} after {last}");
    }

    [Fact]
    public async Task RouteMany_ReachesMembersOnEveryNode_OnePublishPerNode()
    {
        await using var a = new RedisTestNode(_connection, _prefix, "a");
        await using var b = new RedisTestNode(_connection, _prefix, "b");
        await using var c = new RedisTestNode(_connection, _prefix, "c");
        var channels = new Dictionary<string, CountingChannel>();
        foreach (var (node, user, client) in new[] { (a, "u1", "u1-phone"), (b, "u2", "u2-phone"), (b, "u3", "u3-phone"), (c, "u4", "u4-phone"), (c, "u1", "u1-desk") })
        {
            channels[client] = new CountingChannel();
            await node.Router.RegisterAsync(new OnlineDevice(user, client, WireFormat.Json, "k-" + client, channels[client]), _ct);
        }

        var delivered = await a.Router.RouteManyAsync(["u1", "u2", "u3", "u4", "nobody"], Event(), exceptClientId: "u1-phone", _ct);
        await b.Router.FenceAsync(TimeSpan.FromSeconds(10));
        await c.Router.FenceAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(4, delivered);
        Assert.Equal(0, channels["u1-phone"].Count);
        Assert.All(new[] { "u1-desk", "u2-phone", "u3-phone", "u4-phone" }, id => Assert.Equal(1, channels[id].Count));
    }

    [Fact]
    public async Task DeadNode_IsRemovedWithItsDeviceEntries()
    {
        var timeout = TimeSpan.FromMilliseconds(600);
        await using var a = new RedisTestNode(_connection, _prefix, "a", timeout);
        var b = new RedisTestNode(_connection, _prefix, "b", timeout);
        await b.Router.RegisterAsync(new OnlineDevice("bob", "bob-phone", WireFormat.Json, "k1", new CountingChannel()), _ct);
        await b.Registry.HeartbeatAsync(1, 0);
        await a.Registry.HeartbeatAsync(0, 0);
        Assert.True(a.Registry.IsAlive("b"));
        Assert.Single(await a.Router.GetDevicesAsync("bob", _ct));

        await b.DisposeAsync(); // b stops heartbeating without leaving, like kill -9

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (a.Registry.IsAlive("b") && DateTime.UtcNow < deadline)
        {
            foreach (var dead in await a.Registry.HeartbeatAsync(0, 0))
            {
                await a.Directory.RemoveNodeAsync(dead);
                await a.Registry.RemoveAsync(dead);
            }

            await Task.Delay(100); // polling a TTL expiry in Redis: there is no event to wait on
        }

        Assert.False(a.Registry.IsAlive("b"));
        Assert.Empty(await a.Router.GetDevicesAsync("bob", _ct));
        Assert.Empty(await a.Directory.GetAsync("bob"));
        Assert.Equal(0, await a.Router.RouteAsync("bob", Event(), null, _ct));
    }

    [Fact]
    public async Task Register_OnAnotherNode_MovesTheDeviceAndEvictsTheOldRoute()
    {
        await using var a = new RedisTestNode(_connection, _prefix, "a");
        await using var b = new RedisTestNode(_connection, _prefix, "b");
        var onA = new CountingChannel();
        var onB = new CountingChannel();
        await a.Router.RegisterAsync(new OnlineDevice("bob", "bob-phone", WireFormat.Json, "on-a", onA), _ct);

        // Reconnects through another node: its inbox routing moves with it.
        await b.Router.RegisterAsync(new OnlineDevice("bob", "bob-phone", WireFormat.Json, "on-b", onB), _ct);
        await a.Router.FenceAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(a.Router.LocalDevices);

        Assert.Equal(1, await a.Router.RouteAsync("bob", Event(), null, _ct));
        await b.Router.FenceAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((0, 1), (onA.Count, onB.Count));

        // The old connection's late disconnect on node A does not remove the new entry.
        await a.Router.UnregisterAsync("bob-phone", "on-a", _ct);
        Assert.Single(await a.Directory.GetAsync("bob"));
    }

    private static OutboundEvent Event() => new(new InboxEvent { Message = new ChatMessage { Text = "x", Seq = 1 } });

    private static async Task<T> WithRetryAsync<T>(Func<Task<T>> action)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                return await action();
            }
            catch (RedisException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100); // the multiplexer reconnects in the background
            }
        }
    }

    private sealed class CountingChannel : IDeviceChannel
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public bool TryPublish(MqttApplicationMessage message)
        {
            Interlocked.Increment(ref _count);
            return true;
        }
    }
}
