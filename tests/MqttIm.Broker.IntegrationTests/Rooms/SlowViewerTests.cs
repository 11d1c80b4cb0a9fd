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

public sealed class SlowViewerBrokerFixture() : BrokerFixture(
    "--Rooms:UserMessagesPerSecond=0", "--Moderation:PublishesPerSecond=0", "--Rooms:MaxTextLength=4000", "--Rooms:ViewerQueueFrames=16");

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

/// <summary>
/// A broker that cuts a viewer once 30 gift-holding frames (3 s of frames) wait for it; the default is 1,000. Not fewer: a
/// viewer that reads, on a loaded machine, must not fall that far behind.
/// </summary>
public sealed class ViewerCutBrokerFixture() : BrokerFixture(
    "--Rooms:UserMessagesPerSecond=0", "--Moderation:PublishesPerSecond=0", "--Rooms:MaxTextLength=4000",
    "--Rooms:ViewerQueueFrames=2", "--Rooms:MaxReliableBacklogFrames=30");

/// <summary>A viewer that stops reading while gifts keep coming is disconnected (it replays on reconnect); the rest keep up.</summary>
[Collection(RoomTimingCollection.Name)]
public sealed class ViewerCutTests(ViewerCutBrokerFixture fixture) : IClassFixture<ViewerCutBrokerFixture>
{
    private readonly BrokerProcess _broker = fixture.Broker;

    [Fact]
    public async Task StalledViewer_WhoseGiftBacklogPassesTheBound_IsDisconnected_AReadingViewerStays()
    {
        var roomId = TestUsers.Unique("cut");
        await RoomAdminApi.CreateAsync(_broker, roomId, maxMessagesPerSecond: 1000);
        using var stalled = await SlowViewerKit.StalledViewerAsync(_broker, roomId, qos: 1);
        await using var reader = await RoomViewerProbe.JoinAsync(_broker, roomId, protobuf: true);
        await using var sender = await RoomViewerProbe.JoinAsync(_broker, roomId, protobuf: true);
        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, 3);
        var cutBefore = await RoomViewerProbe.MetricAsync(_broker, "mqttim_room_viewers_cut_total");

        // Large danmaku fill the stalled viewer's socket and session; then every frame it is owed holds a gift. Bounded:
        // at most 100,000 sends or 30 s, stopping as soon as the broker reports the cut. The cut comes after a span of
        // frames (time), not a number of sends: 20,000 sends took about as long as the cut alone (~7 s), too close a bound.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var filler = new string('x', 3000);
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < 100_000 && !stop.IsCancellationRequested; i++)
            {
                var stamp = DateTime.UtcNow.Ticks.ToString();
                await sender.SendAsync(i % 2 == 0 ? new RoomSend { Kind = "gift", GiftId = "rocket", ClientMsgId = stamp } : new RoomSend { Text = filler, ClientMsgId = stamp });
            }
        });
        double cut;
        using (var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(200)))
        {
            while ((cut = await RoomViewerProbe.MetricAsync(_broker, "mqttim_room_viewers_cut_total")) <= cutBefore && !sending.IsCompleted)
            {
                await poll.WaitForNextTickAsync();
            }
        }

        await stop.CancelAsync();
        await sending;
        Assert.True(cut > cutBefore, "the stalled viewer was never cut (mqttim_room_viewers_cut_total did not move)");

        // Its connection is closed: reading what was queued for it ends at end of stream (bounded).
        var buffer = new byte[65536];
        using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var drained = 0L;
        int read;
        while ((read = await stalled.ReceiveAsync(buffer, SocketFlags.None, drain.Token)) > 0)
        {
            drained += read;
        }

        Assert.True(drained > 0, "nothing had been queued for the stalled viewer");
        await RoomViewerProbe.WaitForViewersAsync(_broker, roomId, 2);

        // The viewer that reads is still in the room and still receives.
        Assert.True(reader.Device.Client.IsConnected);
        await sender.SendAsync(new RoomSend { Kind = "gift", GiftId = "last", ClientMsgId = DateTime.UtcNow.Ticks.ToString() });
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!(await reader.NextFrameAsync(TimeSpan.FromSeconds(30))).Messages.Any(m => m.GiftId == "last"))
        {
            Assert.True(DateTime.UtcNow < deadline, "the reading viewer did not get the last gift");
        }
    }
}
