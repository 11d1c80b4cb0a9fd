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
        using var stalled = await StalledViewerAsync(roomId);
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
        var receiving = fast.Select(viewer => ReceiveAsync(viewer, () => sending.All(s => s.IsCompleted) ? Volatile.Read(ref gifts) : int.MaxValue)).ToList();
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

    /// <summary>Receives until <paramref name="expectedGifts"/> gifts are in; returns the latencies of every message and the gift seqs.</summary>
    private static async Task<(List<double> LatenciesMs, List<long> GiftSeqs)> ReceiveAsync(RoomViewerProbe viewer, Func<int> expectedGifts)
    {
        var latencies = new List<double>();
        var seqs = new List<long>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        while (seqs.Count < expectedGifts())
        {
            // Short waits: the last frame can arrive before the senders have their last PUBACKs (and so before the
            // expected gift count is known); then the loop ends on the next check, not on a frame that never comes.
            RoomFrame frame;
            try
            {
                frame = await viewer.NextFrameAsync(TimeSpan.FromSeconds(1));
            }
            catch (TimeoutException) when (DateTime.UtcNow < deadline)
            {
                continue;
            }

            var now = DateTime.UtcNow.Ticks;
            foreach (var message in frame.Messages)
            {
                latencies.Add(TimeSpan.FromTicks(now - long.Parse(message.ClientMsgId)).TotalMilliseconds);
                if (message.Kind == "gift")
                {
                    seqs.Add(message.Seq);
                }
            }
        }

        return (latencies, seqs);
    }

    /// <summary>Raw MQTT 3.1.1 over TCP: CONNECT, SUBSCRIBE room, read CONNACK and SUBACK, then never read again.</summary>
    private async Task<Socket> StalledViewerAsync(string roomId)
    {
        var user = TestUsers.Unique("stalled");
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync("127.0.0.1", _broker.MqttPort);
        var body = new List<byte>();
        body.AddRange(Utf8("MQTT"));
        body.AddRange([4, 0xC2, 0, 0]); // level 4, username + password + clean session, no keep-alive
        body.AddRange(Utf8(user + "-raw"));
        body.AddRange(Utf8(user));
        body.AddRange(Utf8(_broker.Token(user)));
        await socket.SendAsync(Packet(0x10, body));
        Assert.Equal(0x20, (await ReadPacketAsync(socket)).Type); // CONNACK
        var subscribe = new List<byte> { 0, 1 };
        subscribe.AddRange(Utf8("room/" + roomId));
        subscribe.Add(1);
        await socket.SendAsync(Packet(0x82, subscribe));
        // MQTT allows frames of the room to come before the SUBACK.
        for (var i = 0; i < 100; i++)
        {
            var (type, packetBody) = await ReadPacketAsync(socket);
            if (type == 0x90)
            {
                Assert.Equal(1, packetBody[2]); // granted QoS 1
                return socket;
            }
        }

        throw new InvalidOperationException("no SUBACK");
    }

    private static byte[] Utf8(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        return [(byte)(bytes.Length >> 8), (byte)bytes.Length, .. bytes];
    }

    private static byte[] Packet(byte type, List<byte> body)
    {
        var packet = new List<byte> { type };
        var length = body.Count;
        do
        {
            var digit = (byte)(length % 128);
            length /= 128;
            packet.Add(length > 0 ? (byte)(digit | 0x80) : digit);
        }
        while (length > 0);
        packet.AddRange(body);
        return [.. packet];
    }

    private static async Task<(int Type, byte[] Body)> ReadPacketAsync(Socket socket)
    {
        var type = (await ReadExactlyAsync(socket, 1))[0] & 0xF0;
        int length = 0, shift = 0;
        byte digit;
        do
        {
            digit = (await ReadExactlyAsync(socket, 1))[0];
            length |= (digit & 0x7F) << shift;
            shift += 7;
        }
        while ((digit & 0x80) != 0 && shift < 28);
        return (type, length == 0 ? [] : await ReadExactlyAsync(socket, length));
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var read = 0;
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), cts.Token);
            if (n == 0)
            {
                throw new IOException("the broker closed the connection");
            }

            read += n;
        }

        return buffer;
    }
}
