using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using MqttIm.ImExtensions.SharedSubscriptions;

namespace MqttIm.Broker.Listeners;

/// <summary>
/// MQTTnet 5.2 answers every <c>$share/</c> filter of a SUBSCRIBE with 0x9E before any interceptor runs. This hands such
/// filters on to the broker's own shared subscriptions (ImExtensions/SharedSubscriptions) as
/// <see cref="SharedFilter.RewrittenPrefix"/><c>{subscriptionId}/{ShareName}/{filter}</c>, carrying the SUBSCRIBE's
/// Subscription Identifier that MQTTnet does not show its interceptor, and refuses No Local on a shared subscription
/// (a protocol error, MQTT 5.0 §3.8.3.1). Filters that are not shared pass unchanged.
/// </summary>
internal static class SharedSubscribeRewriter
{
    private static readonly byte[] Prefix = Encoding.ASCII.GetBytes(SharedFilter.Prefix);
    private static readonly byte[] Rewritten = Encoding.ASCII.GetBytes(SharedFilter.RewrittenPrefix);

    /// <summary>
    /// The SUBSCRIBE to hand MQTTnet instead of <paramref name="packet"/> (a whole, already validated SUBSCRIBE), or null
    /// when it has no shared filter. <paramref name="violation"/> is set (and null returned) for No Local on a shared filter.
    /// </summary>
    public static byte[]? Rewrite(ReadOnlySpan<byte> packet, bool mqtt5, out ProtocolViolation? violation)
    {
        violation = null;
        var reader = new MqttFieldReader(packet);
        if (!reader.TryReadByte(out _) || !reader.TryReadVarInt(out _))
        {
            return null;
        }

        var bodyStart = reader.Position;
        reader.TrySkip(2); // packet id
        uint subscriptionId = 0;
        if (mqtt5)
        {
            reader.TryReadVarInt(out var propertiesLength);
            var properties = new MqttFieldReader(reader.Rest[..propertiesLength]);
            while (properties.Remaining > 0 && MqttProperties.TryRead(ref properties, out var id, out var number, out _))
            {
                if (id == MqttProperties.SubscriptionIdentifier)
                {
                    subscriptionId = number;
                }
            }

            reader.TrySkip(propertiesLength);
        }

        var filtersStart = reader.Position;
        var shared = 0;
        var scan = reader;
        while (scan.TryReadPrefixed(out var filter) && scan.TryReadByte(out var options))
        {
            if (!filter.StartsWith(Prefix))
            {
                continue;
            }

            if (mqtt5 && (options & 0x04) != 0)
            {
                violation = new ProtocolViolation(ProtocolViolation.ProtocolError, "No Local on a shared subscription");
                return null;
            }

            shared++;
        }

        if (shared == 0)
        {
            return null;
        }

        // Same packet id and properties; each shared filter gets the prefix MQTTnet lets through.
        var idLevel = Encoding.ASCII.GetBytes(subscriptionId.ToString(CultureInfo.InvariantCulture) + "/");
        var body = new ArrayBufferWriter<byte>(packet.Length + shared * (idLevel.Length + 1));
        body.Write(packet[bodyStart..filtersStart]);
        while (reader.TryReadPrefixed(out var filter) && reader.TryReadByte(out var options))
        {
            var isShared = filter.StartsWith(Prefix);
            var length = isShared ? filter.Length - Prefix.Length + Rewritten.Length + idLevel.Length : filter.Length;
            if (length > ushort.MaxValue)
            {
                violation = new ProtocolViolation(ProtocolViolation.MalformedPacket, "shared topic filter too long");
                return null;
            }

            var lengthBytes = body.GetSpan(2);
            BinaryPrimitives.WriteUInt16BigEndian(lengthBytes, (ushort)length);
            body.Advance(2);
            if (isShared)
            {
                body.Write(Rewritten);
                body.Write(idLevel);
                body.Write(filter[Prefix.Length..]);
            }
            else
            {
                body.Write(filter);
            }

            body.Write([options]);
        }

        var output = new ArrayBufferWriter<byte>(body.WrittenCount + 5);
        output.Write([packet[0]]);
        var remaining = body.WrittenCount;
        do
        {
            var b = (byte)(remaining % 128);
            remaining /= 128;
            output.Write([remaining > 0 ? (byte)(b | 0x80) : b]);
        }
        while (remaining > 0);
        output.Write(body.WrittenSpan);
        return output.WrittenSpan.ToArray();
    }
}
