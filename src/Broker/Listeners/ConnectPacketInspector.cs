namespace MqttIm.Broker.Listeners;

/// <summary>What the packet layer needs from a client's CONNECT, and whether the CONNECT is well-formed.</summary>
internal readonly record struct ConnectSummary(
    int ProtocolLevel,
    bool CleanSession,
    bool EmptyClientId,
    ushort KeepAliveSeconds,
    ushort ReceiveMaximum,
    uint MaximumPacketSize,
    bool NoProblemInformation = false,
    uint SessionExpiryInterval = 0,
    bool HasWill = false);

/// <summary>
/// Reads a whole CONNECT (spec 3.1) before MQTTnet does: MQTTnet replaces invalid UTF-8 in the client id or user
/// name instead of refusing it, and accepts reserved flag bits and will QoS 3.
/// </summary>
internal static class ConnectPacketInspector
{
    private static readonly ProtocolViolation Malformed = new(ProtocolViolation.MalformedPacket, "malformed CONNECT");

    /// <summary>The summary, or a violation to answer with a refusing CONNACK (MQTT 5) or a close.</summary>
    public static ProtocolViolation? Inspect(ReadOnlySpan<byte> packet, out ConnectSummary summary)
    {
        summary = default;
        var reader = new MqttFieldReader(packet);
        if (!reader.TryReadByte(out var first) || first != 0x10 || !reader.TryReadVarInt(out _))
        {
            return new ProtocolViolation(ProtocolViolation.ProtocolError, "the first packet must be CONNECT");
        }

        if (!reader.TryReadPrefixed(out _) || !reader.TryReadByte(out var level) || !reader.TryReadByte(out var flags)
            || !reader.TryReadUInt16(out var keepAlive))
        {
            return Malformed;
        }

        if (level is not (3 or 4 or 5))
        {
            // MQTTnet answers an unknown protocol level itself (CONNACK 0x01 / 0x84).
            summary = new ConnectSummary(level, true, false, keepAlive, 0, 0);
            return null;
        }

        summary = new ConnectSummary(level, false, false, keepAlive, 0, 0);
        var cleanSession = (flags & 0x02) != 0;
        var will = (flags & 0x04) != 0;
        var willQos = (flags >> 3) & 0x03;
        var willRetain = (flags & 0x20) != 0;
        var hasPassword = (flags & 0x40) != 0;
        var hasUserName = (flags & 0x80) != 0;
        if ((flags & 0x01) != 0 || willQos == 3 || (!will && (willQos != 0 || willRetain)) || (level < 5 && hasPassword && !hasUserName))
        {
            return new ProtocolViolation(ProtocolViolation.MalformedPacket, "CONNECT flags malformed");
        }

        ushort receiveMaximum = 0;
        uint maximumPacketSize = 0;
        var noProblemInformation = false;
        uint sessionExpiry = 0;
        if (level == 5)
        {
            if (!TryReadProperties(ref reader, out var properties))
            {
                return Malformed;
            }

            while (properties.Remaining > 0)
            {
                if (!MqttProperties.TryRead(ref properties, out var id, out var number, out _))
                {
                    return Malformed;
                }

                if (id == MqttProperties.ReceiveMaximum)
                {
                    if (number == 0)
                    {
                        return new ProtocolViolation(ProtocolViolation.ProtocolError, "Receive Maximum 0");
                    }

                    receiveMaximum = (ushort)number;
                }
                else if (id == MqttProperties.SessionExpiryInterval)
                {
                    sessionExpiry = number;
                }
                else if (id == MqttProperties.MaximumPacketSize)
                {
                    if (number == 0)
                    {
                        return new ProtocolViolation(ProtocolViolation.ProtocolError, "Maximum Packet Size 0");
                    }

                    maximumPacketSize = number;
                }
                else if (id == MqttProperties.RequestProblemInformation)
                {
                    noProblemInformation = number == 0;
                }
            }
        }

        if (!reader.TryReadPrefixed(out var clientId))
        {
            return Malformed;
        }

        if (!MqttStrings.IsWellFormed(clientId))
        {
            return new ProtocolViolation(0x85, "client id is not well-formed UTF-8");
        }

        if (will)
        {
            if (level == 5)
            {
                if (!TryReadProperties(ref reader, out var willProperties))
                {
                    return Malformed;
                }

                while (willProperties.Remaining > 0)
                {
                    if (!MqttProperties.TryRead(ref willProperties, out _, out _, out _))
                    {
                        return Malformed;
                    }
                }
            }

            if (!reader.TryReadPrefixed(out var willTopic) || !reader.TryReadPrefixed(out _))
            {
                return Malformed;
            }

            if (willTopic.IsEmpty || !MqttStrings.IsValidTopicName(willTopic))
            {
                return new ProtocolViolation(ProtocolViolation.TopicNameInvalid, "will topic is not a valid topic name");
            }
        }

        if (hasUserName)
        {
            if (!reader.TryReadPrefixed(out var userName))
            {
                return Malformed;
            }

            if (!MqttStrings.IsWellFormed(userName))
            {
                return new ProtocolViolation(ProtocolViolation.MalformedPacket, "user name is not well-formed UTF-8");
            }
        }

        if (hasPassword && !reader.TryReadPrefixed(out _))
        {
            return Malformed;
        }

        if (reader.Remaining != 0)
        {
            return Malformed;
        }

        summary = new ConnectSummary(level, cleanSession, clientId.IsEmpty, keepAlive, receiveMaximum, maximumPacketSize, noProblemInformation, sessionExpiry, will);
        return null;
    }

    private static bool TryReadProperties(ref MqttFieldReader reader, out MqttFieldReader properties)
    {
        properties = default;
        if (!reader.TryReadVarInt(out var length) || reader.Remaining < length)
        {
            return false;
        }

        properties = new MqttFieldReader(reader.Rest[..length]);
        reader.TrySkip(length);
        return true;
    }
}

/// <summary>Rewrites the Keep Alive of a CONNECT (so MQTTnet enforces the value the broker announced).</summary>
internal static class ConnectKeepAlive
{
    /// <summary>A copy of <paramref name="packet"/> with its Keep Alive field set to <paramref name="seconds"/>.</summary>
    public static byte[] WithKeepAlive(ReadOnlySpan<byte> packet, ushort seconds)
    {
        var copy = packet.ToArray();
        var reader = new MqttFieldReader(copy);
        reader.TryReadByte(out _);
        reader.TryReadVarInt(out _);
        reader.TryReadPrefixed(out _);
        reader.TryReadByte(out _);
        reader.TryReadByte(out _);
        var at = reader.Position;
        copy[at] = (byte)(seconds >> 8);
        copy[at + 1] = (byte)seconds;
        return copy;
    }
}
