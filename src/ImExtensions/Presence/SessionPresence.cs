using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Presence;

/// <summary>The connection lifecycle's view of presence: the publisher recomputes a user's state, the watchers drop an ended session's watches.</summary>
internal sealed class SessionPresence(PresencePublisher publisher, PresenceWatchers watchers) : ISessionPresence
{
    public void Refresh(string userId) => publisher.Refresh(userId);

    public void SessionEnded(string clientId) => watchers.RemoveClient(clientId);
}
