using System.Buffers;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace MqttIm.ImExtensions.BrokerState;

/// <summary>Between MQTTnet's application messages and <see cref="StoredMqttMessage"/>: the boundary to MQTTnet for this area.</summary>
internal static class MqttMessageSnapshots
{
    public static StoredMqttMessage From(MqttApplicationMessage message, int qos, long nowMs)
    {
        byte[]? properties = null;
        if (message.ContentType is not null || message.ResponseTopic is not null || message.CorrelationData is not null
            || message.PayloadFormatIndicator != MqttPayloadFormatIndicator.Unspecified || message.MessageExpiryInterval > 0
            || message.UserProperties is { Count: > 0 })
        {
            properties = JsonSerializer.SerializeToUtf8Bytes(new StoredMessageProperties(
                message.ContentType,
                message.ResponseTopic,
                message.CorrelationData,
                (int)message.PayloadFormatIndicator,
                message.MessageExpiryInterval,
                message.UserProperties?.Select(p => new[] { p.Name, p.ReadValueAsString() }).ToList()));
        }

        return new StoredMqttMessage(message.Topic, message.Payload.ToArray(), qos, properties, nowMs);
    }

    /// <summary>The message to hand MQTTnet again, its Message Expiry Interval reduced by the time stored; null once it has expired.</summary>
    public static MqttApplicationMessage? ToMessage(StoredMqttMessage stored, long nowMs, bool retain)
    {
        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(stored.Topic)
            .WithPayload(stored.Payload)
            .WithQualityOfServiceLevel((MqttQualityOfServiceLevel)stored.Qos)
            .WithRetainFlag(retain);
        if (stored.Properties is { } json && JsonSerializer.Deserialize<StoredMessageProperties>(json) is { } p)
        {
            if (p.MessageExpirySeconds > 0)
            {
                // A message stamped at receipt (Flow.MessageExpiryStamp) keeps its stamp and its interval: the packet layer
                // counts its age from the stamp, so reducing the interval here too would count the time twice.
                var stamp = StampOf(p.UserProperties);
                var ageMs = nowMs - (stamp ?? stored.StoredAtMs);
                var left = (long)p.MessageExpirySeconds * 1000 - ageMs;
                if (left <= 0)
                {
                    return null;
                }

                builder.WithMessageExpiryInterval(stamp is null ? (uint)((left + 999) / 1000) : p.MessageExpirySeconds);
            }

            if (p.ContentType is not null)
            {
                builder.WithContentType(p.ContentType);
            }

            if (p.ResponseTopic is not null)
            {
                builder.WithResponseTopic(p.ResponseTopic);
            }

            if (p.CorrelationData is not null)
            {
                builder.WithCorrelationData(p.CorrelationData);
            }

            builder.WithPayloadFormatIndicator((MqttPayloadFormatIndicator)p.PayloadFormat);
            foreach (var pair in p.UserProperties ?? [])
            {
                builder.WithUserProperty(pair[0], new ReadOnlyMemory<byte>(System.Text.Encoding.UTF8.GetBytes(pair[1])));
            }
        }

        return builder.Build();
    }

    private static long? StampOf(List<string[]>? userProperties)
    {
        foreach (var pair in userProperties ?? [])
        {
            if (pair[0] == Flow.MessageExpiryStamp.Key && long.TryParse(pair[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms))
            {
                return ms;
            }
        }

        return null;
    }

    /// <summary>Whether an outgoing PUBLISH carries this stored message (how an acknowledgement is matched to a queue entry).</summary>
    public static bool Carries(MqttPublishPacket packet, StoredMqttMessage stored) =>
        packet.Topic == stored.Topic && packet.Payload.Length == stored.Payload.Length && SequenceEquals(packet.Payload, stored.Payload);

    private static bool SequenceEquals(ReadOnlySequence<byte> sequence, byte[] bytes)
    {
        if (sequence.IsSingleSegment)
        {
            return sequence.FirstSpan.SequenceEqual(bytes);
        }

        return sequence.ToArray().AsSpan().SequenceEqual(bytes);
    }
}
