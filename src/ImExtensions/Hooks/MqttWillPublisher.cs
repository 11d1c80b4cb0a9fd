using System.Buffers;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Sessions;
using MqttIm.ImExtensions.Wills;

namespace MqttIm.ImExtensions.Hooks;

/// <summary>
/// Publishes a will through MQTTnet's inject path in its client's name: the publish hook sees the client id and, in the
/// session items, the connection it belonged to, so the will passes that client's ACL and plain-topic handling like any
/// of its PUBLISHes (and No Local subscriptions of the same client id do not get it back).
/// </summary>
internal sealed class MqttWillPublisher(MqttServer server) : IWillPublisher
{
    public Task PublishAsync(WillMessage will, string clientId, ConnectedDevice? publisher)
    {
        var message = new MqttApplicationMessage
        {
            Topic = will.Topic,
            Payload = new ReadOnlySequence<byte>(will.Payload),
            QualityOfServiceLevel = (MqttQualityOfServiceLevel)will.Qos,
            Retain = will.Retain,
            ContentType = will.ContentType,
            ResponseTopic = will.ResponseTopic,
            CorrelationData = will.CorrelationData,
            PayloadFormatIndicator = (MqttPayloadFormatIndicator)will.PayloadFormatIndicator,
            MessageExpiryInterval = will.MessageExpiryInterval,
            UserProperties = will.UserProperties?.Select(p => new MqttUserProperty(p.Key, System.Text.Encoding.UTF8.GetBytes(p.Value))).ToList(),
        };

        var injected = new InjectedMqttApplicationMessage(message) { SenderClientId = clientId };
        if (publisher is not null)
        {
            injected.CustomSessionItems = WillPublication.ItemsFor(publisher);
        }

        return server.InjectApplicationMessage(injected);
    }
}
