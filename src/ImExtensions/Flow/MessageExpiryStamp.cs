using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Packets;

namespace MqttIm.ImExtensions.Flow;

/// <summary>
/// MQTTnet 5.2 forwards a message's Message Expiry Interval unchanged and never drops an expired one. So a message
/// published with an expiry carries the time the broker received it, as a reserved user property; the broker's packet
/// layer (src/Broker/Listeners/OutboundFlowWriter) removes it from every outgoing PUBLISH, drops the message when it has
/// expired, and otherwise sends the remaining interval. Being part of the message, the stamp stays with it in
/// MQTTnet's session queues and its retained store.
/// </summary>
public static class MessageExpiryStamp
{
    /// <summary>The reserved user property; a client's own property of this name is replaced.</summary>
    public const string Key = "$mqttim-received-ms";

    /// <summary>Stamps <paramref name="message"/> with the current time when it has an expiry; otherwise leaves it alone.</summary>
    public static void Apply(MqttApplicationMessage message, TimeProvider clock)
    {
        if (message.MessageExpiryInterval == 0)
        {
            return;
        }

        var properties = message.UserProperties ??= [];
        properties.RemoveAll(p => p.Name == Key);
        var receivedMs = clock.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        properties.Add(new MqttUserProperty(Key, Encoding.ASCII.GetBytes(receivedMs)));
    }
}
