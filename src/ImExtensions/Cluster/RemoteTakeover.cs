using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using MQTTnet.Server;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Cluster;

/// <summary>This node's side of a cluster takeover: closes the local connection another node's newer one replaced.</summary>
internal sealed class RemoteTakeover(ConnectedDeviceRegistry registry, IServiceProvider services, ILogger<RemoteTakeover> logger)
{
    /// <summary>Disconnects the client with 0x8E if <paramref name="connectionKey"/> is still its live connection here.</summary>
    public async Task DisconnectIfCurrentAsync(string clientId, string connectionKey)
    {
        if (registry.Find(clientId) is not { } device || device.ConnectionKey != connectionKey)
        {
            return;
        }

        try
        {
            // Resolved late: the MQTT server is built after the router it would otherwise depend on.
            await services.GetRequiredService<MqttServer>().DisconnectClientAsync(clientId, new MqttServerClientDisconnectOptions
            {
                ReasonCode = MqttDisconnectReasonCode.SessionTakenOver,
                ReasonString = "the client id connected on another node",
            }).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not disconnect {ClientId} after its takeover on another node", clientId);
        }
    }
}
