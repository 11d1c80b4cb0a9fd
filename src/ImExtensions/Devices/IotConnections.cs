using System.Collections.Concurrent;

namespace MqttIm.ImExtensions.Devices;

/// <summary>
/// Which client ids authenticated as IoT devices (set while validating the CONNECT, read when the connection registers),
/// with the secret hash they were checked against, so the connection can be re-checked once it is registered.
/// </summary>
internal sealed class IotConnections
{
    private readonly ConcurrentDictionary<string, Validated> _deviceByClient = new(StringComparer.Ordinal);

    /// <summary>The device a client id authenticated as, and the stored secret hash its CONNECT was checked against.</summary>
    public readonly record struct Validated(string DeviceId, string SecretHash);

    public void MarkDevice(string clientId, string deviceId, string secretHash) => _deviceByClient[clientId] = new Validated(deviceId, secretHash);

    public void MarkUser(string clientId) => _deviceByClient.TryRemove(clientId, out _);

    public bool IsDevice(string clientId) => _deviceByClient.ContainsKey(clientId);

    public bool TryGetValidated(string clientId, out Validated validated) => _deviceByClient.TryGetValue(clientId, out validated);
}
