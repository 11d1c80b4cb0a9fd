using MqttIm.ImExtensions.Storage.Offload;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// Whether a user may watch a device's telemetry and state, asked when the user SUBSCRIBEs to them. The answer reads the
/// device and group stores, so it runs on the <see cref="StoreWorkPool"/>'s read lane (null: inline), never on the
/// socket thread that handles the SUBSCRIBE; the SUBACK waits for it as before.
/// </summary>
internal sealed class DeviceWatchGate(DeviceAccess access, StoreWorkPool? workers = null)
{
    public Task<bool> MayWatchAsync(string userId, string deviceId, CancellationToken cancellationToken) =>
        workers is null
            ? access.MayAccessAsync(userId, deviceId, cancellationToken)
            : workers.RunAsync(StoreWorkKind.Read, ct => access.MayAccessAsync(userId, deviceId, ct), cancellationToken);
}
