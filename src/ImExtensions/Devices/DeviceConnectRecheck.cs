using MqttIm.ImExtensions.Devices.Storage;
using MqttIm.ImExtensions.Storage.Offload;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// Closes the window between a device's CONNECT check and its registration. A revoke (disable, rotate, delete) stores
/// the change and then kicks the device wherever it is registered; a CONNECT checked against the old record just before
/// that, but registered just after the kick looked, would otherwise stay connected. Reading the record again once the
/// connection is registered closes it: either the revoke's store write came first (this read sees it), or its kick
/// comes after the registration (and finds the connection). Runs on the store read lane, off the socket thread.
/// </summary>
internal sealed class DeviceConnectRecheck(IDeviceStore devices, IotConnections connections, StoreWorkPool? workers = null)
{
    /// <summary>Why the registered connection of <paramref name="clientId"/> must close now, or null when it may stay.</summary>
    public async Task<string?> RevokedSinceConnectAsync(string clientId, CancellationToken cancellationToken)
    {
        if (!connections.TryGetValidated(clientId, out var validated))
        {
            return null;
        }

        var current = workers is null
            ? await devices.GetAsync(validated.DeviceId, cancellationToken).ConfigureAwait(false)
            : await workers.RunAsync(StoreWorkKind.Read, ct => devices.GetAsync(validated.DeviceId, ct), cancellationToken).ConfigureAwait(false);
        return current switch
        {
            null => "the device was deleted",
            { Disabled: true } => "the device was disabled",
            _ when current.SecretHash != validated.SecretHash => "the device secret was rotated",
            _ => null,
        };
    }
}
