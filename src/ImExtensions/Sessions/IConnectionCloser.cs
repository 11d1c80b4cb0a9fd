namespace MqttIm.ImExtensions.Sessions;

/// <summary>Why MqttIm closes a connection; each maps to one MQTT 5 DISCONNECT reason code (3.1.1 clients just see the close).</summary>
public enum CloseReason
{
    /// <summary>Its credentials stopped being valid: 0x87 Not authorized.</summary>
    NotAuthorized,

    /// <summary>The same client id connected again elsewhere: 0x8E Session taken over.</summary>
    SessionTakenOver,

    /// <summary>It fell too far behind what it must receive (a room viewer behind the gift stream): 0x97 Quota exceeded.</summary>
    QuotaExceeded,
}

/// <summary>
/// Closes a local connection with an MqttIm reason. Owned here, below Delivery, so the session policies (token expiry,
/// the per-platform device limit) close connections without MQTTnet types; <c>Delivery/ClientDisconnector</c> implements it.
/// </summary>
internal interface IConnectionCloser
{
    /// <summary>Closes <paramref name="clientId"/>'s connection on this node, if it has one.</summary>
    Task DisconnectAsync(string clientId, CloseReason reason, string reasonString);

    /// <summary>
    /// Closes that one connection of <paramref name="clientId"/> (<paramref name="connectionKey"/>, its remote end point),
    /// if MQTTnet still holds it. A newer connection of the same client id stays open. MQTTnet takes the client id over
    /// at the new CONNECT, before the new connection's ClientConnected event puts it into MqttIm's registry, so in that
    /// window the registry still names the old connection.
    /// </summary>
    Task DisconnectConnectionAsync(string clientId, string connectionKey, CloseReason reason, string reasonString);
}
