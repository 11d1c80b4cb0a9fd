using System.Globalization;

namespace MqttIm.ImExtensions.Flow;

/// <summary>
/// MQTTnet 5.2 forwards a message's Message Expiry Interval unchanged and never drops an expired one. So a message
/// published with an expiry carries the time the broker received it, as a reserved user property (set by Hooks'
/// <c>MessageExpiryStamping</c>); the broker's packet layer (src/Broker/Listeners/OutboundFlowWriter) removes it from
/// every outgoing PUBLISH, drops the message when it has expired, and otherwise sends the remaining interval. Being part
/// of the message, the stamp stays with it in MQTTnet's session queues and its retained store.
/// </summary>
public static class MessageExpiryStamp
{
    /// <summary>The reserved user property; a client's own property of this name is replaced.</summary>
    public const string Key = "$mqttim-received-ms";

    /// <summary>The stamp's value for a message received now: Unix milliseconds, invariant digits.</summary>
    public static string ValueAt(TimeProvider clock) => clock.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
}
