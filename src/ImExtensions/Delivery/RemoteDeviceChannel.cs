using MQTTnet;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>A device connected to another cluster node, as seen from here: it is reached through the router, never by a raw MQTT message.</summary>
internal sealed class RemoteDeviceChannel(string nodeId) : IDeviceChannel
{
    public string NodeId { get; } = nodeId;

    // Remote devices are reached through RouteAsync; a raw MQTT message cannot cross nodes.
    public bool TryPublish(MqttApplicationMessage message) => false;
}
