using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using MQTTnet;
using MqttIm.Contracts.V1;
using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests.Rooms;

/// <summary>Timing-sensitive room tests run alone, not beside other room classes.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RoomTimingCollection
{
    public const string Name = "room-timing";
}

public sealed class SlowViewerBrokerFixture : IAsyncLifetime
{
    public BrokerProcess Broker { get; private set; } = null!;

    public async Task InitializeAsync() => Broker = await BrokerProcess.StartAsync(
        "--Rooms:UserMessagesPerSecond=0", "--Moderation:PublishesPerSecond=0", "--Rooms:MaxTextLength=4000", "--Rooms:ViewerQueueFrames=16");

    public async Task DisposeAsync() => await Broker.DisposeAsync();
}

/// <summary>A viewer that connects, joins and then never reads its socket.</summary>
[Collection(RoomTimingCollection.Name)]
public sealed class SlowViewerTests(SlowViewerBrokerFixture fixture) : IClassFixture<SlowViewerBrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    [Fact]
    public async Task StalledViewer_BacklogStaysBounded_OthersKeepUp_AndGetEveryGift()
    {
        var roomId = TestUsers.Unique("stall");
        await RoomAdminApi.CreateAsync(_broker, roomId, maxMessagesPerSecond: 1000);
        using var stalled = await SlowViewerKit.StalledViewerAsync(_broker, roomId, qos: 1);
        var fast = new[]
        {
            await RoomViewerProbe.JoinAsync(_broker, roomId, protobuf: true),
            await RoomViewerProbe.JoinAsync(_broker, roomId, protobuf: true),
        };
        var senders = new List<RoomViewerProbe>();
        for (var i = 0; i < 3; i++)
        {
            senders.Add(await RoomViewerProbe.JoinAsync(_broker, roomId, protobuf: true));
        }

        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, 6);
        var residentBefore = _broker.ResidentBytes();
        var droppedBefore = await RoomViewerProbe.MetricAsync(_broker, "mqttim_room_viewer_frames_dropped_total");

        // About 8 s of a heavy stream: large danmaku from three senders, a gift every ~20 sends; each send stamped with its time.
        var filler = new string('x', 3000);
        var stop = Stopwatch.StartNew();
        var gifts = 0;
        var sending = senders.Select(async (sender, n) =>
        {
            for (var i = 0; i < 20_000 && stop.Elapsed < TimeSpan.FromSeconds(8); i++)
            {
                var stamp = DateTime.UtcNow.Ticks.ToString();
                var send = n == 0 && i % 20 == 0
                    ? new RoomSend { Kind = "gift", GiftId = "rocket", ClientMsgId = stamp }
                    : new RoomSend { Text = filler, ClientMsgId = stamp };
                if (send.Kind == "gift")
                {
                    Interlocked.Increment(ref gifts);
                }

                await sender.SendAsync(send);
            }
        }).ToList();
        var receiving = fast.Select(viewer => SlowViewerKit.ReceiveAsync(viewer, () => sending.All(s => s.IsCompleted) ? Volatile.Read(ref gifts) : int.MaxValue)).ToList();
        await Task.WhenAll(sending);
        var results = await Task.WhenAll(receiving);

        foreach (var (latenciesMs, giftSeqs) in results)
        {
            Assert.Equal(Enumerable.Range(1, gifts).Select(i => (long)i), giftSeqs); // every gift, in seq order
            latenciesMs.Sort();
            var p99 = latenciesMs[(int)(latenciesMs.Count * 0.99)];
            Assert.True(p99 < 2000, $"fast viewers' p99 send → receive was {p99:F0} ms while one viewer stalled");
        }

        // The stalled viewer's backlog is bounded (16 ephemeral frames here, plus frames with gifts) and shedding happened; memory did not run away.
        var backlog = await RoomViewerProbe.MetricAsync(_broker, "mqttim_room_viewer_backlog_frames");
        var dropped = await RoomViewerProbe.MetricAsync(_broker, "mqttim_room_viewer_frames_dropped_total") - droppedBefore;
        var cut = await RoomViewerProbe.MetricAsync(_broker, "mqttim_room_viewers_cut_total");
        var delivered = await RoomViewerProbe.MetricAsync(_broker, "mqttim_room_message_deliveries_total");
        var diagnostics = $"backlog {backlog}, dropped {dropped}, cut {cut}, deliveries {delivered}, gifts {gifts}";
        // Ephemeral frames beyond 16 are shed; frames holding a gift are kept (up to Rooms:MaxReliableBacklogFrames).
        Assert.True(backlog >= 1 && backlog <= 16 + gifts, diagnostics);
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
