using MQTTnet.Server;
using MqttIm.ImExtensions.Routing;

namespace MqttIm.ImExtensions.Presence;

/// <summary>Lets a presence update into a session only if that client was granted <c>presence/{userId}</c> itself (not through a wildcard filter).</summary>
internal sealed class PresenceDeliveryFilter(PresenceWatchers watchers)
{
    public void Filter(InterceptingClientApplicationMessageEnqueueEventArgs args)
    {
        var topic = args.ApplicationMessage.Topic;
        if (!topic.StartsWith(PresenceTopic.Prefix, StringComparison.Ordinal))
        {
            return;
        }

        var parsed = ParsedTopic.Parse(topic);
        args.AcceptEnqueue = parsed.Kind == TopicKind.Presence && parsed.Rest.Length == 0 && watchers.IsWatching(args.ReceiverClientId, parsed.Target);
    }
}
