namespace MqttIm.ImExtensions.Delivery;

/// <summary>MQTT topic-filter matching (<c>+</c>, <c>#</c>) for the watchers MqttIm keeps itself: MQTTnet's own comparer.</summary>
public static class TopicFilter
{
    public static bool Matches(string topic, string filter) =>
        MQTTnet.MqttTopicFilterComparer.Compare(topic, filter) == MQTTnet.MqttTopicFilterCompareResult.IsMatch;
}
