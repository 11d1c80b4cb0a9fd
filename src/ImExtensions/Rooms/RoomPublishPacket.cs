using System.Buffers.Binary;
using System.Text;
using MqttIm.ImExtensions.Delivery;

namespace MqttIm.ImExtensions.Rooms;

/// <summary>
/// A room frame as a whole QoS 0 PUBLISH packet (MQTT 3.1.1 §3.3 / MQTT 5 §3.3), encoded once per frame, encoding and
/// protocol version and written as is to every viewer's connection: the same bytes MQTTnet would send for the frame's
/// message (for MQTT 5 with the Content Type property), without a packet per viewer.
/// </summary>
internal static class RoomPublishPacket
{
    private const byte PublishQos0 = 0x30;
    private const byte ContentTypeProperty = 0x03;

    public static byte[] Encode(string topic, ReadOnlySpan<byte> payload, string? contentType)
    {
        var topicLength = Encoding.UTF8.GetByteCount(topic);
        var typeLength = contentType is null ? 0 : Encoding.UTF8.GetByteCount(contentType);
        var propertiesLength = contentType is null ? 0 : 1 + 2 + typeLength;
        var remaining = 2 + topicLength + (contentType is null ? 0 : VarInt.Size(propertiesLength) + propertiesLength) + payload.Length;
        var packet = new byte[1 + VarInt.Size(remaining) + remaining];
        var at = 0;
        packet[at++] = PublishQos0;
        at += VarInt.Write(packet.AsSpan(at), remaining);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(at), (ushort)topicLength);
        at += 2;
        at += Encoding.UTF8.GetBytes(topic, packet.AsSpan(at));
        if (contentType is not null)
        {
            at += VarInt.Write(packet.AsSpan(at), propertiesLength);
            packet[at++] = ContentTypeProperty;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(at), (ushort)typeLength);
            at += 2;
            at += Encoding.UTF8.GetBytes(contentType, packet.AsSpan(at));
        }

        payload.CopyTo(packet.AsSpan(at));
        return packet;
    }
}
