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
                var left = (long)p.MessageExpirySeconds - (nowMs - stored.StoredAtMs) / 1000;
                if (left <= 0)
                {
                    return null;
                }

                builder.WithMessageExpiryInterval((uint)left);
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
