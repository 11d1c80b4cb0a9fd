namespace MqttIm.ImExtensions.Devices.Storage;

/// <summary>The device registry: credentials, enabled flag and owners.</summary>
/// <remarks>Implementations: SQLite (embedded), PostgreSQL and MongoDB (cluster); all pass <c>DeviceStoreContract</c>.</remarks>
public interface IDeviceStore
{
    /// <summary>Registers the device; false when the id is taken.</summary>
    Task<bool> CreateAsync(DeviceRecord device, CancellationToken cancellationToken);

    Task<DeviceRecord?> GetAsync(string deviceId, CancellationToken cancellationToken);

    /// <summary>Replaces secret hash, disabled flag and owners; false when the device does not exist.</summary>
    Task<bool> UpdateAsync(DeviceRecord device, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string deviceId, CancellationToken cancellationToken);

    /// <summary>Devices in id order after <paramref name="afterId"/>; with <paramref name="principals"/>, only those owned by one of them.</summary>
    Task<IReadOnlyList<DeviceRecord>> ListAsync(IReadOnlyCollection<string>? principals, string afterId, int limit, CancellationToken cancellationToken);
}
