using Microsoft.Extensions.DependencyInjection;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace MqttIm.ImExtensions.Delivery;

/// <summary>Why MqttIm closes a connection; each maps to one MQTT 5 DISCONNECT reason code (3.1.1 clients just see the close).</summary>
public enum CloseReason
{
    /// <summary>Its credentials stopped being valid: 0x87 Not authorized.</summary>
    NotAuthorized,

    /// <summary>The same client id connected again elsewhere: 0x8E Session taken over.</summary>
    SessionTakenOver,
}

/// <summary>Closes a local MQTT connection with an MqttIm reason: the one place outside Hooks that turns it into an MQTTnet disconnect.</summary>
internal sealed class ClientDisconnector(IServiceProvider services)
{
    /// <summary>Closes <paramref name="clientId"/>'s connection on this node, if it has one.</summary>
    public Task DisconnectAsync(string clientId, CloseReason reason, string reasonString) =>
        // Resolved late: the MQTT server is built after the services (routers, takeover) that close connections.
        services.GetRequiredService<MqttServer>().DisconnectClientAsync(clientId, new MqttServerClientDisconnectOptions
        {
            ReasonCode = reason switch
            {
                CloseReason.SessionTakenOver => MqttDisconnectReasonCode.SessionTakenOver,
                _ => MqttDisconnectReasonCode.NotAuthorized,
            },
            ReasonString = reasonString,
        });
}
