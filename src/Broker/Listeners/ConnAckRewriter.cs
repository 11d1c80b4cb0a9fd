using System.Buffers;
using System.Buffers.Binary;

using MqttIm.ImExtensions.Delivery;

namespace MqttIm.Broker.Listeners;

/// <summary>What the broker announces in an MQTT 5 CONNACK in place of MQTTnet's fixed values.</summary>
internal readonly record struct ConnAckAnnouncements(ushort TopicAliasMaximum, uint MaximumPacketSize, ushort? ServerKeepAlive);

/// <summary>
/// MQTTnet 5.2 always announces Topic Alias Maximum 65535, no Maximum Packet Size and no shared subscriptions; this
/// rewrites its MQTT 5 CONNACK (once per connection) to announce the broker's real limits and features.
/// </summary>
internal static class ConnAckRewriter
{
    /// <summary>The rewritten CONNACK, or null when <paramref name="packet"/> is not a well-formed MQTT 5 CONNACK.</summary>
    public static byte[]? Rewrite(ReadOnlySpan<byte> packet, ConnAckAnnouncements announce)
    {
        var reader = new MqttFieldReader(packet);
        if (!reader.TryReadByte(out var first) || first != 0x20 || !reader.TryReadVarInt(out var remaining)
            || reader.Remaining != remaining || !reader.TryReadByte(out var ackFlags) || !reader.TryReadByte(out var reasonCode)
            || !reader.TryReadVarInt(out var propertiesLength) || reader.Remaining != propertiesLength)
        {
            return null;
        }

        var properties = new ArrayBufferWriter<byte>(propertiesLength + 16);
        var old = new MqttFieldReader(reader.Rest);
        var source = reader.Rest;
        while (old.Remaining > 0)
        {
            var start = old.Position;
            if (!MqttProperties.TryRead(ref old, out var id, out _, out _))
            {
                return null;
            }

            if (id is MqttProperties.TopicAliasMaximum or MqttProperties.MaximumPacketSize or MqttProperties.SharedSubscriptionAvailable
                || (id == MqttProperties.ServerKeepAlive && announce.ServerKeepAlive.HasValue))
            {
                continue;
            }

            properties.Write(source[start..old.Position]);
        }

        if (announce.TopicAliasMaximum > 0)
        {
            WriteUInt16Property(properties, MqttProperties.TopicAliasMaximum, announce.TopicAliasMaximum);
        }

        if (announce.MaximumPacketSize > 0)
        {
            var span = properties.GetSpan(5);
            span[0] = MqttProperties.MaximumPacketSize;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], announce.MaximumPacketSize);
            properties.Advance(5);
        }

        // Shared subscriptions are the broker's own (SharedSubscribeRewriter); MQTTnet 5.2 announces them as unavailable.
        properties.Write([MqttProperties.SharedSubscriptionAvailable, (byte)1]);

        if (announce.ServerKeepAlive is { } keepAlive)
        {
            WriteUInt16Property(properties, MqttProperties.ServerKeepAlive, keepAlive);
        }

        var output = new ArrayBufferWriter<byte>(properties.WrittenCount + 16);
        var body = new ArrayBufferWriter<byte>(properties.WrittenCount + 8);
        body.Write([ackFlags, reasonCode]);
        WriteVarInt(body, properties.WrittenCount);
        body.Write(properties.WrittenSpan);
        output.Write([(byte)0x20]);
        WriteVarInt(output, body.WrittenCount);
        output.Write(body.WrittenSpan);
        return output.WrittenSpan.ToArray();
    }

    private static void WriteUInt16Property(ArrayBufferWriter<byte> output, byte id, ushort value)
    {
        var span = output.GetSpan(3);
        span[0] = id;
        BinaryPrimitives.WriteUInt16BigEndian(span[1..], value);
        output.Advance(3);
    }

    private static void WriteVarInt(ArrayBufferWriter<byte> output, int value) => output.Advance(VarInt.Write(output.GetSpan(4), value));
}
