namespace MqttIm.ImExtensions.Sessions;

/// <summary>
/// Where each client id is connected beyond this node. Single node: nothing to do (MQTTnet takes a client id over
/// itself). Cluster: a client id that connects here while it is still connected on another node makes that node close
/// its old connection with DISCONNECT 0x8E, as one broker would.
/// </summary>
public interface IClientIdClaims
{
    /// <summary>
    /// A CONNECT was accepted: record it before the CONNACK goes out, so a client that reconnects elsewhere the moment it
    /// is told it is connected always finds this claim to take over.
    /// </summary>
    ValueTask ClaimAsync(string clientId, string connectionKey);

    /// <summary>The connection is registered here: an eviction that arrived before that is carried out now.</summary>
    ValueTask ConnectedAsync(ConnectedDevice device);

    ValueTask DisconnectedAsync(string clientId, string connectionKey);
}

/// <summary>The single-node default: MQTTnet's own takeover is all there is.</summary>
internal sealed class LocalClientIdClaims : IClientIdClaims
{
    public ValueTask ClaimAsync(string clientId, string connectionKey) => ValueTask.CompletedTask;

    public ValueTask ConnectedAsync(ConnectedDevice device) => ValueTask.CompletedTask;

    public ValueTask DisconnectedAsync(string clientId, string connectionKey) => ValueTask.CompletedTask;
}
