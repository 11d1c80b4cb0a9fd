using System.Text;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Wills;

namespace MqttIm.Broker.Listeners;

/// <summary>
/// Takes the Will Message out of a CONNECT (spec 3.1.2.5-3.1.2.7, 3.1.3.2-3.1.3.4) so MQTTnet never holds it: MQTTnet 5.2
/// ignores the Will Delay Interval, drops the will on every DISCONNECT (0x04 "Disconnect with Will Message" included)
/// and never sends it on a takeover. <see cref="WillDelayScheduler"/> publishes it instead.
/// </summary>
internal static class ConnectWill
{
    private const byte WillFlags = 0x04 | 0x18 | 0x20; // will flag, will QoS, will retain

    /// <summary>
    /// A copy of <paramref name="packet"/> (a CONNECT already checked by <see cref="ConnectPacketInspector"/>, will flag
    /// set) without the will, and the will itself; null when the packet does not read as expected (left as it is then).
    /// </summary>
    public static byte[]? TryExtract(ReadOnlySpan<byte> packet, out WillMessage? will)
    {
        will = null;
        var reader = new MqttFieldReader(packet);
        if (!reader.TryReadByte(out _) || !reader.TryReadVarInt(out _))
        {
            return null;
        }

        var headerStart = reader.Position;
        if (!reader.TryReadPrefixed(out _) || !reader.TryReadByte(out var level))
        {
            return null;
        }

        var flagsAt = reader.Position;
        if (!reader.TryReadByte(out var flags) || (flags & 0x04) == 0 || !reader.TryReadUInt16(out _))
        {
            return null;
        }

        if (level == 5 && !TrySkipProperties(ref reader))
        {
            return null;
        }

        if (!reader.TryReadPrefixed(out _))
        {
            return null;
        }

        var willStart = reader.Position;
        uint delay = 0, expiry = 0;
        byte format = 0;
        string? contentType = null, responseTopic = null;
        byte[]? correlation = null;
        List<KeyValuePair<string, string>>? userProperties = null;
        if (level == 5)
        {
            if (!reader.TryReadVarInt(out var length) || reader.Remaining < length)
            {
                return null;
            }

            var properties = new MqttFieldReader(reader.Rest[..length]);
            reader.TrySkip(length);
            while (properties.Remaining > 0)
            {
                // User properties are pairs: read here, MqttProperties only returns the key.
                var peek = properties;
                if (peek.TryReadVarInt(out var id) && id == 0x26)
                {
                    if (!peek.TryReadPrefixed(out var key) || !peek.TryReadPrefixed(out var value))
                    {
                        return null;
                    }

                    (userProperties ??= []).Add(new(Encoding.UTF8.GetString(key), Encoding.UTF8.GetString(value)));
                    properties = peek;
                    continue;
                }

                if (!MqttProperties.TryRead(ref properties, out var propertyId, out var number, out var bytes))
                {
                    return null;
                }

                switch (propertyId)
                {
                    case MqttProperties.WillDelayInterval:
                        delay = number;
                        break;
                    case 0x01:
                        format = (byte)number;
                        break;
                    case MqttProperties.MessageExpiryInterval:
                        expiry = number;
                        break;
                    case 0x03:
                        contentType = Encoding.UTF8.GetString(bytes);
                        break;
                    case 0x08:
                        responseTopic = Encoding.UTF8.GetString(bytes);
                        break;
                    case 0x09:
                        correlation = bytes.ToArray();
                        break;
                }
            }
        }

        if (!reader.TryReadPrefixed(out var topic) || !reader.TryReadPrefixed(out var payload))
        {
            return null;
        }

        var willEnd = reader.Position;
        will = new WillMessage(Encoding.UTF8.GetString(topic), payload.ToArray(), (flags >> 3) & 0x03, (flags & 0x20) != 0,
            delay, contentType, responseTopic, correlation, format, expiry, userProperties);

        // Fixed header with the new remaining length, then everything but the will, with the will flags cleared.
        var remaining = packet.Length - headerStart - (willEnd - willStart);
        var output = new byte[1 + VarInt.Size(remaining) + remaining];
        output[0] = 0x10;
        var at = 1 + VarInt.Write(output.AsSpan(1), remaining);
        var flagsOut = at + (flagsAt - headerStart);
        packet[headerStart..willStart].CopyTo(output.AsSpan(at));
        at += willStart - headerStart;
        packet[willEnd..].CopyTo(output.AsSpan(at));
        output[flagsOut] = (byte)(flags & ~WillFlags);
        return output;
    }

    private static bool TrySkipProperties(ref MqttFieldReader reader) =>
        reader.TryReadVarInt(out var length) && reader.TrySkip(length);
}
