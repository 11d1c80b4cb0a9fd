namespace MqttIm.ImExtensions.Topics;

/// <summary>What part of the topic scheme (docs/PROTOCOL.md) a topic or filter belongs to.</summary>
public enum TopicKind
{
    /// <summary>Not reserved: ordinary MQTT pub/sub through MQTTnet's own dispatch.</summary>
    Plain,
    C2cSend,
    GroupSend,
    Rpc,
    /// <summary>Any other <c>im/…</c> topic: reserved, not valid.</summary>
    ImReserved,
    Inbox,
    Room,
    Device,
    Presence,
    /// <summary><c>$…</c> topics.</summary>
    System,
    /// <summary>A filter whose first level is a wildcard.</summary>
    Wildcard,
}
