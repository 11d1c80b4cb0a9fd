using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace MqttIm.ImExtensions.Presence;

/// <summary>
/// MQTTnet hands every matching retained message to a new subscription, and <c>#</c> or <c>+/…</c> match the retained
/// <c>presence/…</c> states. For such filters the broker turns MQTTnet's retained delivery off and delivers the matching
/// retained messages itself, leaving out presence (which goes to exact, authorized <c>presence/{userId}</c> subscriptions only).
/// </summary>
internal sealed class WildcardRetainedShield(MqttServer server)
{
    public async Task DeliverRetainedWithoutPresenceAsync(InterceptingSubscriptionEventArgs args)
    {
        var filter = args.TopicFilter;
        if (filter.RetainHandling == MqttRetainHandling.DoNotSendOnSubscribe)
        {
            return;
        }

        filter.RetainHandling = MqttRetainHandling.DoNotSendOnSubscribe;
        foreach (var retained in await server.GetRetainedMessagesAsync().ConfigureAwait(false))
        {
            if (retained.Topic.StartsWith(PresenceTopic.Prefix, StringComparison.Ordinal)
                || MqttTopicFilterComparer.Compare(retained.Topic, filter.Topic) != MqttTopicFilterCompareResult.IsMatch)
            {
                continue;
            }

            var copy = new MqttApplicationMessage
            {
                Topic = retained.Topic,
                Payload = retained.Payload,
                QualityOfServiceLevel = retained.QualityOfServiceLevel < filter.QualityOfServiceLevel ? retained.QualityOfServiceLevel : filter.QualityOfServiceLevel,
                Retain = true,
                ContentType = retained.ContentType,
                PayloadFormatIndicator = retained.PayloadFormatIndicator,
                ResponseTopic = retained.ResponseTopic,
                CorrelationData = retained.CorrelationData,
                MessageExpiryInterval = retained.MessageExpiryInterval,
                UserProperties = retained.UserProperties,
            };
            args.Session.TryEnqueueApplicationMessage(copy, out _);
        }
    }
}
