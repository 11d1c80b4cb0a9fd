namespace MqttIm.ImExtensions.Sessions;

/// <summary>
/// Where each client id is connected beyond this node. Single node: nothing to do (MQTTnet takes a client id over
/// itself). Cluster: a client id that connects here while it is still connected on another node makes that node close
/// its old connection with DISCONNECT 0x8E, as one broker would.
/// </summary>
public interface IClientIdClaims
{
    ValueTask ConnectedAsync(ConnectedDevice device);

    ValueTask DisconnectedAsync(string clientId, string connectionKey);
}

/// <summary>The single-node default: MQTTnet's own takeover is all there is.</summary>
internal sealed class LocalClientIdClaims : IClientIdClaims
{
    public ValueTask ConnectedAsync(ConnectedDevice device) => ValueTask.CompletedTask;

    public ValueTask DisconnectedAsync(string clientId, string connectionKey) => ValueTask.CompletedTask;
}
