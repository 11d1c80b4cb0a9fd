using MQTTnet;
using MQTTnet.Protocol;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>
/// A message MqttIm sends to one session, described without MQTTnet's types so the areas that compose it (devices'
/// commands, state and telemetry) stay free of them. It is built into MQTTnet's message once, however many sessions it goes to.
/// </summary>
/// <param name="topic">The topic the receiver sees.</param>
/// <param name="payload">Sent as is (not copied).</param>
/// <param name="contentType">The MQTT 5 content type.</param>
public sealed class Downlink(string topic, ReadOnlyMemory<byte> payload, string? contentType = "application/json")
{
    private MqttApplicationMessage? _message;

    public string Topic { get; } = topic;

    public ReadOnlyMemory<byte> Payload { get; } = payload;

    public string? ContentType { get; } = contentType;

    /// <summary>QoS 0 when true; QoS 1 otherwise (the default: every MqttIm downlink but forwarded QoS 0 telemetry).</summary>
    public bool AtMostOnce { get; init; }

    /// <summary>The retain flag as the receiver sees it (a state topic's current value).</summary>
    public bool Retain { get; init; }

    /// <summary>MQTT 5 request/response: where the receiver answers, and what it echoes back.</summary>
    public string? ResponseTopic { get; init; }

    public ReadOnlyMemory<byte> CorrelationData { get; init; }

    /// <summary>MQTT 5 user properties (MQTTnet drops them for 3.1.1 receivers).</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? UserProperties { get; init; }

    /// <summary>MQTTnet's message, built on first use (sessions share it: MQTTnet does not change a queued message).</summary>
    public MqttApplicationMessage ToMqttMessage() => _message ??= Build();

    private MqttApplicationMessage Build()
    {
        var message = new MqttApplicationMessage
        {
            Topic = Topic,
            Payload = new System.Buffers.ReadOnlySequence<byte>(Payload),
            ContentType = ContentType,
            QualityOfServiceLevel = AtMostOnce ? MqttQualityOfServiceLevel.AtMostOnce : MqttQualityOfServiceLevel.AtLeastOnce,
            Retain = Retain,
            ResponseTopic = ResponseTopic,
            CorrelationData = CorrelationData.IsEmpty ? null : CorrelationData.ToArray(),
        };
        if (UserProperties is { Count: > 0 } properties)
        {
            message.UserProperties = [.. properties.Select(p => new MQTTnet.Packets.MqttUserProperty(p.Key, System.Text.Encoding.UTF8.GetBytes(p.Value)))];
        }

        return message;
    }
}
