namespace MqttIm.Broker.Listeners;

/// <summary>MQTT 5 properties: reads one at a time by its identifier's data type (spec 2.2.2.2).</summary>
internal static class MqttProperties
{
    public const byte MessageExpiryInterval = 0x02;
    public const byte SubscriptionIdentifier = 0x0B;
    public const byte SessionExpiryInterval = 0x11;
    public const byte AssignedClientIdentifier = 0x12;
    public const byte ServerKeepAlive = 0x13;
    public const byte RequestProblemInformation = 0x17;
    public const byte WillDelayInterval = 0x18;
    public const byte ReasonString = 0x1F;
    public const byte ReceiveMaximum = 0x21;
    public const byte TopicAliasMaximum = 0x22;
    public const byte TopicAlias = 0x23;
    public const byte MaximumPacketSize = 0x27;
    public const byte SharedSubscriptionAvailable = 0x2A;

    /// <summary>
    /// One property: its id and either its number (byte, two/four-byte or variable integers) or its bytes (string,
    /// binary, or the key of a string pair). False for an unknown id, truncated data or a string that is not UTF-8.
    /// </summary>
    public static bool TryRead(ref MqttFieldReader reader, out byte id, out uint number, out ReadOnlySpan<byte> bytes)
    {
        number = 0;
        bytes = default;
        if (!reader.TryReadVarInt(out var rawId) || rawId > 0x7F)
        {
            id = 0;
            return false;
        }

        id = (byte)rawId;
        switch (id)
        {
            case 0x01 or 0x17 or 0x19 or 0x24 or 0x25 or 0x28 or 0x29 or 0x2A:
                var ok = reader.TryReadByte(out var b);
                number = b;
                return ok;
            case 0x13 or 0x21 or 0x22 or 0x23:
                ok = reader.TryReadUInt16(out var s);
                number = s;
                return ok;
            case 0x02 or 0x11 or 0x18 or 0x27:
                return reader.TryReadUInt32(out number);
            case 0x0B:
                ok = reader.TryReadVarInt(out var v);
                number = (uint)v;
                return ok;
            case 0x03 or 0x08 or 0x12 or 0x15 or 0x1A or 0x1C or 0x1F:
                return reader.TryReadPrefixed(out bytes) && MqttStrings.IsWellFormed(bytes);
            case 0x09 or 0x16:
                return reader.TryReadPrefixed(out bytes);
            case 0x26:
                return reader.TryReadPrefixed(out bytes) && MqttStrings.IsWellFormed(bytes)
                    && reader.TryReadPrefixed(out var value) && MqttStrings.IsWellFormed(value);
            default:
                return false;
        }
    }
}
