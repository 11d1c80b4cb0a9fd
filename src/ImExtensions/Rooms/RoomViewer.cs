using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// One viewer of one room on this node. A QoS 0 viewer whose connection has a raw outlet gets each frame as one
/// pre-encoded PUBLISH written straight to its connection (no MQTTnet packet, queue or send loop per viewer); while its
/// output is busy or backed up, frames wait here. Otherwise (QoS 1, or no outlet) frames go into its MQTTnet session, but
/// never more than <see cref="RoomOptions.InFlightFramesPerViewer"/> at once: MQTTnet's own queue drops its oldest entry
/// blindly when full. Either way a viewer that falls behind queues here, where ephemeral frames are dropped first and
/// gifts never. Offer and Pump run on the frame pump only.
/// </summary>
internal sealed class RoomViewer(
    string clientId,
    string userId,
    string connectionKey,
    WireFormat format,
    bool atMostOnce,
    ISessionQueue session,
    IRawPacketOutlet? outlet = null,
    bool mqtt5 = false)
{
    private readonly IRawPacketOutlet? _outlet = atMostOnce ? outlet : null;

    private readonly List<RoomFrameBuffers> _backlog = [];

    public string ClientId { get; } = clientId;

    public string UserId { get; } = userId;

    public string ConnectionKey { get; } = connectionKey;

    /// <summary>Set once the viewer must be disconnected: even its gift/system backlog is over the bound.</summary>
    public bool Cut { get; private set; }

    public int BacklogFrames => _backlog.Count;

    /// <summary>Hands the frame over now if MQTTnet's queue for this viewer is short, else keeps it; returns frames dropped.</summary>
    public int Offer(RoomFrameBuffers frame, RoomOptions options)
    {
        _backlog.Add(frame);
        Pump(options);
        return _backlog.Count > options.ViewerQueueFrames ? Shed(options) : 0;
    }

    /// <summary>Writes raw frames over the outlet (direct viewers), else into the MQTTnet session.</summary>
    public bool IsDirect => _outlet is not null;

    /// <summary>Moves backlog frames out while the connection (or its session) takes them.</summary>
    public void Pump(RoomOptions options)
    {
        if (_outlet is { } outlet)
        {
            PumpOutlet(outlet);
            return;
        }

        var handed = 0;
        while (handed < _backlog.Count && session.PendingMessages < options.InFlightFramesPerViewer)
        {
            var frame = _backlog[handed++];
            if (session.TryPublish(frame.MessageFor(format, atMostOnce)))
            {
                RoomMetrics.FrameDeliveries.Inc();
                RoomMetrics.MessageDeliveries.Inc(frame.MessageCount);
            }
        }

        if (handed > 0)
        {
            _backlog.RemoveRange(0, handed);
        }
    }

    private void PumpOutlet(IRawPacketOutlet outlet)
    {
        var handed = 0;
        while (handed < _backlog.Count)
        {
            var frame = _backlog[handed];
            var packet = frame.PacketFor(format, mqtt5);
            if (outlet.MaximumPacketSize > 0 && packet.Length > outlet.MaximumPacketSize)
            {
                // MQTT 5 §3.1.2.25: never sent to this client (as the outbound layer does for MQTTnet's packets).
                handed++;
                RoomMetrics.ViewerFramesDropped.Inc();
                continue;
            }

            var result = outlet.TryWrite(packet);
            if (result == RawWriteResult.Busy)
            {
                break;
            }

            handed++;
            if (result == RawWriteResult.Written)
            {
                RoomMetrics.FrameDeliveries.Inc();
                RoomMetrics.DirectFrameDeliveries.Inc();
                RoomMetrics.MessageDeliveries.Inc(frame.MessageCount);
            }
        }

        if (handed > 0)
        {
            _backlog.RemoveRange(0, handed);
        }
    }

    /// <summary>Over the bound: drop the oldest ephemeral-only frames, then strip ephemeral content from the oldest mixed ones.</summary>
    private int Shed(RoomOptions options)
    {
        var dropped = 0;
        var excess = _backlog.Count - options.ViewerQueueFrames;
        for (var i = 0; i < _backlog.Count && excess > 0;)
        {
            if (!_backlog[i].HasReliable)
            {
                _backlog.RemoveAt(i);
                dropped++;
                excess--;
                continue;
            }

            i++;
        }

        for (var i = 0; i < _backlog.Count && excess > 0; i++)
        {
            if (_backlog[i].HasEphemeral)
            {
                _backlog[i] = _backlog[i].ReliableOnly();
                dropped++;
            }
        }

        if (_backlog.Count > options.MaxReliableBacklogFrames)
        {
            // Gifts are never dropped, and memory stays bounded: the viewer reconnects and replays from its last seq.
            Cut = true;
            _backlog.Clear();
        }

        RoomMetrics.ViewerFramesDropped.Inc(dropped);
        return dropped;
    }
}
