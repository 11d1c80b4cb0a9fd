using Microsoft.Extensions.DependencyInjection;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>Closes a local MQTT connection with an MqttIm reason: the one place outside Hooks that turns it into an MQTTnet disconnect.</summary>
internal sealed class ClientDisconnector(IServiceProvider services) : IConnectionCloser
{
    // Resolved late: the MQTT server is built after the services (routers, takeover) that close connections.
    private MqttServer Server => services.GetRequiredService<MqttServer>();

    /// <summary>Closes <paramref name="clientId"/>'s connection on this node, if it has one.</summary>
    public Task DisconnectAsync(string clientId, CloseReason reason, string reasonString) =>
        Server.DisconnectClientAsync(clientId, OptionsOf(reason, reasonString));

    /// <summary>Closes that connection only: MQTTnet's client of that id must still be the one at that end point.</summary>
    /// <remarks>Walks MQTTnet's client list: meant for the rare targeted close (a CONNECT re-check), not for mass expiry.</remarks>
    public async Task DisconnectConnectionAsync(string clientId, string connectionKey, CloseReason reason, string reasonString)
    {
        var clients = await Server.GetClientsAsync().ConfigureAwait(false);
        if (clients.FirstOrDefault(c => c.Id == clientId && ConnectionKeys.Of(c.RemoteEndPoint) == connectionKey) is { } client)
        {
            await client.DisconnectAsync(OptionsOf(reason, reasonString)).ConfigureAwait(false);
        }
    }

    private static MqttServerClientDisconnectOptions OptionsOf(CloseReason reason, string reasonString) => new()
    {
        ReasonCode = reason switch
        {
            CloseReason.SessionTakenOver => MqttDisconnectReasonCode.SessionTakenOver,
            CloseReason.QuotaExceeded => MqttDisconnectReasonCode.QuotaExceeded,
            _ => MqttDisconnectReasonCode.NotAuthorized,
        },
        ReasonString = reasonString,
    };
}
