namespace MqttIm.Broker.Listeners;

/// <summary>
/// Why a client's packet is refused: the MQTT 5 reason code for the DISCONNECT (or CONNACK) and a short reason
/// string. MQTT 3.1.1 has no server DISCONNECT, so there the connection is just closed.
/// </summary>
internal readonly record struct ProtocolViolation(byte ReasonCode, string Reason)
{
    public const byte MalformedPacket = 0x81;
    public const byte ProtocolError = 0x82;
    public const byte TopicNameInvalid = 0x90;
    public const byte TopicAliasInvalid = 0x94;
    public const byte QuotaExceeded = 0x97;
}

/// <summary>Thrown on the read path when a client breaks the protocol; the connection ends with <see cref="Violation"/>.</summary>
internal sealed class ProtocolViolationException(ProtocolViolation violation) : IOException(violation.Reason)
{
    public ProtocolViolation Violation { get; } = violation;
}
