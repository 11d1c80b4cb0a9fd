namespace MqttIm.ImExtensions.Routing;

/// <summary>
/// MQTTnet delivers a QoS 2 PUBLISH again when the client resends it (DUP, same packet id) before PUBREL. The
/// broker's packet layer replaces such a duplicate with a PUBLISH of the same packet id to this reserved topic, so
/// MQTTnet still answers PUBREC (and later PUBCOMP) while the publish hook drops it: exactly once, per the spec.
/// </summary>
public static class DuplicateQos2Publish
{
    public const string Topic = "$mqttim/duplicate-qos2";
}
