using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>A device subscribed to its user's inbox. <paramref name="ConnectionKey"/> tells one connection of a client id from the next.</summary>
public sealed record OnlineDevice(string UserId, string ClientId, WireFormat Format, string ConnectionKey, IDeviceChannel Channel)
{
    /// <summary><c>inbox/{userId}</c>, built once per device rather than once per delivered message.</summary>
    public string InboxTopic { get; } = Delivery.InboxTopic.For(UserId);
}
