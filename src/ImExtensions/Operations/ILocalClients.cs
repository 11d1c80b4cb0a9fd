namespace MqttIm.ImExtensions.Operations;

/// <summary>This node's connected clients as the console sees them, and the disconnect action (MQTTnet's side: <c>Hooks/MqttClientAdministration</c>).</summary>
public interface ILocalClients
{
    Task<(IReadOnlyList<ConnectedClientView> Clients, int Total)> ListAsync(string? search, int limit);

    Task<bool> DisconnectAsync(string clientId);
}
