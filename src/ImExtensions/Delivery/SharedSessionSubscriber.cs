using System.Buffers;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.SharedSubscriptions;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>One shared-subscription member's MQTTnet session: each message chosen for it is enqueued straight into it.</summary>
internal sealed class SharedSessionSubscriber(MqttSessionStatus session) : ISharedSubscriber<MqttApplicationMessage>
{
    /// <summary>
    /// Put into the session's items when it joins a group. Items live with MQTTnet's session, so a connection that finds
    /// it resumed the same session; one that does not started a new one (clean start) and the old memberships are gone.
    /// </summary>
    public static readonly object SessionItemKey = new();

    public bool TryDeliver(MqttApplicationMessage message, SharedDelivery delivery, out ushort packetId)
    {
        var copy = new MqttApplicationMessage
        {
            Topic = message.Topic,
            Payload = message.Payload,
            QualityOfServiceLevel = (MqttQualityOfServiceLevel)delivery.Qos,
            Retain = delivery.Retain,
            ContentType = message.ContentType,
            CorrelationData = message.CorrelationData,
            MessageExpiryInterval = message.MessageExpiryInterval,
            PayloadFormatIndicator = message.PayloadFormatIndicator,
            ResponseTopic = message.ResponseTopic,
            UserProperties = message.UserProperties,
            SubscriptionIdentifiers = delivery.SubscriptionId > 0 ? [delivery.SubscriptionId] : null,
        };
        try
        {
            if (session.TryEnqueueApplicationMessage(copy, out var result))
            {
                packetId = result.PacketIdentifier;
                return true;
            }
        }
        catch (ObjectDisposedException)
        {
            // The session ended a moment ago; its end event will take the member out of its groups.
        }

        packetId = 0;
        return false;
    }

    /// <summary>A copy of a publisher's message that owns its bytes (MQTTnet reuses the buffers it was read into).</summary>
    public static MqttApplicationMessage Own(MqttApplicationMessage message) => new()
    {
        Topic = message.Topic,
        Payload = message.Payload.IsEmpty ? default : new ReadOnlySequence<byte>(message.Payload.ToArray()),
        QualityOfServiceLevel = message.QualityOfServiceLevel,
        Retain = message.Retain,
        ContentType = message.ContentType,
        CorrelationData = message.CorrelationData?.AsSpan().ToArray(),
        MessageExpiryInterval = message.MessageExpiryInterval,
        PayloadFormatIndicator = message.PayloadFormatIndicator,
        ResponseTopic = message.ResponseTopic,
        UserProperties = message.UserProperties?.Select(p => new MqttUserProperty(p.Name, System.Text.Encoding.UTF8.GetBytes(p.ReadValueAsString()))).ToList(),
    };
}
