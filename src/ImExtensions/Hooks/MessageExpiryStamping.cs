using System.Text;
using MQTTnet;
using MQTTnet.Packets;
using MqttIm.ImExtensions.Flow;

namespace MqttIm.ImExtensions.Hooks;

/// <summary>Puts <see cref="MessageExpiryStamp"/> on a received PUBLISH that has a Message Expiry Interval.</summary>
internal static class MessageExpiryStamping
{
    /// <summary>Stamps <paramref name="message"/> with the current time when it has an expiry; otherwise leaves it alone.</summary>
    public static void Apply(MqttApplicationMessage message, TimeProvider clock)
    {
        if (message.MessageExpiryInterval == 0)
        {
            return;
        }

        var properties = message.UserProperties ??= [];
        properties.RemoveAll(p => p.Name == MessageExpiryStamp.Key);
        properties.Add(new MqttUserProperty(MessageExpiryStamp.Key, Encoding.ASCII.GetBytes(MessageExpiryStamp.ValueAt(clock))));
    }
}
