using System.Buffers.Binary;
using System.Text;

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
        var remaining = 2 + topicLength + (contentType is null ? 0 : VarIntSize(propertiesLength) + propertiesLength) + payload.Length;
        var packet = new byte[1 + VarIntSize(remaining) + remaining];
        var at = 0;
        packet[at++] = PublishQos0;
        at += WriteVarInt(packet.AsSpan(at), remaining);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(at), (ushort)topicLength);
        at += 2;
        at += Encoding.UTF8.GetBytes(topic, packet.AsSpan(at));
        if (contentType is not null)
        {
            at += WriteVarInt(packet.AsSpan(at), propertiesLength);
            packet[at++] = ContentTypeProperty;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(at), (ushort)typeLength);
            at += 2;
            at += Encoding.UTF8.GetBytes(contentType, packet.AsSpan(at));
        }

        payload.CopyTo(packet.AsSpan(at));
        return packet;
    }

    private static int VarIntSize(int value) => value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;

    private static int WriteVarInt(Span<byte> destination, int value)
    {
        var i = 0;
        do
        {
            var digit = (byte)(value % 128);
            value /= 128;
            destination[i++] = value > 0 ? (byte)(digit | 0x80) : digit;
        }
        while (value > 0);

        return i;
    }
}
