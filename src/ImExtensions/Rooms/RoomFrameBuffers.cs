using Google.Protobuf;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Messaging;
using MqttIm.ImExtensions.Sessions;
using WireFormat = MqttIm.ImExtensions.Sessions.WireFormat;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// One merged frame and its encodings: each encoding is built once, on first use, and its payload buffer is shared by
/// every viewer (and by the QoS 0 and QoS 1 messages). Only the frame pump touches it, so no locking.
/// </summary>
internal sealed class RoomFrameBuffers(string topic, RoomFrame frame, bool hasReliable, bool hasEphemeral)
{
    private readonly Downlink?[] _messages = new Downlink?[4];
    private readonly byte[]?[] _packets = new byte[]?[4];
    private byte[]? _json;
    private byte[]? _protobuf;
    private RoomFrameBuffers? _reliableOnly;

    public RoomFrame Frame { get; } = frame;

    /// <summary>Carries gift or system messages: never dropped for a slow viewer.</summary>
    public bool HasReliable { get; } = hasReliable;

    /// <summary>Carries chat, likes or join/leave news: may be dropped for a slow viewer.</summary>
    public bool HasEphemeral { get; } = hasEphemeral;

    public int MessageCount => Frame.Messages.Count;

    /// <summary>The frame as a message for viewers' sessions (QoS 1 viewers, or those without a raw outlet), built once.</summary>
    public Downlink MessageFor(WireFormat format, bool atMostOnce)
    {
        var index = (format == WireFormat.Json ? 0 : 2) + (atMostOnce ? 0 : 1);
        return _messages[index] ??= new Downlink(topic, PayloadFor(format), PayloadCodec.ContentTypeOf(format)) { AtMostOnce = atMostOnce };
    }

    /// <summary>The frame as a whole QoS 0 PUBLISH for a viewer's raw outlet (MQTT 5: with its Content Type), built once.</summary>
    public byte[] PacketFor(WireFormat format, bool mqtt5)
    {
        var index = (format == WireFormat.Json ? 0 : 2) + (mqtt5 ? 1 : 0);
        return _packets[index] ??= RoomPublishPacket.Encode(topic, PayloadFor(format), mqtt5 ? PayloadCodec.ContentTypeOf(format) : null);
    }

    private byte[] PayloadFor(WireFormat format) =>
        format == WireFormat.Json ? _json ??= PayloadCodec.Encode(Frame, WireFormat.Json) : _protobuf ??= Frame.ToByteArray();

    /// <summary>The same frame without its ephemeral content (what a viewer that fell behind still gets); built once.</summary>
    public RoomFrameBuffers ReliableOnly()
    {
        if (!HasEphemeral)
        {
            return this;
        }

        if (_reliableOnly is null)
        {
            var reduced = new RoomFrame { RoomId = Frame.RoomId, Viewers = Frame.Viewers, LastSeq = Frame.LastSeq, Closed = Frame.Closed, LikesTotal = Frame.LikesTotal };
            foreach (var message in Frame.Messages)
            {
                if (RoomKinds.IsReliable(message.Kind))
                {
                    reduced.Messages.Add(message);
                }
            }

            _reliableOnly = new RoomFrameBuffers(topic, reduced, hasReliable: true, hasEphemeral: false);
        }

        return _reliableOnly;
    }
}
