namespace MqttIm.ImExtensions.Sessions;

/// <summary>What the broker knows about one live connection: whose it is, how it speaks and how to tell it from a later one.</summary>
/// <param name="IsMqtt5">Connected with MQTT 5 (PUBACK properties, reason codes); otherwise 3.1.1 or 3.1.</param>
/// <param name="Platform">CONNECT user property <c>platform</c>, lowercase; empty when absent (no multi-device limit applies).</param>
/// <param name="ConnectOrder">Increases with every connection, so the oldest device of a platform is the one with the lowest.</param>
/// <param name="IsIotDevice">An IoT device of the device registry (Devices/), not a chat user's device: other ACL, no user presence.</param>
/// <param name="AckOnReceipt">CONNECT user property <c>ack=received</c>: a chat send's PUBACK means "received", the inbox send-ack "stored" (pipelined sends).</param>
/// <param name="InboxSendAckRequested">CONNECT user property <c>send_ack=inbox</c>: an MQTT 5 device that wants the inbox send-ack besides the PUBACK.</param>
/// <param name="IsAnonymous">Connected without a user name (<c>Auth:AllowAnonymous</c>): plain topics only, no presence; <see cref="UserId"/> is empty.</param>
public sealed record ConnectedDevice(
    string UserId,
    string ClientId,
    bool IsMqtt5,
    WireFormat Format,
    string ConnectionKey,
    string Platform = "",
    long ConnectOrder = 0,
    bool IsIotDevice = false,
    bool AckOnReceipt = false,
    bool InboxSendAckRequested = false,
    bool IsAnonymous = false)
{
    /// <summary>
    /// Whether a chat send's stored ack goes to the device's inbox: 3.1.1 has no PUBACK properties, an early-ack device
    /// learns "stored" only there, and others may ask for it. An MQTT 5 PUBACK after commit already carries it.
    /// </summary>
    public bool WantsInboxSendAck { get; } = !IsMqtt5 || AckOnReceipt || InboxSendAckRequested;
}
