using MQTTnet;
using MQTTnet.Packets;

namespace MqttIm.Testing;

public static class PublishResultExtensions
{
    /// <summary>The value of a PUBACK user property, or null when absent.</summary>
    public static string? Property(this MqttClientPublishResult result, string name) =>
        result.UserProperties?.FirstOrDefault(p => p.Name == name) is { } property ? property.ReadValueAsString() : null;
}
