using MqttIm.ImExtensions.Delivery;

namespace MqttIm.Broker.Listeners;

/// <summary>
/// Removes the Reason String (0x1F) and User Properties (0x26) of an MQTT 5 packet other than PUBLISH: the spec lets
/// the server send them only when the client did not set Request Problem Information to 0 (acknowledgements) and only
/// when they do not take the packet over the client's Maximum Packet Size (every packet).
/// </summary>
internal static class ProblemInformation
{
    /// <summary>PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK: the packets [MQTT-3.1.2-29] is about.</summary>
    public static bool AppliesTo(byte firstByte) => (firstByte >> 4) is 4 or 5 or 6 or 7 or 9 or 11;

    /// <summary>The packet without those properties, or null when it has none (or cannot be read).</summary>
    public static byte[]? Strip(ReadOnlySpan<byte> packet)
    {
        var reader = new MqttFieldReader(packet);
        if (!reader.TryReadByte(out var first) || !reader.TryReadVarInt(out var remaining) || reader.Remaining != remaining)
        {
            return null;
        }

        // Bytes of the variable header before its properties; packets this short have no properties at all.
        var before = (first >> 4) switch
        {
            4 or 5 or 6 or 7 => 3, // packet id, reason code
            9 or 11 => 2, // packet id
            2 => 2, // CONNACK flags, reason code
            14 or 15 => 1, // DISCONNECT / AUTH reason code
            _ => -1,
        };
        if (before < 0 || remaining <= before)
        {
            return null;
        }

        var headerLength = reader.Position;
        reader.TrySkip(before);
        if (!reader.TryReadVarInt(out var propertiesLength) || reader.Remaining < propertiesLength)
        {
            return null;
        }

        var propertiesStart = reader.Position;
        var properties = packet.Slice(propertiesStart, propertiesLength);
        var kept = new byte[propertiesLength];
        var keptLength = 0;
        var position = 0;
        while (position < properties.Length)
        {
            var property = new MqttFieldReader(properties[position..]);
            if (!MqttProperties.TryRead(ref property, out var id, out _, out _))
            {
                return null;
            }

            if (id is not (MqttProperties.ReasonString or 0x26))
            {
                properties.Slice(position, property.Position).CopyTo(kept.AsSpan(keptLength));
                keptLength += property.Position;
            }

            position += property.Position;
        }

        if (keptLength == propertiesLength)
        {
            return null;
        }

        var rest = packet[(propertiesStart + propertiesLength)..];
        var newRemaining = before + VarInt.Size(keptLength) + keptLength + rest.Length;
        var output = new byte[1 + VarInt.Size(newRemaining) + newRemaining];
        var at = 0;
        output[at++] = first;
        at += VarInt.Write(output.AsSpan(at), newRemaining);
        packet.Slice(headerLength, before).CopyTo(output.AsSpan(at));
        at += before;
        at += VarInt.Write(output.AsSpan(at), keptLength);
        kept.AsSpan(0, keptLength).CopyTo(output.AsSpan(at));
        at += keptLength;
        rest.CopyTo(output.AsSpan(at));
        return output;
    }
}
