using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Sessions;

namespace MqttIm.ImExtensions.Devices;

/// <summary>Closes a device's live connection when its credentials stop being valid (disabled, secret rotated, deleted).</summary>
internal sealed class DeviceKicker(ConnectedDeviceRegistry registry, IotConnections connections, IConnectionCloser closer, IIotClusterBus bus, ILogger<DeviceKicker> logger)
{
    /// <summary>Closes the device's connection on whichever node holds it (this one, or another node of a cluster).</summary>
    public async Task KickEverywhereAsync(string deviceId, string reason)
    {
        await KickAsync(deviceId, reason).ConfigureAwait(false);
        await bus.DeviceRevokedAsync(deviceId, reason).ConfigureAwait(false);
    }

    /// <summary>
    /// Closes <paramref name="connection"/> only. A check that finished late (the CONNECT re-check under load) must not
    /// close a newer connection of the same client id, which passed its own checks. That includes one MQTTnet has
    /// already taken the client id over for while MqttIm's registry still names the old connection.
    /// </summary>
    public async Task KickConnectionAsync(ConnectedDevice connection, string reason)
    {
        if (registry.IsCurrent(connection))
        {
            await CloseAsync(connection.ClientId, () => closer.DisconnectConnectionAsync(connection.ClientId, connection.ConnectionKey, CloseReason.NotAuthorized, reason)).ConfigureAwait(false);
        }
    }

    /// <summary>Closes the device's connection if it is on this node.</summary>
    public async Task KickAsync(string deviceId, string reason)
    {
        if (connections.IsDevice(deviceId) && registry.Find(deviceId) is not null)
        {
            await CloseAsync(deviceId, () => closer.DisconnectAsync(deviceId, CloseReason.NotAuthorized, reason)).ConfigureAwait(false);
        }
    }

    // A close that fails (the connection went meanwhile, the server is stopping), synchronously or not, is logged, never
    // thrown to the caller.
    private async Task CloseAsync(string deviceId, Func<Task> close)
    {
        try
        {
            await close().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not disconnect device {DeviceId}", deviceId);
        }
    }
}
