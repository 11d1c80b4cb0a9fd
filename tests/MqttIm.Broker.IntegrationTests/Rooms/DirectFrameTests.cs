using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Rooms;

public sealed class DirectFrameBrokerFixture() : BrokerFixture(
    "--Rooms:UserMessagesPerSecond=0", "--Moderation:PublishesPerSecond=0", "--Rooms:MaxTextLength=4000", "--Rooms:ViewerQueueFrames=16");

/// <summary>
/// QoS 0 viewers get each frame as one pre-encoded PUBLISH written straight to their connection, below MQTTnet's session
/// queue (MQTT 3.1.1, MQTT 5, WebSocket); QoS 1 viewers still go through their session. Room semantics hold on both.
/// </summary>
[Collection(RoomTimingCollection.Name)]
public sealed class DirectFrameTests(DirectFrameBrokerFixture fixture) : IClassFixture<DirectFrameBrokerFixture>
{
    private const string DirectMetric = "mqttim_room_direct_frame_deliveries_total";
    private readonly BrokerProcess _broker = fixture.Broker;

    [Fact]
    public async Task QoS0Viewers_311_5_WebSocket_GetRawFrames_EveryGiftInSeqOrder_BesideAQoS1Viewer()
    {
        var roomId = TestUsers.Unique("direct");
        await RoomAdminApi.CreateAsync(_broker, roomId, maxMessagesPerSecond: 1000);
        var viewers = new[]
        {
            await RoomViewerProbe.JoinAsync(_broker, roomId, version: MqttProtocolVersion.V311, qos: MqttQualityOfServiceLevel.AtMostOnce),
            await RoomViewerProbe.JoinAsync(_broker, roomId, protobuf: true, qos: MqttQualityOfServiceLevel.AtMostOnce),
            await RoomViewerProbe.JoinAsync(_broker, roomId, qos: MqttQualityOfServiceLevel.AtMostOnce, transport: Transport.WebSocket),
            await RoomViewerProbe.JoinAsync(_broker, roomId, version: MqttProtocolVersion.V311, qos: MqttQualityOfServiceLevel.AtMostOnce, transport: Transport.WebSocket),
            await RoomViewerProbe.JoinAsync(_broker, roomId, protobuf: true), // QoS 1: through its MQTTnet session
        };
        await using var sender = await RoomViewerProbe.JoinAsync(_broker, roomId, protobuf: true);
        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, viewers.Length + 1);

        // A burst: 300 sends, every 5th a gift, without waiting between them.
        const int Sends = 300;
        var burst = Enumerable.Range(0, Sends).Select(i => sender.SendAsync(i % 5 == 0
            ? new RoomSend { Kind = "gift", GiftId = "rose", ClientMsgId = "g" + i }
            : new RoomSend { Text = "danmaku " + i, ClientMsgId = "c" + i })).ToList();
        await Task.WhenAll(burst);
        const int Gifts = Sends / 5;

        foreach (var viewer in viewers)
        {
            var frames = await viewer.CollectAsync(f => RoomViewerProbe.Messages(f, "gift").Count() >= Gifts, TimeSpan.FromSeconds(30));
            var seqs = RoomViewerProbe.Messages(frames, "gift").Select(m => m.Seq).ToList();
            Assert.Equal(Enumerable.Range(1, Gifts).Select(i => (long)i), seqs); // every gift once, in room-seq order
            Assert.Contains(frames.SelectMany(f => f.Messages), m => m.Kind != "gift" && m.Text.StartsWith("danmaku ", StringComparison.Ordinal));
        }

        foreach (var viewer in viewers)
        {
            await viewer.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311, Transport.Tcp)]
    [InlineData(MqttProtocolVersion.V500, Transport.Tcp)]
    [InlineData(MqttProtocolVersion.V311, Transport.WebSocket)]
    [InlineData(MqttProtocolVersion.V500, Transport.WebSocket)]
    public async Task QoS0Viewer_OverEachTransport_GetsItsFrameWrittenRaw(MqttProtocolVersion version, Transport transport)
    {
        // One QoS 0 viewer and one gift: its frames count as written straight to the connection (a WebSocket
        // connection's outlet is found by the same key as a TCP one's); the QoS 1 sender's own copies do not count.
        var roomId = TestUsers.Unique("draw");
        await RoomAdminApi.CreateAsync(_broker, roomId, maxMessagesPerSecond: 1000);
        await using var viewer = await RoomViewerProbe.JoinAsync(_broker, roomId, version: version, qos: MqttQualityOfServiceLevel.AtMostOnce, transport: transport);
        await using var sender = await RoomViewerProbe.JoinAsync(_broker, roomId, protobuf: true);
        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, 2);
        var directBefore = await RoomViewerProbe.MetricAsync(_broker, DirectMetric);

        await sender.SendAsync(new RoomSend { Kind = "gift", GiftId = "rose", ClientMsgId = "g" });
        var frames = await viewer.CollectAsync(f => RoomViewerProbe.Messages(f, "gift").Any(), TimeSpan.FromSeconds(30));
        await sender.CollectAsync(f => RoomViewerProbe.Messages(f, "gift").Any(), TimeSpan.FromSeconds(30));

        Assert.Single(RoomViewerProbe.Messages(frames, "gift"));
        // The gift's frame at least went out raw (a viewer-count frame may too, and what the join itself answers goes
        // through the session); the room's other member is a QoS 1 viewer, so nothing else on this broker counts here.
        var direct = await RoomViewerProbe.MetricAsync(_broker, DirectMetric) - directBefore;
        Assert.True(direct >= 1, $"no raw frame written; the viewer received {frames.Count} frames");
    }

    [Fact]
    public async Task StalledQoS0Viewer_BacklogStaysBounded_OthersKeepUp_AndGetEveryGift()
    {
        var roomId = TestUsers.Unique("dstall");
        await RoomAdminApi.CreateAsync(_broker, roomId, maxMessagesPerSecond: 1000);
        using var stalled = await SlowViewerKit.StalledViewerAsync(_broker, roomId, qos: 0);
        var fast = new[]
        {
            await RoomViewerProbe.JoinAsync(_broker, roomId, protobuf: true, qos: MqttQualityOfServiceLevel.AtMostOnce),
            await RoomViewerProbe.JoinAsync(_broker, roomId, version: MqttProtocolVersion.V311, qos: MqttQualityOfServiceLevel.AtMostOnce),
        };
        var senders = new List<RoomViewerProbe>();
        for (var i = 0; i < 3; i++)
        {
            senders.Add(await RoomViewerProbe.JoinAsync(_broker, roomId, protobuf: true));
        }

        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, 6);
        var droppedBefore = await RoomViewerProbe.MetricAsync(_broker, "mqttim_room_viewer_frames_dropped_total");
        var residentBefore = _broker.ResidentBytes();

        // About 8 s of large danmaku from three senders (a gift every ~20 sends), each stamped with its send time.
        var filler = new string('x', 3000);
        var stop = Stopwatch.StartNew();
        var gifts = 0;
        var sending = senders.Select(async (sender, n) =>
        {
            for (var i = 0; i < 20_000 && stop.Elapsed < TimeSpan.FromSeconds(8); i++)
            {
                var stamp = DateTime.UtcNow.Ticks.ToString();
                var gift = n == 0 && i % 20 == 0;
                if (gift)
                {
                    Interlocked.Increment(ref gifts);
                }

                await sender.SendAsync(gift ? new RoomSend { Kind = "gift", GiftId = "rocket", ClientMsgId = stamp } : new RoomSend { Text = filler, ClientMsgId = stamp });
            }
        }).ToList();
        var receiving = fast.Select(viewer => SlowViewerKit.ReceiveAsync(viewer, () => sending.All(s => s.IsCompleted) ? Volatile.Read(ref gifts) : int.MaxValue)).ToList();
        await Task.WhenAll(sending);
        var results = await Task.WhenAll(receiving);

        foreach (var (latenciesMs, giftSeqs) in results)
        {
            Assert.Equal(Enumerable.Range(1, gifts).Select(i => (long)i), giftSeqs);
            latenciesMs.Sort();
            var p99 = latenciesMs[(int)(latenciesMs.Count * 0.99)];
            Assert.True(p99 < 5000, $"fast viewers' p99 send → receive was {p99:F0} ms while one viewer stalled");
        }

        var backlog = await RoomViewerProbe.MetricAsync(_broker, "mqttim_room_viewer_backlog_frames");
        var dropped = await RoomViewerProbe.MetricAsync(_broker, "mqttim_room_viewer_frames_dropped_total") - droppedBefore;
        var diagnostics = $"backlog {backlog}, dropped {dropped}, gifts {gifts}";
        Assert.True(backlog >= 1 && backlog <= 16 + gifts, diagnostics); // ephemeral frames beyond 16 shed, gift frames kept
        Assert.True(dropped > 0, "no frame was shed for the stalled viewer: " + diagnostics);
        var grownMb = (_broker.ResidentBytes() - residentBefore) / 1048576.0;
        Assert.True(grownMb < 150, $"broker grew by {grownMb:F0} MB");
        Assert.True(stalled.Connected);

        foreach (var probe in fast.Concat(senders))
        {
            await probe.DisposeAsync();
        }
    }
}
