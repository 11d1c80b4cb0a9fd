using Microsoft.Extensions.DependencyInjection;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>Closes a local MQTT connection with an MqttIm reason: the one place outside Hooks that turns it into an MQTTnet disconnect.</summary>
internal sealed class ClientDisconnector(IServiceProvider services) : IConnectionCloser
{
    /// <summary>Closes <paramref name="clientId"/>'s connection on this node, if it has one.</summary>
    public Task DisconnectAsync(string clientId, CloseReason reason, string reasonString) =>
        // Resolved late: the MQTT server is built after the services (routers, takeover) that close connections.
        services.GetRequiredService<MqttServer>().DisconnectClientAsync(clientId, new MqttServerClientDisconnectOptions
        {
            ReasonCode = reason switch
            {
                CloseReason.SessionTakenOver => MqttDisconnectReasonCode.SessionTakenOver,
                CloseReason.QuotaExceeded => MqttDisconnectReasonCode.QuotaExceeded,
                _ => MqttDisconnectReasonCode.NotAuthorized,
            },
            ReasonString = reasonString,
        });
}
