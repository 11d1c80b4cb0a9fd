namespace MqttIm.ImExtensions.Wills;

/// <summary>
/// A client's Will Message as its CONNECT gave it (spec 3.1.3.2-3.1.3.4), taken out of MQTTnet's hands by the packet
/// layer so the broker decides when it goes out (MQTTnet 5.2 ignores the Will Delay Interval, treats every DISCONNECT as
/// normal and never sends a will on takeover).
/// </summary>
/// <param name="Qos">0, 1 or 2.</param>
/// <param name="DelaySeconds">MQTT 5 Will Delay Interval; 0 for MQTT 3.1.1.</param>
/// <param name="PayloadFormatIndicator">0 (unspecified bytes) or 1 (UTF-8).</param>
/// <param name="MessageExpiryInterval">Seconds; 0 when absent.</param>
public sealed record WillMessage(
    string Topic,
    byte[] Payload,
    int Qos,
    bool Retain,
    uint DelaySeconds = 0,
    string? ContentType = null,
    string? ResponseTopic = null,
    byte[]? CorrelationData = null,
    byte PayloadFormatIndicator = 0,
    uint MessageExpiryInterval = 0,
    IReadOnlyList<KeyValuePair<string, string>>? UserProperties = null);
