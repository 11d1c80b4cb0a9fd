namespace MqttIm.Broker.Listeners;

/// <summary>
/// Checks each packet a client sends after its CONNECT before MQTTnet decodes it, because MQTTnet accepts what the
/// spec calls malformed (wildcards, U+0000 or invalid UTF-8 in topic names, QoS 3, SUBSCRIBE without filters,
/// reserved flag bits) and stores topic aliases up to 65535 before any hook runs. One instance per connection.
/// </summary>
internal sealed class ControlPacketValidator(int protocolLevel, int topicAliasMaximum, int maxTopicAliasBytes)
{
    private static readonly ProtocolViolation Malformed = new(ProtocolViolation.MalformedPacket, "malformed packet");

    // Inbound QoS 2 packet ids between PUBLISH and PUBREL (one bit each), allocated on the first QoS 2 PUBLISH.
    private ulong[]? _awaitingRelease;
    private int _duplicateId = -1;

    // A SUBSCRIBE with $share/ filters, as MQTTnet is to read it instead (see SharedSubscribeRewriter).
    private byte[]? _rewritten;

    // Topic length held behind each alias (index = alias), allocated on first use; their sum is bounded.
    private ushort[]? _aliasLengths;
    private int _aliasBytes;

    public int ProtocolLevel { get; } = protocolLevel;

    public bool IsMqtt5 => ProtocolLevel >= 5;

    /// <summary>
    /// Told of every PUBACK, PUBREC and PUBCOMP before MQTTnet reads it (the outbound flow layer itself, not a delegate
    /// to it: one object fewer on every MQTT 5 connection).
    /// </summary>
    public OutboundFlowWriter? OutboundFlow { get; set; }

    /// <summary>The Session Expiry Interval of this connection's CONNECT (MQTT 5): a DISCONNECT may not raise it from 0.</summary>
    public uint ConnectSessionExpiry { get; set; }

    /// <summary>Called with the Session Expiry Interval an MQTT 5 DISCONNECT sets (MQTTnet 5.2 reads 0 as "absent" and ignores the rest).</summary>
    public Action<uint>? SessionExpiryOnDisconnect { get; set; }

    /// <summary>
    /// After a <see cref="Validate"/> without violation: the packet id when that packet was a QoS 2 PUBLISH whose id is
    /// still awaiting PUBREL (a duplicate, not to be delivered again). Reading it clears it.
    /// </summary>
    public bool TakeDuplicate(out ushort packetId)
    {
        packetId = (ushort)Math.Max(_duplicateId, 0);
        var duplicate = _duplicateId >= 0;
        _duplicateId = -1;
        return duplicate;
    }

    /// <summary>After a <see cref="Validate"/> without violation: the packet to hand MQTTnet in its place, if any. Reading it clears it.</summary>
    public bool TakeRewritten(out byte[] packet)
    {
        packet = _rewritten ?? [];
        _rewritten = null;
        return packet.Length > 0;
    }

    /// <summary>
    /// Null when the packet is acceptable. <paramref name="packet"/> holds the packet from its first byte; when it is
    /// only a prefix (<paramref name="complete"/> false) and more bytes are needed to decide, sets <paramref name="needsWholePacket"/>.
    /// </summary>
    public ProtocolViolation? Validate(ReadOnlySpan<byte> packet, bool complete, out bool needsWholePacket)
    {
        needsWholePacket = false;
        var reader = new MqttFieldReader(packet);
        reader.TryReadByte(out var first);
        if (!reader.TryReadVarInt(out _))
        {
            return Malformed;
        }

        var flags = first & 0x0F;
        var body = new MqttFieldReader(reader.Rest);
        ProtocolViolation? violation;
        switch (first >> 4)
        {
            case 3:
                violation = ValidatePublish(ref body, flags);
                break;
            case 8 or 10 when !complete:
                // Filters are checked all together: look again with the whole packet.
                needsWholePacket = true;
                return null;
            case 8:
                violation = flags != 0x02 ? Malformed : ValidateSubscribe(ref body);
                if (violation is null)
                {
                    _rewritten = SharedSubscribeRewriter.Rewrite(packet, IsMqtt5, out violation);
                }

                break;
            case 10:
                violation = flags != 0x02 ? Malformed : ValidateUnsubscribe(ref body);
                break;
            case 6:
                if (flags != 0x02)
                {
                    return Malformed;
                }

                if (body.TryReadUInt16(out var released) && _awaitingRelease is { } awaiting)
                {
                    awaiting[released >> 6] &= ~(1UL << (released & 63));
                }

                return null;
            case 4 or 5 or 7:
                if (flags != 0)
                {
                    return Malformed;
                }

                if (OutboundFlow is { } outboundFlow && body.TryReadUInt16(out var acknowledged))
                {
                    outboundFlow.OnClientAck(first >> 4, acknowledged, body.TryReadByte(out var ackReason) ? ackReason : (byte)0);
                }

                return null;
            case 14 when IsMqtt5 && flags == 0 && !complete:
                needsWholePacket = true;
                return null;
            case 14 when IsMqtt5 && flags == 0:
                return ValidateDisconnect(ref body);
            case 12 or 14:
                return flags != 0 ? Malformed : null;
            case 15 when IsMqtt5:
                return flags != 0 ? Malformed : null;
            case 1:
                return new ProtocolViolation(ProtocolViolation.ProtocolError, "second CONNECT");
            default:
                return new ProtocolViolation(ProtocolViolation.ProtocolError, "packet type not allowed from a client");
        }

        if (violation == TruncatedField && !complete)
        {
            needsWholePacket = true;
            return null;
        }

        return violation;
    }

    // A reason that means "ran past the bytes given": malformed if the packet was whole, else look again with all of it.
    private const string Truncated = "malformed packet (truncated field)";
    private static readonly ProtocolViolation TruncatedField = new(ProtocolViolation.MalformedPacket, Truncated);

    private ProtocolViolation? ValidatePublish(ref MqttFieldReader body, int flags)
    {
        var qos = (flags >> 1) & 0x03;
        if (qos == 3)
        {
            return new ProtocolViolation(ProtocolViolation.MalformedPacket, "QoS 3 is malformed");
        }

        if (!body.TryReadPrefixed(out var topic))
        {
            return TruncatedField;
        }

        if (!MqttStrings.IsValidTopicName(topic))
        {
            return new ProtocolViolation(ProtocolViolation.TopicNameInvalid, "topic name with a wildcard, U+0000 or invalid UTF-8");
        }

        ushort packetId = 0;
        if (qos > 0)
        {
            if (!body.TryReadUInt16(out packetId))
            {
                return TruncatedField;
            }

            if (packetId == 0)
            {
                return new ProtocolViolation(ProtocolViolation.ProtocolError, "packet identifier 0");
            }
        }

        if (!IsMqtt5)
        {
            return topic.IsEmpty ? new ProtocolViolation(ProtocolViolation.TopicNameInvalid, "empty topic name") : TrackQos2(qos, packetId);
        }

        if (!body.TryReadVarInt(out var propertiesLength))
        {
            return TruncatedField;
        }

        if (body.Remaining < propertiesLength)
        {
            return TruncatedField;
        }

        var properties = new MqttFieldReader(body.Rest[..propertiesLength]);
        var alias = -1;
        while (properties.Remaining > 0)
        {
            if (!MqttProperties.TryRead(ref properties, out var id, out var number, out _))
            {
                return Malformed;
            }

            if (id == MqttProperties.TopicAlias)
            {
                alias = (int)number;
            }
        }

        if (alias < 0)
        {
            return topic.IsEmpty ? new ProtocolViolation(ProtocolViolation.ProtocolError, "empty topic name without a topic alias") : TrackQos2(qos, packetId);
        }

        return ApplyAlias(alias, topic.Length) ?? TrackQos2(qos, packetId);
    }

    /// <summary>Runs last, once the packet is known to be acceptable (so a second look at the same packet does not count twice).</summary>
    private ProtocolViolation? TrackQos2(int qos, ushort packetId)
    {
        if (qos != 2)
        {
            return null;
        }

        var awaiting = _awaitingRelease ??= new ulong[65536 / 64];
        var bit = 1UL << (packetId & 63);
        if ((awaiting[packetId >> 6] & bit) != 0)
        {
            _duplicateId = packetId;
        }

        awaiting[packetId >> 6] |= bit;
        return null;
    }

    private ProtocolViolation? ApplyAlias(int alias, int topicLength)
    {
        if (alias == 0 || alias > topicAliasMaximum)
        {
            return new ProtocolViolation(ProtocolViolation.TopicAliasInvalid, $"topic alias must be 1..{topicAliasMaximum}");
        }

        _aliasLengths ??= new ushort[topicAliasMaximum + 1];
        if (topicLength == 0)
        {
            return _aliasLengths[alias] == 0
                ? new ProtocolViolation(ProtocolViolation.ProtocolError, "topic alias not set on this connection")
                : null;
        }

        var total = _aliasBytes - _aliasLengths[alias] + topicLength;
        if (total > maxTopicAliasBytes)
        {
            return new ProtocolViolation(ProtocolViolation.QuotaExceeded, "topic alias bytes over the limit");
        }

        _aliasBytes = total;
        _aliasLengths[alias] = (ushort)topicLength;
        return null;
    }

    /// <summary>MQTT 5 DISCONNECT: a Session Expiry Interval it carries replaces the CONNECT's, except from 0 (spec 3.14.2.2.2).</summary>
    private ProtocolViolation? ValidateDisconnect(ref MqttFieldReader body)
    {
        if (body.Remaining < 2 || !body.TryReadByte(out _) || !body.TryReadVarInt(out var propertiesLength))
        {
            return null; // no properties: nothing changes
        }

        if (body.Remaining < propertiesLength)
        {
            return Malformed;
        }

        var properties = new MqttFieldReader(body.Rest[..propertiesLength]);
        while (properties.Remaining > 0)
        {
            if (!MqttProperties.TryRead(ref properties, out var id, out var number, out _))
            {
                return Malformed;
            }

            if (id != MqttProperties.SessionExpiryInterval)
            {
                continue;
            }

            if (ConnectSessionExpiry == 0 && number != 0)
            {
                return new ProtocolViolation(ProtocolViolation.ProtocolError, "Session Expiry Interval on DISCONNECT after 0 on CONNECT");
            }

            SessionExpiryOnDisconnect?.Invoke(number);
        }

        return null;
    }

    private ProtocolViolation? ValidateSubscribe(ref MqttFieldReader body)
    {
        if (SkipIdAndProperties(ref body) is { } bad)
        {
            return bad;
        }

        var count = 0;
        while (body.Remaining > 0)
        {
            if (!body.TryReadPrefixed(out var filter) || !body.TryReadByte(out var options))
            {
                return TruncatedField;
            }

            if (filter.IsEmpty || !MqttStrings.IsWellFormed(filter))
            {
                return new ProtocolViolation(ProtocolViolation.MalformedPacket, "topic filter empty, with U+0000 or invalid UTF-8");
            }

            var reservedBits = IsMqtt5 ? 0xC0 : 0xFC;
            if ((options & reservedBits) != 0 || (options & 0x03) == 3 || (IsMqtt5 && ((options >> 4) & 0x03) == 3))
            {
                return new ProtocolViolation(ProtocolViolation.MalformedPacket, "subscription options with reserved bits or QoS 3");
            }

            count++;
        }

        return count == 0 ? new ProtocolViolation(ProtocolViolation.ProtocolError, "SUBSCRIBE without topic filters") : null;
    }

    private ProtocolViolation? ValidateUnsubscribe(ref MqttFieldReader body)
    {
        if (SkipIdAndProperties(ref body) is { } bad)
        {
            return bad;
        }

        var count = 0;
        while (body.Remaining > 0)
        {
            if (!body.TryReadPrefixed(out var filter))
            {
                return TruncatedField;
            }

            if (filter.IsEmpty || !MqttStrings.IsWellFormed(filter))
            {
                return new ProtocolViolation(ProtocolViolation.MalformedPacket, "topic filter empty, with U+0000 or invalid UTF-8");
            }

            count++;
        }

        return count == 0 ? new ProtocolViolation(ProtocolViolation.ProtocolError, "UNSUBSCRIBE without topic filters") : null;
    }

    private ProtocolViolation? SkipIdAndProperties(ref MqttFieldReader body)
    {
        if (!body.TryReadUInt16(out var packetId))
        {
            return TruncatedField;
        }

        if (packetId == 0)
        {
            return new ProtocolViolation(ProtocolViolation.ProtocolError, "packet identifier 0");
        }

        if (!IsMqtt5)
        {
            return null;
        }

        if (!body.TryReadVarInt(out var propertiesLength) || body.Remaining < propertiesLength)
        {
            return TruncatedField;
        }

        var properties = new MqttFieldReader(body.Rest[..propertiesLength]);
        while (properties.Remaining > 0)
        {
            if (!MqttProperties.TryRead(ref properties, out _, out _, out _))
            {
                return Malformed;
            }
        }

        body.TrySkip(propertiesLength);
        return null;
    }
}
