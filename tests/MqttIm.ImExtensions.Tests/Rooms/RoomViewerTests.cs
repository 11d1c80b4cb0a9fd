using MQTTnet;
using MQTTnet.Protocol;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Rooms;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Tests.Rooms;

/// <summary>
/// One viewer's backlog, in process: at most a few frames in its session at once, ephemeral content shed first when it
/// falls behind, gifts never, and a viewer whose gift backlog passes its bound is cut. Frames are told apart by LastSeq.
/// </summary>
public sealed class RoomViewerTests
{
    private static readonly RoomOptions Options = new() { InFlightFramesPerViewer = 2, ViewerQueueFrames = 4, MaxReliableBacklogFrames = 6 };

    private readonly FakeSessionQueue _session = new();

    private RoomViewer Viewer(bool atMostOnce = false, IRawPacketOutlet? outlet = null) =>
        new("v1", "viewer", "127.0.0.1:5000", WireFormat.Protobuf, atMostOnce, _session, outlet, mqtt5: true);

    [Fact]
    public void HandsTheSessionAtMostInFlightFrames_TheRestWaitInOrder()
    {
        var viewer = Viewer();
        for (var seq = 1; seq <= 3; seq++)
        {
            Assert.Equal(0, viewer.Offer(Frame(seq, gift: true), Options));
        }

        Assert.Equal([1L, 2L], _session.Seqs());
        Assert.Equal(1, viewer.BacklogFrames);
        Assert.All(_session.Received, m => Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, m.QualityOfServiceLevel));

        _session.Drain();
        viewer.Pump(Options);
        Assert.Equal([1L, 2L, 3L], _session.Seqs());
        Assert.Equal(0, viewer.BacklogFrames);
    }

    [Fact]
    public void FallenBehind_DropsChatOnlyFramesFirst_ThenStripsChatFromGiftFrames_NeverAGift()
    {
        var viewer = Viewer();
        viewer.Offer(Frame(1, gift: true), Options); // in the session
        viewer.Offer(Frame(2, gift: true), Options); // in the session, which is now full
        viewer.Offer(Frame(3, gift: true, chat: true), Options);
        viewer.Offer(Frame(4, chat: true), Options);
        viewer.Offer(Frame(5, chat: true), Options);
        viewer.Offer(Frame(6, gift: true), Options);
        Assert.Equal(4, viewer.BacklogFrames);

        Assert.Equal(1, viewer.Offer(Frame(7, gift: true), Options)); // 5 > 4: the oldest chat-only frame goes
        Assert.Equal(1, viewer.Offer(Frame(8, gift: true), Options)); // then the other one
        Assert.Equal(1, viewer.Offer(Frame(9, gift: true), Options)); // none left: frame 3 keeps its gift, loses its chat
        Assert.Equal(5, viewer.BacklogFrames);
        Assert.False(viewer.Cut);

        _session.Drain();
        viewer.Pump(Options);
        _session.Drain();
        viewer.Pump(Options);
        _session.Drain();
        viewer.Pump(Options);
        Assert.Equal([1L, 2L, 3L, 6L, 7L, 8L, 9L], _session.Seqs());
        var third = RoomFrame.Parser.ParseFrom(_session.Received[2].Payload);
        Assert.Equal([RoomKinds.Gift], third.Messages.Select(m => m.Kind));
    }

    [Fact]
    public void GiftBacklogPastItsBound_CutsTheViewer_AndFreesTheBacklog()
    {
        var viewer = Viewer();
        for (var seq = 1; seq <= 2 + Options.MaxReliableBacklogFrames; seq++)
        {
            viewer.Offer(Frame(seq, gift: true), Options);
            Assert.False(viewer.Cut, $"cut after frame {seq}");
        }

        viewer.Offer(Frame(9, gift: true), Options);
        Assert.True(viewer.Cut);
        Assert.Equal(0, viewer.BacklogFrames);
    }

    [Fact]
    public void QosZeroViewerWithAnOutlet_GetsRawPackets_KeepsThemWhileBusy_SkipsWhatIsTooLargeForIt()
    {
        var outlet = new FakeOutlet { Busy = true };
        var viewer = Viewer(atMostOnce: true, outlet: outlet);
        viewer.Offer(Frame(1, gift: true), Options);
        viewer.Offer(Frame(2, gift: true, text: new string('x', 500)), Options);
        viewer.Offer(Frame(3, gift: true), Options);
        Assert.True(viewer.IsDirect);
        Assert.Equal(3, viewer.BacklogFrames);
        Assert.Empty(outlet.Written);

        outlet.Busy = false;
        outlet.MaximumPacketSize = 200; // frame 2 no longer fits this client (MQTT 5 Maximum Packet Size)
        viewer.Pump(Options);
        Assert.Equal(0, viewer.BacklogFrames);
        Assert.Equal(2, outlet.Written.Count);
        Assert.All(outlet.Written, packet => Assert.Equal(0x30, packet[0])); // PUBLISH, QoS 0, not through the session
        Assert.Empty(_session.Received);
    }

    private static RoomFrameBuffers Frame(long lastSeq, bool gift = false, bool chat = false, string? text = null)
    {
        var frame = new RoomFrame { RoomId = "r1", LastSeq = lastSeq };
        if (gift)
        {
            frame.Messages.Add(new RoomMessage { Kind = RoomKinds.Gift, Seq = lastSeq, GiftId = "rocket", Text = text ?? "" });
        }

        if (chat)
        {
            frame.Messages.Add(new RoomMessage { Kind = RoomKinds.Chat, Text = "hi" });
        }

        return new RoomFrameBuffers("room/r1", frame, hasReliable: gift, hasEphemeral: chat);
    }

    private sealed class FakeSessionQueue : ISessionQueue
    {
        public List<MqttApplicationMessage> Received { get; } = [];

        public long PendingMessages { get; private set; }

        public bool TryPublish(MqttApplicationMessage message)
        {
            Received.Add(message);
            PendingMessages++;
            return true;
        }

        /// <summary>The client read everything queued.</summary>
        public void Drain() => PendingMessages = 0;

        public List<long> Seqs() => [.. Received.Select(m => RoomFrame.Parser.ParseFrom(m.Payload).LastSeq)];
    }

    private sealed class FakeOutlet : IRawPacketOutlet
    {
        public bool Busy { get; set; }

        public long MaximumPacketSize { get; set; }

        public List<byte[]> Written { get; } = [];

        public RawWriteResult TryWrite(ReadOnlySpan<byte> packet)
        {
            if (Busy)
            {
                return RawWriteResult.Busy;
            }

            Written.Add(packet.ToArray());
            return RawWriteResult.Written;
        }
    }
}
