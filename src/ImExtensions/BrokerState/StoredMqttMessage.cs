namespace MqttIm.ImExtensions.BrokerState;

/// <summary>
/// An MQTT application message as the broker keeps it across a restart (a retained message, or one queued for a
/// persistent session): everything a subscriber would get, plus when it was stored so a Message Expiry Interval
/// keeps counting down while the broker is down.
/// </summary>
/// <param name="Properties">The MQTT 5 properties, JSON (<see cref="StoredMessageProperties"/>); null when there are none.</param>
internal sealed record StoredMqttMessage(string Topic, byte[] Payload, int Qos, byte[]? Properties, long StoredAtMs)
{
    public bool Equals(StoredMqttMessage? other) => other is not null && Topic == other.Topic && Qos == other.Qos && StoredAtMs == other.StoredAtMs
        && Payload.AsSpan().SequenceEqual(other.Payload) && (Properties ?? []).AsSpan().SequenceEqual(other.Properties ?? []);

    public override int GetHashCode() => HashCode.Combine(Topic, Qos, StoredAtMs, Payload.Length);
}

/// <summary>The MQTT 5 properties of a stored message (serialised as JSON into <see cref="StoredMqttMessage.Properties"/>).</summary>
internal sealed record StoredMessageProperties(
    string? ContentType,
    string? ResponseTopic,
    byte[]? CorrelationData,
    int PayloadFormat,
    uint MessageExpirySeconds,
    List<string[]>? UserProperties);

/// <summary>A subscription of a persistent session: the filter and its MQTT 5 subscription options byte (QoS, No Local, Retain As Published).</summary>
internal sealed record StoredSubscription(string ClientId, string Filter, int Options);

/// <summary>A persistent session: its expiry and, once its device went away, since when it waits (0 = connected at the last write).</summary>
/// <param name="ExpirySeconds">Session Expiry Interval (capped); <see cref="uint.MaxValue"/> = never.</param>
internal sealed record StoredSession(string ClientId, long ExpirySeconds, long DisconnectedAtMs);

/// <summary>A QoS 1/2 message waiting for a persistent session's acknowledgement, in queue order (<paramref name="QueueId"/>).</summary>
internal sealed record QueuedMqttMessage(string ClientId, long QueueId, StoredMqttMessage Message);

/// <summary>Everything the store holds, read once at start.</summary>
internal sealed record BrokerStateSnapshot(
    IReadOnlyList<StoredMqttMessage> Retained,
    IReadOnlyList<StoredSession> Sessions,
    IReadOnlyList<StoredSubscription> Subscriptions,
    IReadOnlyList<QueuedMqttMessage> Queued);
