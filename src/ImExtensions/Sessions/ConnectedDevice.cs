using MQTTnet.Formatter;
using MqttIm.ImExtensions.Messaging;

namespace MqttIm.ImExtensions.Sessions;

/// <summary>What the broker knows about one live connection: whose it is, how it speaks and how to tell it from a later one.</summary>
/// <param name="Platform">CONNECT user property <c>platform</c>, lowercase; empty when absent (no multi-device limit applies).</param>
/// <param name="ConnectOrder">Increases with every connection, so the oldest device of a platform is the one with the lowest.</param>
/// <param name="IsIotDevice">An IoT device of the device registry (Devices/), not a chat user's device: other ACL, no user presence.</param>
/// <param name="IsAnonymous">Connected without a user name (<c>Auth:AllowAnonymous</c>): plain topics only, no presence; <see cref="UserId"/> is empty.</param>
public sealed record ConnectedDevice(
    string UserId,
    string ClientId,
    MqttProtocolVersion ProtocolVersion,
    WireFormat Format,
    string ConnectionKey,
    string Platform = "",
    long ConnectOrder = 0,
    bool IsIotDevice = false,
    bool IsAnonymous = false)
{
    public bool IsMqtt5 => ProtocolVersion == MqttProtocolVersion.V500;
}
