namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// The IoT hub's events that other nodes of a cluster must see: a device's commands were queued (the node that holds the
/// device sends them), a command changed state (the issuer's node completes its waiters, every node tells its watchers),
/// a device came online or went offline. Single node: nothing leaves the process.
/// </summary>
public interface IIotClusterBus
{
    Task CommandsQueuedAsync(string deviceId);

    /// <summary><paramref name="stateEvent"/> is the JSON of <c>device/{id}/commands/{commandId}</c> (what watchers receive).</summary>
    Task CommandChangedAsync(string deviceId, string commandId, bool final, byte[] stateEvent);

    Task DeviceStateChangedAsync(DeviceState state);

    /// <summary>The device was deleted: its presence is forgotten on every node and in the shared presence record.</summary>
    Task DeviceDeletedAsync(string deviceId);

    /// <summary>The device's credentials stopped being valid (disabled, secret rotated): the node that holds its connection closes it.</summary>
    Task DeviceRevokedAsync(string deviceId, string reason);
}

/// <summary>The single-node bus: every event is already handled where it happened.</summary>
internal sealed class LocalIotBus : IIotClusterBus
{
    public Task CommandsQueuedAsync(string deviceId) => Task.CompletedTask;

    public Task CommandChangedAsync(string deviceId, string commandId, bool final, byte[] stateEvent) => Task.CompletedTask;

    public Task DeviceStateChangedAsync(DeviceState state) => Task.CompletedTask;

    public Task DeviceDeletedAsync(string deviceId) => Task.CompletedTask;

    public Task DeviceRevokedAsync(string deviceId, string reason) => Task.CompletedTask;
}
