using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Wills;

/// <summary>Publishes a will as its client's own message (the same ACL and routing as a PUBLISH by that client).</summary>
internal interface IWillPublisher
{
    /// <param name="publisher">The connection the will belonged to, as the registry knew it; null if it never was registered.</param>
    Task PublishAsync(WillMessage will, string clientId, ConnectedDevice? publisher);
}
