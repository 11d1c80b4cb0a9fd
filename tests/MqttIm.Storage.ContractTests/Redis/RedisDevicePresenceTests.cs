using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using MqttIm.ImExtensions.Cluster;
using MqttIm.ImExtensions.Devices;
using MqttIm.ImExtensions.Devices.Cluster;
using MqttIm.Testing;
using StackExchange.Redis;

namespace MqttIm.Storage.ContractTests.Redis;

/// <summary>
/// The shared device presence hash (<c>{prefix}device-states</c>) on a real Redis: entries leave with their device
/// (deleted) and with the node that reported them (dead), and a device that moved to a live node keeps its entry.
/// </summary>
public sealed class RedisDevicePresenceTests(RedisServer redis) : IClassFixture<RedisServer>, IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly RedisKeys _keys = new("p" + Guid.NewGuid().ToString("N")[..8] + ":");
    private ConnectionMultiplexer _connection = null!;

    public async Task InitializeAsync() => _connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);

    public async Task DisposeAsync() => await _connection.DisposeAsync();

    [Fact]
    public async Task DeletedDevice_LeavesTheHash_AndEveryNodeIsTold()
    {
        var (a, b) = (Bus("a"), Bus("b"));
        await a.DeviceStateChangedAsync(new DeviceState("d1", true, 10, 10));
        await b.DeviceStateChangedAsync(new DeviceState("d2", true, 11, 11));
        var events = await ListenAsync();

        await a.DeviceDeletedAsync("d1");

        Assert.Equal(["d2"], await FieldsAsync());
        var deleted = await NextAsync(events, e => e.Kind == IotClusterEvent.Deleted);
        Assert.Equal(("d1", "a"), (deleted.DeviceId, deleted.Origin));
        Assert.Equal([("d2", "b", true, 11L)], await b.LoadStatesAsync());
    }

    [Fact]
    public async Task DeadNode_ItsDevicesAreReportedOffline_ThenItsEntriesArePruned_AMovedDeviceKeepsItsNewNode()
    {
        var (dead, live) = (Bus("dead"), Bus("live"));
        await dead.DeviceStateChangedAsync(new DeviceState("cam", true, 10, 10));
        await dead.DeviceStateChangedAsync(new DeviceState("truck", true, 10, 10));
        await dead.DeviceStateChangedAsync(new DeviceState("sensor", false, 12, 12)); // offline, but reported by the dead node
        await live.DeviceStateChangedAsync(new DeviceState("truck", true, 20, 20)); // moved to the live node
        await live.DeviceStateChangedAsync(new DeviceState("lamp", true, 21, 21));
        var events = await ListenAsync();

        var removed = await live.ReportNodeDeadAsync("dead", 99);

        Assert.Equal(2, removed); // cam and sensor
        Assert.Equal(["lamp", "truck"], await FieldsAsync());
        Assert.Equal([("lamp", "live", true, 21L), ("truck", "live", true, 20L)], (await live.LoadStatesAsync()).OrderBy(s => s.DeviceId));

        // Running nodes heard the dead node's online device go offline (in the dead node's name, so its rule applies).
        var offline = await NextAsync(events, e => e.Kind == IotClusterEvent.State);
        Assert.Equal(("cam", "dead", false, 99L), (offline.DeviceId, offline.Origin, offline.Online, offline.AtMs));
        Assert.Equal(0, await live.ReportNodeDeadAsync("dead", 100)); // nothing left of it
    }

    private RedisIotBus Bus(string nodeId) =>
        new(_connection, _keys, new MqttIm.ImExtensions.Cluster.ClusterNode(new ClusterOptions { NodeId = nodeId }), NullLogger<RedisIotBus>.Instance);

    private async Task<string[]> FieldsAsync() =>
        [.. (await _connection.GetDatabase().HashKeysAsync(_keys.DeviceStates)).Select(k => k.ToString()).Order(StringComparer.Ordinal)];

    private async Task<ChannelReader<IotClusterEvent>> ListenAsync()
    {
        var events = Channel.CreateUnbounded<IotClusterEvent>();
        var queue = await _connection.GetSubscriber().SubscribeAsync(_keys.IotEvents);
        queue.OnMessage(message =>
        {
            events.Writer.TryWrite(JsonSerializer.Deserialize<IotClusterEvent>((byte[])message.Message!)!);
        });
        return events.Reader;
    }

    private static async Task<IotClusterEvent> NextAsync(ChannelReader<IotClusterEvent> events, Func<IotClusterEvent, bool> match)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (true)
        {
            var next = await events.ReadAsync(timeout.Token);
            if (match(next))
            {
                return next;
            }
        }
    }
}
