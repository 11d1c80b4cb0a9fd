using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Rooms;

/// <summary>Three broker processes sharing one Redis and one PostgreSQL database (the room store), each with viewers of one room.</summary>
public sealed class RoomClusterFixture : IAsyncLifetime
{
    private readonly PostgresServer _postgres = new();

    public RedisServer Redis { get; } = new();

    public BrokerProcess[] Nodes { get; private set; } = [];

    public async Task InitializeAsync()
    {
        await Task.WhenAll(Redis.InitializeAsync(), _postgres.InitializeAsync());
        var database = await _postgres.CreateDatabaseAsync();
        var nodes = new List<BrokerProcess>();
        for (var i = 1; i <= 3; i++)
        {
            nodes.Add(await BrokerProcess.StartAsync(
                $"--Cluster:Redis={Redis.Configuration}", $"--Cluster:NodeId=room-node-{i}",
                "--Storage:Provider=PostgreSQL", $"--Storage:PostgreSQL:ConnectionString={database}"));
        }

        Nodes = [.. nodes];
    }

    public async Task DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await Redis.DisposeAsync();
        await _postgres.DisposeAsync();
    }
}

[Collection(RoomTimingCollection.Name)]
public sealed class CrossNodeRoomTests(RoomClusterFixture cluster) : IClassFixture<RoomClusterFixture>
{
    private static async Task<double[]> MetricAsync(IEnumerable<BrokerProcess> nodes, string name) =>
        await Task.WhenAll(nodes.Select(n => RoomViewerProbe.MetricAsync(n, name)));

    [Fact]
    public async Task RoomMessage_SentOnOneNode_ReachesViewersOnAllNodes_CrossingRedisOncePerNode()
    {
        var nodes = cluster.Nodes;
        var roomId = TestUsers.Unique("live");
        await RoomAdminApi.CreateAsync(nodes[0], roomId);
        // A room created on node 1 is visible to the others through the shared store.
        var viewers = new List<RoomViewerProbe>();
        foreach (var node in nodes)
        {
            viewers.Add(await RoomViewerProbe.JoinAsync(node, roomId));
            viewers.Add(await RoomViewerProbe.JoinAsync(node, roomId, protobuf: true));
        }

        // Counts are summed across nodes (each node subscribes to the room's channel before it reports its count).
        foreach (var node in nodes)
        {
            await RoomViewerProbe.WaitForViewersAsync(node, roomId, 6);
        }

        var receivedBefore = await MetricAsync(nodes, "mqttim_room_bus_received_total");
        var copiesBefore = await MetricAsync(nodes, "mqttim_room_bus_copies_total");
        var publishesBefore = await MetricAsync(nodes, "mqttim_room_bus_publishes_total");

        // One gift from a viewer on node 2 (MQTT) …
        var ack = await viewers[2].SendAsync(new RoomSend { Kind = "gift", GiftId = "castle", GiftCount = 1, ClientMsgId = "x1" });
        Assert.Equal(MQTTnet.MqttClientPublishReasonCode.Success, ack.ReasonCode);
        Assert.Equal("1", ack.Property("seq"));
        foreach (var viewer in viewers)
        {
            var frames = await viewer.CollectAsync(f => RoomViewerProbe.Messages(f, "gift").Any(), TimeSpan.FromSeconds(15));
            var gift = RoomViewerProbe.Messages(frames, "gift").Single();
            Assert.Equal((1L, "castle", viewers[2].Device.UserId), (gift.Seq, gift.GiftId, gift.SenderId));
        }

        // … crossed Redis once per node that has viewers (3 copies of 1 publish), not once per viewer (6).
        var received = (await MetricAsync(nodes, "mqttim_room_bus_received_total")).Zip(receivedBefore, (a, b) => a - b).ToArray();
        var copies = (await MetricAsync(nodes, "mqttim_room_bus_copies_total")).Zip(copiesBefore, (a, b) => a - b).ToArray();
        var publishes = (await MetricAsync(nodes, "mqttim_room_bus_publishes_total")).Zip(publishesBefore, (a, b) => a - b).ToArray();
        Assert.Equal([1.0, 1.0, 1.0], received);
        Assert.Equal([0.0, 1.0, 0.0], publishes);
        Assert.Equal([0.0, 3.0, 0.0], copies);

        // A back-end system message via node 3 and chat via node 1: same path, seq continues across nodes.
        Assert.Equal(2, await RoomAdminApi.SendAsync(nodes[2], roomId, new { kind = "system", text = "welcome" }));
        Assert.Equal(MQTTnet.MqttClientPublishReasonCode.Success, (await viewers[0].SendAsync(new RoomSend { Text = "hi from node 1" })).ReasonCode);
        foreach (var viewer in viewers)
        {
            var frames = await viewer.CollectAsync(f => RoomViewerProbe.Messages(f, "system").Any() && RoomViewerProbe.Messages(f, "chat").Any(), TimeSpan.FromSeconds(15));
            Assert.Equal(2, RoomViewerProbe.Messages(frames, "system").Single().Seq);
            Assert.Equal("hi from node 1", RoomViewerProbe.Messages(frames, "chat").Single().Text);
        }

        // A node whose viewers all left unsubscribes: the next message crosses Redis to two nodes only.
        await viewers[4].DisposeAsync();
        await viewers[5].DisposeAsync();
        await RoomViewerProbe.WaitForViewersAsync(nodes[0], roomId, 4);
        await WaitForAsync(async () =>
        {
            var before = (await MetricAsync(nodes, "mqttim_room_bus_copies_total"))[0];
            await RoomAdminApi.SendAsync(nodes[0], roomId, new { kind = "chat", text = "probe" });
            return (await MetricAsync(nodes, "mqttim_room_bus_copies_total"))[0] - before == 2;
        });

        foreach (var viewer in viewers.Take(4))
        {
            await viewer.DisposeAsync();
        }
    }

    /// <summary>Unsubscribing from Redis is asynchronous: retries the probe until the condition holds, within a deadline.</summary>
    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold in time");
            await Task.Delay(200); // polling a Redis subscription change that has no event to wait on
        }
    }
}
