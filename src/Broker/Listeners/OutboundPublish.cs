using System.Buffers.Binary;
using System.Text;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Flow;

namespace MqttIm.Broker.Listeners;

/// <summary>What the outbound flow layer does with a PUBLISH that carries the broker's receive stamp.</summary>
internal enum ExpiryOutcome
{
    /// <summary>No stamp: sent as MQTTnet wrote it.</summary>
    Unchanged,

    /// <summary>Stamp removed, Message Expiry Interval lowered to what is left of it.</summary>
    Rewritten,

    /// <summary>The message expired while it waited in the broker: not sent.</summary>
    Expired,
}

/// <summary>
/// Reads and rewrites an outgoing MQTT 5 PUBLISH (spec 3.3) as MQTTnet encoded it: its QoS and packet id, and the
/// expiry bookkeeping of <see cref="MessageExpiryStamp"/>.
/// </summary>
internal static class OutboundPublish
{
    private static readonly byte[] StampKey = Encoding.UTF8.GetBytes(MessageExpiryStamp.Key);

    /// <summary>QoS and packet id (0 for QoS 0); false when the bytes are not a whole, well-formed PUBLISH.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> packet, out int qos, out ushort packetId)
    {
        qos = (packet[0] >> 1) & 0x03;
        packetId = 0;
        var reader = new MqttFieldReader(packet);
        if (!reader.TryReadByte(out _) || !reader.TryReadVarInt(out var remaining) || reader.Remaining != remaining
            || !reader.TryReadPrefixed(out _))
        {
            return false;
        }

        return qos == 0 || reader.TryReadUInt16(out packetId);
    }

    /// <summary>
    /// Applies the receive stamp of <paramref name="packet"/> (an MQTT 5 PUBLISH) at <paramref name="nowMs"/> (Unix ms):
    /// the remaining Message Expiry Interval is the received one minus the time the message waited, rounded up.
    /// </summary>
    public static ExpiryOutcome ApplyExpiry(ReadOnlySpan<byte> packet, long nowMs, out byte[]? rewritten)
    {
        rewritten = null;
        var reader = new MqttFieldReader(packet);
        if (!reader.TryReadByte(out var first) || !reader.TryReadVarInt(out var remaining) || reader.Remaining != remaining
            || !reader.TryReadPrefixed(out _))
        {
            return ExpiryOutcome.Unchanged;
        }

        if (((first >> 1) & 0x03) != 0 && !reader.TryReadUInt16(out _))
        {
            return ExpiryOutcome.Unchanged;
        }

        var beforeProperties = reader.Position;
        if (!reader.TryReadVarInt(out var propertiesLength) || reader.Remaining < propertiesLength || propertiesLength == 0)
        {
            return ExpiryOutcome.Unchanged;
        }

        var propertiesStart = reader.Position;
        var properties = packet.Slice(propertiesStart, propertiesLength);
        if (!TryFindStamp(properties, out var expiryAt, out var stampStart, out var stampEnd, out var receivedMs))
        {
            return ExpiryOutcome.Unchanged;
        }

        uint? newExpiry = null;
        if (expiryAt >= 0)
        {
            var expiryMs = BinaryPrimitives.ReadUInt32BigEndian(properties[expiryAt..]) * 1000L;
            var leftMs = expiryMs - Math.Max(0, nowMs - receivedMs);
            if (leftMs <= 0)
            {
                return ExpiryOutcome.Expired;
            }

            newExpiry = (uint)((leftMs + 999) / 1000);
        }

        // Same packet without the stamp property, the expiry (if any) set to what is left.
        var newPropertiesLength = propertiesLength - (stampEnd - stampStart);
        var payload = packet[(propertiesStart + propertiesLength)..];
        var variableHeader = packet[(1 + VarInt.Size(remaining))..beforeProperties];
        var newRemaining = variableHeader.Length + VarInt.Size(newPropertiesLength) + newPropertiesLength + payload.Length;
        var output = new byte[1 + VarInt.Size(newRemaining) + newRemaining];
        var at = 0;
        output[at++] = first;
        at += VarInt.Write(output.AsSpan(at), newRemaining);
        variableHeader.CopyTo(output.AsSpan(at));
        at += variableHeader.Length;
        at += VarInt.Write(output.AsSpan(at), newPropertiesLength);
        var propertiesOut = at;
        properties[..stampStart].CopyTo(output.AsSpan(at));
        at += stampStart;
        properties[stampEnd..].CopyTo(output.AsSpan(at));
        at += properties.Length - stampEnd;
        payload.CopyTo(output.AsSpan(at));
        if (newExpiry is { } seconds)
        {
            var expiryOut = expiryAt < stampStart ? expiryAt : expiryAt - (stampEnd - stampStart);
            BinaryPrimitives.WriteUInt32BigEndian(output.AsSpan(propertiesOut + expiryOut), seconds);
        }

        rewritten = output;
        return ExpiryOutcome.Rewritten;
    }

    /// <summary>Where the Message Expiry Interval value is (-1: none) and the stamp property's range and value.</summary>
    private static bool TryFindStamp(ReadOnlySpan<byte> properties, out int expiryAt, out int stampStart, out int stampEnd, out long receivedMs)
    {
        expiryAt = -1;
        stampStart = stampEnd = -1;
        receivedMs = 0;
        var position = 0;
        while (position < properties.Length)
        {
            var start = position;
            var reader = new MqttFieldReader(properties[position..]);
            if (!reader.TryReadVarInt(out var id))
            {
                return false;
            }

            if (id == 0x26)
            {
                if (!reader.TryReadPrefixed(out var key) || !reader.TryReadPrefixed(out var value))
                {
                    return false;
                }

                position += reader.Position;
                if (key.SequenceEqual(StampKey) && long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed))
                {
                    stampStart = start;
                    stampEnd = position;
                    receivedMs = parsed;
                }

                continue;
            }

            if (id == MqttProperties.MessageExpiryInterval)
            {
                expiryAt = start + reader.Position;
            }

            reader = new MqttFieldReader(properties[position..]);
            if (!MqttProperties.TryRead(ref reader, out _, out _, out _))
            {
                return false;
            }

            position += reader.Position;
        }

        return stampStart >= 0;
    }
}
