namespace MqttIm.ImExtensions.Sessions;

/// <summary>
/// What the connection lifecycle tells presence. Declared here and implemented in Presence (which builds on Sessions),
/// so Sessions does not depend on Presence.
/// </summary>
internal interface ISessionPresence
{
    /// <summary>A device of the user connected or disconnected: recompute and publish the user's presence if it changed.</summary>
    void Refresh(string userId);

    /// <summary>The client id's session ended: its presence watches go with it.</summary>
    void SessionEnded(string clientId);
}
