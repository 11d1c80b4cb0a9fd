using MQTTnet.Formatter;
using MqttIm.ImExtensions.Messaging;

namespace MqttIm.ImExtensions.Sessions;

/// <summary>What the broker knows about one live connection: whose it is, how it speaks and how to tell it from a later one.</summary>
public sealed record ConnectedDevice(
    string UserId,
    string ClientId,
    MqttProtocolVersion ProtocolVersion,
    WireFormat Format,
    string ConnectionKey)
{
    public bool IsMqtt5 => ProtocolVersion == MqttProtocolVersion.V500;
}
