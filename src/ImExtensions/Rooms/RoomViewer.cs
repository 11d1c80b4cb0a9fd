using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// One viewer of one room on this node. Frames go straight into its MQTTnet session, but never more than
/// <see cref="RoomOptions.InFlightFramesPerViewer"/> at once: MQTTnet's own queue drops its oldest entry blindly when full,
/// so a viewer that falls behind queues here instead, where ephemeral frames are dropped first and gifts never.
/// Offer and Pump run on the frame pump only.
/// </summary>
internal sealed class RoomViewer(string clientId, string userId, string connectionKey, WireFormat format, MqttQualityOfServiceLevel qos, MqttSessionStatus session)
{
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

    /// <summary>Moves backlog frames into the session while it has room.</summary>
    public void Pump(RoomOptions options)
    {
        var handed = 0;
        while (handed < _backlog.Count && session.PendingApplicationMessagesCount < options.InFlightFramesPerViewer)
        {
            var frame = _backlog[handed++];
            if (session.TryEnqueueApplicationMessage(frame.MessageFor(format, qos), out _))
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
